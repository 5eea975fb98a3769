"""Outbound delivery as `sne-hub serve` services: the dispatcher, and the demo's receiving system."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .config import DEMO, DispatchSettings
from .receiver import FileStore, Receiver, serve
from .worker import Dispatcher

DEMO_RECEIVER_COUNTER = "DEMOB"
DEMO_RECEIVER_PORT = 8444


def service(context):
    """The ``sne_hub.services`` entry point: fan-out, deliveries and notices until ``stop`` is set."""
    return Dispatcher(context.uow, DispatchSettings.from_environment()).run


def demo_receiver(context):
    """The demo landlord's system (``make run`` sets SNE_HUB_DEMO_RECEIVER=on): it receives DEMOB's
    pushes on https://localhost:8444/ and writes them under var/demo/DEMOB/dispatch/."""
    if os.environ.get("SNE_HUB_DEMO_RECEIVER", "off").lower() not in ("on", "1", "true", "yes"):
        return None
    port = int(os.environ.get("SNE_HUB_DEMO_RECEIVER_PORT", DEMO_RECEIVER_PORT))
    store = FileStore(DEMO / DEMO_RECEIVER_COUNTER / "dispatch")
    server = serve(Receiver(store), "127.0.0.1", port, DEMO / "server-cert.pem", DEMO / "server-key.pem",
                   DEMO / "ca.pem")

    def run(stop: threading.Event) -> None:
        server.prepare()
        print(f"serving: demo receiver of {DEMO_RECEIVER_COUNTER} at https://localhost:{port}"
              f"/services/ReceptionDispatchImplService/ (writes {Path(store.directory)}/)", flush=True)
        thread = threading.Thread(target=server.serve, name="demo-receiver", daemon=True)
        thread.start()
        stop.wait()
        server.stop()

    return run

"""The hub's SOAP channel in a process of its own, for tests and benches that watch that process.

What runs is the production composition root (``hub.server.make_server`` with the environment's
``Settings``: cheroot, TLS, client certificates), alone: no mail server, no dispatcher, no clock,
so that the process's memory is the SOAP channel's. ``SoapServerProcess`` starts it with
``python -m support.soap_server`` on an ephemeral port and reads the process's RSS from ``/proc``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from certificates import write_demo_pki
from certificates.reading import registration
from core import demo
from core.adapters import schema
from core.adapters.database import make_engine
from core.adapters.repository import SqlUnitOfWork
from core.service_layer import services

ROOT = Path(__file__).resolve().parent.parent
HUB_MAIL = "hub@sne-hub.example.org"
READY = "listening on port "


def prepare_register(database_url: str, pki_directory: Path) -> dict:
    """A migrated register with the demo territory and counters, their certificates registered; the
    demo PKI (as ``write_demo_pki`` describes it) written to ``pki_directory``."""
    described = write_demo_pki(pki_directory, [(c.code, c.name, c.mailbox) for c in demo.COUNTERS], HUB_MAIL)
    engine = make_engine(database_url)
    try:
        schema.upgrade(engine)
        services.add_territory(SqlUnitOfWork(engine), demo.TERRITORY)
        for counter in demo.COUNTERS:
            services.add_counter(SqlUnitOfWork(engine), counter)
            certificate = Path(described["counters"][counter.code]["cert"]).read_bytes()
            services.register_certificate(SqlUnitOfWork(engine), registration(counter.code, certificate))
    finally:
        engine.dispose()
    return described


class SoapServerProcess:
    """``python -m support.soap_server`` on the register at ``database_url``, with the PKI in
    ``pki_directory``; a context manager: started on entry, stopped (SIGTERM) on exit."""

    def __init__(self, database_url: str, pki_directory: Path, log_path: Path, threads: int = 4,
                 environment: dict[str, str] | None = None):
        directory = Path(pki_directory)
        self.environment = {
            **os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "SNE_HUB_DATABASE_URL": database_url, "SNE_HUB_HTTPS_HOST": "127.0.0.1", "SNE_HUB_HTTPS_PORT": "0",
            "SNE_HUB_TLS_CERT": str(directory / "server-cert.pem"),
            "SNE_HUB_TLS_KEY": str(directory / "server-key.pem"),
            "SNE_HUB_TLS_CLIENT_CA": str(directory / "ca.pem"), "SNE_HUB_THREADS": str(threads),
            **(environment or {})}
        self.log_path = Path(log_path)
        self.process: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> "SoapServerProcess":
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "support.soap_server"], env=self.environment,
                                        stdout=subprocess.PIPE, stderr=log, cwd=ROOT, text=True)
        log.close()
        line = self.process.stdout.readline()  # blocks until the server listens, or the process ends
        if not line.startswith(READY):
            self.__exit__()
            raise RuntimeError(f"the SOAP server did not start: {line!r}; see {self.log_path}")
        self.port = int(line[len(READY):])
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        """The server process's resident memory now (VmRSS), in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for process {self.pid}")

    def __exit__(self, *exc_info: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def main() -> None:
    """Serve the SOAP channel as ``Settings.from_environment()`` says, until SIGTERM; print the port."""
    import logging

    from hub.config import Settings
    from hub.server import make_server

    logging.basicConfig(level=os.environ.get("SNE_HUB_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = make_engine(os.environ["SNE_HUB_DATABASE_URL"])
    server = make_server(Settings.from_environment(), engine)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.prepare()
    thread = threading.Thread(target=server.serve, name="soap", daemon=True)
    thread.start()
    print(f"{READY}{server.bind_addr[1]}", flush=True)
    stop.wait()
    server.stop()
    thread.join(timeout=10)
    engine.dispose()


if __name__ == "__main__":
    main()

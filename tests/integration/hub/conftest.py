"""A real hub for the SOAP tests: cheroot over TLS on an ephemeral port, on each test database.

The demo PKI is written once per session; every test gets an empty register seeded with the demo
territory and counters (DEMOB landlord, DEMOC municipality, DEMOE EPCI) plus a State counter and a
counter of another territory, all with registered certificates.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from conformance_tests.profiles.server.wire import Client
from core.adapters.document_store import add_key
from core.adapters.repository import SqlUnitOfWork
from hub.config import Settings
from hub.server import make_server

from ..channels import seed_register


@dataclass
class RunningHub:
    port: int
    pki: dict
    unit_of_work: Callable
    document_store: Path | None = None  # the sealed store's directory (PiecesJustificativesImplService)

    def client(self, counter: str | None = "DEMOB", stranger: bool = False) -> Client:
        """The kit's client as ``counter`` (none if None; the foreign authority's if ``stranger``), each
        exchange on its own connection: the hub bounds the connections of an address."""
        if stranger:
            entry = self.pki["stranger"]
        else:
            entry = self.pki["counters"][counter] if counter else {}
        return Client(f"https://localhost:{self.port}", self.pki["ca"]["cert"], entry.get("cert"), entry.get("key"),
                      name="stranger" if stranger else str(counter), keep_alive=False)

    def certificate(self, counter: str) -> bytes:
        return Path(self.pki["counters"][counter]["cert"]).read_bytes()


@pytest.fixture
def hub_settings(request) -> dict:
    """Settings a test changes for its hub (parametrize it indirectly; test_stalls.py: small limits)."""
    return getattr(request, "param", {})


@pytest.fixture
def hub(engine, pki, now, hub_settings, tmp_path) -> RunningHub:
    unit_of_work = lambda readonly=False: SqlUnitOfWork(engine, readonly=readonly)  # noqa: E731
    seed_register(unit_of_work, pki)
    directory = Path(pki["directory"])
    add_key(tmp_path / "document-keys", "test1")
    settings = Settings(**{"host": "127.0.0.1", "https_port": 0, "server_certificate": directory / "server-cert.pem",
                           "server_key": directory / "server-key.pem", "client_authority": directory / "ca.pem",
                           "threads": 4, "document_store": str(tmp_path / "documents"),
                           "document_keys": tmp_path / "document-keys", **hub_settings})
    server = make_server(settings, engine)
    server.expiration_interval = 0.05  # notice stop() quickly: many servers come and go in a test run
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield RunningHub(server.bind_addr[1], pki, unit_of_work, Path(settings.document_store))
    server.stop()
    thread.join(timeout=10)

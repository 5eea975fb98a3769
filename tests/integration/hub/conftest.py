"""A real hub for the SOAP tests: cheroot over TLS on an ephemeral port, on each test database.

The demo PKI is written once per session; every test gets an empty register seeded with the demo
territory and counters (DEMOB landlord, DEMOC municipality, DEMOE EPCI) plus a State counter and a
counter of another territory, all with registered certificates.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

import pytest

from certificates import write_demo_pki
from certificates.reading import registration
from core import demo
from core.adapters.repository import SqlUnitOfWork
from core.domain.codes import CounterType
from core.domain.referential import Counter, Territory
from core.service_layer import services
from hub.config import Settings
from hub.server import make_server

from .soap_client import SoapClient

EXTRA_COUNTERS = (
    Counter("ETAT1", "Préfecture de démonstration", CounterType.STATE, "057", mailbox="etat1@guichets.sne-hub.test"),
    Counter("GEST1", "Gestion territoriale", CounterType.TERRITORIAL_MANAGER, "057"),
    Counter("AUTR1", "Collecteur Action Logement", CounterType.OTHER_RESERVATION_HOLDER, "057"),
    Counter("NANCY", "Ville de Nancy", CounterType.MUNICIPALITY, "054", mailbox="nancy@guichets.sne-hub.test"),
)
ALL_COUNTERS = demo.COUNTERS + EXTRA_COUNTERS


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> dict:
    directory = tmp_path_factory.mktemp("pki")
    described = write_demo_pki(directory, [(c.code, c.name, c.mailbox) for c in ALL_COUNTERS],
                               "hub@sne-hub.example.org")
    # A counter certificate from an unrelated authority, for the tests that need a stranger.
    stranger = write_demo_pki(tmp_path_factory.mktemp("stranger"), [("DEMOB", "Imposteur", None)],
                              "hub@elsewhere.example.org")
    described["stranger"] = stranger["counters"]["DEMOB"]
    described["directory"] = directory
    return described


@dataclass
class RunningHub:
    port: int
    pki: dict
    unit_of_work: Callable

    def client(self, counter: str | None = "DEMOB", stranger: bool = False) -> SoapClient:
        ca = Path(self.pki["ca"]["cert"])
        if stranger:
            entry = self.pki["stranger"]
            return SoapClient(self.port, ca, Path(entry["cert"]), Path(entry["key"]))
        if counter is None:
            return SoapClient(self.port, ca)
        entry = self.pki["counters"][counter]
        return SoapClient(self.port, ca, Path(entry["cert"]), Path(entry["key"]))

    def certificate(self, counter: str) -> bytes:
        return Path(self.pki["counters"][counter]["cert"]).read_bytes()


@pytest.fixture
def hub(engine, pki, now) -> RunningHub:
    unit_of_work = lambda readonly=False: SqlUnitOfWork(engine, readonly=readonly)  # noqa: E731
    services.add_territory(unit_of_work(), demo.TERRITORY)
    services.add_territory(unit_of_work(), Territory("054", "Meurthe-et-Moselle", frozenset({"54"})))
    for counter in ALL_COUNTERS:
        services.add_counter(unit_of_work(), counter)
        entry = pki["counters"][counter.code]
        services.register_certificate(unit_of_work(), registration(counter.code, Path(entry["cert"]).read_bytes()))
    directory = Path(pki["directory"])
    settings = Settings(host="127.0.0.1", https_port=0, server_certificate=directory / "server-cert.pem",
                        server_key=directory / "server-key.pem", client_authority=directory / "ca.pem", threads=4)
    server = make_server(settings, engine)
    server.expiration_interval = 0.05  # notice stop() quickly: many servers come and go in a test run
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield RunningHub(server.bind_addr[1], pki, unit_of_work)
    server.stop()
    thread.join(timeout=10)

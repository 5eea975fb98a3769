"""The production layout, for real: nginx (TLS, client certificates, CRL) in front of SOAP processes
on one PostgreSQL database, configured by ``sne-hub deploy render`` (docs/DEPLOYMENT.md).

One layout per module: three backend ports, two SOAP processes running (the third port is where a
rolling restart starts the next one). The SOAP processes run with 4 threads, so the slow-client
cases of the hostile suite would exhaust them if nginx passed slow clients through. Under CI=true a
missing nginx fails the module; locally it skips.
"""

from __future__ import annotations

import itertools
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import pytest
from lxml import etree
from sqlalchemy import text

from conformance_tests.profiles.server.wire import mtom_request
from core.adapters.database import make_engine
from core.adapters.orm import metadata
from core.wire.codec import NS
from hub import gate
from hub.deploy import CLIENT_CERT_HEADER, UNAVAILABLE
from support.files import DEMANDE, get_demande, get_num_unique, interface_file, person
from support.topology import SNE_HUB, NginxMissing, Topology, nginx_binary, wait_until
from tests.conftest import drop_number_sequences, in_ci

from .test_hostile import SENT, Case, Context, Outcome, Served, https, message_body, run
from .test_search import search

HUB_THREADS = "4"  # as the hostile suite's hub: its slow-client cases open that many connections
LOAD_THREADS = 6
RESTART_BOUND = 60  # seconds: hang bounds on a shared machine, never speed limits


@pytest.fixture(scope="module")
def layout(postgres_url, tmp_path_factory):
    try:
        nginx_binary()
    except NginxMissing as error:
        if in_ci():
            pytest.fail(f"{error} (CI=true requires the production layout tests)", pytrace=False)
        pytest.skip(str(error))
    engine = make_engine(postgres_url)
    with engine.begin() as connection:  # the session's database, emptied as the database_url fixture does
        connection.execute(text(f"TRUNCATE {', '.join(t.name for t in metadata.sorted_tables)} RESTART IDENTITY "
                                "CASCADE"))
        drop_number_sequences(connection)
    engine.dispose()
    topology = Topology.prepare(tmp_path_factory.mktemp("layout"), postgres_url, backends=3,
                                SNE_HUB_THREADS=HUB_THREADS)
    try:
        for port in topology.backends[:2]:
            topology.start_hub(port)
        topology.start_proxy()
        yield topology
    finally:
        topology.close()


def registered_number(reply) -> str:
    assert reply.status == 200, reply.body[:800]
    return etree.fromstring(reply.field("fichierDemande")).findtext(f".//{{{NS}}}numUnique")


def in_register(layout, numbers) -> set[str]:
    with layout.engine.connect() as connection:
        found = connection.execute(text("SELECT number FROM applications WHERE number = ANY(:numbers)"),
                                   {"numbers": list(numbers)})
        return {row[0] for row in found}


# -- the SOAP channel through the proxy ------------------------------------------------------------


def test_register_read_and_search_through_the_proxy(layout):
    number = registered_number(get_num_unique(layout.client("DEMOB"), interface_file("DEMOB", form=person(1))))
    read = get_demande(layout.client("DEMOB"), number)
    assert read.status == 200 and number.encode() in read.field("fichierDemande")
    numbers, anomalies = search(layout, "DEMOB")
    assert number in numbers and anomalies == []


def test_the_wsdl_gives_the_proxy_address(layout):
    wsdl = layout.client("DEMOB").wsdl(DEMANDE)
    assert wsdl.status_code == 200
    assert f'location="https://localhost:{layout.port}/services/{DEMANDE}/"'.encode() in wsdl.content


def test_no_certificate_reaches_the_hub_and_gets_its_fault(layout):
    reply = get_num_unique(layout.client(None), interface_file("DEMOB", form=person(2)))
    assert (reply.status, reply.fault_code, reply.fault_reason) == (403, gate.CERTIFICATE,
                                                                     "Certificat client TLS absent")


def test_a_business_refusal_passes_through(layout):
    reply = get_demande(layout.client("DEMOB"), "0571126999999DEMOB")  # well formed, never registered
    assert reply.status == 400 and reply.fault_code == "NUU111", reply.body[:500]


@pytest.mark.parametrize("header", [CLIENT_CERT_HEADER, CLIENT_CERT_HEADER.replace("-", "_")])
def test_a_client_cannot_forge_the_certificate_header(layout, header):
    """The header is set by nginx (empty without a certificate); the underscore spelling, which WSGI
    would map to the same variable, is dropped."""
    forged = (layout.pki / "DEMOB" / "cert.pem").read_text().replace("\n", "%0A")
    body, content_type = mtom_request("getNumUnique", "numUniqueParametres", [
        ("nomFichierDemande", "f.xml"), ("fichierDemande", interface_file("DEMOB", form=person(3))),
        ("nomCertificat", "c.pem"), ("certificat", b"")])
    reply = layout.client(None).post(DEMANDE, body, content_type, headers={header: forged})
    assert (reply.status, reply.fault_code) == (403, gate.CERTIFICATE), reply.body[:500]


# -- slow clients -----------------------------------------------------------------------------------


def stall_probe(opening: Callable[[Context], list[socket.socket]]):
    """Open hostile connections, then check a valid read is still answered within 2 s."""
    def send(context: Context) -> Outcome:
        hostile = opening(context)
        SENT["requests"] += len(hostile)
        try:
            time.sleep(0.3)
            body, content_type = message_body("getDemandeLogement", {"numUnique": context.number}, mtom=False)
            return https(context.hub, body, content_type, timeout=2, count=False)
        finally:
            for sock in hostile:
                sock.close()
    return send


def idle_tcp(context: Context) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", context.hub.port), timeout=10)]


def partial_headers(context: Context) -> list[socket.socket]:
    """As many connections as hub threads, each having sent half a header block."""
    opened = []
    for _ in range(int(HUB_THREADS)):
        sock = socket.create_connection(("127.0.0.1", context.hub.port), timeout=10)
        tls = context.hub.client("DEMOB").context.wrap_socket(sock, server_hostname="localhost")
        tls.sendall(f"POST /services/{DEMANDE}/ HTTP/1.1\r\nHost: localhost\r\n".encode())
        opened.append(tls)
    return opened


def slow_body(context: Context) -> list[socket.socket]:
    """More connections than hub threads, each having sent its headers and a first byte of the body."""
    opened = []
    for _ in range(int(HUB_THREADS) * 2):
        sock = socket.create_connection(("127.0.0.1", context.hub.port), timeout=10)
        tls = context.hub.client("DEMOB").context.wrap_socket(sock, server_hostname="localhost")
        tls.sendall(f"POST /services/{DEMANDE}/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                    "application/soap+xml\r\nContent-Length: 100000\r\n\r\n<".encode())
        opened.append(tls)
    return opened


SLOW_CLIENTS = {  # the slow clients that stalled the embedded server before it held them, through the proxy
    "one-idle-tcp-connection": idle_tcp,
    "threads-partial-headers": partial_headers,
    "slow-body": slow_body,
}


def test_slow_clients_do_not_delay_a_valid_request(layout):
    """The hostile suite's stall probe (a valid read answered within 2 s while the slow connections
    hold, against the hub's 5 s socket timeout) passes through the proxy, for each slow client. One
    group, as the hostile suite runs them: it registers one application for the group."""
    run(layout, [Case(name, stall_probe(opening), Served(field="fichierDemande"))
                 for name, opening in SLOW_CLIENTS.items()], "topology:slow-clients")


# -- losing a process --------------------------------------------------------------------------------


@dataclass
class Load:
    """Registrations sent continuously from several threads through the proxy."""

    layout: Topology
    acknowledged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    indexes: itertools.count = field(default_factory=lambda: itertools.count(1000))  # a distinct household each

    def __enter__(self):
        self.threads = [threading.Thread(target=self._register, daemon=True) for _ in range(LOAD_THREADS)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=RESTART_BOUND)

    def wait_for(self, count: int) -> None:
        wait_until(lambda: len(self.acknowledged) >= count, f"{count} acknowledged registrations", RESTART_BOUND)

    def _register(self) -> None:
        client = self.layout.client("DEMOB")
        while not self.stop.is_set():
            try:
                reply = get_num_unique(client, interface_file("DEMOB", form=person(next(self.indexes))))
            except OSError as error:
                self.failed.append(f"{type(error).__name__}: {error}")
                continue
            if reply.status == 200:
                self.acknowledged.append(registered_number(reply))
            else:
                self.failed.append(f"{reply.status} {reply.fault_code}")


def failed_in_flight(failure: str) -> bool:
    """What a request in flight on a killed process gets: the proxy's fault, or, when the process died
    while its answer was on the way, that answer cut short (nginx had passed its headers)."""
    return failure == f"502 {UNAVAILABLE}" or (failure.startswith("ChunkedEncodingError:") and
                                               "IncompleteRead(" in failure)


def test_a_killed_process_loses_no_acknowledged_registration_and_is_routed_around(layout):
    victim = layout.backends[0]
    with Load(layout) as load:
        load.wait_for(20)
        layout.stop_hub(victim, signal.SIGKILL)
        after_kill = len(load.acknowledged)
        load.wait_for(after_kill + 40)
    try:
        assert in_register(layout, load.acknowledged) == set(load.acknowledged)
        # Only requests in flight on the killed process can fail (one per client thread at most), and
        # each tells that the registration may have been done (docs/DEPLOYMENT.md, "Losing a process").
        assert len(load.failed) <= LOAD_THREADS, load.failed
        assert all(map(failed_in_flight, load.failed)), load.failed
        later = get_num_unique(layout.client("DEMOB"), interface_file("DEMOB", form=person(5000)))
        assert registered_number(later)
    finally:
        layout.start_hub(victim)


def test_a_rolling_restart_fails_no_request(layout):
    """docs/DEPLOYMENT.md's rolling restart, twice, so that every process is replaced: start a
    process on the free port, render the upstream without the oldest one and reload nginx (its old
    workers finish their requests), then SIGTERM the oldest (it answers what it still has)."""
    with Load(layout) as load:
        load.wait_for(10)
        for _ in range(2):
            free = next(port for port in layout.backends if port not in layout.hubs)
            oldest = next(iter(layout.hubs))
            layout.start_hub(free)
            layout.render([port for port in layout.hubs if port != oldest])
            layout.reload_proxy()
            assert layout.stop_hub(oldest) == 0
            load.wait_for(len(load.acknowledged) + 10)
        layout.render()
        layout.reload_proxy()
    assert load.failed == []
    assert in_register(layout, load.acknowledged) == set(load.acknowledged)


# -- revocation (last: it revokes a demo certificate) -------------------------------------------------


def test_a_revoked_certificate_is_refused_by_the_hub_then_at_the_proxy(layout):
    client = layout.client("DEMOE")
    assert client.wsdl(DEMANDE).status_code == 200
    fingerprint = subprocess.run(["openssl", "x509", "-in", str(layout.pki / "DEMOE" / "cert.pem"), "-noout",
                                  "-fingerprint", "-sha256"], capture_output=True, text=True, check=True)
    subprocess.run([SNE_HUB, "certificates", "revoke", "--ca-dir", str(layout.pki),
                    fingerprint.stdout.strip().split("=", 1)[1]], cwd=layout.directory, env=layout.environment(),
                   check=True, capture_output=True)
    file = interface_file("DEMOE", form=person(6000))

    def refused_by(reason: str) -> bool:
        reply = get_num_unique(layout.client("DEMOE"), file)
        return (reply.status, reply.fault_code) == (403, gate.CERTIFICATE) and reply.fault_reason == reason

    # Before the proxy rereads the CRL: each hub process sees the revocation in the register (1 s poll).
    wait_until(lambda: refused_by("Certificat inconnu, expiré ou révoqué"), "the hub's refusal", RESTART_BOUND)
    layout.reload_proxy()
    # After: nginx refuses it against the rewritten CRL, before any hub process sees the request.
    wait_until(lambda: refused_by("Certificat client TLS refusé : autorité inconnue, hors validité ou révoqué"),
               "the proxy's refusal", RESTART_BOUND)
    assert registered_number(get_num_unique(layout.client("DEMOB"), interface_file("DEMOB", form=person(6001))))

"""SOAP push through real HTTPS to real receivers: what a delivery carries, and every way it can fail.

Each test registers changes through the register's use cases, fans them out, and lets the product's
dispatcher deliver them (one step at a time) to the reference receiver over TLS.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from cheroot import wsgi
from lxml import etree

from certificates import create_authority
from core.domain.calendar import now_in_paris
from core.domain.dispatch import ItemStatus
from core.domain.shared_management import EventInput
from core.service_layer import dispatching, services, shared_management
from core.wire import schemas
from core.wire.codec import NS
from dispatching.receiver import FileStore, Receiver, serve
from dispatching.worker import Dispatcher
from support.receivers import Faults, RecordingStore

from .conftest import with_settings
from .streams import deliver_all, register_household, subscribe

N = f"{{{NS}}}"
ACK_FOR_ANOTHER_DELIVERY = (
    b"<?xml version='1.0'?><soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'><soap:Body>"
    b"<tns:recevoirDispatchReponse xmlns:tns='http://ws.metier.nuu.application.i2/'>"
    b"<idLivraison>S999-0000000001-0000000001</idLivraison></tns:recevoirDispatchReponse></soap:Body></soap:Envelope>")


def answering_server(pki, status: str, body: bytes) -> wsgi.Server:
    """A TLS server (the PKI's server certificate) answering every request the same way."""
    directory = Path(pki["directory"])

    def application(environ, start_response):
        environ["wsgi.input"].read()
        start_response(status, [("Content-Type", "application/soap+xml"), ("Content-Length", str(len(body)))])
        return [body]

    server = serve(application, "127.0.0.1", 0, directory / "server-cert.pem", directory / "server-key.pem",
                   directory / "ca.pem")
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    return server


@pytest.mark.parametrize("mtom", [True, False], ids=["mtom", "inline"])
def test_a_change_reaches_the_subscribed_counter_as_a_valid_dis_file(register, dispatcher, receivers, mtom):
    receiver = receivers()
    subscription = subscribe(register, "DEMOB", receiver.endpoint, mtom=mtom)
    application = register_household(register)
    assert deliver_all(dispatcher) == ["delivered"]
    assert receiver.store.changes == {(str(application.number), 1, "CRE")}
    assert receiver.store.last_sequences == [1]
    [item] = dispatching.items(register(readonly=True), subscription.id, [ItemStatus.DELIVERED])
    assert item.batch == f"S{subscription.id}-0000000001-0000000001"


def test_a_delivery_of_many_files_is_one_message_with_a_part_per_file(register, settings, receivers):
    receiver = receivers()
    subscribe(register, "DEMOB", receiver.endpoint)
    for index in range(30):
        register_household(register, index=index)
    assert deliver_all(Dispatcher(register, with_settings(settings, batch=100))) == ["delivered"]
    assert len(receiver.store.changes) == 30 and len(receiver.store.deliveries) == 1


def test_the_receiver_gets_the_whole_application_with_what_changed_marked(register, dispatcher, receivers, tmp_path):
    received = tmp_path / "received"
    receiver = receivers(store=FileStore(received))  # the demo's store: files on disk
    subscribe(register, "DEMOB", receiver.endpoint)
    application = register_household(register)
    changed = replace(application.form, details="Précision mise à jour")
    services.update(register(), application.number, changed, "DEMOC", now_in_paris())
    assert deliver_all(dispatcher) == ["delivered"]
    files = sorted(received.glob("*.xml"))
    assert [f.name.split("-")[1] for f in files] == ["CRE", "MOD"]
    modification = etree.fromstring(files[1].read_bytes())
    assert schemas.errors(schemas.load(schemas.APPLICATION_FILES["02.01"]), modification) == []
    assert modification.findtext(f"{N}entete/{N}typeFichier") == "DIS"
    demand = modification.find(f"{N}demande/{N}demandeLogement")
    assert demand.findtext(f"{N}numGuichet") == "DEMOB"  # addressed to the receiving counter
    assert demand.findtext(f"{N}incrementFichier") == "2"
    marked = [etree.QName(e).localname for e in modification.iter() if e.get(f"{N}modifie") == "true"]
    assert marked == ["demandeLogement", "precision"]


def test_a_change_of_the_applications_events_arrives_as_evt_without_a_file(register, dispatcher, receivers, tmp_path):
    """The receiver learns that the events changed, and reads them with listerEvenementsDemande."""
    received = tmp_path / "received"
    receiver = receivers(store=FileStore(received))
    subscribe(register, "DEMOB", receiver.endpoint)
    application = register_household(register)
    shared_management.add_event(register(), application.number, EventInput(
        "DEMPIECE", now_in_paris().date(), None, (("PIECES", "Avis d'imposition"),)), "DEMOC", now_in_paris())
    assert deliver_all(dispatcher) == ["delivered"]
    assert sorted(f.name.split("-")[1] + f.suffix for f in received.glob("0*")) == ["CRE.xml", "EVT.evt"]
    assert (received / f"00000002-EVT-{application.number}-v1.evt").read_bytes() == b""


# -- every way a delivery can go wrong: a clear status, nothing lost, nothing applied twice -----------

def stream_status(uow):
    [row] = dispatching.status(uow(readonly=True), now_in_paris())
    return row


def test_a_receiver_fault_is_retried_with_the_same_delivery(register, dispatcher, receivers):
    faults = Faults(error=1.0)
    receiver = receivers(faults=faults)
    subscribe(register, "DEMOB", receiver.endpoint)
    register_household(register)
    assert deliver_all(dispatcher) == ["retry"]
    assert "refus du récepteur" in stream_status(register).subscription.last_error
    faults.error = 0.0
    assert dispatcher.deliver_once("test", now_in_paris() + timedelta(seconds=2)) == "delivered"
    assert len(receiver.store.changes) == 1 and receiver.store.redelivered == 0


def test_a_refusal_for_good_is_not_retried(register, dispatcher, receivers):
    receiver = receivers(accept_client=lambda environ: False)  # the system refuses the hub: reessayer false
    subscription = subscribe(register, "DEMOB", receiver.endpoint)
    register_household(register)
    assert deliver_all(dispatcher) == ["refused"]
    [item] = dispatching.items(register(readonly=True), subscription.id, [ItemStatus.REFUSED])
    assert "CERTIFICAT" in item.error
    assert dispatcher.deliver_once("test", now_in_paris() + timedelta(minutes=5)) is None


def test_an_answer_after_the_hub_stopped_waiting_means_a_redelivery_applied_once(register, dispatcher, receivers):
    faults = Faults(late=1.0, late_seconds=dispatcher.settings.timeout + 1)
    receiver = receivers(faults=faults)
    subscribe(register, "DEMOB", receiver.endpoint)
    register_household(register)
    assert deliver_all(dispatcher) == ["retry"]
    assert "délai" in stream_status(register).subscription.last_error
    faults.late = 0.0
    time.sleep(1.5)  # the receiver finishes applying the first attempt
    assert dispatcher.deliver_once("test", now_in_paris() + timedelta(seconds=2)) == "delivered"
    assert receiver.store.redelivered == 1 and receiver.store.applied_twice == []
    assert len(receiver.store.changes) == 1


def test_a_connection_reset_is_retried(register, dispatcher, receivers):
    faults = Faults(reset=1.0, seed=1)
    receiver = receivers(faults=faults)
    subscribe(register, "DEMOB", receiver.endpoint)
    register_household(register)
    assert deliver_all(dispatcher) == ["retry"]
    assert "connexion" in stream_status(register).subscription.last_error
    faults.reset = 0.0
    assert dispatcher.deliver_once("test", now_in_paris() + timedelta(seconds=2)) == "delivered"
    assert len(receiver.store.changes) == 1


@pytest.mark.parametrize("status, body, expected", [
    ("200 OK", b"<html><body>Bienvenue</body></html>", "illisible"),
    ("200 OK", b"<?xml version='1.0'?><x>" + b"A" * 2_000_000 + b"</x>", "octets"),
    ("503 Service Unavailable", b"maintenance", "HTTP 503"),
    ("200 OK", ACK_FOR_ANOTHER_DELIVERY, "pas l'accusé de réception de cette livraison"),
], ids=["garbage", "oversize", "http-error", "foreign-ack"])
def test_a_receiver_answering_anything_but_the_acknowledgement_is_retried(register, dispatcher, pki, status, body,
                                                                           expected):
    server = answering_server(pki, status, body)
    try:
        subscribe(register, "DEMOB", f"https://localhost:{server.bind_addr[1]}/recevoir")
        register_household(register)
        assert deliver_all(dispatcher) == ["retry"]
        assert expected in stream_status(register).subscription.last_error
    finally:
        server.stop()


def test_a_receiver_whose_certificate_we_do_not_trust_gets_nothing(register, dispatcher, tmp_path):
    foreign = create_authority("Autorité inconnue")
    issued = foreign.issue_server(["localhost"], ["127.0.0.1"])
    issued.write(tmp_path / "server-cert.pem", tmp_path / "server-key.pem")
    store = RecordingStore()
    server = serve(Receiver(store), "127.0.0.1", 0, tmp_path / "server-cert.pem", tmp_path / "server-key.pem",
                   Path(dispatcher.settings.trusted))
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    try:
        subscribe(register, "DEMOB", f"https://localhost:{server.bind_addr[1]}/recevoir")
        register_household(register)
        assert deliver_all(dispatcher) == ["retry"]
        assert stream_status(register).subscription.last_error.startswith("TLS")
        assert store.changes == set()
    finally:
        server.stop()


def test_a_hub_without_the_expected_client_certificate_is_refused_by_the_receiver(register, settings, receivers,
                                                                                   pki):
    stranger = pki["stranger"]  # a certificate of another authority
    dispatcher = Dispatcher(register, with_settings(settings, client_certificate=Path(stranger["cert"]),
                                                    client_key=Path(stranger["key"])))
    receiver = receivers()
    subscribe(register, "DEMOB", receiver.endpoint)
    register_household(register)
    assert deliver_all(dispatcher) == ["retry"]
    assert receiver.store.changes == set()


def test_the_authority_we_configure_is_the_one_checked_whatever_the_environment_says(register, dispatcher,
                                                                                      receivers, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")  # which lacks our CA
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # a proxy that does not exist
    receiver = receivers()
    subscribe(register, "DEMOB", receiver.endpoint)
    register_household(register)
    assert deliver_all(dispatcher) == ["delivered"]


def test_the_receivers_server_logs_through_logging_not_on_stderr(pki, caplog, capfd):
    """cheroot writes its own messages on stderr; the reference receiver's server logs them."""
    caplog.set_level(logging.INFO, logger="dispatching.receiver")
    server = answering_server(pki, "200 OK", ACK_FOR_ANOTHER_DELIVERY)
    try:
        with socket.create_connection(server.bind_addr, timeout=10) as plain:  # plain HTTP on the TLS port
            plain.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            with contextlib.suppress(ConnectionResetError):  # cheroot answers 400, logged first, and resets
                plain.recv(65536)
    finally:
        server.stop()
    assert any("plain HTTP" in record.getMessage() for record in caplog.records if record.name == "dispatching.receiver")
    assert "plain HTTP" not in capfd.readouterr().err

"""Which counter a certificate authenticates, remembered for a while per hub process."""

import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from certificates import fingerprint, load_certificate
from conformance_tests.profiles.server.wire import mtom_request
from core.domain.calendar import now_in_paris
from core.domain.errors import UnknownCertificate
from core.service_layer import services
from core.service_layer.identity import CertificateOwners
from hub.identity import OWNERS
from support.files import DEMANDE, person, today

POLL = OWNERS.poll  # the hub's own setting: 1 s by default


@pytest.fixture
def demob_print(hub) -> str:
    return fingerprint(load_certificate(Path(hub.pki["counters"]["DEMOB"]["cert"]).read_bytes()))


def test_a_revocation_waits_for_nothing_but_the_next_poll(hub, demob_print):
    """The cache keeps owners an hour here, yet a revocation is seen as soon as the process asks the
    register for its revocation mark (at most every SNE_HUB_REVOCATION_POLL_SECONDS)."""
    owners, slow = CertificateOwners(ttl=3600, poll=0), CertificateOwners(ttl=3600, poll=3600)
    for cache in (owners, slow):
        assert cache.owner(hub.unit_of_work, demob_print, now_in_paris()) == "DEMOB"
    services.revoke_certificate(hub.unit_of_work(), demob_print, now_in_paris())
    assert slow.owner(hub.unit_of_work, demob_print, now_in_paris()) == "DEMOB"  # not polled yet
    with pytest.raises(UnknownCertificate):
        owners.owner(hub.unit_of_work, demob_print, now_in_paris())


def test_a_deactivated_counter_is_forgotten_at_the_next_poll(hub, demob_print):
    owners = CertificateOwners(ttl=3600, poll=0)
    assert owners.owner(hub.unit_of_work, demob_print, now_in_paris()) == "DEMOB"
    with hub.unit_of_work() as uow:  # no operator command deactivates a counter yet: the register's row
        uow.connection.execute(text("UPDATE counters SET active = false WHERE code = 'DEMOB'"))
        uow.commit()
    with pytest.raises(UnknownCertificate):
        owners.owner(hub.unit_of_work, demob_print, now_in_paris())


def test_a_revoked_certificate_is_refused_on_a_connection_already_open(hub, demob_print):
    """Key compromise: the next request on a keep-alive connection opened before the revocation is
    refused (HUB-CERTIFICAT), and the hub closes that connection."""
    number = services.register(hub.unit_of_work(), person(1), today(), "DEMOB", now_in_paris()).number
    connection = http.client.HTTPSConnection("localhost", hub.port, context=hub.client("DEMOB").context, timeout=30)
    body, content_type = mtom_request("getDemandeLogement", "demandeLogementParametres", [
        ("numUnique", str(number)), ("nomCertificat", "c.pem"), ("certificat", b"")])

    def ask() -> http.client.HTTPResponse:
        connection.request("POST", f"/services/{DEMANDE}/", body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        response.read()
        return response

    try:
        assert ask().status == 200
        services.revoke_certificate(hub.unit_of_work(), demob_print, now_in_paris())
        time.sleep(POLL + 0.5)
        refused = ask()
        assert refused.status == 403 and refused.getheader("Connection", "").lower() == "close"
        assert connection.sock is None or connection.sock.recv(1) == b""  # closed by the hub
    finally:
        connection.close()


def test_expiry_takes_effect_at_once(hub, demob_print):
    owners = CertificateOwners(ttl=3600)
    owners.owner(hub.unit_of_work, demob_print, now_in_paris())
    with pytest.raises(UnknownCertificate):
        owners.owner(hub.unit_of_work, demob_print, now_in_paris() + timedelta(days=3650))


def test_threads_arriving_together_ask_for_the_revocation_mark_once(hub, demob_print, monkeypatch):
    """A process asks at most once per poll, however many of its threads authenticate at that moment."""
    asked = []
    real_mark = services.revocation_mark

    def slow_mark(unit_of_work):  # the real query, made slow enough for all the threads to arrive meanwhile
        asked.append(threading.get_ident())
        time.sleep(0.2)
        return real_mark(unit_of_work)

    monkeypatch.setattr(services, "revocation_mark", slow_mark)
    owners, arrived = CertificateOwners(ttl=3600, poll=3600), threading.Barrier(8)

    def authenticate(_) -> str:
        arrived.wait()
        return owners.owner(hub.unit_of_work, demob_print, now_in_paris())

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(authenticate, range(8))) == ["DEMOB"] * 8
    assert len(asked) == 1

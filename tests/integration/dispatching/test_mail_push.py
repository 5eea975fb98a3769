"""Mail push through a real SMTP session: signed by the hub, encrypted to the counter, and read back
as a counter's system reads it (our S/MIME library, and openssl cms as integrators are told to)."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from lxml import etree

from core import demo
from core.adapters import orm
from core.domain.calendar import now_in_paris
from core.domain.dispatch import Channel, Filter
from core.service_layer import dispatching, services
from core.wire import schemas
from dispatching.receiver import message_schema
from dispatching.worker import Dispatcher
from support.mailboxes import start_mailboxes
from support.receivers import Faults

from .conftest import with_settings


@pytest.fixture
def mailboxes(pki):
    started = []

    def start(counters=("DEMOE",), faults=None):
        handler, controller = start_mailboxes(pki, list(counters), faults)
        started.append(controller)
        return handler, controller

    yield start
    for controller in started:
        controller.stop()


def relayed(register, settings, controller) -> Dispatcher:
    return Dispatcher(register, with_settings(settings, relay=f"127.0.0.1:{controller.port}"))


def register_households(uow, count: int = 2, counter: str = "DEMOC"):
    return [services.register(uow(), demo.household_form("Martin", f"P{index}", date(1980, 1, 1 + index)),
                              now_in_paris().date(), counter, now_in_paris()) for index in range(count)]


def deliver_all(dispatcher) -> list[str]:
    dispatcher.fan_out_once()
    dispatcher.caught_up.set()
    words = []
    while (word := dispatcher.deliver_once("test")) is not None:
        words.append(word)
    return words


def test_changes_arrive_signed_and_encrypted_with_the_delivery_and_its_dis_files(register, settings, mailboxes, pki,
                                                                               tmp_path):
    handler, controller = mailboxes()
    subscription = dispatching.subscribe(register(), "DEMOE", Channel.MAIL, Filter(), now_in_paris())
    applications = register_households(register)
    assert deliver_all(relayed(register, settings, controller)) == ["delivered"]
    box = handler.of("DEMOE")
    assert box.unreadable == [] and len(box.mails) == 1
    assert box.store.changes == {(str(a.number), 1, "CRE") for a in applications}
    raw = box.mails[0]
    headers = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    assert headers["X-SNE-Livraison"] == f"S{subscription.id}-0000000001-0000000002"
    assert headers["To"] == "demoe@guichets.sne-hub.test" and "Martin" not in str(headers)
    # openssl, as docs/DISPATCHING.md tells integrators: decrypt with the counter's key, verify the hub
    counter = pki["counters"]["DEMOE"]
    (tmp_path / "mail.eml").write_bytes(raw)
    decrypted = subprocess.run(["openssl", "cms", "-decrypt", "-in", str(tmp_path / "mail.eml"), "-recip",
                                counter["cert"], "-inkey", counter["key"]], capture_output=True, check=True).stdout
    content = subprocess.run(["openssl", "cms", "-verify", "-purpose", "smimesign", "-CAfile", pki["ca"]["cert"]],
                             input=decrypted, capture_output=True)
    assert content.returncode == 0, content.stderr
    parts = {part.get_filename(): part.get_payload(decode=True) for part in
             BytesParser(policy=policy.compat32).parsebytes(content.stdout).walk() if part.get_filename()}
    manifest = next(data for name, data in parts.items() if name.startswith("LIVDEMOE-"))
    assert message_schema().validate(etree.fromstring(manifest))  # the receiver WSDL's own element
    files = [etree.fromstring(data) for name, data in parts.items() if name.startswith("DISDEMOE-")]
    assert len(files) == 2
    for file in files:
        assert schemas.errors(schemas.load(schemas.APPLICATION_FILES["02.01"]), file) == []


def test_a_daily_stream_without_changes_gets_a_null_flow(register, settings, mailboxes):
    handler, controller = mailboxes()
    dispatching.subscribe(register(), "DEMOE", Channel.DAILY_MAIL, Filter(), now_in_paris())
    dispatcher = relayed(register, with_settings(settings, daily_at=(now_in_paris() - timedelta(minutes=1)).time()),
                         controller)
    assert deliver_all(dispatcher) == ["delivered"]
    box = handler.of("DEMOE")
    assert len(box.mails) == 1 and box.store.last_sequences == [0] and box.store.changes == set()
    subject = BytesParser(policy=policy.default).parsebytes(box.mails[0], headersonly=True)["Subject"]
    assert "flux nul" in subject
    register_households(register, 1)
    assert deliver_all(dispatcher) == []  # today's mail is gone: tomorrow's takes the change


def test_a_mail_server_that_refuses_for_now_is_tried_again(register, settings, mailboxes):
    faults = Faults(error=1.0)
    handler, controller = mailboxes(faults=faults)
    dispatching.subscribe(register(), "DEMOE", Channel.MAIL, Filter(), now_in_paris())
    register_households(register, 1)
    dispatcher = relayed(register, settings, controller)
    assert deliver_all(dispatcher) == ["retry"]
    [status] = dispatching.status(register(readonly=True), now_in_paris())
    assert "relais" in status.subscription.last_error and status.counts.pending == 1
    faults.error = 0.0
    assert dispatcher.deliver_once("test", now_in_paris() + timedelta(seconds=2)) == "delivered"
    assert len(handler.of("DEMOE").store.changes) == 1


def test_without_a_certificate_to_encrypt_to_nothing_leaves_in_clear(register, settings, mailboxes):
    handler, controller = mailboxes()
    dispatching.subscribe(register(), "DEMOE", Channel.MAIL, Filter(), now_in_paris())
    with register() as work:
        work.connection.execute(orm.counter_certificates.update()
                                .where(orm.counter_certificates.c.counter_code == "DEMOE").values(certificate=None))
        work.commit()
    register_households(register, 1)
    assert deliver_all(relayed(register, settings, controller)) == ["retry"]
    [status] = dispatching.status(register(readonly=True), now_in_paris())
    assert "certificat" in status.subscription.last_error
    assert handler.of("DEMOE").mails == []


def test_without_a_relay_the_demo_drops_the_mail_in_the_counters_inbox(register, settings):
    dispatching.subscribe(register(), "DEMOE", Channel.MAIL, Filter(), now_in_paris())
    register_households(register, 1)
    assert deliver_all(Dispatcher(register, settings)) == ["delivered"]
    assert len(list((Path(settings.drop_directory) / "DEMOE" / "inbox").glob("*.eml"))) == 1

"""The signed mail channel end to end: real SMTP sessions, real S/MIME, openssl on both sides."""

import logging
import smtplib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from lxml import etree

from async_mail import pipeline
from async_mail.delivery import BATCH, RELAY_TIMEOUT, Delivery
from async_mail.service import counter_lookup
from async_mail.store import MailStore
from certificates import smime
from core.adapters.repository import count_rows
from core.domain.calendar import now_in_paris
from core.wire import processing
from core.wire.codec import NS
from support.files import interface_file, person
from support.mails import HUB, attachments, entity, identity, open_reply, ours, with_openssl

N = f"{{{NS}}}"


def file_name(counter: str, seq: int = 1) -> str:
    return f"DEM{counter}-{now_in_paris():%Y%m%d%H%M}-{seq:06d}.xml"


def send(mail, raw: bytes, sender: str, recipients=(HUB,)) -> None:
    with smtplib.SMTP("127.0.0.1", mail.port, timeout=10) as client:
        client.sendmail(sender, list(recipients), raw)


def reply_to(mail, counter):
    """The one reply the counter's mailbox received, opened with openssl."""
    assert len(mail.mailbox.received) == 1, mail.mailbox.received
    sender, recipients, raw = mail.mailbox.received[0]
    assert (sender, recipients) == (HUB, [counter.mailbox])
    return message_from_bytes(raw), attachments(open_reply(raw, counter, mail.ca_with_crl, mail.workdir))


def applications(mail) -> int:
    with mail.unit_of_work(readonly=True) as work:
        return count_rows(work.connection, "applications")


def test_a_file_signed_and_encrypted_with_openssl_gets_a_signed_encrypted_answer(mail):
    """smtplib → hub → the counter's own SMTP mailbox; the answer verified and decrypted by openssl."""
    demob = identity(mail.pki, "DEMOB")
    name = file_name("DEMOB")
    raw = with_openssl(entity([(name, interface_file("DEMOB", form=person(1)))]), demob,
                       mail.settings.certificate, mail.workdir)
    send(mail, raw, demob.mailbox)
    mail.settle()
    message, files = reply_to(mail, demob)
    original_id = message_from_bytes(raw)["Message-ID"]
    assert message["In-Reply-To"] == original_id or original_id is None
    answer = etree.fromstring(files["RET" + name[3:]])
    assert answer.findtext(f"{N}entete/{N}typeFichier") == "RET"
    assert answer.findtext(f".//{N}numUnique").endswith("DEMOB")
    assert files["ATT" + name[3:-4] + ".pdf"].startswith(b"%PDF")
    assert applications(mail) == 1


def test_a_mails_session_logs_no_address(mail, caplog):
    """aiosmtpd logs each command line at INFO, MAIL FROM and RCPT TO with their mailboxes: the hub
    quiets it unless it logs at DEBUG, and its own lines name the counter, not the address."""
    caplog.set_level(logging.INFO)
    demob = identity(mail.pki, "DEMOB")
    send(mail, ours(entity([(file_name("DEMOB"), interface_file("DEMOB", form=person(1)))]), demob,
                    mail.settings.certificate), demob.mailbox)
    mail.settle()
    lines = [record.getMessage() for record in caplog.records]
    assert any("processed: counter=DEMOB" in line for line in lines), lines
    assert not [line for line in lines if "@" in line]


def test_several_files_in_one_mail_each_get_their_answer(mail):
    democ = identity(mail.pki, "DEMOC")
    names = [file_name("DEMOC", seq) for seq in (1, 2, 3)]
    broken = person(3)
    broken.household.applicant.civility = "9"
    files = [(names[0], interface_file("DEMOC", form=person(2))), (names[1], interface_file("DEMOC", form=broken)),
             (names[2], b"<pas-un-fichier/>")]
    send(mail, ours(entity(files), democ, mail.settings.certificate), democ.mailbox)
    mail.settle()
    _, answers = reply_to(mail, democ)
    assert etree.fromstring(answers["RET" + names[0][3:]]).findtext(f".//{N}numUnique")
    assert b'code="NUU101"' in answers["RET" + names[1][3:]]
    assert answers["RET" + names[2][3:-4] + ".txt"].startswith(b"Fichier " + names[2].encode() + b" refus")
    assert applications(mail) == 1


def test_both_channels_give_the_same_answer_for_the_same_file(mail):
    """The answer by mail is the SOAP channel's answer: same bytes, but for the answer's date."""
    demob = identity(mail.pki, "DEMOB")
    broken = person(4)
    broken.housing_sought.wished_locations[0].commune = "5746"
    file = interface_file("DEMOB", form=broken)
    by_soap = processing.process(mail.unit_of_work, "DEMOB", file, now_in_paris()).file
    name = file_name("DEMOB")
    send(mail, ours(entity([(name, file)]), demob, mail.settings.certificate), demob.mailbox)
    mail.settle()
    _, answers = reply_to(mail, demob)

    def without_date(data: bytes) -> bytes:
        document = etree.fromstring(data)
        document.find(f"{N}entete/{N}dateFichier").text = "-"
        return etree.tostring(document)

    assert without_date(answers["RET" + name[3:]]) == without_date(by_soap)


def test_demo_delivery_writes_eml_files(mail):
    mail.settings.__dict__["relay"] = None  # frozen dataclass: the demo mode, without a relay
    demoe = identity(mail.pki, "DEMOE")
    send(mail, ours(entity([(file_name("DEMOE"), interface_file("DEMOE", form=person(5)))]), demoe,
                    mail.settings.certificate), demoe.mailbox)
    mail.settle()
    inbox = list((mail.settings.drop_directory / "DEMOE" / "inbox").glob("*.eml"))
    assert len(inbox) == 1 and b"application/pkcs7-mime" in inbox[0].read_bytes()


def test_a_replayed_message_gets_the_original_answer_and_is_not_processed_twice(mail):
    demob = identity(mail.pki, "DEMOB")
    raw = ours(entity([(file_name("DEMOB"), interface_file("DEMOB", form=person(6)))]), demob,
               mail.settings.certificate, message_id="<replay-1@guichets.sne-hub.test>")
    send(mail, raw, demob.mailbox)
    mail.settle()
    send(mail, raw, demob.mailbox)  # same Message-ID
    resigned = ours(entity([(file_name("DEMOB"), interface_file("DEMOB", form=person(6)))]), demob,
                    mail.settings.certificate)
    send(mail, raw.replace(b"replay-1@", b"replay-2@"), demob.mailbox)  # same signed content
    mail.settle()
    assert applications(mail) == 1
    first, second, third = (raw for _, _, raw in mail.mailbox.received)
    assert first.split(b"\r\n\r\n", 1)[1] == second.split(b"\r\n\r\n", 1)[1] == third.split(b"\r\n\r\n", 1)[1]
    assert resigned  # a new signature over new content would be a new message


def test_unknown_recipients_are_refused_at_rcpt(mail):
    with smtplib.SMTP("127.0.0.1", mail.port, timeout=10) as client:
        client.ehlo()
        client.mail("demob@guichets.sne-hub.test")
        code, _ = client.rcpt("someone@else.example.org")
    assert code == 550


def test_starttls_is_offered(mail):
    with smtplib.SMTP("127.0.0.1", mail.port, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("starttls")


def test_a_relay_down_means_retries_then_a_dead_letter(mail):
    demob = identity(mail.pki, "DEMOB")
    mail.settings.__dict__["relay"] = "127.0.0.1:1"  # nothing listens there
    send(mail, ours(entity([(file_name("DEMOB"), interface_file("DEMOB", form=person(7)))]), demob,
                    mail.settings.certificate), demob.mailbox)
    mail.settle()
    [reply] = mail.store.replies()
    assert (reply.status, reply.attempts) == ("queued", 1)
    assert reply.next_attempt_at > now_in_paris()
    later = now_in_paris() + timedelta(hours=49)
    mail.delivery.deliver_due(later)
    [reply] = mail.store.replies()
    assert reply.status == "dead" and "ConnectionRefusedError" in reply.last_error
    assert mail.store.retry(reply.id, now_in_paris())
    mail.settings.__dict__["relay"] = f"127.0.0.1:{mail.settings.relay and 0}"


def test_every_reply_due_is_delivered_in_one_turn_batch_after_batch(mail):
    """A mail process's turn sends its whole backlog, not one batch: at one batch a second, replies
    queued faster than BATCH a second would wait ever longer. Each batch goes over one connection
    to the relay."""
    from async_mail.delivery import BATCH

    now = now_in_paris()
    queued = [mail.store.enqueue("demob@guichets.example.org", f"<reply-{index}@sne-hub>",
                                 f"Subject: reply {index}\r\n\r\nbody\r\n".encode(), now)
              for index in range(2 * BATCH + 5)]
    assert mail.delivery.deliver_all_due(now_in_paris) == (len(queued), 0)
    assert sorted(reply.status for reply in mail.store.replies()) == ["sent"] * len(queued)
    assert len(mail.mailbox.received) == len(queued)
    assert len(set(mail.mailbox.sessions)) == 3  # 20, 20 and 5
    assert mail.delivery.deliver_all_due(now_in_paris) == (0, 0)


def test_a_reply_the_relay_refuses_fails_alone_and_the_batch_goes_on(mail):
    """A refusal is that reply's (retried later); the connection stays, the other replies go."""
    now = now_in_paris()
    for index, recipient in enumerate(["demob@guichets.example.org", "unknown@guichets.example.org",
                                            "demoe@guichets.example.org"]):
        mail.store.enqueue(recipient, f"<reply-{index}@sne-hub>", b"Subject: r\r\n\r\nbody\r\n", now)
    assert mail.delivery.deliver_due(now_in_paris()) == (2, 1)
    assert sorted(reply.status for reply in mail.store.replies()) == ["queued", "sent", "sent"]
    assert len(mail.mailbox.received) == 2 and len(set(mail.mailbox.sessions)) == 1


def test_the_documented_openssl_example_works(mail, tmp_path):
    """docs/MAIL.md's script, run as written against this hub (demo mode: replies as .eml files)."""
    import re
    import shutil
    import subprocess
    import threading
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    demo = tmp_path / "demo"
    shutil.copytree(mail.pki["directory"], demo)
    mail.settings.__dict__.update(relay=None, drop_directory=demo)
    script = re.search(r"<!-- example:mail -->\n```sh\n(.*?)```", (root / "docs" / "MAIL.md").read_text(),
                       re.S).group(1).replace("docs/examples", str(root / "docs" / "examples"))
    stop = threading.Event()

    def deliver():
        while not stop.is_set():
            mail.delivery.deliver_due(now_in_paris())
            stop.wait(0.2)

    worker = threading.Thread(target=deliver, daemon=True)
    worker.start()
    try:
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True,
                                text=True, timeout=90, env={"PATH": "/usr/bin:/bin", "DEMO": str(demo),
                                                            "SMTP": f"smtp://127.0.0.1:{mail.port}"})
    finally:
        stop.set()
        worker.join()
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"RETDEMOB-\d{12}-000001\.xml\n", result.stdout)
    assert applications(mail) == 1


def stored_mail(mail, index: int) -> int:
    """A signed, encrypted mail of DEMOB stored as received (its 250 given), not yet processed."""
    demob = identity(mail.pki, "DEMOB")
    raw = ours(entity([(file_name("DEMOB", index), interface_file("DEMOB", form=person(index)))]), demob,
               mail.settings.certificate)
    return mail.store.receive(raw, demob.mailbox, None, now_in_paris())


def resumed(mail, at) -> int:
    from async_mail.server import HubHandler

    with ThreadPoolExecutor(1) as workers:
        return HubHandler(mail.settings, mail.store, mail.pipeline, workers).take_waiting(at)


@pytest.mark.mail_settings(workers=1)
def test_a_process_with_its_hand_full_leaves_what_it_receives_to_a_process_with_room(mail, engine):
    """The kernel gives a process its SMTP sessions whatever its load. Once its hand is full (its
    worker busy, two mails queued for it), it stores the next mails waiting, and another mail
    process takes them as its own hand has room: every mail processed once, by one or the other."""
    import threading

    from async_mail import service

    handler = service.handler(mail.settings, engine)  # another mail process, on the same database
    busy = threading.Event()
    mail.workers.submit(busy.wait, 20)  # this process's only worker, busy with a long mail
    demob = identity(mail.pki, "DEMOB")
    raws = [ours(entity([(file_name("DEMOB", index), interface_file("DEMOB", form=person(index)))]), demob,
                 mail.settings.certificate) for index in range(7)]
    try:
        for raw in raws:  # one after the other: each DATA answered once its mail is stored
            send(mail, raw, demob.mailbox)
        rows = mail.store.unfinished()
        assert [(mail.store.get(message).status, mail.store.get(message).owner) for message in rows] == \
            [("processing", mail.store.owner)] * 3 + [("received", None)] * 4
        assert handler.take_waiting(now_in_paris()) == handler.capacity == 3  # what its hand has room for
        deadline = time.monotonic() + 20
        while mail.store.waiting(now_in_paris()) and time.monotonic() < deadline:  # the last, once it has room
            handler.take_waiting(now_in_paris())
            time.sleep(0.05)
    finally:
        busy.set()
        handler.workers.shutdown(wait=True)
    mail.settle()
    owners = [mail.store.get(message).owner for message in rows]
    assert owners.count(mail.store.owner) == 3 and owners.count(handler.store.owner) == 4
    assert all(mail.store.get(message).status == "processed" for message in rows)
    assert applications(mail) == 7 and len(mail.mailbox.received) == 7


def test_a_mail_let_go_by_a_stopping_process_is_taken_at_once(mail):
    """A process stopped gracefully with a mail taken but not processed (stored while it stopped):
    it let its leases go, so the next process takes the mail at its first look."""
    stored = stored_mail(mail, 8)
    stopping = MailStore(mail.store.engine)
    assert stopping.claim(stored, now_in_paris())
    assert resumed(mail, now_in_paris()) == 0  # still held
    assert stopping.let_go() == 1
    assert resumed(mail, now_in_paris()) == 1
    mail.settle()
    assert mail.store.get(stored).status == "processed"
    assert applications(mail) == 1 and len(mail.mailbox.received) == 1


def test_a_mail_of_a_process_that_died_is_taken_once_its_lease_ran_out(mail):
    """A process that died (SIGKILL, a crash) renews nothing: its mail waits for the end of its
    lease (a second here), then another process takes and processes it, once."""
    stored = stored_mail(mail, 9)
    dead = MailStore(mail.store.engine, lease=timedelta(seconds=1))
    assert dead.claim(stored, now_in_paris())
    assert resumed(mail, now_in_paris()) == 0
    time.sleep(1.1)
    assert resumed(mail, now_in_paris()) == 1
    mail.settle()
    assert mail.store.get(stored).status == "processed" and mail.store.get(stored).owner == mail.store.owner
    assert applications(mail) == 1 and len(mail.mailbox.received) == 1


def test_a_living_process_keeps_its_mails_by_renewing_its_leases(mail):
    stored = stored_mail(mail, 10)
    living = MailStore(mail.store.engine, lease=timedelta(seconds=60))
    taken_at = now_in_paris()
    assert living.claim(stored, taken_at)
    assert living.renew(taken_at + timedelta(seconds=40)) == 1
    assert mail.store.claim(stored, taken_at + timedelta(seconds=90)) is None  # renewed until 100 s
    assert mail.store.claim(stored, taken_at + timedelta(seconds=101))
    assert living.renew(taken_at + timedelta(seconds=102)) == 0  # it is no longer the owner


def test_operators_see_which_process_holds_which_mails_and_whose_lease_lapsed(mail, database_url):
    from click.testing import CliRunner

    from core.cli import main

    def processing() -> list[str]:
        result = CliRunner().invoke(main, ["mail", "processing"], env={"SNE_HUB_DATABASE_URL": database_url},
                                    prog_name="sne-hub")
        assert result.exit_code == 0, result.output
        return result.output.splitlines()

    held, waiting = stored_mail(mail, 11), stored_mail(mail, 12)
    dying = MailStore(mail.store.engine, owner="f" * 32, lease=timedelta(seconds=1))
    assert dying.claim(held, now_in_paris())
    [holder, summary] = processing()
    assert holder.startswith("f" * 32) and "1 mail(s)" in holder and "lease until " in holder
    assert summary == "1 holder(s); 1 mail(s) waiting to be taken"
    time.sleep(1.1)
    assert processing()[0].endswith("lease lapsed or let go")
    assert mail.store.claim(waiting, now_in_paris()) and mail.store.claim(held, now_in_paris())
    assert processing() == [processing()[0], "1 holder(s); 0 mail(s) waiting to be taken"]
    assert processing()[0].startswith(mail.store.owner) and "2 mail(s)" in processing()[0]


def test_a_reply_is_sent_by_one_process_and_again_only_if_it_died_sending_it(mail):
    first, second = MailStore(mail.store.engine), MailStore(mail.store.engine)
    now = now_in_paris()
    replies = [mail.store.enqueue(f"c{index}@guichets.sne-hub.test", f"<r{index}@hub>", b"reply", now)
               for index in range(5)]
    taken = first.due(now, limit=3)
    assert [outgoing.id for outgoing in taken] == replies[:3]
    assert [outgoing.id for outgoing in second.due(now)] == replies[3:]  # not the first's
    assert second.due(now + timedelta(seconds=59)) == []
    for outgoing in taken[:2]:
        first.sent(outgoing.id, now)
    # the first died before settling its third reply: sent again once its lease ran out, the others never
    assert [outgoing.id for outgoing in second.due(now + timedelta(seconds=61))] == [replies[2], *replies[3:]]


@pytest.mark.parametrize("relay", [True, False], ids=["relay", "drop-directory"])
def test_the_replies_a_process_died_holding_wait_as_long_as_sending_them_may_take(mail, relay):
    """Through a relay, a batch may take BATCH × RELAY_TIMEOUT to send: another process waits that long
    rather than send a reply twice. Onto disk, another process drops them once the lease ran out."""
    settings = mail.settings if relay else replace(mail.settings, relay=None)
    dead, living = (Delivery(settings, MailStore(mail.store.engine, lease=timedelta(seconds=3)),
                             counter_lookup(mail.store.engine)) for _ in range(2))
    now = now_in_paris()
    replies = [mail.store.enqueue(f"c{index}@guichets.sne-hub.test", f"<r{index}@hub>", b"reply", now)
               for index in range(3)]
    assert [outgoing.id for outgoing in dead.take(now)] == replies  # then the process dies, sending none
    waited = BATCH * RELAY_TIMEOUT if relay else timedelta(seconds=3)
    assert living.take(now + waited - timedelta(seconds=1)) == []
    assert [outgoing.id for outgoing in living.take(now + waited + timedelta(seconds=1))] == replies


CODES = [smime.NOT_MIME, smime.NOT_SIGNED, smime.NESTED, smime.BAD_SIGNATURE, smime.SIGNERS, smime.CHAIN, smime.REVOKED,
         smime.VALIDITY, smime.NOT_DECRYPTABLE, pipeline.ENCRYPTION_REQUIRED, pipeline.HEADERS, pipeline.AMBIGUOUS_FROM,
         pipeline.SENDER, pipeline.CERTIFICATE, pipeline.SIGNING_TIME, pipeline.FILES, pipeline.UNNAMED_FILE,
         pipeline.DUPLICATE_NAME, pipeline.REPLAY, pipeline.REUSED_MESSAGE_ID]


@pytest.mark.parametrize("code", CODES)
def test_every_refusal_code_is_documented(code):
    """docs/MAIL.md's table of checks lists every code a quarantined mail can carry (20 characters
    at most: the store's column)."""
    assert f"| `{code}` |" in (Path(__file__).resolve().parents[3] / "docs" / "MAIL.md").read_text()
    assert len(code) <= 20

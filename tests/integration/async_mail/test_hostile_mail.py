"""Hostile mail: each case is quarantined with its precise reason, and nothing of it is processed.

Every mail goes through a real SMTP session to the real channel; afterwards the register holds no
application, the message is in quarantine with the expected code, and a reply went out only when
the sender was identified (signature verified, certificate registered, From the certificate's),
saying that code.

Replays are a second catalogue: sequences of mails from several counters, each with its expected
outcome and the counter its answer goes to, so that no counter can use replay detection against
another.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select

from async_mail import pipeline
from certificates import fingerprint, load_certificate, smime
from certificates.reading import load_private_key
from core.adapters import orm
from core.adapters.repository import count_rows
from core.domain.calendar import now_in_paris
from core.service_layer import services
from support.files import interface_file, person
from support.mails import HUB, Identity, attachments, entity, headers, identity, open_reply, ours, text_of, with_openssl


def dem(counter: str = "DEMOB", seq: int = 1) -> str:
    return f"DEM{counter}-{now_in_paris():%Y%m%d%H%M}-{seq:06d}.xml"


def files(counter: str = "DEMOB") -> bytes:
    return entity([(dem(counter), interface_file(counter, form=person(1)))])


def certificate(mail, *, not_before: datetime, not_after: datetime, self_signed: bool = False) -> Identity:
    """A DEMOB-like S/MIME certificate with chosen dates, issued by the demo CA (or by itself)."""
    directory = Path(mail.pki["directory"])
    ca = load_certificate((directory / "ca.pem").read_bytes())
    ca_key = load_private_key((directory / "ca-key.pem").read_bytes())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DEMOB hors délais"),
                         x509.NameAttribute(NameOID.SERIAL_NUMBER, "DEMOB")])
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject if self_signed else ca.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("demob@guichets.sne-hub.test")]), False)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
               .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), True))
    issued = builder.sign(key if self_signed else ca_key, hashes.SHA256())
    folder = mail.workdir / uuid.uuid4().hex
    folder.mkdir()
    (folder / "cert.pem").write_bytes(issued.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return Identity("DEMOB", "demob@guichets.sne-hub.test", folder / "cert.pem", folder / "key.pem")


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable  # (mail) -> (raw bytes, envelope sender)
    code: str
    identified: bool = False  # whether the sender gets an error reply


NOW = lambda: now_in_paris()  # noqa: E731


def signed(content: Callable = files, who: str = "DEMOB", sender: str | None = None, encrypt: bool = True,
           **signing) -> Callable:
    def build(mail):
        signer = identity(mail.pki, who)
        hub = mail.settings.certificate if encrypt else None
        return ours(content() if callable(content) else content, signer, hub, sender=sender, **signing), \
            sender or signer.mailbox
    return build


def tampered(replace: tuple[bytes, bytes]) -> Callable:
    def build(mail):
        demob = identity(mail.pki, "DEMOB")
        raw = ours(files(), demob, None)
        return raw.replace(*replace, 1), demob.mailbox
    return build


def by(make_identity: Callable) -> Callable:
    def build(mail):
        who = make_identity(mail)
        return ours(files(), who, mail.settings.certificate), who.mailbox
    return build


def openssl_two_signers(mail):
    demob, democ = identity(mail.pki, "DEMOB"), identity(mail.pki, "DEMOC")
    return with_openssl(files(), demob, mail.settings.certificate, mail.workdir, extra_signer=democ), demob.mailbox


def wrapped(mail):
    demob = identity(mail.pki, "DEMOB")
    inner = smime.sign(files(), load_certificate(demob.cert.read_bytes()), load_private_key(demob.key.read_bytes()))
    outer = (b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n--outer\r\n' + inner + b"\r\n--outer--\r\n")
    return headers(demob.mailbox) + outer, demob.mailbox


def wrong_key(mail):
    demob = identity(mail.pki, "DEMOB")
    return ours(files(), demob, Path(mail.pki["counters"]["DEMOC"]["cert"])), demob.mailbox


def plain(mail):
    return headers("demob@guichets.sne-hub.test") + files(), "demob@guichets.sne-hub.test"


def malformed(mail):
    return (b"From: demob@guichets.sne-hub.test\r\nTo: " + HUB.encode()
            + b'\r\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary="x"\r\n\r\n'
              b"--x\r\ntronque"), "demob@guichets.sne-hub.test"


def from_headers(*values: str) -> Callable:
    """A mail signed by DEMOB whose own From header gives way to these From headers."""
    def build(mail):
        demob = identity(mail.pki, "DEMOB")
        raw = ours(files(), demob, mail.settings.certificate)
        replaced = b"".join(f"From: {value}\r\n".encode() for value in values)
        return raw.replace(f"From: {demob.mailbox}\r\n".encode(), replaced, 1), demob.mailbox
    return build


DEMOB_MAILBOX, DEMOC_MAILBOX = "demob@guichets.sne-hub.test", "democ@guichets.sne-hub.test"


def one_name_twice() -> bytes:
    name = dem()
    return entity([(name, interface_file("DEMOB", form=person(1))), (name, interface_file("DEMOB", form=person(2)))])


def xml_without_a_name() -> bytes:
    return entity([(dem(), interface_file("DEMOB", form=person(1))), (None, interface_file("DEMOB", form=person(2)))])


def attachment_without_a_name() -> bytes:
    """A valid file, and a part declared an attachment (not XML) that has no file name."""
    named = entity([(dem(), interface_file("DEMOB", form=person(1)))])
    boundary = named.split(b'boundary="', 1)[1].split(b'"', 1)[0]
    unnamed = (b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n"
               + base64.encodebytes(interface_file("DEMOB", form=person(2))).replace(b"\n", b"\r\n"))
    closing = b"--" + boundary + b"--"
    return named.replace(closing, b"--" + boundary + b"\r\n" + unnamed + closing)


CASES = [
    Case("unsigned", plain, smime.NOT_SIGNED),
    Case("malformed-mime", malformed, smime.NOT_MIME),
    Case("tampered-body", tampered((b"Fichiers du guichet", b"Fichiers du guichEt")), smime.BAD_SIGNATURE),
    Case("tampered-signed-header", tampered((b"Content-Type: text/plain; charset=utf-8",
                                            b"Content-Type: text/plain; charset=latin1")), smime.BAD_SIGNATURE),
    Case("two-signers", openssl_two_signers, smime.SIGNERS),
    Case("wrapped-in-multipart", wrapped, smime.NESTED),
    Case("encrypted-to-the-wrong-key", wrong_key, smime.NOT_DECRYPTABLE),
    Case("self-signed", by(lambda mail: certificate(mail, not_before=NOW() - timedelta(days=1),
                                                    not_after=NOW() + timedelta(days=30), self_signed=True)),
         smime.CHAIN),
    Case("expired", by(lambda mail: certificate(mail, not_before=NOW() - timedelta(days=60),
                                                not_after=NOW() - timedelta(days=1))), smime.VALIDITY),
    Case("not-yet-valid", by(lambda mail: certificate(mail, not_before=NOW() + timedelta(days=1),
                                                      not_after=NOW() + timedelta(days=60))), smime.VALIDITY),
    Case("from-mismatch", signed(sender="democ@guichets.sne-hub.test"), "MAIL-EXPEDITEUR"),
    Case("signed-by-another-counter", signed(content=lambda: files("DEMOB"), who="DEMOC"), "MAIL-FICHIERS",
         identified=True),
    Case("signing-time-too-old", signed(at=datetime.now(timezone.utc) - timedelta(days=3)), "MAIL-HORODATAGE",
         identified=True),
    Case("no-file", signed(content=lambda: entity([])), "MAIL-FICHIERS", identified=True),
    Case("bad-file-name", signed(content=lambda: entity([("demande.xml", b"<x/>")])), "MAIL-FICHIERS",
         identified=True),
    Case("one-name-twice", signed(content=one_name_twice), pipeline.DUPLICATE_NAME, identified=True),
    Case("xml-part-without-a-name", signed(content=xml_without_a_name), pipeline.UNNAMED_FILE, identified=True),
    Case("attachment-without-a-name", signed(content=attachment_without_a_name), pipeline.UNNAMED_FILE,
         identified=True),
    Case("two-from-addresses", from_headers(f"{DEMOB_MAILBOX}, {DEMOC_MAILBOX}"), pipeline.AMBIGUOUS_FROM),
    Case("two-from-addresses-without-a-comma", from_headers(f"<{DEMOB_MAILBOX}> <{DEMOC_MAILBOX}>"),
         pipeline.AMBIGUOUS_FROM),
    Case("two-from-headers", from_headers(DEMOB_MAILBOX, DEMOC_MAILBOX), pipeline.AMBIGUOUS_FROM),
]


def applications(mail) -> int:
    with mail.unit_of_work(readonly=True) as work:
        return count_rows(work.connection, "applications")


def deliver(mail, raw: bytes, sender: str) -> None:
    with smtplib.SMTP("127.0.0.1", mail.port, timeout=10) as client:
        client.sendmail(sender, [HUB], raw)


def opened(mail, reply: tuple[str, list[str], bytes]) -> bytes:
    """A reply as its addressee reads it: decrypted and verified with openssl."""
    _, [recipient], raw = reply
    counter = next(code for code in mail.pki["counters"] if identity(mail.pki, code).mailbox == recipient)
    return open_reply(raw, identity(mail.pki, counter), mail.ca_with_crl, mail.workdir)


def channel_logs(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name.startswith("async_mail")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_quarantined_with_its_reason(mail, case, caplog):
    caplog.set_level(logging.INFO)
    raw, sender = case.build(mail)
    deliver(mail, raw, sender)
    mail.settle()
    [row] = mail.store.quarantined()
    assert row.reason_code == case.code, row.reason
    assert applications(mail) == 0
    assert len(mail.mailbox.received) == (1 if case.identified else 0)
    if case.identified:
        assert f"({case.code})" in text_of(opened(mail, mail.mailbox.received[0]))
    logs = channel_logs(caplog)
    assert any(case.code in line for line in logs) and not any("@" in line for line in logs), logs


def test_a_revoked_certificate(mail):
    demob = identity(mail.pki, "DEMOB")
    mail.revoke([load_certificate(demob.cert.read_bytes()).serial_number])
    deliver(mail, ours(files(), demob, mail.settings.certificate), demob.mailbox)
    mail.settle()
    assert [row.reason_code for row in mail.store.quarantined()] == [smime.REVOKED]
    assert applications(mail) == 0


def test_a_certificate_revoked_in_the_register(mail):
    demob = identity(mail.pki, "DEMOB")
    services.revoke_certificate(mail.unit_of_work(), fingerprint(load_certificate(demob.cert.read_bytes())),
                                now_in_paris())
    deliver(mail, ours(files(), demob, mail.settings.certificate), demob.mailbox)
    mail.settle()
    assert [row.reason_code for row in mail.store.quarantined()] == ["MAIL-CERTIFICAT"]


@pytest.mark.mail_settings(require_encryption=True)
def test_encryption_required(mail):
    demob = identity(mail.pki, "DEMOB")
    deliver(mail, ours(files(), demob, None), demob.mailbox)
    mail.settle()
    assert [row.reason_code for row in mail.store.quarantined()] == ["MAIL-CHIFFREMENT"]


def test_oversize_is_refused_during_data_and_nothing_is_stored(mail):
    demob = identity(mail.pki, "DEMOB")
    big = entity([(dem(), b"<x>" + b"A" * (3 * 1024 * 1024) + b"</x>")])
    with pytest.raises(smtplib.SMTPException) as refused:
        deliver(mail, ours(big, demob, None), demob.mailbox)
    assert "552" in str(refused.value) or "size" in str(refused.value).lower()
    assert mail.store.quarantined() == [] and mail.store.unfinished() == []


def test_a_released_message_goes_through_the_checks_again(mail):
    demob = identity(mail.pki, "DEMOB")
    print_ = fingerprint(load_certificate(demob.cert.read_bytes()))
    services.revoke_certificate(mail.unit_of_work(), print_, now_in_paris())
    deliver(mail, ours(files(), demob, mail.settings.certificate), demob.mailbox)
    mail.settle()
    [row] = mail.store.quarantined()
    assert mail.store.release(row.id)
    mail.pipeline.run(row.id, now_in_paris())
    assert [r.reason_code for r in mail.store.quarantined()] == ["MAIL-CERTIFICAT"]  # still revoked: refused again


# -- replays, counter by counter ----------------------------------------------------------------

PROCESSED = "processed"
CONTENTS = {"B1": ("DEMOB", 11), "B2": ("DEMOB", 12), "C1": ("DEMOC", 13)}  # the file's counter, its person


@dataclass(frozen=True)
class Sent:
    who: str  # the counter that signs the mail, From its mailbox
    content: str  # a key of CONTENTS: one key, the same signed bytes each time
    message_id: str
    outcome: str  # PROCESSED, or the quarantine code
    answered: str | None  # the counter whose mailbox gets this mail's reply; None: nobody


@dataclass(frozen=True)
class Replays:
    id: str
    mails: tuple[Sent, ...]


X, Y = "<x@guichets.sne-hub.test>", "<y@guichets.sne-hub.test>"
REPLAYS = [
    Replays("the-same-mail-again", (Sent("DEMOB", "B1", X, PROCESSED, "DEMOB"),
                                    Sent("DEMOB", "B1", X, pipeline.REPLAY, "DEMOB"))),
    Replays("the-same-content-under-another-message-id", (Sent("DEMOB", "B1", X, PROCESSED, "DEMOB"),
                                                          Sent("DEMOB", "B1", Y, pipeline.REPLAY, "DEMOB"))),
    Replays("a-message-id-reused-for-other-content", (Sent("DEMOB", "B1", X, PROCESSED, "DEMOB"),
                                                      Sent("DEMOB", "B2", X, pipeline.REUSED_MESSAGE_ID, "DEMOB"),
                                                      Sent("DEMOB", "B2", Y, PROCESSED, "DEMOB"))),
    Replays("another-counters-message-id", (Sent("DEMOB", "B1", X, PROCESSED, "DEMOB"),
                                            Sent("DEMOC", "C1", X, PROCESSED, "DEMOC"))),
    Replays("each-counter-replays-its-own", (Sent("DEMOC", "C1", X, PROCESSED, "DEMOC"),
                                             Sent("DEMOB", "B1", X, PROCESSED, "DEMOB"),
                                             Sent("DEMOB", "B1", X, pipeline.REPLAY, "DEMOB"),
                                             Sent("DEMOC", "C1", X, pipeline.REPLAY, "DEMOC"))),
    Replays("another-counter-signs-your-content", (Sent("DEMOB", "B1", X, PROCESSED, "DEMOB"),
                                                   Sent("DEMOC", "B1", Y, pipeline.FILES, "DEMOC"))),
    Replays("another-counter-signs-your-content-under-your-message-id", (
        Sent("DEMOB", "B1", X, PROCESSED, "DEMOB"), Sent("DEMOC", "B1", X, pipeline.FILES, "DEMOC"))),
]


def outcomes(mail) -> list[str]:
    """Each stored mail's outcome, in the order they arrived: PROCESSED, or its quarantine code."""
    messages = orm.mail_messages
    with mail.store.engine.connect() as connection:
        rows = connection.execute(select(messages.c.status, messages.c.reason_code).order_by(messages.c.id))
        return [status if status == PROCESSED else code for status, code in rows]


@pytest.mark.parametrize("scenario", REPLAYS, ids=[scenario.id for scenario in REPLAYS])
def test_replays_are_told_apart_counter_by_counter(mail, scenario):
    contents: dict[str, bytes] = {}
    answers: dict[tuple[str, str], bytes] = {}  # (counter, content) -> the body of the answer it got
    for sent in scenario.mails:
        counter, person_number = CONTENTS[sent.content]
        content = contents.setdefault(sent.content, entity([(dem(counter), interface_file(
            counter, form=person(person_number)))]))
        signer = identity(mail.pki, sent.who)
        before = len(mail.mailbox.received)
        deliver(mail, ours(content, signer, mail.settings.certificate, message_id=sent.message_id), signer.mailbox)
        mail.settle()
        assert outcomes(mail)[-1] == sent.outcome
        replies = mail.mailbox.received[before:]
        assert [rcpt for _, rcpt, _ in replies] == ([[identity(mail.pki, sent.answered).mailbox]]
                                                     if sent.answered else [])
        if not replies:
            continue
        body = replies[0][2].split(b"\r\n\r\n", 1)[1]
        if sent.outcome == PROCESSED:
            assert any(name.startswith("RET") for name in attachments(opened(mail, replies[0])))
            answers[sent.who, sent.content] = body
        elif sent.outcome == pipeline.REPLAY:
            assert body == answers[sent.who, sent.content]  # the original answer, as it was
        else:
            assert f"({sent.outcome})" in text_of(opened(mail, replies[0]))
    assert applications(mail) == sum(sent.outcome == PROCESSED for sent in scenario.mails)


COPIES = 6


def test_copies_of_one_mail_handled_at_once_are_processed_once(mail):
    """A counter's system sending one mail several times at once (it missed the 250, say): the hub's
    two workers take copies together, yet one is processed and the others are replays of it. (The
    overlap is not forced, but six copies on two workers overlap in most runs: without the replay
    locks, two copies were processed in four runs out of six, on each database.)"""
    demob = identity(mail.pki, "DEMOB")
    raw = ours(files(), demob, mail.settings.certificate)
    with ThreadPoolExecutor(COPIES) as senders:
        list(senders.map(lambda _: deliver(mail, raw, demob.mailbox), range(COPIES)))
    mail.settle()
    assert sorted(outcomes(mail)) == [pipeline.REPLAY] * (COPIES - 1) + [PROCESSED]
    assert applications(mail) == 1
    answers = {reply.split(b"\r\n\r\n", 1)[1] for _, _, reply in mail.mailbox.received}
    assert len(mail.mailbox.received) == COPIES and len(answers) == 1  # each copy got the one answer

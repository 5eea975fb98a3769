"""The mail profile's own parts, on their own: its S/MIME verifier must refuse what the hub did not sign
(else the profile's R400 would pass whatever the hub sends), and its mailbox must keep mails as sent."""

from __future__ import annotations

import smtplib

import pytest

from conformance_tests.profiles.mail import smime
from conformance_tests.profiles.mail.counter import Identity, entity
from conformance_tests.profiles.mail.mailbox import Mailbox
from support.topology import free_ports


@pytest.fixture(scope="module")
def signer() -> Identity:
    return Identity("HUB", "hub@sne-hub.test", None, None).impostor()


@pytest.fixture(scope="module")
def signed(signer) -> bytes:
    return smime.sign(entity([("DEMX-202601010000-000001.xml", b"<a/>")]), signer.certificate, signer.key)


def test_a_signed_and_encrypted_entity_opens_with_its_signer(signer, signed):
    opened = smime.verify(smime.decrypt(smime.encrypt(signed, signer.certificate), signer.certificate, signer.key),
                          signer.certificate)
    assert smime.attachments(opened) == {"DEMX-202601010000-000001.xml": b"<a/>"}


def test_another_signer_is_refused(signer, signed):
    with pytest.raises(smime.NotVerified, match="not the hub's"):
        smime.verify(signed, signer.impostor().certificate)


def test_a_content_altered_after_signing_is_refused(signer, signed):
    with pytest.raises(smime.NotVerified, match="messageDigest"):
        smime.verify(signed.replace(b"Fichiers du guichet", b"Fichiers du guichex"), signer.certificate)


def test_an_entity_that_is_not_signed_is_refused(signer):
    with pytest.raises(smime.NotVerified, match="not a multipart/signed"):
        smime.verify(entity([]), signer.certificate)


def test_the_mailbox_keeps_mails_as_sent():
    mailbox = Mailbox("127.0.0.1", free_ports(1)[0])
    raw = b"From: hub@sne-hub.test\r\nIn-Reply-To: <1@guichet>\r\n\r\n.a line that starts with a dot\r\n"
    try:
        with smtplib.SMTP("127.0.0.1", mailbox.server.server_address[1], timeout=10) as connection:
            connection.sendmail("hub@sne-hub.test", ["demob@guichets.test"], raw)
        [received] = mailbox.wait_for("<1@guichet>", timeout=10)
    finally:
        mailbox.close()
    assert received.raw == raw
    assert received.recipients == ("<demob@guichets.test>",)

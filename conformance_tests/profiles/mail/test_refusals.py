"""Mails the hub refuses without answering: their sender is not identified (docs/MAIL.md "The checks",
"Error replies"). That no answer came is shown by a null flow sent after each: once its answer
arrived, and --mail-quiet seconds more, nothing may have come for the refused mail."""

from __future__ import annotations

import smtplib

import pytest

from .counter import entity


def altered(signed: bytes) -> bytes:
    """The signed content changed after signing: one word of its text."""
    assert b"Fichiers du guichet" in signed
    return signed.replace(b"Fichiers du guichet", b"Fichiers du guichex", 1)


@pytest.mark.requirement("SNE-HUB-R406")
def test_an_altered_signed_content_gets_no_answer(counter, exchange):
    name, data = exchange.registration()
    assert exchange.unanswered(counter.mail(entity([(name, data)]), tamper=altered)) == []


@pytest.mark.requirement("SNE-HUB-R407")
def test_a_signer_no_authority_issued_gets_no_answer(counter, exchange):
    name, data = exchange.registration()
    impostor = counter.identity.impostor()
    assert exchange.unanswered(counter.mail(entity([(name, data)]), signer=impostor)) == []


@pytest.mark.requirement("SNE-HUB-R408")
def test_a_mail_not_encrypted_gets_no_answer(counter, exchange):
    """The mail carries no file: a hub that let it through would answer MAIL-FICHIERS and register nothing."""
    assert exchange.unanswered(counter.mail(entity([], text="Flux nul en clair"), encrypted=False)) == []


@pytest.mark.requirement("SNE-HUB-R409")
def test_a_mail_that_is_not_mime_gets_no_answer(counter, exchange):
    body = (b"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"\r\n\r\n"
            b"--nothing\r\nno boundary was declared, nothing here is a part\r\n")
    assert exchange.unanswered(counter.headed(body)) == []


@pytest.mark.requirement("SNE-HUB-R410")
def test_other_recipients_are_refused_at_rcpt(counter):
    with smtplib.SMTP(*counter.smtp, timeout=30) as connection:
        connection.ehlo()
        connection.mail(counter.identity.mailbox)
        code, _ = connection.rcpt("someone-else@example.org")
        assert 500 <= code < 600, f"RCPT to another address answered {code}"
        code, _ = connection.rcpt(counter.hub_address)
        assert code == 250, f"RCPT to the hub's address answered {code}"

"""Mail bodies in and out: the interface files a counter attached, the hub's signed reply.

Replies are MIME entities signed by the hub (multipart/signed, detached S/MIME signature) and
encrypted to the counter's certificate, then given the outer headers: From the hub, To the counter,
In-Reply-To and References the counter's message, so that mail clients thread them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid

from . import smime

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Reply:
    message_id: str
    raw: bytes


def attachments(content: bytes) -> list[tuple[str, bytes]]:
    """The named parts of a signed entity: (file name, decoded bytes), in order."""
    entity = BytesParser(policy=policy.compat32).parsebytes(content)  # six times faster than default
    found = []
    for part in entity.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        if not name:
            continue
        data = part.get_payload(decode=True)
        if data is None or len(data) > MAX_ATTACHMENT_BYTES:
            raise ValueError(f"pièce jointe {name[:80]} illisible ou trop grande")
        found.append((name, data))
    return found


def refusal(answer_name: str, file_name: str, refused) -> tuple[str, bytes, str]:
    """The reply's part for a file that is not a valid interface file (what SOAP sends as a fault)."""
    lines = [f"Fichier {file_name} refusé : {refused.code}", refused.message, *refused.details]
    return answer_name, ("\r\n".join(lines) + "\r\n").encode("utf-8"), "text/plain"


def reply(keys, sender, headers, text: str, parts: list[tuple[str, bytes, str]], now: datetime) -> Reply:
    body = EmailMessage(policy=policy.SMTP)
    body.set_content(text, charset="utf-8")
    for name, data, content_type in parts:
        main, _, sub = content_type.partition("/")
        body.add_attachment(data, maintype=main, subtype=sub, filename=name)
    entity = _entity(body)
    signed = smime.sign(entity, keys.certificate, keys.key)  # signed now, by the fast path
    sealed = smime.encrypt(signed, sender.certificate)
    message_id = make_msgid(domain=keys.address.partition("@")[2] or "sne-hub")
    outer = [
        f"From: {keys.address}",
        f"To: {sender.address}",
        f"Subject: Re: {headers.subject[:200]}" if headers.subject else "Subject: Réponse du hub",
        f"Date: {format_datetime(now)}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
    ]
    if headers.message_id:
        outer += [f"In-Reply-To: {headers.message_id}", f"References: {headers.message_id}"]
    head = "\r\n".join(_encoded(line) for line in outer).encode("utf-8")
    return Reply(message_id, head + b"\r\n" + sealed)


def _entity(message: EmailMessage) -> bytes:
    """The MIME entity (Content-* headers and body) of a message, CRLF line ends, ready to sign."""
    data = message.as_bytes(policy=policy.SMTP)
    return data.replace(b"MIME-Version: 1.0\r\n", b"", 1)


def _encoded(line: str) -> str:
    """Header lines are ASCII: a non-ASCII Subject is encoded as RFC 2047 words."""
    name, _, value = line.partition(": ")
    if value.isascii():
        return line
    return f"{name}: {Header(value, 'utf-8').encode()}"

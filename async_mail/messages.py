"""Mail bodies in and out: the interface files a counter attached, the hub's signed reply.

Replies are built by :func:`certificates.mail.sealed_mail`: signed by the hub, encrypted to the
counter's certificate, In-Reply-To and References the counter's message, so that mail clients
thread them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser

from certificates.mail import sealed_mail

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
XML_TYPES = frozenset({"text/xml", "application/xml"})


@dataclass(frozen=True)
class Reply:
    message_id: str
    raw: bytes


# A line ending as the email package splits lines (CRLF, or a lone CR or LF), then an empty line.
_HEADERS_END = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)")


def outer_headers(raw: bytes) -> Message:
    """A mail's headers, parsed as ``BytesHeaderParser`` parses the whole mail, from its header block
    alone: the parser would otherwise split and read every line of the body, which it then only keeps
    as text, twice a mail (the Message-ID as it is stored, the headers the pipeline reads)."""
    end = _HEADERS_END.search(raw)
    return BytesHeaderParser(policy=policy.compat32).parsebytes(raw[:end.end()] if end else raw)


def attachments(content: bytes) -> list[tuple[str | None, bytes]]:
    """The files of a signed entity, in order: (file name, decoded bytes).

    A file is a part with a file name, or one that can only be meant as a file: XML, or declared an
    attachment. Those come with ``None`` for a name, for the caller to refuse: skipping them would
    leave a file unanswered without anyone noticing. Other unnamed parts (the mail's text) are not
    files.
    """
    entity = BytesParser(policy=policy.compat32).parsebytes(content)  # six times faster than default
    found = []
    for part in entity.walk():
        if part.is_multipart():
            continue
        name = part.get_filename() or None
        if name is None and not _meant_as_file(part):
            continue
        data = part.get_payload(decode=True)
        if data is None or len(data) > MAX_ATTACHMENT_BYTES:
            raise ValueError(f"pièce jointe {(name or '(sans nom)')[:80]} illisible ou trop grande")
        found.append((name, data))
    return found


def _meant_as_file(part) -> bool:
    content_type = part.get_content_type()
    return (part.get_content_disposition() == "attachment" or content_type in XML_TYPES
            or content_type.endswith("+xml"))


def refusal(answer_name: str, file_name: str, refused) -> tuple[str, bytes, str]:
    """The reply's part for a file that is not a valid interface file (what SOAP sends as a fault)."""
    lines = [f"Fichier {file_name} refusé : {refused.code}", refused.message, *refused.details]
    return answer_name, ("\r\n".join(lines) + "\r\n").encode("utf-8"), "text/plain"


def reply(keys, sender, headers, text: str, parts: list[tuple[str, bytes, str]], now: datetime) -> Reply:
    subject = f"Re: {headers.subject[:200]}" if headers.subject else "Réponse du hub"
    mail = sealed_mail(sender=keys.address, recipient=sender.address, subject=subject, text=text, parts=parts,
                       certificate=keys.certificate, key=keys.key, recipient_certificate=sender.certificate, now=now,
                       in_reply_to=headers.message_id)
    return Reply(mail.message_id, mail.raw)

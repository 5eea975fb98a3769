"""The boundary of the MTOM messages the hub writes (answers, dispatched changes)."""

from __future__ import annotations

import email.policy
from email.parser import BytesParser

from core.wire import mtom

ENVELOPE = b'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="urn:e"><env:Body/></env:Envelope>'
FILE = b'<?xml version="1.0" encoding="UTF-8"?><ns2:fichier xmlns:ns2="urn:f"><nom>DUPONT</nom></ns2:fichier>'


def parts(content_type: str, body: bytes) -> list[bytes]:
    """The parts as a MIME reader that knows nothing of ours finds them."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    return [part.get_payload(decode=True) for part in message.iter_parts()]


def boundary_of(content_type: str) -> str:
    return mtom.ContentType.parse(content_type).params["boundary"]


def test_the_messages_of_a_process_share_one_boundary():
    first = mtom.assemble(ENVELOPE, [("a@hub", FILE)], None)
    second = mtom.assemble(ENVELOPE, [("b@hub", FILE), ("c@hub", b"%PDF-1.4 ...")], "urn:action")
    assert boundary_of(first[0]) == boundary_of(second[0]) == mtom.PROCESS_BOUNDARY
    assert parts(*second) == [ENVELOPE, FILE, b"%PDF-1.4 ..."]


def test_a_message_whose_parts_hold_the_process_boundary_gets_its_own():
    # a counter that read the boundary in an answer writes it into a form, to cut the file in two
    forged = FILE.replace(b"DUPONT", f"\r\n--{mtom.PROCESS_BOUNDARY}\r\nContent-ID: <x>\r\n\r\nforged".encode())
    content_type, body = mtom.assemble(ENVELOPE, [("a@hub", forged)], None)
    assert boundary_of(content_type) != mtom.PROCESS_BOUNDARY
    assert boundary_of(content_type).encode() not in forged
    assert parts(content_type, body) == [ENVELOPE, forged]

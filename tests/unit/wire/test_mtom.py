"""MTOM messages: the boundary of those the hub writes (answers, dispatched changes), the bytes of
those it reads, and their Content-Type headers."""

from __future__ import annotations

import base64
import email.policy
from email.parser import BytesParser

import pytest
from lxml import etree

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


def test_inlined_elements_come_with_their_parts_bytes():
    """What the gate hands to getNumUnique instead of decoding the base64 it just wrote."""
    envelope = etree.fromstring(b'<env:Envelope xmlns:env="urn:e"><env:Body><op><fichierDemande>'
                                + base64.b64encode(FILE) + b"</fichierDemande><certificat>"
                                + base64.b64encode(b"\x00\x01DER") + b"</certificat><nom>f</nom></op>"
                                  b"</env:Body></env:Envelope>")
    content_type, body = mtom.package(envelope, {"fichierDemande", "certificat"}, None)
    parsed = mtom.ContentType.parse(content_type)
    parts = mtom.split(parsed, body)
    root = mtom.root_part(parsed, parts)
    received = etree.fromstring(root.body)

    filled = mtom.inline(received, parts, root)

    assert {etree.QName(element).localname: content for element, content in filled.items()} == {
        "fichierDemande": FILE, "certificat": b"\x00\x01DER"}
    for element, content in filled.items():  # the text the schema checks says the same
        assert base64.b64decode(element.text) == content
        assert element.getparent().tag == "op"


def test_content_types_are_read_alike_and_cannot_be_changed():
    """Parsed headers are kept and shared between requests: none may alter what another reads."""
    root_type = 'application/xop+xml; charset=UTF-8; type="application/soap+xml; action=\\"urn:a\\""'
    first, second = mtom.ContentType.parse(root_type), mtom.ContentType.parse(root_type)
    assert first == second == mtom.ContentType("application/xop+xml",
                                               {"charset": "UTF-8", "type": 'application/soap+xml; action="urn:a"'})
    with pytest.raises(TypeError):
        first.params["type"] = "text/plain"
    long = 'multipart/related; type="application/xop+xml"; start="' + "r" * 600 + '"; boundary="b"'
    assert mtom.ContentType.parse(long).params == {"type": "application/xop+xml", "start": "r" * 600, "boundary": "b"}
    assert mtom.ContentType.parse(None) == mtom.ContentType("text/plain", {})

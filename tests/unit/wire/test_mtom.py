"""MTOM messages: the boundary of those the hub writes (answers, dispatched changes), the bytes of
those it reads, and their Content-Type headers."""

from __future__ import annotations

import base64
import email.policy
import random
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


CLIENT_CONTENT_TYPES = [  # as the stacks send them (CXF, zeep, PHP SoapClient, node-soap, .NET), and odd ones
    'multipart/related; type="application/xop+xml"; boundary="uuid:0f8c2a9e-4b1d-4e8e-9d36-1c2b3a4d5e6f"; '
    'start="<root.message@cxf.apache.org>"; start-info="application/soap+xml"',
    'multipart/related; boundary="===============5197541418094880389=="; type="application/xop+xml"; '
    'start="<soap-env:Envelope>"; start-info="application/soap+xml; charset=utf-8"',
    "multipart/related;type=application/xop+xml;boundary=MIMEBoundary_1;start=<0.root@example.org>",
    'Multipart/Related ; Boundary = "b 1" ; TYPE="application/xop+xml"',
    'application/soap+xml; charset=utf-8; action="urn:getNumUnique"',
    'application/xop+xml; charset=UTF-8; type="application/soap+xml; action=\\"urn:a\\""',
    "multipart/related; boundary*=utf-8''b%20c; type=application/xop+xml",
    "multipart/related; boundary=b; (comment) type=x",
    "multipart/related; boundary=b;", "multipart/related;; boundary=b", "multipart/related; boundary",
    "multipart/related; boundary=b; boundary=c", 'text/plain; a=""', "text", "text/", "/plain", "", " text/xml ",
    "text/xml; charset=utf-8\r\n; boundary=b", "text/xml; é=1", 'text/xml; a="é"', 'text/xml; a="x\r\n y"',
    'text/xml; a="x\ty"',
]


@pytest.mark.parametrize("header", CLIENT_CONTENT_TYPES)
def test_a_content_type_reads_as_the_email_package_reads_it(header):
    """Plain headers are read with a pattern of their own (mtom._plain_content_type): whatever the
    header, the result is the email package's."""
    assert mtom.ContentType.parse(header) == mtom._content_type(header)


def test_random_content_types_read_as_the_email_package_reads_them():
    """Headers of plain parameters with, now and then, something that changes the reading (a quote,
    an escape, a bracket, a star, a comma, a stray semicolon, a folded line, a letter outside ASCII)."""
    chooser = random.Random(9)

    def pick(usual: list[str], odd: list[str]) -> str:
        return chooser.choice(odd if chooser.random() < 0.08 else usual)

    plain = 0
    for _ in range(5000):
        header = pick(["multipart/related", "Text/XML", "application/xop+xml"], ["text", " a/b ", "a/b/c", "é/x"])
        for _ in range(chooser.randint(0, 4)):
            value = pick(["b-1", "<r@x>", "application/xop+xml", "==1==", "uuid:4b1d-4e8e"],
                         ["<>", "<", "x;y", "é", "", "a\\b", '"', "a b", "(c)"])
            if chooser.random() < 0.5:
                value = f'"{value}"'
            header += (pick(["", " "], ["\t", "  ", "\r\n "]) + pick([";"], [",", ";;"]) + pick(["", " "], ["\t"])
                       + pick(["boundary", "type", "start", "start-info", "Action"], ["b*", "*", "é", "", "a b"])
                       + pick(["="], [" = ", ""]) + value)
        header += pick([""], [";", " ", "(x)"])
        plain += mtom._plain_content_type(header) is not None and bool(mtom._plain_content_type(header).params)
        assert mtom.ContentType.parse(header) == mtom._content_type(header), header
    assert plain > 500  # the pattern's path was taken with parameters, not only the email package's

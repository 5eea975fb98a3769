"""Personal data out of captured exchanges: what the reports show of an SNE file is its structure.

An element of an SNE namespace (or an unqualified one inside an SNE file) whose name says it holds a
person's identity, birth date, address or contact has its text replaced; so has any NIR-like number
(13 or 15 digits starting with 1 or 2) anywhere. Files travel base64-encoded inside the envelopes
(``fichierXml``…): they are decoded, masked and shown as XML. A body that is not XML keeps its
length only; so does one larger than SHOWN_BYTES (an oversize request: a report is read by people).
"""

from __future__ import annotations

import base64
import binascii
import re

from lxml import etree

MASK = "***"
SHOWN_BYTES = 1024 * 1024
SNE_NAMESPACES = frozenset({"http://nuu.application.i2/", "http://ws.metier.nuu.application.i2/"})
PERSONAL_ELEMENTS = frozenset({
    "nom", "prenom", "nomPatronymique", "nomHebergeant", "dateNaissance", "dateNaissancePrevue",
    "adresse", "adressePostale", "adresseLogement", "voie", "compAdresse", "lieuDit", "batiment", "escalier",
    "etage", "appartement", "mel", "tel", "telDomicile", "telPortable", "telTravail",
})
NIR = re.compile(r"(?<!\d)[12]\d{12}(?:\d{2})?(?!\d)")
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def in_sne_file(element) -> bool:
    """The element or its nearest namespace-qualified ancestor is in an SNE namespace (SNE schemas
    leave local elements unqualified)."""
    for node in (element, *element.iterancestors()):
        namespace = etree.QName(node).namespace
        if namespace:
            return namespace in SNE_NAMESPACES
    return False


def mask_tree(root) -> None:
    for element in root.iter(etree.Element):
        name = etree.QName(element).localname
        if name in PERSONAL_ELEMENTS and in_sne_file(element):
            for node in element.iter(etree.Element):
                if node.text and node.text.strip():
                    node.text = MASK
        elif element.text and element.text.strip():
            embedded = _embedded_file(element.text)
            element.text = embedded if embedded is not None else NIR.sub(MASK, element.text)


def _embedded_file(text: str) -> str | None:
    """A base64 SNE file, decoded and masked; None when ``text`` is not one."""
    if len(text) < 40 or " " in text.strip():
        return None
    try:
        decoded = base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return None
    if not decoded.lstrip().startswith(b"<"):
        return None
    return mask_xml(decoded)


def mask_xml(data: bytes) -> str | None:
    """``data`` masked and serialised, or None when it is not well-formed XML (DTDs refused)."""
    if b"<!DOCTYPE" in data:
        return None
    try:
        root = etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError:
        return None
    mask_tree(root)
    return etree.tostring(root, encoding="unicode")


def mask_body(data: bytes, content_type: str = "") -> str:
    """What a report may show of a request's or response's body: XML masked, each MIME part of a
    multipart body masked, anything else by its length."""
    if not data:
        return ""
    if len(data) > SHOWN_BYTES:
        return f"[{len(data)} bytes, not shown]"
    masked = mask_xml(data.strip())
    if masked is not None:
        return masked
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if boundary:
        return "\n".join(_mask_part(part) for part in data.split(b"--" + boundary.group(1).encode())[1:-1])
    return f"[{len(data)} bytes, not XML]"


def _mask_part(part: bytes) -> str:
    headers, _, body = part.strip(b"\r\n").partition(b"\r\n\r\n")
    masked = mask_xml(body.strip())
    shown = masked if masked is not None else f"[{len(body)} bytes, not XML]"
    return headers.decode("latin-1") + "\n\n" + shown

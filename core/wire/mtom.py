"""MTOM/XOP (multipart/related) packaging, in and out, the way SNE clients use it.

The SNE's files travel in SOAP 1.2 messages optimised with MTOM: this is part of the wire format,
shared by the hub (requests in, answers out) and dispatching (pushes out, the reference receiver).

Incoming, the SOAP envelope is the root part and each ``xop:Include`` points at another part by
Content-ID; we put every referenced part back into the envelope as base64 text, so that what
follows sees a plain SOAP 1.2 message. Outgoing, binary elements (the answer file, the
attestation, DIS files) leave the envelope for parts of their own. Answer files go raw,
as the SNE sends them: existing clients read the file straight out of the HTTP body, decoded as
text. That is also why a PDF goes base64-encoded: raw, it would make the body undecodable for them.

Parsing is strict and bounded: a boundary that never appears, a part without headers, a reference
to a part that is not there, a part encoded in an unknown way are all refused with stable codes.
So is anything ambiguous: two parts with one Content-ID, an element holding an xop:Include and
anything else, a part that nothing references.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
import uuid
from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value
from functools import lru_cache
from types import MappingProxyType
from typing import Callable, Mapping
from urllib.parse import unquote

from lxml import etree

NS_XOP = "http://www.w3.org/2004/08/xop/include"
MAX_PARTS = 16


class MtomError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


INVALID = "MTOM-INVALIDE"
MISSING_PART = "MTOM-PART-MANQUANTE"
BAD_ENCODING = "MTOM-ENCODAGE"


@dataclass(frozen=True)
class ContentType:
    """A parsed Content-Type header: media type and its parameters (lower-case names)."""

    media_type: str
    params: Mapping[str, str]

    @classmethod
    def parse(cls, header: str | None) -> "ContentType":
        """Parsed by the email package, but for the plain headers every client sends (a media type,
        then ``name=value`` pairs, values as tokens or quoted without escapes), read the same way
        with one pattern. The email package takes tens of microseconds for each header: 2 % of a
        SOAP process's work at saturation, since every message type has a boundary of its own
        (docs/BENCHMARKS.md, "Fifteenth pass"). What the email package reads is remembered, for
        the last 64 headers of up to 512 characters (a longer header is no client's usual one)."""
        header = header or ""
        plain = _plain_content_type(header)
        if plain is not None:
            return plain
        return _parsed_content_type(header) if len(header) <= 512 else _content_type(header)

    @property
    def is_multipart(self) -> bool:
        return self.media_type == "multipart/related"


def _content_type(header: str) -> ContentType:
    message = Message()
    message["content-type"] = header
    params = {name.lower(): collapse_rfc2231_value(value)  # RFC 2231 (name*=) values come as tuples
              for name, value in message.get_params(header="content-type")[1:]}
    return ContentType(message.get_content_type().lower(), MappingProxyType(params))


_parsed_content_type = lru_cache(maxsize=64)(_content_type)

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"  # RFC 2045's token characters
_MEDIA_TYPE = re.compile(rf"[ \t]*({_TOKEN}/{_TOKEN})[ \t]*")
_PARAMETER = re.compile(rf'[ \t]*;[ \t]*({_TOKEN})[ \t]*=[ \t]*({_TOKEN}|"[^"\\\x00-\x1f\x7f]*")[ \t]*')


def _plain_content_type(header: str) -> ContentType | None:
    """``header`` as the email package reads it, when it is plain; None for anything else (RFC
    2231 names, escapes or control characters in quotes, comments, a parameter without a value, a
    stray semicolon…)."""
    media_type = _MEDIA_TYPE.match(header)
    if media_type is None:
        return None
    params, at = {}, media_type.end()
    while at < len(header):
        parameter = _PARAMETER.match(header, at)
        if parameter is None or "*" in parameter[1]:
            return None
        value = parameter[2][1:-1] if parameter[2].startswith('"') else parameter[2]
        if len(value) > 1 and value[0] == "<" and value[-1] == ">":  # the email package drops them too
            value = value[1:-1]
        params[parameter[1].lower()] = value
        at = parameter.end()
    return ContentType(media_type[1].lower(), MappingProxyType(params))


@dataclass(frozen=True)
class Part:
    headers: dict[str, str]
    body: bytes

    @property
    def content_id(self) -> str | None:
        value = self.headers.get("content-id")
        return value.strip().strip("<>") if value else None


def split(content_type: ContentType, body: bytes, max_parts: int = MAX_PARTS) -> list[Part]:
    """The parts of a multipart/related body, decoded; more than ``max_parts`` is refused (an SNE
    request has two or three; a dispatching delivery one per file, plus the envelope)."""
    boundary = content_type.params.get("boundary")
    if not boundary:
        raise MtomError(INVALID, "Paramètre boundary absent du Content-Type multipart/related")
    if not boundary.isascii() or len(boundary) > 70:  # RFC 2046: 1 to 70 ASCII characters
        raise MtomError(INVALID, "Paramètre boundary invalide (1 à 70 caractères ASCII)")
    delimiter = b"--" + boundary.encode("ascii")
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        raise MtomError(INVALID, "Délimiteur MIME absent du corps du message")
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):  # the closing delimiter
            break
        parts.append(_part(chunk))
        if len(parts) > max_parts:
            raise MtomError(INVALID, f"Plus de {max_parts} parties MIME")
    else:
        raise MtomError(INVALID, "Délimiteur MIME final absent")
    if not parts:
        raise MtomError(INVALID, "Aucune partie MIME")
    _refuse_shared_ids(parts)
    return parts


def _refuse_shared_ids(parts: list[Part]) -> None:
    """Two parts with one Content-ID make every reference to it (``start``, ``cid:``) ambiguous."""
    seen: set[str] = set()
    for part in parts:
        if part.content_id is not None and part.content_id in seen:
            raise MtomError(INVALID, f"Plusieurs parties MIME portent le Content-ID <{part.content_id[:60]}> : "
                                     "la partie désignée est ambiguë")
        if part.content_id is not None:
            seen.add(part.content_id)


def _part(chunk: bytes) -> Part:
    chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk[1:] if chunk.startswith(b"\n") else chunk
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, content = chunk.partition(separator)
        if found:
            break
    else:
        raise MtomError(INVALID, "Partie MIME sans en-têtes")
    if content.endswith(b"\r\n"):
        content = content[:-2]
    elif content.endswith(b"\n"):
        content = content[:-1]
    headers = {}
    for line in head.decode("latin-1").replace("\r\n", "\n").split("\n"):
        name, colon, value = line.partition(":")
        if not colon:
            raise MtomError(INVALID, f"En-tête MIME illisible : {line[:60]!r}")
        headers[name.strip().lower()] = value.strip()
    return Part(headers, _decode(headers.get("content-transfer-encoding", "binary"), content))


def _decode(encoding: str, content: bytes) -> bytes:
    encoding = encoding.lower()
    if encoding in ("binary", "8bit", "7bit"):
        return content
    if encoding == "base64":
        try:
            return base64.b64decode(b"".join(content.split()), validate=True)
        except (binascii.Error, ValueError):
            raise MtomError(BAD_ENCODING, "Partie MIME en base64 invalide") from None
    if encoding == "quoted-printable":
        return quopri.decodestring(content)
    raise MtomError(BAD_ENCODING, f"Content-Transfer-Encoding inconnu : {encoding}")


def root_part(content_type: ContentType, parts: list[Part]) -> Part:
    start = content_type.params.get("start")
    if start:
        wanted = start.strip().strip("<>")
        for part in parts:
            if part.content_id == wanted:
                return part
        raise MtomError(MISSING_PART, "La partie racine désignée par start est absente")
    return parts[0]


def inline(envelope: etree._Element, parts: list[Part], root: Part) -> dict[etree._Element, bytes]:
    """Replace each xop:Include by the base64 of the part it references; return each element so
    filled with the part's bytes, which a reader then takes as they are instead of decoding the
    base64 again (the text is there for the schema's checks).

    Nothing is left to guess: an element holding an xop:Include holds nothing else (a second one,
    text, another element: which would be the value?), and every part but ``root`` (the envelope's)
    is referenced, since a part nobody references is content the sender meant to send and that
    nothing would read. Each is refused with MTOM-INVALIDE.
    """
    by_id = {part.content_id: part for part in parts if part.content_id}
    referenced = {id(root)}
    filled = {}
    for include in list(envelope.iter(f"{{{NS_XOP}}}Include")):
        href = include.get("href", "")
        if not href.startswith("cid:"):
            raise MtomError(MISSING_PART, f"Référence xop:Include invalide : {href[:60]!r}")
        part = by_id.get(unquote(href[4:]))
        if part is None:
            raise MtomError(MISSING_PART, f"Partie MIME absente : {href[:60]!r}")
        parent = include.getparent()
        if parent is None:
            raise MtomError(INVALID, "xop:Include ne peut pas être l'élément racine")
        _refuse_mixed_content(parent)
        parent.remove(include)
        parent.text = base64.b64encode(part.body).decode("ascii")
        filled[parent] = part.body
        referenced.add(id(part))
    for part in parts:
        if id(part) not in referenced:
            raise MtomError(INVALID, f"La partie MIME <{(part.content_id or 'sans Content-ID')[:60]}> n'est "
                                     "référencée par aucun xop:Include")
    return filled


def _refuse_mixed_content(element: etree._Element) -> None:
    name = etree.QName(element).localname[:60]
    children = [child for child in element if not isinstance(child, etree._Comment)]
    if len(children) > 1:
        what = "plusieurs xop:Include" if all(
            child.tag == f"{{{NS_XOP}}}Include" for child in children) else "un xop:Include et d'autres éléments"
        raise MtomError(INVALID, f"L'élément {name} porte {what} : sa valeur est ambiguë")
    if (element.text or "").strip() or any((child.tail or "").strip() for child in element):
        raise MtomError(INVALID, f"L'élément {name} porte à la fois un xop:Include et un contenu : sa valeur est "
                                 "ambiguë")


def package(envelope: etree._Element, binary_elements: set[str], action: str | None,
            content: Callable[[str], bytes] = base64.b64decode) -> tuple[str, bytes]:
    """An MTOM message (answer or request): the envelope as root part, each binary element's content as a
    part of its own. ``content`` turns an element's text into the part's bytes: by default it is the
    base64 the element holds; a sender that kept the bytes aside may put a key there instead."""
    attachments = []
    for element in envelope.iter(*(f"{{*}}{name}" for name in binary_elements)):
        if element.text:
            content_id = new_content_id()
            attachments.append((content_id, content(element.text)))
            element.text = None
            etree.SubElement(element, f"{{{NS_XOP}}}Include", nsmap={"xop": NS_XOP}, href=f"cid:{content_id}")
    return assemble(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"), attachments, action)


def new_content_id() -> str:
    return f"{uuid.uuid4()}@sne-hub"


def include(content_id: str) -> bytes:
    """The ``xop:Include`` an element holds in place of its content, as :func:`package` writes it."""
    return f'<xop:Include xmlns:xop="{NS_XOP}" href="cid:{content_id}"/>'.encode("ascii")


def assemble(root: bytes, attachments: list[tuple[str, bytes]], action: str | None) -> tuple[str, bytes]:
    """The Content-Type and body of an MTOM message whose root part (the envelope, its binary
    elements already holding ``xop:Include``) is ``root``, and whose other parts are ``attachments``
    (Content-ID, bytes): for a sender that writes its envelope itself (hub/direct.py)."""
    root_id = "root.message@sne-hub"
    action_param = f'; action="{action}"' if action else ""
    parts = [({"Content-Type": f'application/xop+xml; charset=UTF-8; type="application/soap+xml"{action_param}',
               "Content-Transfer-Encoding": "binary", "Content-ID": f"<{root_id}>"}, root)]
    for content_id, content in attachments:
        if content.lstrip().startswith(b"<"):  # an interface file: raw, where clients look for it
            headers = {"Content-Type": "text/xml; charset=UTF-8", "Content-Transfer-Encoding": "binary"}
            encoded = content
        else:  # a PDF: base64, so that the whole body still decodes as text, as libsne reads it
            headers = {"Content-Type": _binary_type(content), "Content-Transfer-Encoding": "base64"}
            encoded = base64.encodebytes(content)
        parts.append(({**headers, "Content-ID": f"<{content_id}>"}, encoded))
    boundary = _boundary([content for _, content in parts])
    body = bytearray()
    for headers, content in parts:
        body += _part_bytes(boundary, headers, content)
    body += f"--{boundary}--\r\n".encode("ascii")
    content_type = (f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; '
                    f'start="<{root_id}>"; start-info="application/soap+xml"{action_param}')
    return content_type, bytes(body)


# This process's boundary for the messages it assembles. A client built on Python's http.client
# (zeep, requests, libsne) reads an answer's headers with the email package, which compiles a regular
# expression for every boundary it has not met lately (re keeps 512): with a boundary of its own,
# each answer cost such a client 0.33–0.38 ms of CPU to read its headers, against 0.09–0.10 ms for a
# boundary already met (docs/BENCHMARKS.md, "Eighth pass").
PROCESS_BOUNDARY = f"uuid:{uuid.uuid4()}"


def _boundary(contents: list[bytes]) -> str:
    """:data:`PROCESS_BOUNDARY`, unless one of the parts holds it: RFC 2046 asks only that the
    boundary occur in none of them. Every answer shows it, so a counter could write it into a form
    to break the parts of an answer or of a change pushed to another counter: a message whose parts
    hold it gets a boundary of its own."""
    boundary = PROCESS_BOUNDARY
    while any(boundary.encode("ascii") in content for content in contents):
        boundary = f"uuid:{uuid.uuid4()}"
    return boundary


def _binary_type(content: bytes) -> str:
    return "application/pdf" if content.startswith(b"%PDF") else "application/octet-stream"


def _part_bytes(boundary: str, headers: dict[str, str], content: bytes) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"--{boundary}\r\n{head}\r\n".encode("ascii") + content + b"\r\n"

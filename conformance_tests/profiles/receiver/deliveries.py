"""Deliveries as the hub pushes them (ReceptionDispatchImplService, docs/DISPATCHING.md), built by
the kit itself: the ``recevoirDispatchParametres`` message, its DIS files from the shipped template,
inline in base64 or as MTOM/XOP parts (raw ``text/xml``, as the hub sends them).
"""

from __future__ import annotations

import base64
import itertools
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from lxml import etree

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS = "http://ws.metier.nuu.application.i2/"
XOP = "http://www.w3.org/2004/08/xop/include"
ACTION = f"{NS}recevoirDispatch"
SOAP_CONTENT_TYPE = f'application/soap+xml; charset=utf-8; action="{ACTION}"'
TEMPLATE = (Path(__file__).parent / "templates" / "dis.xml").read_text(encoding="utf-8")
WITHOUT_FILE = ("SUP", "EVT")  # a deletion, a change of the application's events: no DIS file


@dataclass(frozen=True)
class Change:
    """One ``dispatch`` element: a change of one application, numbered in the stream."""

    sequence: int
    kind: str
    number: str
    version: int
    file: bytes | None
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(microsecond=0))
    origin: str = "KITOR"

    @property
    def file_name(self) -> str:
        return f"DIS-{self.at:%Y%m%d%H%M}-{self.sequence}.xml"


@dataclass(frozen=True)
class Delivery:
    id: str
    counter: str
    subscription: int
    last_sequence: int
    changes: tuple[Change, ...]

    def message(self, include=lambda change: None) -> etree._Element:
        """The ``recevoirDispatchParametres`` element; ``include(change)`` gives an MTOM part's
        Content-ID for a file (then a ``xop:Include``), None for the file inline in base64."""
        message = etree.Element(f"{{{NS}}}recevoirDispatchParametres", nsmap={"tns": NS})
        for name, value in (("idLivraison", self.id), ("guichet", self.counter),
                            ("abonnement", self.subscription), ("derniereSequence", self.last_sequence)):
            etree.SubElement(message, name).text = str(value)
        for change in self.changes:
            element = etree.SubElement(message, "dispatch")
            for name, value in (("sequence", change.sequence), ("typeChangement", change.kind),
                                ("numUnique", change.number), ("version", change.version),
                                ("dateChangement", change.at.isoformat()), ("guichetOrigine", change.origin)):
                etree.SubElement(element, name).text = str(value)
            if change.file is not None:
                etree.SubElement(element, "nomFichier").text = change.file_name
                content = etree.SubElement(element, "fichierDis")
                content_id = include(change)
                if content_id:
                    etree.SubElement(content, f"{{{XOP}}}Include", nsmap={"xop": XOP}, href=f"cid:{content_id}")
                else:
                    content.text = base64.b64encode(change.file).decode()
        return message

    def inline(self) -> tuple[str, bytes]:
        """(Content-Type, body): a SOAP 1.2 request, files in base64."""
        return SOAP_CONTENT_TYPE, envelope(self.message())

    def mtom(self) -> tuple[str, bytes]:
        """(Content-Type, body): a multipart/related MTOM package, each file its own raw part."""
        boundary = f"kit-{secrets.token_hex(12)}"
        root = envelope(self.message(include=lambda change: f"dis-{change.sequence}@kit"))
        parts = [('application/xop+xml; charset=UTF-8; type="application/soap+xml"', "root@kit", root)]
        parts += [("text/xml", f"dis-{change.sequence}@kit", change.file) for change in self.changes if change.file]
        body = b"".join(
            f"--{boundary}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\n"
            f"Content-ID: <{content_id}>\r\n\r\n".encode() + data + b"\r\n"
            for content_type, content_id, data in parts) + f"--{boundary}--\r\n".encode()
        content_type = (f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; '
                        f'start="<root@kit>"; start-info="application/soap+xml"; action="{ACTION}"')
        return content_type, body


def envelope(message: etree._Element) -> bytes:
    root = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12})
    etree.SubElement(root, f"{{{SOAP12}}}Body").append(message)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def dis_file(counter: str, number: str, version: int, surname: str = "Kitmartin") -> bytes:
    """A valid DIS file (InterfaceNuu v02.01) of an invented household."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    slots = {"@NOW@": now.isoformat(), "@TODAY@": now.date().isoformat(), "@COUNTER@": counter,
             "@NUMBER@": number, "@VERSION@": str(version), "@SURNAME@": surname}
    text = TEMPLATE
    for slot, value in slots.items():
        text = text.replace(slot, value)
    return text.encode("utf-8")


def breaking_the_schema(file: bytes) -> bytes:
    """The same file with an element its XSD does not have (before ``numGuichet``)."""
    return file.replace(b"<ns2:numGuichet>", b"<ns2:champInconnu>kit</ns2:champInconnu><ns2:numGuichet>", 1)


class Stream:
    """One run's subscription as the kit plays it: gapless sequences, new applications, new delivery
    ids (unique across runs, so that a receiver that remembers ids never mistakes one for another)."""

    def __init__(self, counter: str, subscription: int, first_sequence: int):
        self.counter, self.subscription = counter, subscription
        self.run = secrets.token_hex(4).upper()
        self._sequences = itertools.count(first_sequence)
        self._deliveries = itertools.count(1)
        self._numbers = itertools.count(secrets.randbelow(900_000))

    def number(self) -> str:
        """An application number of the SNE's shape: department, year and month, serial, counter."""
        return f"057{datetime.now():%y%m}{next(self._numbers) % 1_000_000:06d}KITOR"

    def change(self, kind: str = "CRE", number: str | None = None, version: int = 1) -> Change:
        number = number or self.number()
        file = None if kind in WITHOUT_FILE else dis_file(self.counter, number, version)
        return Change(next(self._sequences), kind, number, version, file)

    def skip(self, count: int) -> None:
        """Leave ``count`` sequences out: the items dead-lettered or refused upstream (a gap)."""
        for _ in range(count):
            next(self._sequences)

    def delivery(self, *changes: Change, last_sequence: int | None = None) -> Delivery:
        last = last_sequence if last_sequence is not None else max((c.sequence for c in changes), default=0)
        return Delivery(f"KIT-{self.run}-{next(self._deliveries):06d}", self.counter, self.subscription, last,
                        tuple(changes))


def spoiled(change: Change) -> Change:
    return replace(change, file=breaking_the_schema(change.file))

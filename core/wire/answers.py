"""What every InterfaceNuu exchange besides the application files shares: a request file read
safely and checked against its schema, its sender checked, and a ``RET`` answer's header and
anomaly list (searches, shared-management events and their types).
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from core.domain.errors import Anomaly, ForeignCounterFile, reported

from . import schemas
from .codec import NS, PREFIX, q
from .processing import FILE_INVALID, FILE_UNKNOWN, FileRefused
from .xml import UnsafeXml, parse


def read_request(data: bytes, schema_file: str) -> etree._Element:
    """The file's root, refused whole (:class:`FileRefused`) when unsafe, not an ``interfaceNuu`` or
    invalid against ``schema_file``: no answer file can be built from it."""
    try:
        root = parse(data)
    except UnsafeXml as error:
        raise FileRefused(error.code, error.message) from None
    if root.tag != q("interfaceNuu"):
        raise FileRefused(FILE_UNKNOWN, "Le fichier a pour racine interfaceNuu")
    problems = schemas.errors(schemas.load(schema_file), root)
    if problems:
        raise FileRefused(FILE_INVALID, f"Le fichier n'est pas conforme au schéma {schema_file.split('_v')[0]}",
                          problems)
    return root


def check_sender(root: etree._Element, counter: str) -> None:
    """A file speaks for the counter whose certificate sent it, never another."""
    header_counter = (root.findtext(f"{q('entete')}/{q('codeGuichet')}") or "").strip()
    if header_counter != counter:
        raise ForeignCounterFile(f"Le fichier est au nom du guichet {header_counter}, le message vient de {counter}",
                                 "codeGuichet")


def answer_root(counter: str, now: datetime, header_type: str = "RET") -> etree._Element:
    root = etree.Element(q("interfaceNuu"), nsmap={PREFIX: NS}, versionInterface="02.00")
    header = etree.SubElement(root, q("entete"))
    text(header, "typeFichier", header_type)
    text(header, "dateFichier", now.isoformat())
    text(header, "codeGuichet", counter)
    return root


def append_anomalies(root: etree._Element, anomalies: list[Anomaly], name_property: bool = True) -> None:
    """``listeAnomalies``, when there are any; ``name_property`` puts the element each concerns
    before its message (the schema has no place of its own for it)."""
    if anomalies:
        listed = etree.SubElement(root, q("listeAnomalies"))
        for anomaly in reported(anomalies):
            entry = etree.SubElement(listed, q("anomalie"), code=anomaly.code[:10])
            message = f"{anomaly.property} : {anomaly.message}" if name_property and anomaly.property \
                else anomaly.message
            text(entry, "message", message[:512])


def text(parent: etree._Element, name: str, value: str) -> etree._Element:
    element = etree.SubElement(parent, q(name))
    element.text = value
    return element


def serialised(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

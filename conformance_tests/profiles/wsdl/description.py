"""A set of WSDL and XSD documents, read from files, directories or URLs, and the lookups checks share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse

import requests
from lxml import etree

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
XS = "http://www.w3.org/2001/XMLSchema"
NS = {"wsdl": WSDL, "soap12": SOAP12, "xs": XS}
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
TIMEOUT = 30


@dataclass
class Document:
    source: str            # a path or a URL
    root: etree._Element | None
    error: str = ""

    @property
    def is_wsdl(self) -> bool:
        return self.root is not None and self.root.tag == f"{{{WSDL}}}definitions"

    @property
    def target_namespace(self) -> str:
        return self.root.get("targetNamespace", "") if self.root is not None else ""

    def location(self, relative: str) -> str:
        """``relative`` (an import's location) resolved against this document's own location."""
        if is_url(self.source):
            return urljoin(self.source, relative)
        return relative if is_url(relative) else str(Path(self.source).parent / relative)

    def qname(self, element, value: str) -> str:
        """``prefix:name`` as Clark notation, with the prefixes in scope at ``element``."""
        prefix, _, name = value.rpartition(":")
        return f"{{{element.nsmap.get(prefix or None, '')}}}{name}"


def is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https")


Recorder = Callable[[dict], None]


def read(source: str, record: Recorder | None = None) -> bytes:
    """The bytes at ``source``; a URL's GET goes to ``record`` (the kit's ``exchanges.record``)."""
    if not is_url(source):
        return Path(source).read_bytes()
    answer = requests.get(source, timeout=TIMEOUT)
    if record:
        record({"method": "GET", "url": source, "request": b"", "status": answer.status_code,
                "response": answer.content, "response_headers": dict(answer.headers)})
    answer.raise_for_status()
    return answer.content


def parse(source: str, record: Recorder | None = None) -> Document:
    """The document at ``source``; its ``error`` says why it is not well-formed XML without a DTD."""
    try:
        data = read(source, record)
    except (OSError, requests.RequestException) as error:
        return Document(source, None, f"cannot be read: {error}")
    try:
        tree = etree.fromstring(data, PARSER).getroottree()
    except etree.XMLSyntaxError as error:
        return Document(source, None, f"not well-formed XML: {error}")
    if tree.docinfo.doctype:
        return Document(source, None, "has a DTD (<!DOCTYPE>): descriptions have none")
    return Document(source, tree.getroot())


def documents(targets: list[str], record: Recorder | None = None) -> list[Document]:
    """Every .wsdl and .xsd file of each directory target, and each file or URL target."""
    sources: list[str] = []
    for target in targets:
        if not is_url(target) and Path(target).is_dir():
            sources += sorted(str(path) for path in Path(target).rglob("*") if path.suffix in (".wsdl", ".xsd"))
        else:
            sources.append(target)
    return [parse(source, record) for source in sources]


def wsdls(documents: list[Document]) -> list[Document]:
    return [document for document in documents if document.is_wsdl]


def definitions(documents: list[Document], kind: str) -> dict[str, tuple[Document, etree._Element]]:
    """Every ``wsdl:<kind>`` (message, portType, binding) of the set, by its qualified name."""
    return {f"{{{document.target_namespace}}}{element.get('name')}": (document, element)
            for document in wsdls(documents) for element in document.root.iterfind(f"wsdl:{kind}", NS)}


def schemas(documents: list[Document]) -> list[tuple[Document, etree._Element]]:
    """Every ``xs:schema`` of the set: standalone XSDs and those of WSDLs' ``wsdl:types``."""
    found = []
    for document in documents:
        if document.root is None:
            continue
        if document.root.tag == f"{{{XS}}}schema":
            found.append((document, document.root))
        found += [(document, schema) for schema in document.root.iterfind("wsdl:types/xs:schema", NS)]
    return found


def input_element(document: Document, operation, messages: dict) -> tuple[str, ...] | None:
    """The elements a port type operation's input carries (its signature, WS-I R2710), None if unknown."""
    put = operation.find("wsdl:input", NS)
    if put is None or put.get("message") is None:
        return None
    message = messages.get(document.qname(put, put.get("message")))
    if message is None:
        return None
    owner, element = message
    return tuple(owner.qname(part, part.get("element", "")) for part in element.iterfind("wsdl:part", NS))

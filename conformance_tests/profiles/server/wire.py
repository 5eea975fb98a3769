"""The kit's own SOAP 1.2 client: what an SNE counter's software puts on the wire, and what it reads back.

Requests go either as MTOM/XOP the way libsne's vendor client builds them (``multipart/related``,
the envelope as root part, each file a raw ``text/xml`` part referenced by ``xop:Include``, the
action in the Content-Type; ``libsne=True``: its very MIME framing) or with the files inline in base64,
as other SOAP stacks send them. The counter is known by its TLS client certificate. Every exchange
is handed to ``recorder`` (see the kit plugin's ``exchanges.record``) so that the reports, masked,
and a failed check show what was said.
"""

from __future__ import annotations

import base64
import ssl
import uuid
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from functools import cached_property
from typing import Callable

import requests
from lxml import etree

SERVICES_NS = "http://ws.metier.nuu.application.i2/"
FILES_NS = "http://nuu.application.i2/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
XOP = "http://www.w3.org/2004/08/xop/include"
DEMANDE = "DemandeLogementImplService"
RECHERCHE = "RechercheDemandeImplService"
GESTION = "GestionPartageeEVTImplService"

# Parse what the server says without ever reading a DTD, an entity or the network.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse(data: bytes) -> etree._Element:
    """An XML document from the server; a DOCTYPE is refused (the interface has none)."""
    document = etree.fromstring(data, PARSER)
    if document.getroottree().docinfo.doctype:
        raise ValueError("the document declares a DOCTYPE")
    return document


@dataclass
class Reply:
    """One HTTP answer: status, Content-Type, the SOAP envelope and the MTOM parts it references."""

    status: int
    content_type: str
    body: bytes
    envelope: etree._Element | None
    attachments: dict[str, bytes] = field(default_factory=dict)

    def field(self, name: str) -> bytes | None:
        """A binary field of the answer message, inline (base64) or an MTOM part."""
        element = self._element(name)
        if element is None:
            return None
        include = element.find(f"{{{XOP}}}Include")
        if include is not None:
            return self.attachments[include.get("href", "")[4:]]
        return base64.b64decode(element.text or "")

    def text(self, name: str) -> str | None:
        element = self._element(name)
        return element.text if element is not None else None

    def _element(self, name: str) -> etree._Element | None:
        return None if self.envelope is None else self.envelope.find(f".//{name}")

    @property
    def fault_code(self) -> str | None:
        """The SOAP 1.2 fault's Subcode value, the stable code of a protocol error."""
        if self.envelope is None:
            return None
        return self.envelope.findtext(f".//{{{SOAP12}}}Fault/{{{SOAP12}}}Code/{{{SOAP12}}}Subcode/{{{SOAP12}}}Value")

    @property
    def fault_reason(self) -> str | None:
        """The SOAP 1.2 fault's Reason text: what the person at the counter reads."""
        if self.envelope is None:
            return None
        return self.envelope.findtext(f".//{{{SOAP12}}}Fault/{{{SOAP12}}}Reason/{{{SOAP12}}}Text")

    @property
    def is_fault(self) -> bool:
        return self.envelope is not None and self.envelope.find(f".//{{{SOAP12}}}Fault") is not None

    def describe(self) -> str:
        return f"HTTP {self.status}, {self.content_type or 'no Content-Type'}, fault {self.fault_code}"


Recorder = Callable[[dict], None]


class Client:
    """Calls the services under ``base_url`` as the counter whose certificate is ``cert``/``key``.

    ``keep_alive=False`` puts each exchange on a connection of its own, closed after it: a server that
    bounds the connections of a client address would otherwise count every idle one left behind."""

    def __init__(self, base_url: str, ca: str | None, cert: str | None = None, key: str | None = None,
                 recorder: Recorder | None = None, name: str = "counter", keep_alive: bool = True):
        self.base_url, self.name, self.recorder = base_url.rstrip("/"), name, recorder
        self.ca, self.cert, self.key = ca, cert, key
        self.session = requests.Session()
        self.session.trust_env = False  # a REQUESTS_CA_BUNDLE variable would silently replace the CA
        self.session.verify = ca if ca else True
        if cert:
            self.session.cert = (cert, key) if key else cert
        if not keep_alive:
            self.session.headers["Connection"] = "close"

    @cached_property
    def context(self) -> ssl.SSLContext:
        """The same trust and certificate for a connection opened by hand, where the bytes or the
        connection itself are what is tested or measured."""
        context = ssl.create_default_context(cafile=self.ca)
        if self.cert:
            context.load_cert_chain(self.cert, self.key)
        return context

    def url(self, service: str) -> str:
        return f"{self.base_url}/services/{service}/"

    def get(self, url: str) -> requests.Response:
        response = self.session.get(url, timeout=30)
        self._record("GET", url, {}, b"", response)
        return response

    def wsdl(self, service: str) -> requests.Response:
        return self.get(self.url(service) + "?wsdl")

    def post(self, service: str, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> Reply:
        """``headers``: more request headers, e.g. one a proxy in front of the server must not let through."""
        url = self.url(service)
        headers = {"Content-Type": content_type, **(headers or {})}
        response = self.session.post(url, data=body, headers=headers, timeout=60)
        self._record("POST", url, headers, body, response)
        return read_reply(response.status_code, response.headers.get("Content-Type", ""), response.content)

    def call(self, service: str, operation: str, message: str, fields: list[tuple[str, str | bytes]],
             mtom: bool = True) -> Reply:
        """Call ``operation``; ``fields`` are (name, text), or (name, bytes) for binary ones."""
        body, content_type = (mtom_request if mtom else inline_request)(operation, message, fields)
        return self.post(service, body, content_type)

    def _record(self, method: str, url: str, headers: dict, body: bytes, response: requests.Response) -> None:
        if self.recorder is not None:
            self.recorder({"counter": self.name, "method": method, "url": url, "request_headers": headers,
                           "request": body, "status": response.status_code,
                           "response_headers": dict(response.headers), "response": response.content})


def envelope(message: str, children: list[str]) -> str:
    inner = "".join(children)
    return (f'<soap:Envelope xmlns:soap="{SOAP12}" xmlns:ws="{SERVICES_NS}"><soap:Header/><soap:Body>'
            f"<ws:{message}>{inner}</ws:{message}></soap:Body></soap:Envelope>")


def inline_request(operation: str, message: str, fields) -> tuple[bytes, str]:
    children = [f"<{name}>{base64.b64encode(value).decode() if isinstance(value, bytes) else value}</{name}>"
                for name, value in fields]
    return (envelope(message, children).encode(),
            f'application/soap+xml; charset=utf-8; action="{SERVICES_NS}{operation}"')


def mtom_request(operation: str, message: str, fields, boundary: str = "MIME_BOUNDARY",
                 libsne: bool = False) -> tuple[bytes, str]:
    """As libsne: files as raw ``text/xml`` parts, other binaries (certificates) as base64 parts, CRLF.

    The files go as UTF-8, 8bit, so that any file fits. ``libsne=True`` takes the vendor client's own
    MIME framing, which fits ASCII files only: us-ascii 7bit, every part an attachment, the bare
    operation as the root part's action, ``start`` without angle brackets, BASE64 in capitals."""
    children, parts = [], []
    for name, value in fields:
        if isinstance(value, bytes):
            content_id = f"{name}_{uuid.uuid4().hex[:8]}"
            children.append(f'<{name}><xop:Include href="cid:{content_id}" xmlns:xop="{XOP}"/></{name}>')
            parts.append((content_id, value))
        else:
            children.append(f"<{name}>{value}</{name}>")
    root_action = f'; action="{operation}"' if libsne else ""
    file_type, file_encoding = ("us-ascii", "7bit") if libsne else ("UTF-8", "8bit")
    disposition = [b"Content-Disposition: attachment"] if libsne else []
    lines = [f"--{boundary}".encode(),
             f'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"{root_action}'.encode(),
             b"Content-Transfer-Encoding: 8bit", b"Content-ID: <soaproot>", b"", envelope(message, children).encode()]
    for content_id, value in parts:
        if value.lstrip().startswith(b"<"):
            lines += [f"--{boundary}".encode(), f"Content-Type: text/xml; charset={file_type}".encode(),
                      f"Content-Transfer-Encoding: {file_encoding}".encode(), f"Content-ID: <{content_id}>".encode(),
                      *disposition, b"", value]
        else:
            lines += [f"--{boundary}".encode(), b"Content-Type: application/octet-stream",
                      b"Content-Transfer-Encoding: " + (b"BASE64" if libsne else b"base64"),
                      f"Content-ID: <{content_id}>".encode(), *disposition, b"", base64.b64encode(value)]
    lines.append(f"--{boundary}--".encode())
    start = "soaproot" if libsne else "<soaproot>"
    content_type = (f'multipart/related; type="application/xop+xml"; start="{start}"; '
                    f'start-info="application/soap+xml"; boundary="{boundary}"; action="{SERVICES_NS}{operation}"')
    return b"\r\n".join(lines), content_type


def read_reply(status: int, content_type: str, data: bytes) -> Reply:
    """The envelope (None when the body is not XML) and, for MTOM, the parts by Content-ID."""
    try:
        if content_type.startswith("multipart/related"):
            message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n"
                                                          + data)
            root, *others = list(message.iter_parts())
            attachments = {part["Content-ID"].strip().strip("<>"): part.get_payload(decode=True) for part in others}
            return Reply(status, content_type, data, parse(root.get_payload(decode=True)), attachments)
        return Reply(status, content_type, data, parse(data))
    except (etree.XMLSyntaxError, ValueError, TypeError, AttributeError):
        return Reply(status, content_type, data, None)

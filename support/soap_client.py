"""A small SOAP 1.2 client for the tests, speaking to the hub exactly as SNE clients do.

``mtom=True`` (the default) builds requests the way the vendor client in libsne does: a
multipart/related body with the envelope as root part, the file as a raw ``text/xml`` part, the
certificate as a base64 part, CRLF line ends, the action in the Content-Type. ``mtom=False`` sends
the same message with inline base64, as other stacks do.
"""

from __future__ import annotations

import base64
import http.client
import ssl
import uuid
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path

from lxml import etree

NS = "http://ws.metier.nuu.application.i2/"
SOAP = "http://www.w3.org/2003/05/soap-envelope"
XOP = "http://www.w3.org/2004/08/xop/include"


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes
    envelope: etree._Element
    attachments: dict[str, bytes] = field(default_factory=dict)

    def field(self, name: str) -> bytes | None:
        """A binary field of the answer, whether inline (base64) or an MTOM attachment."""
        element = self.envelope.find(f".//{name}")
        if element is None:
            return None
        include = element.find(f"{{{XOP}}}Include")
        if include is not None:
            return self.attachments[include.get("href")[4:]]
        return base64.b64decode(element.text or "")

    def text(self, name: str) -> str | None:
        element = self.envelope.find(f".//{name}")
        return element.text if element is not None else None

    @property
    def fault_code(self) -> str | None:
        value = self.envelope.find(f".//{{{SOAP}}}Subcode/{{{SOAP}}}Value")
        return value.text if value is not None else None

    @property
    def fault_reason(self) -> str | None:
        return self.envelope.findtext(f".//{{{SOAP}}}Reason/{{{SOAP}}}Text")


class SoapClient:
    def __init__(self, port: int, ca: Path, cert: Path | None = None, key: Path | None = None,
                 host: str = "localhost"):
        self.port, self.host = port, host
        self.context = ssl.create_default_context(cafile=str(ca))
        if cert is not None:
            self.context.load_cert_chain(str(cert), str(key))

    def post(self, path: str, body: bytes, content_type: str, extra_headers: dict | None = None) -> Reply:
        connection = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=30)
        try:
            connection.request("POST", path, body=body, headers={"Content-Type": content_type, **(extra_headers or {})})
            response = connection.getresponse()
            data = response.read()
            return parse_reply(response.status, response.getheader("Content-Type") or "", data)
        finally:
            connection.close()

    def get(self, path: str) -> tuple[int, bytes]:
        connection = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=30)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def call(self, service: str, operation: str, message: str, fields: list[tuple[str, str | bytes]],
             mtom: bool = True) -> Reply:
        """Call ``operation``; ``fields`` are (name, text) or (name, bytes) for binary ones."""
        body, content_type = (build_mtom if mtom else build_inline)(operation, message, fields)
        return self.post(f"/services/{service}/", body, content_type)


def _envelope(message: str, children: list[str]) -> str:
    inner = "\n".join(f"      {child}" for child in children)
    return (f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:ws="{NS}">\n  <soap:Header/>\n  <soap:Body>\n'
            f"    <ws:{message}>\n{inner}\n    </ws:{message}>\n  </soap:Body>\n</soap:Envelope>")


def build_inline(operation: str, message: str, fields) -> tuple[bytes, str]:
    children = [f"<{name}>{base64.b64encode(value).decode() if isinstance(value, bytes) else value}</{name}>"
                for name, value in fields]
    action = f"{NS}{operation}"
    return _envelope(message, children).encode(), f'application/soap+xml; charset=utf-8; action="{action}"'


def build_mtom(operation: str, message: str, fields, boundary: str = "MIME_BOUNDARY") -> tuple[bytes, str]:
    children, parts = [], []
    for name, value in fields:
        if isinstance(value, bytes):
            content_id = f"{name}_{uuid.uuid4().hex[:8]}"
            children.append(f'<{name}><xop:Include href="cid:{content_id}" xmlns:xop="{XOP}"/></{name}>')
            parts.append((content_id, value))
        else:
            children.append(f"<{name}>{value}</{name}>")
    lines = [f"--{boundary}",
             f'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"; action="{operation}"',
             "Content-Transfer-Encoding: 8bit", "Content-ID: <soaproot>", "", _envelope(message, children)]
    for content_id, value in parts:
        if value.lstrip().startswith(b"<"):
            lines += [f"--{boundary}", "Content-Type: text/xml; charset=us-ascii", "Content-Transfer-Encoding: 7bit",
                      f"Content-ID: <{content_id}>", "Content-Disposition: attachment", "", value.decode("ascii")]
        else:
            lines += [f"--{boundary}", "Content-Type: application/octet-stream", f"Content-ID: <{content_id}>",
                      "Content-Transfer-Encoding: BASE64", "Content-Disposition: attachment", "",
                      base64.b64encode(value).decode()]
    lines.append(f"--{boundary}--")
    content_type = (f'multipart/related; type="application/xop+xml"; start="soaproot"; '
                    f'start-info="application/soap+xml"; boundary="{boundary}"; action="{NS}{operation}"')
    return "\r\n".join(lines).encode("ascii"), content_type


def parse_reply(status: int, content_type: str, data: bytes) -> Reply:
    if content_type.startswith("multipart/related"):
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + data)
        parts = list(message.iter_parts())
        root, attachments = parts[0], {}
        for part in parts[1:]:
            attachments[part["Content-ID"].strip("<>")] = part.get_payload(decode=True)
        envelope = etree.fromstring(root.get_payload(decode=True))
        return Reply(status, content_type, data, envelope, attachments)
    return Reply(status, content_type, data, etree.fromstring(data))

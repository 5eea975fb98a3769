"""The conformance endpoint: an HTTPS server that plays the SNE and checks every request it receives.

It serves the ministry's WSDLs at ``/services/<Service>/?wsdl``, the scenario list at ``/scenarios``
and answers the SOAP operations the scenarios use with the RET files of ``register.Register``
(inline base64, SOAP 1.2). Each request is kept as a ``Received`` with the problems found in it,
by requirement id: HTTP framing (R200), Content-Type (R201), MTOM structure (R202), client
certificate (R203), files against the XSD (R204). TLS asks for a client certificate but lets a
request without one through, so that R203 fails alone; a certificate that does not chain to the
counter's CA fails the handshake, which is kept as well.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import threading
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lxml import etree

from ..server.schemas import APPLICATION_FILES, SEARCH_FILE, errors, load
from ..server.wire import SERVICES_NS, SOAP12, XOP, parse
from .register import Fault, Register
from .scenarios import Scenario

WSDL = Path(__file__).parent / "wsdl"
# The operations the kit answers: the request's element, its file fields, the answer's element.
OPERATIONS = {
    "numUniqueParametres": ("getNumUnique", "numUniqueReponse"),
    "demandeLogementParametres": ("getDemandeLogement", "demandeLogementReponse"),
    "fichierXmlParametres": ("rechercheDemandeMulticritere", "fichierXmlReponse"),
}
FILE_FIELDS = {"fichierDemande": "application", "fichierXml": "search"}
MAX_BODY = 20 * 1024 * 1024


@dataclass
class Received:
    """One request as the kit received it, what it broke (requirement id -> problems), what it got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    operation: str = ""
    fields: dict[str, str | bytes] = field(default_factory=dict)
    files: list[etree._Element] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)
    answer: bytes = b""
    status: int = 0
    ret: bytes = b""  # the RET file of a getNumUnique answer

    @property
    def file(self) -> etree._Element | None:
        """The (first) file of the request, when it carries one."""
        return self.files[0] if self.files else None

    def fail(self, requirement: str, problem: str) -> None:
        self.problems.setdefault(requirement, []).append(problem)

    @property
    def what(self) -> str:
        return f"{self.method} {self.path}" + (f" ({self.operation})" if self.operation else "")


class Log:
    """Every request of the run in arrival order, and the TLS handshakes the kit refused."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refused_handshakes: list[str] = []
        self.changed = threading.Condition()

    def add(self, received: Received) -> None:
        with self.changed:
            self.received.append(received)
            self.changed.notify_all()

    def soap(self) -> list[Received]:
        return [received for received in self.received if received.method == "POST"]


class Endpoint(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext, xsd: Path, scenarios: tuple[Scenario, ...]):
        super().__init__(address, Handler)
        self.context, self.xsd, self.scenarios = context, xsd, scenarios
        self.log, self.register = Log(), Register()

    def get_request(self):
        """The TLS handshake here, so that a refused one is kept (it raises OSError: the server goes on)."""
        sock, address = self.socket.accept()
        try:
            return self.context.wrap_socket(sock, server_side=True), address
        except OSError as error:
            self.log.refused_handshakes.append(f"{address[0]}: {error}")
            sock.close()
            raise

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"https://{host}:{port}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Endpoint

    def log_message(self, format, *args):  # noqa: A002 - the kit's report says what happened, not stderr
        pass

    def do_GET(self):
        service = self.path.split("?")[0].strip("/").split("/")[-1]
        if self.path == "/scenarios":
            self.reply(200, "application/json", json.dumps([s.as_dict() for s in self.server.scenarios]).encode())
        elif self.path.endswith("?wsdl") and (WSDL / f"{service}.wsdl").exists():
            text = (WSDL / f"{service}.wsdl").read_text(encoding="utf-8")
            text = re.sub(r'location="https://[^/"]+/', f'location="{self.server.url}/', text)
            self.reply(200, "text/xml; charset=utf-8", text.encode())
        else:
            self.reply(404, "text/plain", b"not served by the conformance kit")

    def do_POST(self):
        received = Received("POST", self.path, dict(self.headers.items()))
        if not self.connection.getpeercert():
            received.fail("SNE-HUB-R203", "the request came without a client certificate")
        body = self.read_body(received)
        if body is None:
            self.server.log.add(received)
            self.reply(411, "text/plain", b"a body needs Content-Length or chunked transfer coding")
            return
        received.body = body
        try:
            self.answer(received, read_message(received))
        except Fault as fault:
            self.send_fault(received, fault)
        self.server.log.add(received)

    def read_body(self, received: Received) -> bytes | None:
        """The body as HTTP/1.1 delimits it; both or neither delimiter is an R200 problem."""
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        length = self.headers.get("Content-Length")
        if chunked and length is not None:
            received.fail("SNE-HUB-R200", "both Content-Length and Transfer-Encoding: chunked (RFC 9112 6.3)")
        if chunked:
            return self.read_chunks(received)
        if length is None or not length.isdigit():
            received.fail("SNE-HUB-R200", f"no valid Content-Length ({length!r}) and no chunked transfer coding")
            self.close_connection = True
            return None
        return self.rfile.read(min(int(length), MAX_BODY))

    def read_chunks(self, received: Received) -> bytes:
        body = b""
        while len(body) < MAX_BODY:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                received.fail("SNE-HUB-R200", f"a chunk size is not hexadecimal: {size_line[:20]!r}")
                self.close_connection = True
                return body
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return body
            body += self.rfile.read(size)
            self.rfile.readline(8)
        return body

    def answer(self, received: Received, envelope: etree._Element | None) -> None:
        if envelope is None:
            raise Fault("Sender", "the body is not a SOAP 1.2 envelope the kit can read")
        validate_files(received, self.server.xsd)
        register, fields = self.server.register, received.fields
        if received.operation == "getNumUnique":
            file, attestation = register.submit(fields["fichierDemande"])
            received.ret = file
            parts = [("nomFichierDemande", "RET" + str(fields.get("nomFichierDemande", ""))),
                     ("fichierDemande", file)]
            if attestation:
                parts += [("nomAttestation", "attestation.pdf"), ("attestation", attestation)]
        elif received.operation == "getDemandeLogement":
            parts = [("nomFichierDemande", "RET.xml"), ("fichierDemande", register.read(str(fields["numUnique"])))]
        elif received.operation == "rechercheDemandeMulticritere":
            parts = [("nomFichierXmlRetour", "RET.xml"), ("fichierXmlRetour", register.search(fields["fichierXml"]))]
        else:
            raise Fault("Sender", f"the kit's scenarios do not use {received.operation or 'this operation'}")
        children = "".join(f"<{name}>{base64.b64encode(value).decode() if isinstance(value, bytes) else value}"
                           f"</{name}>" for name, value in parts)
        self.send_envelope(received, 200, f'<ws:{OPERATIONS_ANSWER[received.operation]} xmlns:ws="{SERVICES_NS}">'
                                          f"{children}</ws:{OPERATIONS_ANSWER[received.operation]}>")

    def send_fault(self, received: Received, fault: Fault) -> None:
        status = 500 if fault.code == "Receiver" else 400
        self.send_envelope(received, status, f"<soap:Fault><soap:Code><soap:Value>soap:{fault.code}</soap:Value>"
                                             f'</soap:Code><soap:Reason><soap:Text xml:lang="fr">{fault.reason}'
                                             "</soap:Text></soap:Reason></soap:Fault>")

    def send_envelope(self, received: Received, status: int, inside: str) -> None:
        body = (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP12}"><soap:Body>{inside}'
                "</soap:Body></soap:Envelope>").encode()
        received.status, received.answer = status, body
        self.reply(status, "application/soap+xml; charset=utf-8", body)

    def reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


OPERATIONS_ANSWER = {operation: answer for operation, answer in OPERATIONS.values()}


def read_message(received: Received) -> etree._Element | None:
    """The envelope, its operation and fields (xop:Include resolved); R201 and R202 problems kept."""
    content_type = received.headers.get("Content-Type", "")
    media = content_type.split(";")[0].strip().lower()
    parameters = content_parameters(content_type)
    if media == "application/soap+xml":
        envelope_bytes, parts = received.body, {}
    elif media == "multipart/related":
        for name, expected in (("type", "application/xop+xml"), ("start-info", "application/soap+xml")):
            if parameters.get(name, "").lower() != expected:
                received.fail("SNE-HUB-R201", f"multipart/related with {name}={parameters.get(name)!r}, "
                                              f"not {expected!r}")
        if not parameters.get("start"):
            received.fail("SNE-HUB-R201", "multipart/related without a start parameter")
        envelope_bytes, parts = mtom_parts(received, content_type, parameters.get("start", ""))
    else:
        received.fail("SNE-HUB-R201", f"Content-Type {media or 'absent'}: neither application/soap+xml (SOAP 1.2) "
                                      "nor multipart/related (MTOM)")
        return None
    try:
        envelope = parse(envelope_bytes)
    except (etree.XMLSyntaxError, ValueError) as error:
        received.fail("SNE-HUB-R201", f"the body is not an XML envelope: {error}")
        return None
    body = envelope.find(f"{{{SOAP12}}}Body")
    message = body[0] if body is not None and len(body) else None
    if message is None:
        received.fail("SNE-HUB-R201", "the envelope is not SOAP 1.2 or has an empty Body")
        return None
    received.operation = OPERATIONS.get(etree.QName(message).localname, ("", ""))[0]
    action = parameters.get("action", "")
    expected_action = f"{SERVICES_NS}{received.operation}"
    if received.operation and action != expected_action:
        received.fail("SNE-HUB-R201", f"action {action!r} in the Content-Type, expected {expected_action!r}")
    read_fields(received, message, parts)
    return envelope


def content_parameters(content_type: str) -> dict[str, str]:
    message = Message(policy=HTTP)
    message["Content-Type"] = content_type
    return {name.lower(): value for name, value in message["Content-Type"].params.items()}


def mtom_parts(received: Received, content_type: str, start: str) -> tuple[bytes, dict[str, bytes]]:
    """The root part's bytes and the other parts by Content-ID; a wrong root type is an R202 problem."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + received.body)
    parts = {(part["Content-ID"] or "").strip().strip("<>"): part for part in message.iter_parts()}
    if not parts:
        received.fail("SNE-HUB-R202", "the multipart/related message has no part")
        return b"", {}
    root_id = start.strip("<>") if start.strip("<>") in parts else next(iter(parts))
    if start and start.strip("<>") not in parts:
        received.fail("SNE-HUB-R202", f"no part has the Content-ID start names ({start})")
    root = parts.pop(root_id)
    if root.get_content_type() != "application/xop+xml":
        received.fail("SNE-HUB-R202", f"the root part is {root.get_content_type()}, not application/xop+xml")
    return root.get_payload(decode=True) or b"", {cid: part.get_payload(decode=True) or b"" for cid, part in
                                                  parts.items()}


def read_fields(received: Received, message: etree._Element, parts: dict[str, bytes]) -> None:
    """Each child of the message: text, or bytes for files (base64 inline or an MTOM part)."""
    referenced = set()
    for child in message:
        name = etree.QName(child).localname
        include = child.find(f"{{{XOP}}}Include")
        if include is not None:
            content_id = include.get("href", "").removeprefix("cid:")
            referenced.add(content_id)
            if content_id not in parts:
                received.fail("SNE-HUB-R202", f"{name}: xop:Include {include.get('href')!r} resolves to no part")
            received.fields[name] = parts.get(content_id, b"")
        elif name in FILE_FIELDS:
            received.fields[name] = base64.b64decode("".join((child.text or "").split()) or b"")
        else:
            received.fields[name] = (child.text or "").strip()
    for orphan in set(parts) - referenced:
        received.fail("SNE-HUB-R202", f"part <{orphan}> is referenced by no xop:Include")


def validate_files(received: Received, xsd: Path) -> None:
    """Each file the request carries, against its schema: errors as R204 problems (path: reason)."""
    for name, kind in FILE_FIELDS.items():
        data = received.fields.get(name)
        if not isinstance(data, bytes) or not data:
            continue
        try:
            file = parse(data)
        except (etree.XMLSyntaxError, ValueError) as error:
            received.fail("SNE-HUB-R204", f"{name} is not XML: {error}")
            raise Fault("Sender", "Le fichier n'est pas un document XML") from None
        received.files.append(file)
        schema = SEARCH_FILE if kind == "search" else APPLICATION_FILES.get(file.get("versionInterface", ""))
        if schema is None:
            received.fail("SNE-HUB-R204", f"{name}: versionInterface {file.get('versionInterface')!r} is neither "
                                          "02.00 nor 02.01")
            continue
        for error in errors(load(str(xsd / schema)), file):
            received.fail("SNE-HUB-R204", f"{name} ({schema}) {error}")

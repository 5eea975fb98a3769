"""The hostile profile's exchanges: one case = one request (or hostile connection) and the outcome it must get.

Moved from the project's tests/integration/hub/test_hostile.py, which still imports it for the cases
that need the hub's insides (row counts, its own test PKI). Everything here speaks the wire only: a
case sends bytes to ``hub`` (a ``Target``: host, port and a TLS context per counter role) and an
expectation (``Fault``, ``Served``, ``Plain``…) lists what is wrong with the outcome.

Counter roles: ``OWN`` (the counter under ``--sne-cert``), ``STATE`` (``--sne-state-cert``),
``FOREIGN`` (``--sne-foreign-cert``); ``None`` is no client certificate, ``stranger=True`` a
certificate of an authority the hub does not trust.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import ssl
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from lxml import etree

from ..server.wire import DEMANDE, FILES_NS, RECHERCHE, SOAP12, XOP, Reply, read_reply
from ..server.wire import SERVICES_NS as NS

SOAP = SOAP12
N = f"{{{FILES_NS}}}"
OWN, STATE, FOREIGN = "own", "state", "foreign"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
DEMANDE_PATH = f"/services/{DEMANDE}/"
RECHERCHE_PATH = f"/services/{RECHERCHE}/"
SENDER, RECEIVER, MISMATCH = "soap12env:Sender", "soap12env:Receiver", "soap12env:VersionMismatch"
MUST_UNDERSTAND = "soap12env:MustUnderstand"
# The stable codes docs/INTERFACES.md documents for protocol errors (Subcode and detail message).
TOO_LARGE, MEDIA_TYPE, METHOD, CERTIFICATE = "HUB-TAILLE", "HUB-CONTENT-TYPE", "HUB-METHODE", "HUB-CERTIFICAT"
REQUEST, TIMEOUT, ENCODING = "HUB-REQUETE", "HUB-DELAI", "HUB-ENCODAGE"
SOAP_VERSION, ENVELOPE, OPERATION, MESSAGE, HEADER = (
    "SOAP-VERSION", "SOAP-ENVELOPPE", "SOAP-OPERATION", "SOAP-MESSAGE", "SOAP-ENTETE")
MTOM_INVALID, MTOM_MISSING_PART, MTOM_ENCODING = "MTOM-INVALIDE", "MTOM-PART-MANQUANTE", "MTOM-ENCODAGE"
NOT_WELL_FORMED, DTD_FORBIDDEN, XML_TOO_LARGE, TOO_DEEP = "XML-MALFORME", "XML-DTD", "XML-TAILLE", "XML-PROFONDEUR"
FILE_INVALID, FILE_UNKNOWN, FILE_VERSION = "FICHIER-XSD", "FICHIER-INCONNU", "FICHIER-VERSION"
# Content of /etc/passwd never comes back: any system's first line, and this machine's lines.
_LOCAL = Path("/etc/passwd")
PASSWD = [b"root:x:0:0:"] + ([line.encode() for line in _LOCAL.read_text().splitlines() if len(line) >= 12]
                             if _LOCAL.exists() else [])
SENT = {"requests": 0}




@dataclass
class Outcome:
    status: int | None
    content_type: str = ""
    body: bytes = b""
    reply: Reply | None = None
    error: str | None = None
    elapsed: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    closed: bool | None = None  # whether the hub closed the connection after answering (when watched)

    @property
    def code(self) -> str | None:
        return self.reply.fault_code if self.reply is not None else None

    @property
    def value(self) -> str | None:
        if self.reply is None:
            return None
        return self.reply.envelope.findtext(f".//{{{SOAP}}}Code/{{{SOAP}}}Value")

    @property
    def detail(self) -> str:
        """Detail/demandeLogementException/message, which repeats the code for stacks without Subcode."""
        if self.reply is None:
            return ""
        found = self.reply.envelope.xpath("//*[local-name()='demandeLogementException']/*[local-name()='message']")
        return found[0].text or "" if found else ""

    def field(self, name: str) -> bytes | None:
        try:
            return self.reply.field(name) if self.reply is not None else None
        except Exception:  # noqa: BLE001 - an undecodable field is reported by the expectation
            return None

    def everything(self) -> bytes:
        """The raw body and every binary field decoded, to look for leaked content."""
        decoded = [self.body]
        if self.reply is not None:
            decoded += list(self.reply.attachments.values())
            for element in self.reply.envelope.iter():
                if isinstance(element.tag, str) and element.text and len(element.text) > 16:
                    try:
                        decoded.append(base64.b64decode(element.text, validate=False))
                    except Exception:  # noqa: BLE001 - not base64: the raw body already has it
                        pass
        return b"\n".join(decoded)

    def __str__(self) -> str:
        reason = self.reply.envelope.findtext(f".//{{{SOAP}}}Reason/{{{SOAP}}}Text") if self.reply is not None else None
        text = reason or self.body[:160]
        return f"[{self.status} {self.value} {self.code} {self.content_type[:30]!r} {text!r} err={self.error}]"


def _outcome(status: int, headers: dict[str, str], data: bytes, elapsed: float) -> Outcome:
    reply, content_type = None, headers.get("content-type", "")
    if content_type.startswith(("application/soap+xml", "multipart/related")):
        try:
            reply = read_reply(status, content_type, data)
            if reply.envelope is None:
                raise ValueError("not XML")
        except Exception as error:  # noqa: BLE001 - an unreadable answer is itself a finding
            return Outcome(status, content_type, data, None, f"unparsable answer: {error}", elapsed, headers)
    return Outcome(status, content_type, data, reply, None, elapsed, headers)


def https(hub, body: bytes = b"", content_type: str | None = "application/soap+xml; charset=utf-8", *,
          path: str = DEMANDE_PATH, method: str = "POST", counter: str | None = OWN, stranger: bool = False,
          headers: dict | None = None, timeout: float = 20, count: bool = True) -> Outcome:
    """One request over HTTPS with the counter's client certificate (none if counter is None)."""
    if count:
        SENT["requests"] += 1
    context = hub.client(counter, stranger=stranger).context
    connection = http.client.HTTPSConnection(hub.host, hub.port, context=context, timeout=timeout)
    all_headers = dict(headers or {})
    if content_type is not None:
        all_headers["Content-Type"] = content_type
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        return _outcome(response.status, {name.lower(): value for name, value in response.getheaders()}, data,
                        time.perf_counter() - started)
    except (OSError, http.client.HTTPException) as error:
        return Outcome(None, error=f"{type(error).__name__}: {error}", elapsed=time.perf_counter() - started)
    finally:
        connection.close()


def raw_exchange(hub, pieces: list[bytes], *, tls: bool = True, counter: str | None = OWN,
                 timeout: float = 10, interval: float = 0, half_close: bool = False, watch_close: float = 0,
                 source: str = "127.0.0.1") -> Outcome:
    """Bytes written as they are on a (TLS) socket; the HTTP answer read back by hand.

    ``interval``: seconds between pieces (sending stops when the hub answers first); ``half_close``:
    end the TCP stream once everything is sent (the hub then reads an end of file); ``watch_close``:
    after the answer, wait that long for the hub to close the connection; ``source``: the address
    the client connects from (any of 127.0.0.0/8 reaches the hub, as another client).
    """
    SENT["requests"] += 1
    data, error, closed = b"", None, None
    started = time.perf_counter()
    try:
        with socket.create_connection((hub.address, hub.port), timeout=timeout, source_address=(source, 0)) as sock:
            channel = hub.client(counter).context.wrap_socket(sock, server_hostname=hub.host) if tls else sock
            for piece in pieces:
                early = _early_answer(channel, interval) if interval else None
                if early is not None:
                    data = early
                    break
                channel.sendall(piece)
            if half_close:
                socket.socket.shutdown(channel, socket.SHUT_WR)  # TCP only: the TLS session stays readable
            while not _complete(data):
                chunk = channel.recv(65536)
                if not chunk:
                    break
                data += chunk
            if watch_close and _complete(data):
                closed = _closes(channel, watch_close)
    except OSError as failure:
        error = f"{type(failure).__name__}: {failure}"
    elapsed = time.perf_counter() - started
    data = _final(data)
    if not data.startswith(b"HTTP/"):
        return Outcome(None, body=data, error=error or "no HTTP answer", elapsed=elapsed)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return replace(_outcome(int(lines[0].split()[1]), headers, body, elapsed), closed=closed)


def _early_answer(channel: socket.socket, wait: float) -> bytes | None:
    """What the hub sent within ``wait`` seconds, before the request was whole: None if nothing (a TLS
    1.3 session ticket makes the socket readable without any answer), b"" if it closed."""
    pending = isinstance(channel, ssl.SSLSocket) and channel.pending() > 0
    if not pending and not select.select([channel], [], [], wait)[0]:
        return None
    timeout = channel.gettimeout()
    channel.setblocking(False)
    try:
        return channel.recv(65536)
    except (ssl.SSLWantReadError, BlockingIOError):
        return None
    finally:
        channel.settimeout(timeout)


def _closes(channel: socket.socket, wait: float) -> bool:
    """Whether the hub ends the connection within ``wait`` seconds once it has answered."""
    channel.settimeout(wait)
    try:
        return channel.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:  # reset: closed too
        return True


def _final(data: bytes) -> bytes:
    """The final response: interim 1xx ones (100 Continue) come first and say nothing (RFC 9110 §15.2)."""
    while data.startswith(b"HTTP/1.1 1") and b"\r\n\r\n" in data:
        data = data.partition(b"\r\n\r\n")[2]
    return data


def _complete(data: bytes) -> bool:
    head, found, body = _final(data).partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


# -- what must come back ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """A SOAP 1.2 fault: HTTP status, Code/Value and our stable code in Subcode/Value.

    ``closes``: the hub then closes the connection (sent with ``watch_close``); ``header``: a header
    the answer must carry.
    """

    status: int
    code: str
    value: str = SENDER
    closes: bool = False
    header: tuple[str, str] | None = None

    def problems(self, outcome: Outcome) -> list[str]:
        if (outcome.status, outcome.value, outcome.code) != (self.status, self.value, self.code):
            return [f"expected fault {self.status} {self.value} {self.code}, got {outcome}"]
        if not outcome.detail.startswith(f"{self.code} : "):
            return [f"the detail message does not start with '{self.code} : ': {outcome.detail[:120]!r}"]
        if self.closes and outcome.closed is not True:
            return [f"the hub did not close the connection after its fault ({outcome.closed})"]
        if self.header and outcome.headers.get(self.header[0].lower()) != self.header[1]:
            return [f"expected the header {self.header}, got {outcome.headers}"]
        return []


@dataclass(frozen=True)
class NotUnderstood:
    """SOAP 1.2 part 1 §5.4.8: a MustUnderstand fault (HTTP 500, our code SOAP-ENTETE) whose header
    names each of ``blocks`` ("{namespace}local") in a NotUnderstood element."""

    blocks: tuple[str, ...]

    def problems(self, outcome: Outcome) -> list[str]:
        problems = Fault(500, HEADER, MUST_UNDERSTAND).problems(outcome)
        if outcome.reply is None:
            return problems
        named = []
        for element in outcome.reply.envelope.findall(f"{{{SOAP}}}Header/{{{SOAP}}}NotUnderstood"):
            prefix, _, local = element.get("qname", "").rpartition(":")
            named.append(f"{{{element.nsmap.get(prefix or None) or ''}}}{local}")
        if sorted(named) != sorted(self.blocks):
            problems.append(f"NotUnderstood names {named}, expected {list(self.blocks)}")
        return problems


@dataclass(frozen=True)
class Anomalies:
    """A business refusal: HTTP 200, a RET file in ``field`` whose anomalies have these codes; when
    given, exactly ``count`` anomalies, and a whole HTTP answer of at most ``answer_bytes``."""

    codes: tuple[str, ...]
    field: str = "fichierDemande"
    count: int | None = None
    answer_bytes: int | None = None
    properties: tuple[str, ...] = ()  # each of these has an anomaly (its ``propriete``)

    def problems(self, outcome: Outcome) -> list[str]:
        data = outcome.field(self.field) if outcome.status == 200 else None
        if not data:
            return [f"expected a {self.field} answer with anomalies {self.codes}, got {outcome}"]
        answer = etree.fromstring(data)
        anomalies = list(answer.iter(f"{N}anomalie"))
        found = sorted({a.get("code") for a in anomalies})
        problems = [] if found == sorted(set(self.codes)) else [f"anomalies {found}, expected {list(self.codes)}"]
        if self.count is not None and len(anomalies) != self.count:
            problems.append(f"{len(anomalies)} anomalies, expected {self.count}")
        about = [a.get("propriete") for a in anomalies]
        if not set(self.properties) <= set(about):
            problems.append(f"anomalies about {about}, expected some about {list(self.properties)}")
        if self.answer_bytes is not None and len(outcome.body) > self.answer_bytes:
            problems.append(f"an answer of {len(outcome.body)} bytes, expected at most {self.answer_bytes}")
        if answer.findtext(f"{N}entete/{N}typeFichier") != "RET":
            problems.append("the answer is not a RET file")
        return problems


@dataclass(frozen=True)
class Served:
    """Odd but legitimate: answered normally."""

    status: int = 200
    field: str | None = None

    def problems(self, outcome: Outcome) -> list[str]:
        if outcome.status != self.status or outcome.code is not None:
            return [f"expected {self.status} without fault, got {outcome}"]
        if self.field and not outcome.field(self.field):
            return [f"expected a {self.field} answer, got {outcome}"]
        return []


@dataclass(frozen=True)
class Plain:
    """An answer outside the SOAP services: the router's 404, cheroot's 400 on a broken request line."""

    status: int
    contains: bytes = b""

    def problems(self, outcome: Outcome) -> list[str]:
        if outcome.status == self.status and self.contains in outcome.body and outcome.reply is None:
            return []
        return [f"expected plain {self.status} containing {self.contains!r}, got {outcome}"]


@dataclass(frozen=True)
class TlsRefused:
    """The TLS handshake fails: no HTTP answer at all."""

    def problems(self, outcome: Outcome) -> list[str]:
        if outcome.status is None and outcome.error and any(
                word in outcome.error for word in ("SSL", "Reset", "Broken", "EOF")):
            return []
        return [f"expected a refused TLS handshake, got {outcome}"]


@dataclass(frozen=True)
class NoAnswer:
    """Not HTTP over TLS: the connection is dropped, or refused with a plain 400, never served."""

    def problems(self, outcome: Outcome) -> list[str]:
        if outcome.status in (None, 400) and outcome.reply is None:
            return []
        return [f"expected no answer or a plain 400, got {outcome}"]


@dataclass(frozen=True)
class Case:
    id: str
    send: Callable[["Context"], Outcome]
    expect: object


@dataclass
class Context:
    hub: object
    number: str  # an application of the counter's, registered before the family


# -- running a group --------------------------------------------------------------------------------

def leaked(outcome: Outcome) -> bool:
    content = outcome.everything()
    return any(line in content for line in PASSWD)


def alive(hub, timeout: float = 10) -> str | None:
    served = https(hub, b"", None, path=f"{DEMANDE_PATH}?wsdl", method="GET", timeout=timeout, count=False)
    if served.status != 200 or b"definitions" not in served.body:
        return f"GET ?wsdl failed afterwards: {served}"
    return None



# -- building requests ------------------------------------------------------------------------------

SOAP_CT = "application/soap+xml; charset=utf-8"
OPERATIONS = {  # operation: (input element, service path, fields in WSDL order)
    "getNumUnique": ("numUniqueParametres", DEMANDE_PATH,
                     ("nomFichierDemande", "fichierDemande", "nomCertificat", "certificat")),
    "getDemandeLogement": ("demandeLogementParametres", DEMANDE_PATH, ("numUnique", "nomCertificat", "certificat")),
    "getDoublons": ("rechercheDoublonsParametres", DEMANDE_PATH, ("nomFichierDemande", "fichierDemande")),
    "getDeclarationNouveauDalo": ("declarationNouveauDaloParametres", DEMANDE_PATH,
                                  ("nomFichierDalo", "fichierDalo", "nomCertificat", "certificat")),
    "getDemandesRadieesDepuisLe": ("demandesRadieesDepuisLeParametres", DEMANDE_PATH,
                                   ("dateRadiationDepuisLe", "nomCertificat", "certificat")),
    "getNouveauxDaloDepuisLe": ("nouveauxDaloDepuisLeParametres", DEMANDE_PATH,
                                ("dateNouveauDaloDepuisLe", "nomCertificat", "certificat")),
    "rechercheDemandeMulticritere": ("fichierXmlParametres", RECHERCHE_PATH,
                                     ("nomFichier", "fichierXml", "nomCertificat")),
}
DEFAULTS = {"nomFichierDemande": "DEMTEST-hostile.xml", "nomCertificat": "CERTEST.pem", "certificat": b"",
            "nomFichierDalo": "DALO-hostile.xml", "nomFichier": "RECH-hostile.xml"}
ROOT_HEADERS = ['Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"',
                "Content-Transfer-Encoding: 8bit", "Content-ID: <root.message@hostile>"]
BOUNDARY = "uuid:hostile-boundary"


def envelope(payload: str, *, prolog: str = "", header: str = "<soap:Header/>", ns: str = SOAP) -> bytes:
    return (f'{prolog}<soap:Envelope xmlns:soap="{ns}" xmlns:ws="{NS}">{header}<soap:Body>{payload}</soap:Body>'
            "</soap:Envelope>").encode("utf-8")


def read_payload(number: str, certificate: str = "") -> str:
    """A getDemandeLogement message; ``certificate`` is the content of its certificat element."""
    return (f"<ws:demandeLogementParametres><numUnique>{number}</numUnique><nomCertificat>c.pem</nomCertificat>"
            f"<certificat>{certificate}</certificat></ws:demandeLogementParametres>")


def multipart(parts: list[tuple[list[str] | bytes, bytes]], *, boundary: str = BOUNDARY, closing: bool = True,
              content_type: str | None = None, start: str | None = "<root.message@hostile>") -> tuple[bytes, str]:
    """A multipart/related body from (header lines or raw head bytes, content) pairs."""
    body = b""
    for head, content in parts:
        raw_head = head if isinstance(head, bytes) else "\r\n".join(head).encode("latin-1")
        body += b"--" + boundary.encode("latin-1") + b"\r\n" + raw_head + b"\r\n\r\n" + content + b"\r\n"
    if closing:
        body += b"--" + boundary.encode("latin-1") + b"--\r\n"
    if content_type is None:
        content_type = (f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; '
                        f'start-info="application/soap+xml"' + (f'; start="{start}"' if start else ""))
    return body, content_type


def in_chunks(data: bytes, size: int) -> bytes:
    """``data`` in the chunked transfer coding, ``size`` bytes a chunk."""
    chunks = [data[i:i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for chunk in chunks) + b"0\r\n\r\n"


def framed(head: str, body: Callable[[Context], bytes], *, protocol: str = "HTTP/1.1"):
    """A POST whose framing headers are ``head`` (``{length}``: the body's); no ``Connection: close``, so
    whether the connection closes afterwards is the hub's doing (watched for 2 s, well under its idle time)."""
    def send(context: Context) -> Outcome:
        data = body(context)
        start = (f"POST {DEMANDE_PATH} {protocol}\r\nHost: localhost\r\nContent-Type: {SOAP_CT}\r\n"
                 + head.format(length=len(data)) + "\r\n")
        return raw_exchange(context.hub, [start.encode("latin-1") + data], watch_close=2)
    return send


def part(content_id: str, encoding: str = "binary", media: str = "application/octet-stream") -> list[str]:
    return [f"Content-Type: {media}", f"Content-Transfer-Encoding: {encoding}", f"Content-ID: <{content_id}>"]


def include(content_id: str) -> str:
    return f'<xop:Include xmlns:xop="{XOP}" href="cid:{content_id}"/>'


def header_includes(count: int) -> str:
    """A SOAP header whose ``count`` blocks (foreign, optional) each include a part p0, p1…"""
    blocks = "".join(f'<h:p{i} xmlns:h="urn:hostile">{include(f"p{i}")}</h:p{i}>' for i in range(count))
    return f"<soap:Header>{blocks}</soap:Header>"


def message_body(operation: str, values: dict, *, mtom: bool) -> tuple[bytes, str]:
    element, _, names = OPERATIONS[operation]
    children, parts = [], []
    for name in names:
        value = values.get(name, DEFAULTS.get(name, ""))
        if isinstance(value, bytes):
            if mtom:
                content_id = f"{name}@hostile"
                children.append(f"<{name}>{include(content_id)}</{name}>")
                parts.append((part(content_id), value))
            else:
                children.append(f"<{name}>{base64.b64encode(value).decode()}</{name}>")
        else:
            children.append(f"<{name}>{value}</{name}>")
    root = envelope(f"<ws:{element}>{''.join(children)}</ws:{element}>")
    action = f'; action="{NS}{operation}"'
    if not mtom:
        return root, SOAP_CT + action
    body, content_type = multipart([(ROOT_HEADERS, root)] + parts)
    return body, content_type + action


def call(context: Context, operation: str, values: dict, *, mtom: bool = True, counter: str | None = OWN,
         stranger: bool = False, count: bool = True) -> Outcome:
    body, content_type = message_body(operation, values, mtom=mtom)
    return https(context.hub, body, content_type, path=OPERATIONS[operation][1], counter=counter,
                 stranger=stranger, count=count)


def post(body: bytes | Callable[[Context], bytes], content_type: str | None = SOAP_CT, **options):
    """A case sender for a fixed (or context-built) body."""
    return lambda context: https(context.hub, body(context) if callable(body) else body, content_type, **options)


def post_multipart(build: Callable[[Context], tuple[bytes, str]], **options):
    def send(context: Context) -> Outcome:
        body, content_type = build(context)
        return https(context.hub, body, content_type, **options)
    return send


def num_unique(file: bytes | Callable[[Context], bytes], certificate=b"", *, mtom: bool = True,
               counter: str | None = OWN, stranger: bool = False):
    def send(context: Context) -> Outcome:
        data = file(context) if callable(file) else file
        attached = certificate(context) if callable(certificate) else certificate
        return call(context, "getNumUnique", {"fichierDemande": data, "certificat": attached}, mtom=mtom,
                    counter=counter, stranger=stranger)
    return send


def demande(number: str | Callable[[Context], str], certificate=b"", *, mtom: bool = True):
    def send(context: Context) -> Outcome:
        attached = certificate(context) if callable(certificate) else certificate
        return call(context, "getDemandeLogement",
                    {"numUnique": number(context) if callable(number) else number, "certificat": attached}, mtom=mtom)
    return send


def doublons(file: bytes | Callable[[Context], bytes], *, mtom: bool = True):
    return lambda context: call(context, "getDoublons",
                                {"fichierDemande": file(context) if callable(file) else file}, mtom=mtom)


def dalo(file: bytes | Callable[[Context], bytes], certificate=b"", *, counter: str = STATE, mtom: bool = True):
    def send(context: Context) -> Outcome:
        attached = certificate(context) if callable(certificate) else certificate
        return call(context, "getDeclarationNouveauDalo",
                    {"fichierDalo": file(context) if callable(file) else file, "certificat": attached},
                    counter=counter, mtom=mtom)
    return send


def recherche(file: bytes | Callable[[Context], bytes], *, mtom: bool = True, counter: str = OWN):
    return lambda context: call(context, "rechercheDemandeMulticritere",
                                {"fichierXml": file(context) if callable(file) else file}, mtom=mtom,
                                counter=counter)


def since(operation: str, moment: str, certificate=b"", *, extra: str = ""):
    """getDemandesRadieesDepuisLe / getNouveauxDaloDepuisLe, with optional code filters before nomCertificat."""
    def send(context: Context) -> Outcome:
        element, path, names = OPERATIONS[operation]
        attached = certificate(context) if callable(certificate) else certificate
        children = (f"<{names[0]}>{moment}</{names[0]}>{extra}<nomCertificat>c.pem</nomCertificat>"
                    f"<certificat>{base64.b64encode(attached).decode()}</certificat>")
        return https(context.hub, envelope(f"<ws:{element}>{children}</ws:{element}>"), SOAP_CT, path=path)
    return send


def problems_of(context: Context, cases: list[Case], watch: Callable[[], object] | None = None) -> list[str]:
    """Send every case and list what went wrong: its outcome, leaked content, the hub no longer serving.

    ``watch``, when given, is read before and after each case and must not change (the project's
    tests pass the register's row counts)."""
    assert len({case.id for case in cases}) == len(cases), "case ids must be distinct"
    problems: list[str] = []
    for case in cases:
        before = watch() if watch else None
        outcome = case.send(context)
        problems += [f"{case.id}: {problem}" for problem in case.expect.problems(outcome)]
        if leaked(outcome):
            problems.append(f"{case.id}: /etc/passwd content in the answer")
        if watch and (after := watch()) != before:
            problems.append(f"{case.id}: changed {before} -> {after}")
        down = alive(context.hub)
        if down:
            problems.append(f"{case.id}: {down}")
    read = call(context, "getDemandeLogement", {"numUnique": context.number}, count=False)
    if read.status != 200 or context.number.encode() not in (read.field("fichierDemande") or b""):
        problems.append(f"the registered application can no longer be read: {read}")
    return problems


def nested(depth: int, leaf: str = "x", tag: str = "a") -> str:
    return f"<{tag}>" * depth + leaf + f"</{tag}>" * depth

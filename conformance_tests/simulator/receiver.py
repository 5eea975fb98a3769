r"""A counter's system that receives the hub's pushes (ReceptionDispatchImplService): the reference
an integrator copies, small enough to read in one sitting, and passing the kit's ``receiver`` profile.

    sne-hub-conformance simulate receiver --port 8444 --kit-pki sne-kit-pki
    sne-hub-conformance receiver https://localhost:8444/services/ReceptionDispatchImplService/ \
        --kit-pki sne-kit-pki --ca sne-kit-pki/ca.pem

What the contract (docs/DISPATCHING.md) asks, and where it is done here:

- HTTPS, and only the hub's client certificate (``tls_context``);
- a bounded request size (``Handler``: an oversize body is read, thrown away and answered with a
  fault, so that the hub learns not to retry it);
- SOAP 1.2, inline base64 or MTOM, no DTD (``envelope``); the message valid against
  the WSDL's schema (``delivery``); anything wrong with the message is a fault the hub does not
  retry (``reessayer`` false), anything wrong on our side one it retries;
- each DIS file valid against InterfaceNuu 02.01, else refused for good by its sequence, the others
  applied (``refusals``);
- each delivery applied once: its ``idLivraison`` is kept in the same transaction as its changes,
  and a delivery seen before is acknowledged again, not applied again (``SqliteStore.apply``).

``--break FAMILY`` starts a deliberately broken variant (the classes at the end), each failing the
profile's requirements of one family and nothing else: the kit's own tests prove it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import email
import email.policy
import http.server
import logging
import sqlite3
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS = "http://ws.metier.nuu.application.i2/"
FILE_NS = "http://nuu.application.i2/"
XOP = "http://www.w3.org/2004/08/xop/include"
WITHOUT_FILE = ("SUP", "EVT")
MAX_BYTES = 20 * 1024 * 1024
DISCARD_BYTES = 4 * MAX_BYTES  # an oversize body read and thrown away, to answer a fault; beyond, hung up on
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
log = logging.getLogger("receiver")


class Refused(Exception):
    """The delivery is not applied: ``retry`` says whether the hub should send it again later."""

    def __init__(self, code: str, message: str, retry: bool = False):
        super().__init__(message)
        self.code, self.message, self.retry = code, message, retry


@dataclass(frozen=True)
class Change:
    sequence: int
    kind: str
    number: str
    version: int
    file: bytes | None


@dataclass(frozen=True)
class Delivery:
    id: str
    subscription: int
    changes: list[Change]


def parse(data: bytes) -> etree._Element:
    """XML without DTDs, entities or network: a document type is refused outright."""
    try:
        document = etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError as error:
        raise Refused("XML", f"XML mal formé : {error}") from None
    if document.getroottree().docinfo.doctype:
        raise Refused("XML", "DTD refusée")
    return document


class SqliteStore:
    """What the system applied: the deliveries by id, the changes by (subscription, sequence)."""

    def __init__(self, path: str = ":memory:"):
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.lock = threading.Lock()
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY);
            CREATE TABLE IF NOT EXISTS changes (subscription INTEGER, sequence INTEGER, kind TEXT, number TEXT,
                                                version INTEGER, file BLOB, PRIMARY KEY (subscription, sequence));
        """)

    def apply(self, delivery: Delivery, refused: set[int]) -> bool:
        """Apply the changes but the refused ones, once: False if the delivery was applied before."""
        with self.lock, self.db:
            if self.db.execute("SELECT 1 FROM deliveries WHERE id = ?", (delivery.id,)).fetchone():
                return False
            self.insert(delivery, refused)
            self.db.execute("INSERT INTO deliveries VALUES (?)", (delivery.id,))
            return True

    def insert(self, delivery: Delivery, refused: set[int]) -> None:
        self.db.executemany("INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?)", [
            (delivery.subscription, c.sequence, c.kind, c.number, c.version, c.file)
            for c in delivery.changes if c.sequence not in refused])


class ReceiverSystem:
    """Turns a request (Content-Type, body) into an answer (HTTP status, SOAP 1.2 envelope)."""

    max_bytes = MAX_BYTES

    def __init__(self, store: SqliteStore, wsdl: Path, xsd: Path):
        self.store = store
        wsdl_schema = etree.parse(str(wsdl)).find("{http://schemas.xmlsoap.org/wsdl/}types/"
                                                  "{http://www.w3.org/2001/XMLSchema}schema")
        self.message_schema = etree.XMLSchema(etree.ElementTree(wsdl_schema))
        self.dis_schema = etree.XMLSchema(etree.parse(str(xsd / "InterfaceNuu_v0201.xsd")))
        self.schema_lock = threading.Lock()  # lxml schemas validate one document at a time

    def answer(self, content_type: str, body: bytes) -> tuple[int, bytes]:
        try:
            delivery = self.delivery(self.envelope(content_type, body))
            refusals = self.refusals(delivery)
            applied = self.apply(delivery, set(refusals))
        except Refused as refusal:
            return (500 if refusal.retry else 400), fault(refusal)
        log.info("delivery %s: %d changes, %d refused%s", delivery.id, len(delivery.changes), len(refusals),
                 "" if applied else " (applied before)")
        return 200, acknowledgement(delivery.id, refusals)

    def envelope(self, content_type: str, body: bytes) -> etree._Element:
        """The SOAP 1.2 envelope, MTOM parts put back in place as base64."""
        header = email.message_from_string(f"Content-Type: {content_type}\n\n")
        if header.get_content_type() == "application/soap+xml":
            return parse(body)
        if header.get_content_type() == "multipart/related":
            return self.unpack_mtom(content_type, body)
        raise Refused("SOAP", f"type {header.get_content_type()} : SOAP 1.2 attendu")

    def unpack_mtom(self, content_type: str, body: bytes) -> etree._Element:
        """MTOM/XOP: the envelope is the ``start`` part; each file a part its ``xop:Include`` names."""
        package = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body,
                                           policy=email.policy.compat32)
        if not package.is_multipart():
            raise Refused("MTOM", "paquet multipart/related illisible")
        parts = {part.get("Content-ID", "").strip("<>"): part.get_payload(decode=True) for part in package.get_payload()}
        start = (package.get_param("start") or "").strip("<>")
        if start not in parts:
            raise Refused("MTOM", "partie racine introuvable")
        envelope = parse(parts.pop(start))
        for include in list(envelope.iter(f"{{{XOP}}}Include")):  # each file back in its element, in base64
            content = parts.get(include.get("href", "").removeprefix("cid:"))
            if content is None:
                raise Refused("MTOM", "xop:Include vers une partie absente")
            include.getparent().text = base64.b64encode(content).decode()
            include.getparent().remove(include)
        return envelope

    def delivery(self, envelope: etree._Element) -> Delivery:
        """The ``recevoirDispatchParametres`` message, valid against the WSDL's schema."""
        message = envelope.find(f"{{{SOAP12}}}Body/{{{NS}}}recevoirDispatchParametres")
        if envelope.tag != f"{{{SOAP12}}}Envelope" or message is None:
            raise Refused("MESSAGE", "enveloppe SOAP 1.2 portant recevoirDispatchParametres attendue")
        with self.schema_lock:
            if not self.message_schema.validate(message):
                raise Refused("MESSAGE", f"message non conforme au WSDL : {self.message_schema.error_log.last_error}")
        try:
            changes = [Change(int(item.findtext("sequence")), item.findtext("typeChangement"),
                              item.findtext("numUnique"), int(item.findtext("version")),
                              _file(item.findtext("fichierDis"))) for item in message.iterfind("dispatch")]
        except binascii.Error:
            raise Refused("MESSAGE", "fichier en base64 illisible") from None
        return Delivery(message.findtext("idLivraison"), int(message.findtext("abonnement")), changes)

    def refusals(self, delivery: Delivery) -> dict[int, tuple[str, str]]:
        """The files refused for good, by sequence: absent, unreadable, or not a valid DIS file."""
        refused = {}
        for change in delivery.changes:
            if change.file is None:
                if change.kind not in WITHOUT_FILE:
                    refused[change.sequence] = ("FICHIER", "fichier DIS absent")
                continue
            try:
                document = parse(change.file)
            except Refused as refusal:
                refused[change.sequence] = (refusal.code, refusal.message[:200])
                continue
            with self.schema_lock:
                valid = self.dis_schema.validate(document)
                error = self.dis_schema.error_log.last_error
            if not valid:
                refused[change.sequence] = ("FICHIER-XSD", str(error)[:400])
            elif document.findtext(f"{{{FILE_NS}}}entete/{{{FILE_NS}}}typeFichier") != "DIS":
                refused[change.sequence] = ("FICHIER", "typeFichier DIS attendu")
        return refused

    def apply(self, delivery: Delivery, refused: set[int]) -> bool:
        try:
            return self.store.apply(delivery, refused)
        except sqlite3.Error as error:
            raise Refused("STOCKAGE", f"base indisponible : {error}", retry=True) from None

    def tls_context(self, certificate: str, key: str, client_authority: str) -> ssl.SSLContext:
        """Our server certificate; the hub's client certificate required, from its authority only."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(certificate, key)
        context.load_verify_locations(cafile=client_authority)
        context.verify_mode = ssl.CERT_REQUIRED
        return context


def _file(encoded: str | None) -> bytes | None:
    return None if encoded is None else base64.b64decode("".join(encoded.split()), validate=True)


def _envelope(content: etree._Element) -> bytes:
    envelope = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12})
    etree.SubElement(envelope, f"{{{SOAP12}}}Body").append(content)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def acknowledgement(delivery_id: str, refusals: dict[int, tuple[str, str]]) -> bytes:
    answer = etree.Element(f"{{{NS}}}recevoirDispatchReponse", nsmap={"tns": NS})
    etree.SubElement(answer, "idLivraison").text = delivery_id
    for sequence, (code, message) in sorted(refusals.items()):
        refus = etree.SubElement(answer, "refus")
        for name, value in (("sequence", str(sequence)), ("code", code), ("message", message)):
            etree.SubElement(refus, name).text = value
    return _envelope(answer)


def fault(refusal: Refused) -> bytes:
    """A SOAP 1.2 fault: Receiver and ``reessayer`` true when the hub should retry, Sender and false
    when the message itself is wrong."""
    fault = etree.Element(f"{{{SOAP12}}}Fault")
    code = etree.SubElement(fault, f"{{{SOAP12}}}Code")
    etree.SubElement(code, f"{{{SOAP12}}}Value").text = "soap:Receiver" if refusal.retry else "soap:Sender"
    reason = etree.SubElement(etree.SubElement(fault, f"{{{SOAP12}}}Reason"), f"{{{SOAP12}}}Text")
    reason.set("{http://www.w3.org/XML/1998/namespace}lang", "fr")
    reason.text = f"{refusal.code} : {refusal.message}"
    detail = etree.SubElement(etree.SubElement(fault, f"{{{SOAP12}}}Detail"), f"{{{NS}}}recevoirDispatchException",
                              nsmap={"tns": NS})
    for name, value in (("reessayer", "true" if refusal.retry else "false"), ("code", refusal.code),
                        ("message", refusal.message)):
        etree.SubElement(detail, name).text = value
    return _envelope(fault)


class Handler(http.server.BaseHTTPRequestHandler):
    system: ReceiverSystem  # set on the server's subclass of this handler
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > self.system.max_bytes:
            self.discard(int(length) if length.isdigit() else 0)
            status, body = 413, fault(Refused("TAILLE", f"requête absente ou de plus de {self.system.max_bytes} octets"))
        else:
            status, body = self.system.answer(self.headers.get("Content-Type", ""), self.rfile.read(int(length)))
        self.send_response(status)
        self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def discard(self, length: int) -> None:
        """Read an oversize body in small pieces and throw it away, so that the sender reads our fault
        (closing at once would reset the connection under it: the hub would retry)."""
        self.close_connection = True
        remaining = min(length, DISCARD_BYTES)
        while remaining > 0:
            piece = self.rfile.read(min(remaining, 1 << 16))
            if not piece:
                return
            remaining -= len(piece)

    def log_message(self, format, *args) -> None:  # the access log, at debug level: no personal data in it
        log.debug(format, *args)


class TlsServer(http.server.ThreadingHTTPServer):
    """One thread per connection; the TLS handshake happens in that thread, not in the accepting one."""

    daemon_threads = True

    def __init__(self, address, handler, context: ssl.SSLContext):
        self.context = context
        super().__init__(address, handler)

    def finish_request(self, request, client_address) -> None:
        request.settimeout(30)
        with self.context.wrap_socket(request, server_side=True) as secured:
            self.RequestHandlerClass(secured, client_address, self)

    def handle_error(self, request, client_address) -> None:
        log.info("connection from %s closed: TLS refused or broken", client_address[0])


def start(system: ReceiverSystem, host: str, port: int, certificate: str, key: str,
          client_authority: str) -> TlsServer:
    """Serve ``system`` in a thread; ``server.server_address[1]`` is the port, ``shutdown()`` stops it."""
    handler = type("BoundHandler", (Handler,), {"system": system})
    server = TlsServer((host, port), handler, system.tls_context(certificate, key, client_authority))
    threading.Thread(target=server.serve_forever, daemon=True, name="receiver").start()
    return server


# Deliberately broken receivers (--break FAMILY): each gets one thing of the contract wrong.

class NoSizeBound(ReceiverSystem):
    """framing: reads a request of any size (a hostile or broken sender fills its memory)."""

    max_bytes = 1 << 40


class NoMtom(ReceiverSystem):
    """mtom: a stack without MTOM, which cannot read the files the hub sends as parts."""

    def envelope(self, content_type: str, body: bytes) -> etree._Element:
        if "multipart/related" in content_type:
            raise Refused("SOAP", "application/soap+xml attendu")
        return super().envelope(content_type, body)


class NoFileCheck(ReceiverSystem):
    """xsd: applies every file without checking it against its schema."""

    def refusals(self, delivery: Delivery) -> dict[int, tuple[str, str]]:
        return {}


class AnyClient(ReceiverSystem):
    """certificates: TLS without asking for a client certificate: anybody can push."""

    def tls_context(self, certificate: str, key: str, client_authority: str) -> ssl.SSLContext:
        context = super().tls_context(certificate, key, client_authority)
        context.verify_mode = ssl.CERT_NONE
        return context


class ForgetfulStore(SqliteStore):
    """idempotency: keeps no delivery ids; a redelivery meets its own changes (a unique key) and fails."""

    def apply(self, delivery: Delivery, refused: set[int]) -> bool:
        with self.lock, self.db:
            self.insert(delivery, refused)
            return True


class CrashesOnBadMessages(ReceiverSystem):
    """errors: a message it cannot read ends the request with a bare HTTP 500 (the hub retries it for days)."""

    def answer(self, content_type: str, body: bytes) -> tuple[int, bytes]:
        try:
            self.delivery(self.envelope(content_type, body))
        except Refused as refusal:
            return 500, f"Internal Server Error: {refusal.code}".encode()
        return super().answer(content_type, body)


class SlowStore(SqliteStore):
    """slow: commits each change on its own, slowly: a full delivery outlasts the hub's timeout."""

    def apply(self, delivery: Delivery, refused: set[int]) -> bool:
        time.sleep(0.05 * len(delivery.changes))
        return super().apply(delivery, refused)


BROKEN = {"framing": (NoSizeBound, SqliteStore), "mtom": (NoMtom, SqliteStore), "xsd": (NoFileCheck, SqliteStore),
          "certificates": (AnyClient, SqliteStore), "idempotency": (ReceiverSystem, ForgetfulStore),
          "errors": (CrashesOnBadMessages, SqliteStore), "slow": (ReceiverSystem, SlowStore)}


def build(broken: str | None = None, database: str = ":memory:", wsdl: Path | None = None,
          xsd: Path | None = None) -> ReceiverSystem:
    system, store = BROKEN[broken] if broken else (ReceiverSystem, SqliteStore)
    return system(store(database), wsdl or ROOT / "wsdl" / "ReceptionDispatchImplService.wsdl", xsd or ROOT / "xsd")


def main(argv: list[str] | None = None) -> int:
    """``sne-hub-conformance simulate receiver``: serve until interrupted."""
    parser = argparse.ArgumentParser(prog="sne-hub-conformance simulate receiver", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8444)
    parser.add_argument("--kit-pki", default="sne-kit-pki",
                        help="the kit's certificates: trust its ca.pem for clients, serve its server-cert.pem")
    parser.add_argument("--cert", help="server certificate (default: the kit PKI's server-cert.pem)")
    parser.add_argument("--key", help="its key (default: the kit PKI's server-key.pem)")
    parser.add_argument("--client-ca", help="authority of the hub's client certificates (default: the kit's ca.pem)")
    parser.add_argument("--database", default=":memory:", help="SQLite file of what was applied")
    parser.add_argument("--wsdl", type=Path, help="ReceptionDispatchImplService.wsdl")
    parser.add_argument("--xsd", type=Path, help="directory of the interface's XSD files")
    parser.add_argument("--break", dest="broken", choices=sorted(BROKEN), help="start a deliberately broken variant")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    pki = Path(arguments.kit_pki)
    if not (arguments.cert and arguments.client_ca):
        from conformance_tests.profiles.receiver.pki import KitPki
        KitPki(pki).ensure()
    server = start(build(arguments.broken, arguments.database, arguments.wsdl, arguments.xsd), arguments.host,
                   arguments.port, arguments.cert or str(pki / "server-cert.pem"),
                   arguments.key or str(pki / "server-key.pem"), arguments.client_ca or str(pki / "ca.pem"))
    print(f"receiving on https://{arguments.host}:{server.server_address[1]}/services/ReceptionDispatchImplService/",
          flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A reference receiver: what a counter's system does with the hub's pushes (ReceptionDispatchImplService).

``make run`` starts one for the demo landlord (DEMOB), writing what it receives under
``var/demo/DEMOB/dispatch/``; the tests start twenty of them, with failures, as the counters'
systems of a territory; integrators read it as a worked example of the contract
(docs/DISPATCHING.md). It does what the contract asks of every receiver:

- it accepts MTOM and inline base64, SOAP 1.2 only, bounded in size, through the same hardened XML
  parser as the hub, and checks the message against the WSDL's schema;
- it checks each DIS file against the InterfaceNuu 02.01 schema and refuses, for good and by
  sequence, the files it cannot apply (the others are applied);
- it applies each delivery once: a delivery id already applied is acknowledged again without being
  applied again (the hub redelivers after a timeout or a crash);
- a fault says whether to retry: ``reessayer`` true when the failure is its own (its store is
  down), false when the message itself is wrong.

What "applying" means is the :class:`Store`'s business: :class:`FileStore` writes files.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Protocol

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from lxml import etree

from core.domain.dispatch import ChangeKind
from core.wire import mtom, schemas
from core.wire.codec import NS as FILE_NS
from core.wire.codec import parse_datetime
from core.wire.xml import UnsafeXml, compile_schema, parse

from .config import MAX_BATCH, RECEIVER_WSDL
from .config import SERVICES_NS as NS

log = logging.getLogger(__name__)

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XS = "http://www.w3.org/2001/XMLSchema"
MAX_REQUEST_BYTES = 20 * 1024 * 1024
# Changes delivered without a DIS file: a deletion (the application is gone) and a change of the
# application's events (read them with GestionPartageeEVTImplService's listerEvenementsDemande).
WITHOUT_FILE = frozenset(kind.value for kind in ChangeKind if not kind.carries_file)
MAX_FILES = MAX_BATCH  # a delivery carries at most SNE_HUB_DISPATCH_BATCH files (100 by default)


@dataclass(frozen=True)
class ReceivedItem:
    sequence: int
    kind: str
    number: str
    version: int
    at: datetime
    origin: str
    file_name: str | None
    file: bytes | None


@dataclass(frozen=True)
class ReceivedDelivery:
    id: str
    counter: str
    subscription: int
    last_sequence: int
    items: tuple[ReceivedItem, ...]


class StoreUnavailable(Exception):
    """The receiving system cannot apply anything now: the hub should retry."""


class Store(Protocol):
    def apply(self, delivery: ReceivedDelivery, refused: dict[int, tuple[str, str]]) -> bool:
        """Apply the delivery but for the ``refused`` items, once: False if ``delivery.id`` was
        already applied (nothing is done then). Raises StoreUnavailable when it cannot."""


class Refusal(Exception):
    def __init__(self, code: str, message: str, retry: bool):
        super().__init__(message)
        self.code, self.message, self.retry = code, message, retry


def message_schema() -> etree.XMLSchema:
    schema = etree.parse(str(RECEIVER_WSDL)).find(f"{{{WSDL_NS}}}types/{{{XS}}}schema")
    return compile_schema(etree.ElementTree(schema))


class Receiver:
    """The WSGI application of a receiving system's endpoint."""

    def __init__(self, store: Store, max_bytes: int = MAX_REQUEST_BYTES,
                 accept_client: Callable[[dict], bool] = lambda environ: True, check_files: bool = True):
        self.store = store
        self.max_bytes = max_bytes
        self.accept_client = accept_client
        self.check_files = check_files  # validate each DIS file (about a millisecond each)
        self.schema = message_schema()
        self.dis_schema = schemas.load(schemas.APPLICATION_FILES["02.01"])
        self._lock = threading.Lock()  # lxml schemas are not for concurrent validation

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                raise Refusal("METHODE", "POST seulement", retry=False)
            if not self.accept_client(environ):
                raise Refusal("CERTIFICAT", "certificat client refusé", retry=False)
            delivery = self._delivery(self._envelope(environ))
            refused = self._check_files(delivery) if self.check_files else {}
            applied = self.store.apply(delivery, refused)
            log.info("delivery %s: %d files, %d refused%s", delivery.id, len(delivery.items), len(refused),
                     "" if applied else " (already applied)")
            status, body = "200 OK", _acknowledgement(delivery.id, refused)
        except Refusal as refusal:
            status, body = _fault(refusal)
        except StoreUnavailable as error:
            status, body = _fault(Refusal("STOCKAGE", f"indisponible : {error}", retry=True))
        start_response(status, [("Content-Type", "application/soap+xml; charset=utf-8"),
                                ("Content-Length", str(len(body)))])
        return [body]

    def _envelope(self, environ: dict) -> etree._Element:
        length = (environ.get("CONTENT_LENGTH") or "0").strip()
        if not length.isdigit() or int(length) > self.max_bytes:
            raise Refusal("TAILLE", f"requête absente ou de plus de {self.max_bytes} octets", retry=False)
        body = environ["wsgi.input"].read(int(length))
        content_type = mtom.ContentType.parse(environ.get("CONTENT_TYPE"))
        try:
            if content_type.is_multipart:
                parts = mtom.split(content_type, body, max_parts=MAX_FILES + 1)
                root = mtom.root_part(content_type, parts)
                envelope = parse(root.body, max_bytes=self.max_bytes)
                mtom.inline(envelope, parts, root)
            elif content_type.media_type == "application/soap+xml":
                envelope = parse(body, max_bytes=self.max_bytes)
            else:
                raise Refusal("SOAP", f"type de contenu {content_type.media_type!r} : SOAP 1.2 attendu", retry=False)
        except (mtom.MtomError, UnsafeXml) as error:
            raise Refusal(error.code, error.message, retry=False) from None
        return envelope

    def _delivery(self, envelope: etree._Element) -> ReceivedDelivery:
        message = envelope.find(f"{{{SOAP12}}}Body/{{{NS}}}recevoirDispatchParametres")
        if envelope.tag != f"{{{SOAP12}}}Envelope" or message is None:
            raise Refusal("MESSAGE", "enveloppe SOAP 1.2 portant recevoirDispatchParametres attendue", retry=False)
        with self._lock:
            valid = self.schema.validate(message)
            error = self.schema.error_log.last_error
        if not valid:
            raise Refusal("MESSAGE", f"message non conforme au WSDL : {error.message if error else ''}", retry=False)
        try:
            items = tuple(_item(element) for element in message.findall("dispatch"))
        except (binascii.Error, ValueError):
            raise Refusal("MESSAGE", "fichier en base64 ou date illisible", retry=False) from None
        return ReceivedDelivery(message.findtext("idLivraison"), message.findtext("guichet"),
                                int(message.findtext("abonnement")), int(message.findtext("derniereSequence")), items)

    def _check_files(self, delivery: ReceivedDelivery) -> dict[int, tuple[str, str]]:
        """Files refused for good, by sequence: not an InterfaceNuu 02.01 DIS file for this counter."""
        refused = {}
        for item in delivery.items:
            if item.file is None:
                if item.kind not in WITHOUT_FILE:
                    refused[item.sequence] = ("FICHIER", "fichier DIS absent")
                continue
            try:
                root = parse(item.file)
            except UnsafeXml as error:
                refused[item.sequence] = (error.code, error.message)
                continue
            with self._lock:
                problems = schemas.errors(self.dis_schema, root, limit=1)
            if problems:
                refused[item.sequence] = ("FICHIER-XSD", problems[0][:400])
            elif root.findtext(f"{{{FILE_NS}}}entete/{{{FILE_NS}}}typeFichier") != "DIS":
                refused[item.sequence] = ("FICHIER", "typeFichier DIS attendu")
        return refused


def _item(element: etree._Element) -> ReceivedItem:
    encoded = element.findtext("fichierDis")
    return ReceivedItem(
        sequence=int(element.findtext("sequence")),
        kind=element.findtext("typeChangement"),
        number=element.findtext("numUnique"),
        version=int(element.findtext("version")),
        at=parse_datetime(element.findtext("dateChangement")),
        origin=element.findtext("guichetOrigine"),
        file_name=element.findtext("nomFichier"),
        file=base64.b64decode("".join(encoded.split()), validate=True) if encoded is not None else None,
    )


def _acknowledgement(delivery_id: str, refused: dict[int, tuple[str, str]]) -> bytes:
    envelope = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12})
    answer = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP12}}}Body"), f"{{{NS}}}recevoirDispatchReponse",
                              nsmap={"tns": NS})
    etree.SubElement(answer, "idLivraison").text = delivery_id
    for sequence, (code, message) in sorted(refused.items()):
        refusal = etree.SubElement(answer, "refus")
        etree.SubElement(refusal, "sequence").text = str(sequence)
        etree.SubElement(refusal, "code").text = code
        etree.SubElement(refusal, "message").text = message
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def _fault(refusal: Refusal) -> tuple[str, bytes]:
    envelope = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12})
    fault = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP12}}}Body"), f"{{{SOAP12}}}Fault")
    code = etree.SubElement(fault, f"{{{SOAP12}}}Code")
    etree.SubElement(code, f"{{{SOAP12}}}Value").text = "soap:Receiver" if refusal.retry else "soap:Sender"
    reason = etree.SubElement(fault, f"{{{SOAP12}}}Reason")
    etree.SubElement(reason, f"{{{SOAP12}}}Text", {"{http://www.w3.org/XML/1998/namespace}lang": "fr"}).text = \
        f"{refusal.code} : {refusal.message}"
    detail = etree.SubElement(etree.SubElement(fault, f"{{{SOAP12}}}Detail"), f"{{{NS}}}recevoirDispatchException",
                              nsmap={"tns": NS})
    etree.SubElement(detail, "reessayer").text = "true" if refusal.retry else "false"
    etree.SubElement(detail, "code").text = refusal.code
    etree.SubElement(detail, "message").text = refusal.message
    status = "500 Internal Server Error" if refusal.retry else "400 Bad Request"
    return status, etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


class FileStore:
    """Applies deliveries by writing their files into a directory: ``<sequence>-<type>-<numUnique>-v<version>.xml``
    (an empty ``.sup`` file for a deletion, ``.evt`` for a change of the application's events), and the
    applied delivery ids into ``livraisons.log``."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._lock = threading.Lock()

    def apply(self, delivery: ReceivedDelivery, refused: dict[int, tuple[str, str]]) -> bool:
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            log_path = self.directory / "livraisons.log"
            applied = set(log_path.read_text().split()) if log_path.exists() else set()
            if delivery.id in applied:
                return False
            for item in delivery.items:
                if item.sequence in refused:
                    continue
                stem = f"{item.sequence:08d}-{item.kind}-{item.number}-v{item.version}"
                target = self.directory / (f"{stem}.xml" if item.file is not None else f"{stem}.{item.kind.lower()}")
                temporary = target.with_suffix(".part")
                temporary.write_bytes(item.file or b"")
                os.replace(temporary, target)
            with log_path.open("a") as journal:
                journal.write(delivery.id + "\n")
            return True


class ReceiverServer(wsgi.Server):
    """cheroot's WSGI server, its own messages (a client gone, a failed handshake) through the
    standard library's logging like the receiver's other lines, not on stderr as cheroot writes them."""

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        log.log(level, "%s", msg, exc_info=traceback)


def serve(application: Callable, host: str, port: int, certificate: Path, key: Path, client_authority: Path,
          threads: int = 4) -> wsgi.Server:
    """A cheroot server for a receiver over TLS, requiring a client certificate from ``client_authority``
    (the hub's). Call ``prepare()`` then ``serve()`` (or ``safe_start()``), ``stop()`` to end."""
    server = ReceiverServer((host, port), application, numthreads=threads, server_name="sne-hub-receiver")
    adapter = BuiltinSSLAdapter(str(certificate), str(key))
    adapter.context.minimum_version = ssl.TLSVersion.TLSv1_2
    adapter.context.load_verify_locations(cafile=str(client_authority))
    adapter.context.verify_mode = ssl.CERT_REQUIRED
    server.ssl_adapter = adapter
    server.timeout = 10
    return server

"""The gate in front of spyne: everything about a request that is not an SNE operation.

In order, before any SNE code runs: the size bound, the content type, the caller's certificate, MTOM
unpacking, a hardened parse of the envelope (no DTD, no entity, bounded depth), SOAP 1.2 only, no
mandatory header block (the hub understands none), a known operation (named by its message, or by
the SOAP action where several operations share one message), and the message checked
against our WSDL's schema. Each refusal is a SOAP 1.2 fault with a stable code in ``Subcode``
(docs/INTERFACES.md lists them). Then spyne runs the operation on the envelope the gate parsed (files
inlined), and the answer goes back as MTOM when the request was; getNumUnique, most of the traffic,
is answered without spyne's object model, from the same envelope and in the same bytes
(hub/direct.py).
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import unquote

from lxml import etree

from core.domain.calendar import now_in_paris
from core.domain.errors import UnknownCertificate
from core.wire import mtom
from core.wire.codec import parse_datetime
from core.wire.xml import UnsafeXml, compile_schema, parse

from . import direct
from .identity import COUNTER_KEY, FINGERPRINT_KEY, OWNERS, UNIT_OF_WORK_KEY, Caller, read_fingerprint
from .soap import (
    ANSWER_KEY,
    BINARY_ANSWERS,
    ENVELOPE_KEY,
    INTERNAL_ERROR,
    MESSAGE_BYTES_KEY,
    OPERATION_KEY,
    release_after,
)

log = logging.getLogger(__name__)

NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS_SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
NS_WSDL = "http://schemas.xmlsoap.org/wsdl/"
NS_SOAP12_WSDL = "http://schemas.xmlsoap.org/wsdl/soap12/"
NS_XS = "http://www.w3.org/2001/XMLSchema"
NS_SERVICES = "http://ws.metier.nuu.application.i2/"

TOO_LARGE = "HUB-TAILLE"
MEDIA_TYPE = "HUB-CONTENT-TYPE"
METHOD = "HUB-METHODE"
CERTIFICATE = "HUB-CERTIFICAT"
SOAP_VERSION = "SOAP-VERSION"
ENVELOPE = "SOAP-ENVELOPPE"
OPERATION = "SOAP-OPERATION"
MESSAGE = "SOAP-MESSAGE"
INTERNAL = "HUB-INTERNE"
REQUEST = "HUB-REQUETE"
HEADER = "SOAP-ENTETE"

# SOAP 1.2 part 1 §2.2: the roles the hub plays, as the ultimate receiver (a block without a role is
# for the ultimate receiver, §5.2.2); blocks for role/none or for other roles are not for it.
ROLE_NEXT = f"{NS_SOAP12}/role/next"
ROLE_ULTIMATE_RECEIVER = f"{NS_SOAP12}/role/ultimateReceiver"
ROLES_PLAYED = {ROLE_NEXT, ROLE_ULTIMATE_RECEIVER}

# Binary parameters, checked as strict base64 (libxml2's xs:base64Binary skips stray characters).
BINARY_FIELDS = {"fichierDemande", "certificat", "fichierDalo", "fichierXml", "fichierPiece"}
MOMENT_FIELDS = {"dateRadiationDepuisLe", "dateNouveauDaloDepuisLe", "dateDebut", "dateFin"}


def _strict_base64(text: str | None) -> bytes | None:
    """The bytes of base64 ``text`` (whitespace aside), None when it is not strictly base64."""
    compact = "".join((text or "").split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def _supported_moment(text: str | None) -> bool:
    """An xs:dateTime the register can place in time: years 1900 to 2100, hour 24:00 allowed."""
    try:
        moment = parse_datetime(text or "")
    except ValueError:
        return False
    return moment is not None and 1900 <= moment.year <= 2100


class Refused(Exception):
    """A request the gate answers with a fault; ``not_understood``: the mandatory header blocks the hub
    does not understand (a MustUnderstand fault that names them)."""

    def __init__(self, code: str, message: str, status: int = 400, version_mismatch: bool = False,
                 not_understood: tuple[etree.QName, ...] = ()):
        super().__init__(message)
        self.code, self.message, self.status, self.version_mismatch = code, message, status, version_mismatch
        self.not_understood = not_understood

    def answer(self) -> tuple[str, list, bytes]:
        return fault(self.code, self.message, self.status, self.version_mismatch,
                     not_understood=self.not_understood)


@dataclass(frozen=True)
class Service:
    """One SNE service: its WSDL (ours), the spyne WSGI app behind it, and what its messages may be."""

    name: str
    wsdl: Path
    spyne_app: Callable

    @property
    def operations(self) -> dict[str, tuple[str, ...]]:
        """Input message element -> the operations it starts, read from the WSDL. One each, except
        in GestionPartageeEVTImplService, whose six operations all take ``fichierXmlParametres``
        (as the ministry's WSDL has it): there the SOAP action tells them apart."""
        tree = etree.parse(str(self.wsdl))
        messages = {m.get("name"): m.find(f"{{{NS_WSDL}}}part").get("element").split(":")[1]
                    for m in tree.iter(f"{{{NS_WSDL}}}message")}
        port_type = tree.find(f"{{{NS_WSDL}}}portType")
        operations: dict[str, tuple[str, ...]] = {}
        for op in port_type.iter(f"{{{NS_WSDL}}}operation"):
            element = messages[op.find(f"{{{NS_WSDL}}}input").get("message").split(":")[1]]
            operations[element] = operations.get(element, ()) + (op.get("name"),)
        return operations

    @property
    def actions(self) -> dict[str, str]:
        """soapAction -> operation name, read from the WSDL's binding."""
        tree = etree.parse(str(self.wsdl))
        binding = tree.find(f"{{{NS_WSDL}}}binding")
        return {op.find(f"{{{NS_SOAP12_WSDL}}}operation").get("soapAction"): op.get("name")
                for op in binding.iter(f"{{{NS_WSDL}}}operation")}

    @property
    def message_schema(self) -> etree.XMLSchema:
        schema = etree.parse(str(self.wsdl)).find(f"{{{NS_WSDL}}}types/{{{NS_XS}}}schema")
        return compile_schema(etree.ElementTree(schema))


class Gate:
    """WSGI application for one service's endpoint."""

    def __init__(self, service: Service, unit_of_work: Callable, max_bytes: int,
                 client_cert_header: str | None = None, context: dict | None = None):
        self.service = service
        self.context = context or {}  # what the service's operations need besides the register (a store)
        self.unit_of_work = unit_of_work
        self.max_bytes = max_bytes
        self.client_cert_key = ("HTTP_" + client_cert_header.upper().replace("-", "_")) if client_cert_header else None
        self.operations = service.operations
        self.actions = service.actions
        self.schema = service.message_schema

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        operation, counter = "-", "-"
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                raise Refused(METHOD, "Seul POST est accepté ici (la description est à ?wsdl)", 405)
            body = self._body(environ)
            content_type = mtom.ContentType.parse(environ.get("CONTENT_TYPE"))
            counter, print_ = self._counter(environ)
            envelope, action, binaries = self._envelope(content_type, body)
            operation = self._operation(envelope, action, binaries)
            if operation in direct.OPERATIONS:
                status, headers, payload = self._direct(envelope, action, operation, counter, print_, len(body),
                                                        as_mtom=content_type.is_multipart, binaries=binaries)
            else:
                binaries = None  # spyne reads its own from the envelope: large files would only weigh on memory
                status, headers, payload = self._spyne(environ, envelope, action, operation, counter, print_,
                                                       len(body), as_mtom=content_type.is_multipart)
        except Refused as refusal:
            status, headers, payload = refusal.answer()
            if refusal.code == CERTIFICATE:  # revoked or unknown: nothing more on this connection
                headers = headers + [("Connection", "close")]
        except Exception:  # never a traceback, never personal data, to the client or the log
            log.exception("internal error on %s", self.service.name)
            status, headers, payload = fault(INTERNAL, INTERNAL_ERROR, 500, receiver=True)
        log.info("%s %s counter=%s status=%s bytes=%d %.1fms", self.service.name, operation, counter, status,
                 len(payload), (time.perf_counter() - started) * 1000)
        start_response(status, headers + [("Content-Length", str(len(payload)))])
        return [payload]

    def _body(self, environ: dict) -> bytes:
        length = (environ.get("CONTENT_LENGTH") or "").strip()
        if length and not re.fullmatch(r"\d{1,18}", length):
            raise Refused(REQUEST, f"Content-Length invalide : {length[:20]!r}")
        if length and int(length) > self.max_bytes:
            raise Refused(TOO_LARGE, f"Requête de {length} octets : au plus {self.max_bytes}", 413)
        body = environ["wsgi.input"].read(self.max_bytes + 1)
        if len(body) > self.max_bytes:
            raise Refused(TOO_LARGE, f"Requête de plus de {self.max_bytes} octets", 413)
        return body

    def _counter(self, environ: dict) -> tuple[str, str]:
        """The counter the client certificate authenticates, and the certificate's fingerprint."""
        pem = environ.get("SSL_CLIENT_CERT") or (unquote(environ.get(self.client_cert_key, ""))
                                                  if self.client_cert_key else "")
        if not pem:
            raise Refused(CERTIFICATE, "Certificat client TLS absent", 403)
        try:
            print_ = read_fingerprint(pem.encode("ascii", errors="replace"))
            return OWNERS.owner(self.unit_of_work, print_, now_in_paris()), print_
        except UnknownCertificate as error:
            raise Refused(CERTIFICATE, error.message, 403) from None

    def _envelope(self, content_type: mtom.ContentType,
                  body: bytes) -> tuple[etree._Element, str | None, dict[etree._Element, bytes]]:
        """The envelope, the SOAP action, and the bytes of the binary elements MTOM filled."""
        action = content_type.params.get("action")
        binaries: dict[etree._Element, bytes] = {}
        try:
            if content_type.is_multipart:
                if content_type.params.get("type", "").lower() != "application/xop+xml":
                    raise Refused(MEDIA_TYPE, 'multipart/related doit être de type "application/xop+xml"', 415)
                parts = mtom.split(content_type, body)
                root = mtom.root_part(content_type, parts)
                root_type = mtom.ContentType.parse(root.headers.get("content-type"))
                if root_type.media_type != "application/xop+xml":
                    raise Refused(MEDIA_TYPE, "La partie racine MTOM doit être application/xop+xml", 415)
                envelope = self._checked(parse(root.body, max_bytes=self.max_bytes))
                binaries = mtom.inline(envelope, parts, root)
                # some stacks state the action only in the root part's type ("application/soap+xml; action=…")
                action = action or mtom.ContentType.parse(root_type.params.get("type")).params.get("action")
            elif content_type.media_type == "application/soap+xml":
                envelope = self._checked(parse(body, max_bytes=self.max_bytes))
            elif content_type.media_type == "text/xml":
                raise Refused(SOAP_VERSION, "SOAP 1.1 (text/xml) : ce service parle SOAP 1.2 (application/soap+xml)",
                              415)
            else:
                raise Refused(MEDIA_TYPE, f"Type de contenu non accepté : {content_type.media_type or 'absent'}", 415)
        except mtom.MtomError as error:
            raise Refused(error.code, error.message) from None
        except UnsafeXml as error:
            raise Refused(error.code, error.message) from None
        return envelope, action, binaries

    @staticmethod
    def _checked(envelope: etree._Element) -> etree._Element:
        if envelope.tag == f"{{{NS_SOAP11}}}Envelope":
            raise Refused(SOAP_VERSION, "Enveloppe SOAP 1.1 : ce service parle SOAP 1.2", 500, version_mismatch=True)
        if envelope.tag != f"{{{NS_SOAP12}}}Envelope":
            raise Refused(ENVELOPE, "Le message n'est pas une enveloppe SOAP 1.2")
        return envelope

    def _operation(self, envelope: etree._Element, action: str | None,
                   binaries: dict[etree._Element, bytes]) -> str:
        """The operation ``envelope`` asks for, once its message passed every check; the bytes of
        its binary elements go into ``binaries`` (those MTOM filled are there already)."""
        _refuse_mandatory_headers(envelope)
        bodies = envelope.findall(f"{{{NS_SOAP12}}}Body")
        if len(bodies) != 1:
            raise Refused(ENVELOPE, "L'enveloppe SOAP doit avoir un et un seul Body")
        payloads = [child for child in bodies[0] if isinstance(child.tag, str)]
        if len(payloads) != 1:
            raise Refused(ENVELOPE, "Le Body SOAP doit porter un et un seul message")
        payload = payloads[0]
        name = etree.QName(payload)
        if name.namespace != NS_SERVICES or name.localname not in self.operations:
            raise Refused(OPERATION, f"Opération inconnue de {self.service.name} : {name.localname}")
        _qualify_content_types(payload)
        if not self.schema.validate(payload):
            error = self.schema.error_log.last_error
            raise Refused(MESSAGE, f"Message {name.localname} non conforme au WSDL : {error.message}")
        for element in payload:
            if etree.QName(element).localname in BINARY_FIELDS and element not in binaries:
                content = _strict_base64(element.text)
                if content is None:
                    raise Refused(MESSAGE, f"{etree.QName(element).localname} : base64 invalide")
                binaries[element] = content
            if etree.QName(element).localname in MOMENT_FIELDS and not _supported_moment(element.text):
                raise Refused(MESSAGE, f"{etree.QName(element).localname} : date et heure hors des bornes (1900-2100)")
        return self._named(name.localname, action)

    def _named(self, element: str, action: str | None) -> str:
        """The operation a message starts: its element's, or, when several operations share the
        element, the one the SOAP action names (the reference's soapAction, or the operation's name)."""
        candidates = self.operations[element]
        if len(candidates) == 1:
            return candidates[0]
        named = self.actions.get((action or "").strip()) or (action or "").strip()
        if named not in candidates:
            raise Refused(OPERATION, f"{element} sert plusieurs opérations de {self.service.name} : l'action SOAP "
                                     f"(paramètre action du Content-Type) la nomme, par ex. {NS_SERVICES}"
                                     f"{candidates[0]}"[:300])
        return named

    def _direct(self, envelope: etree._Element, action: str | None, operation: str, counter: str, print_: str,
                message_bytes: int, as_mtom: bool, binaries: dict[etree._Element, bytes]) -> tuple[str, list, bytes]:
        """An operation answered without spyne (hub/direct.py), from the payload the gate checked;
        memory is given back after a large message as behind spyne (hub/soap.py, MemoryReleased)."""
        payload = next(child for child in envelope.find(f"{{{NS_SOAP12}}}Body") if isinstance(child.tag, str))
        try:
            return direct.OPERATIONS[operation](payload, Caller(counter, print_, self.unit_of_work), action, as_mtom,
                                                binaries)
        finally:
            release_after(message_bytes)

    def _spyne(self, environ: dict, envelope: etree._Element, action: str | None, operation: str, counter: str,
               print_: str, message_bytes: int, as_mtom: bool) -> tuple[str, list, bytes]:
        """spyne runs the operation on the envelope the gate parsed and checked (never a copy it would
        parse again); its answer comes back as MTOM, packaged from spyne's own envelope, when the
        request was MTOM, and as spyne wrote it otherwise."""
        content_type = "application/soap+xml; charset=utf-8" + (f'; action="{action}"' if action else "")
        answer: dict = {}
        inner = {**environ, "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0", "CONTENT_TYPE": content_type,
                 "PATH_INFO": "/", "QUERY_STRING": "", ENVELOPE_KEY: envelope, MESSAGE_BYTES_KEY: message_bytes,
                 OPERATION_KEY: operation,
                 COUNTER_KEY: counter, FINGERPRINT_KEY: print_, UNIT_OF_WORK_KEY: self.unit_of_work, **self.context}
        if as_mtom:
            inner[ANSWER_KEY] = answer
        captured: dict = {}

        def start_response(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        payload = b"".join(self.service.spyne_app(inner, start_response))
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        status = captured["status"]
        if "envelope" in answer:
            sender_fault = _is_sender_fault(answer["envelope"])
            mtom_type, payload = mtom.package(answer["envelope"], BINARY_ANSWERS, action)
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"] + [("Content-Type", mtom_type)]
        else:
            sender_fault = b":Sender<" in payload
        if status.startswith("500") and sender_fault:
            status = "400 Bad Request"  # SOAP 1.2 HTTP binding: a Sender fault is the client's error
        return status, headers, payload


def _is_sender_fault(envelope: etree._Element) -> bool:
    """Whether spyne's answer is a fault whose code is Sender (written ``prefix:Sender``)."""
    code = envelope.findtext(f"{{{NS_SOAP12}}}Body/{{{NS_SOAP12}}}Fault/{{{NS_SOAP12}}}Code/{{{NS_SOAP12}}}Value")
    return code is not None and code.endswith(":Sender")


def _qualify_content_types(payload: etree._Element) -> None:
    """The WSDL declares ``contentType`` on binary parameters as a global (so qualified) attribute,
    as the SNE's Java stack writes it; PHP's SoapClient and node-soap write it unqualified. Both
    mean the same informative attribute, which nothing reads: take either (docs/INTERFACES.md)."""
    for element in payload:
        if etree.QName(element).localname in BINARY_FIELDS and CONTENT_TYPE in element.attrib:
            value = element.attrib.pop(CONTENT_TYPE)
            if element.get(QUALIFIED_CONTENT_TYPE) is None:
                element.set(QUALIFIED_CONTENT_TYPE, value)


CONTENT_TYPE = "contentType"
QUALIFIED_CONTENT_TYPE = f"{{{NS_SERVICES}}}contentType"


def _refuse_mandatory_headers(envelope: etree._Element) -> None:
    """SOAP 1.2 part 1 §5.2.3 and §5.4.8: a header block meant for the hub (no role, role ``next`` or
    ``ultimateReceiver``) with ``mustUnderstand`` true must be understood before anything is processed,
    and the hub understands none: MustUnderstand fault naming them all. Blocks for other roles, or
    optional ones, are ignored. A mustUnderstand that is not an xs:boolean breaks the envelope."""
    not_understood = []
    for header in envelope.findall(f"{{{NS_SOAP12}}}Header"):
        for block in header:
            if not isinstance(block.tag, str):
                continue
            mandatory = block.get(f"{{{NS_SOAP12}}}mustUnderstand")
            if mandatory is None:
                continue
            if mandatory.strip() not in ("true", "1", "false", "0"):
                raise Refused(ENVELOPE, f"mustUnderstand vaut true, false, 1 ou 0, pas {mandatory[:20]!r}")
            role = (block.get(f"{{{NS_SOAP12}}}role") or "").strip() or ROLE_ULTIMATE_RECEIVER
            if mandatory.strip() in ("true", "1") and role in ROLES_PLAYED:
                not_understood.append(etree.QName(block))
    if not_understood:
        names = ", ".join(f"{{{name.namespace or ''}}}{name.localname}"[:120] for name in not_understood)
        raise Refused(HEADER, f"Bloc d'en-tête obligatoire (mustUnderstand) non compris : {names}", 500,
                      not_understood=tuple(not_understood))


def fault(code: str, message: str, http_status: int, version_mismatch: bool = False,
          receiver: bool = False, not_understood: tuple[etree.QName, ...] = ()) -> tuple[str, list, bytes]:
    """A SOAP 1.2 fault with our stable code in Subcode, as spyne writes its own. With
    ``not_understood``: a MustUnderstand fault, each block named in a NotUnderstood header (§5.4.8)."""
    soap = f"{{{NS_SOAP12}}}"
    envelope = etree.Element(soap + "Envelope", nsmap={"soap12env": NS_SOAP12})
    if not_understood:
        header = etree.SubElement(envelope, soap + "Header")
        for name in not_understood:  # qname="b:local", b declared on the element itself
            qname = f"b:{name.localname}" if name.namespace else name.localname
            etree.SubElement(header, soap + "NotUnderstood", qname=qname,
                             nsmap={"b": name.namespace} if name.namespace else None)
    fault_element = etree.SubElement(etree.SubElement(envelope, soap + "Body"), soap + "Fault")
    code_element = etree.SubElement(fault_element, soap + "Code")
    value = ("VersionMismatch" if version_mismatch else "MustUnderstand" if not_understood
             else "Receiver" if receiver else "Sender")
    etree.SubElement(code_element, soap + "Value").text = f"soap12env:{value}"
    etree.SubElement(etree.SubElement(code_element, soap + "Subcode"), soap + "Value").text = code
    reason = etree.SubElement(fault_element, soap + "Reason")
    etree.SubElement(reason, soap + "Text", {"{http://www.w3.org/XML/1998/namespace}lang": "fr"}).text = message
    detail = etree.SubElement(fault_element, soap + "Detail")
    exception = etree.SubElement(detail, f"{{{NS_SERVICES}}}demandeLogementException", nsmap={"tns": NS_SERVICES})
    etree.SubElement(exception, "message").text = f"{code} : {message}"
    status = {400: "400 Bad Request", 403: "403 Forbidden", 405: "405 Method Not Allowed", 408: "408 Request Timeout",
              413: "413 Payload Too Large", 415: "415 Unsupported Media Type",
              500: "500 Internal Server Error"}[http_status]
    body = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return status, [("Content-Type", "application/soap+xml; charset=utf-8")], body

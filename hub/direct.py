"""getNumUnique answered straight from the envelope the gate checked, without spyne's object model.

getNumUnique is most of the hub's traffic, and spyne's share of it (method contexts, the message read
into ``NumUniqueIn`` and its answer into ``NumUniqueOut``, then that object written out as an
envelope, which the gate parsed again to package as MTOM) was the largest part of a registration's
CPU outside the register itself (docs/BENCHMARKS.md, "Third pass"). The gate has already parsed the
envelope, checked it against the WSDL's schema, and decoded the files' base64 (or kept the bytes of
their MTOM parts); here the two binary parameters' bytes are taken from it,
:func:`core.wire.processing.process` runs, and the answer envelope is
written directly, byte for byte as spyne writes it (same prefixes, same element order, same faults
with the same codes and HTTP statuses), inline or as MTOM as the request was. spyne stays the
framework of the other operations and of the WSDL; :data:`OPERATIONS` names those answered here.
"""

from __future__ import annotations

import base64
import logging
from typing import Callable
from xml.sax.saxutils import escape

from lxml import etree

from core.domain.calendar import now_in_paris
from core.domain.errors import RegisterError
from core.wire import mtom, processing
from core.wire.processing import FileRefused

from .identity import Caller, attached_certificate
from .soap import INTERNAL_ERROR, NS, answer_name, refusal_text

log = logging.getLogger(__name__)

NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS_XML = "http://www.w3.org/XML/1998/namespace"
# spyne's prologue and envelope, which clients have been reading (prefixes soap12env and tns)
_OPENING = (f"<?xml version='1.0' encoding='UTF-8'?>\n<soap12env:Envelope xmlns:soap12env=\"{NS_SOAP12}\" "
            f"xmlns:tns=\"{NS}\"><soap12env:Body>").encode("ascii")
_CLOSING = b"</soap12env:Body></soap12env:Envelope>"
SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"

Reply = tuple[str, list[tuple[str, str]], bytes]  # status, headers, body


def get_num_unique(payload: etree._Element, caller: Caller, action: str | None, as_mtom: bool,
                   binaries: dict[etree._Element, bytes]) -> Reply:
    """The reply to a ``numUniqueParametres`` message the gate accepted (``payload``; ``binaries``:
    the bytes of its binary elements, which the gate decoded or took from their MTOM parts)."""
    now = now_in_paris()
    try:
        attached = attached_certificate(caller, _binary(payload, "certificat", binaries), now)
        answer = processing.process(caller.unit_of_work, caller.counter,
                                    _binary(payload, "fichierDemande", binaries), now, attached=attached)
    except FileRefused as refused:
        return _fault("Sender", refused.code, refused.message, refusal_text(refused.code, refused.message,
                                                                            refused.details), action, as_mtom)
    except RegisterError as refusal:
        return _fault("Sender", refusal.code, refusal.message, refusal_text(refusal.code, refusal.message),
                      action, as_mtom)
    except Exception as error:  # its message may quote a file: only the type is logged
        log.error("internal error in getNumUnique: %s", type(error).__name__)
        return _fault("Receiver", "HUB-INTERNE", INTERNAL_ERROR, None, action, as_mtom)
    files = [("nomFichierDemande", answer_name("RET", caller.counter, now), "fichierDemande", answer.file)]
    if answer.attestation is not None:
        files.append(("nomAttestation", answer_name("ATT", caller.counter, now, "pdf"), "attestation",
                      answer.attestation))
    return _reply("numUniqueReponse", files, action, as_mtom)


OPERATIONS: dict[str, Callable[..., Reply]] = {"getNumUnique": get_num_unique}


def _binary(payload: etree._Element, name: str, binaries: dict[etree._Element, bytes]) -> bytes:
    """A binary parameter's bytes, as the gate found them; b"" when absent."""
    element = payload.find(name)
    return binaries[element] if element is not None else b""


def _reply(message: str, files: list[tuple[str, str, str, bytes]], action: str | None, as_mtom: bool) -> Reply:
    """The answer envelope: each file (its name's element, its name, its element, its bytes) becomes
    ``<nomX>name</nomX><X>bytes</X>``, the bytes in base64 or, as MTOM, in a part of their own."""
    body = [_OPENING, f"<tns:{message}>".encode("ascii")]
    attachments = []
    for name_element, name, element, content in files:
        body.append(f"<{name_element}>{escape(name)}</{name_element}><{element}>".encode())
        if as_mtom:
            content_id = mtom.new_content_id()
            attachments.append((content_id, content))
            body.append(mtom.include(content_id))
        else:
            body.append(base64.b64encode(content))
        body.append(f"</{element}>".encode("ascii"))
    body += [f"</tns:{message}>".encode("ascii"), _CLOSING]
    envelope = b"".join(body)
    if as_mtom:
        content_type, envelope = mtom.assemble(envelope, attachments, action)
        return "200 OK", [("Content-Type", content_type)], envelope
    return "200 OK", [("Content-Type", SOAP_CONTENT_TYPE)], envelope


def _fault(value: str, code: str, reason: str, detail: str | None, action: str | None, as_mtom: bool) -> Reply:
    """A SOAP 1.2 fault as spyne writes an operation's: Code/Value (Sender: 400, Receiver: 500), our
    stable code in Subcode, Reason, an empty Role, and for refusals the detail
    ``demandeLogementException`` whose message repeats the code (hub/soap.py, ``refusal_text``)."""
    soap = f"{{{NS_SOAP12}}}"
    envelope = etree.Element(soap + "Envelope", nsmap={"soap12env": NS_SOAP12, "tns": NS})
    fault = etree.SubElement(etree.SubElement(envelope, soap + "Body"), soap + "Fault")
    code_element = etree.SubElement(fault, soap + "Code")
    etree.SubElement(code_element, soap + "Value").text = f"soap12env:{value}"
    etree.SubElement(etree.SubElement(code_element, soap + "Subcode"), soap + "Value").text = code
    etree.SubElement(etree.SubElement(fault, soap + "Reason"), soap + "Text", {f"{{{NS_XML}}}lang": "fr"}).text = reason
    etree.SubElement(fault, soap + "Role").text = ""
    if detail is not None:
        exception = etree.SubElement(etree.SubElement(fault, soap + "Detail"), f"{{{NS}}}demandeLogementException")
        etree.SubElement(exception, "message").text = detail
    etree.cleanup_namespaces(envelope)  # as spyne does: no tns declared on a fault without a detail
    status = "400 Bad Request" if value == "Sender" else "500 Internal Server Error"
    body = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    if as_mtom:
        content_type, body = mtom.assemble(body, [], action)
        return status, [("Content-Type", content_type)], body
    return status, [("Content-Type", SOAP_CONTENT_TYPE)], body

"""SOAP push: a delivery to a counter's system, through the receiver WSDL we publish, with zeep.

The message is described once, by wsdl/ReceptionDispatchImplService.wsdl: zeep reads it, builds the
request and reads the answer. Around zeep, what the hub owes a national system's partners:

- TLS both ways: the hub presents its client certificate (SNE_HUB_DISPATCH_CERT/KEY) and checks
  the receiver's server certificate against SNE_HUB_DISPATCH_CA and the endpoint's host name;
- MTOM: DIS files travel as raw XML parts (the SNE's way); a subscription may ask for inline base64
  instead, for stacks without MTOM (PHP's SoapServer);
- bounds: the receiver has SNE_HUB_DISPATCH_TIMEOUT seconds to answer, in at most
  SNE_HUB_DISPATCH_MAX_ANSWER_BYTES; nothing of a message is ever logged (personal data);
- every way it can go wrong maps to an outcome: acknowledged (with the files refused for good),
  refused for good (a fault saying not to retry, or a SOAP 1.2 Sender fault without an opinion),
  or to retry (anything else: a Receiver fault, an HTTP error, a timeout, a TLS failure, an answer
  that is not the acknowledgement of this delivery).
"""

from __future__ import annotations

import base64

import requests
import zeep
import zeep.exceptions
from lxml import etree
from requests.adapters import HTTPAdapter
from zeep.transports import Transport

from core.service_layer.dispatching import Delivered, Delivery, Failed, Outcome
from core.wire import mtom
from core.wire.dispatch import wire_item

from .config import RECEIVER_WSDL, DispatchSettings
from .config import SERVICES_NS as NS

BINDING = f"{{{NS}}}ReceptionDispatchImplServiceSoapBinding"
FILE_ELEMENTS = {"fichierDis"}


class AnswerTooLarge(Exception):
    pass


class BoundedTransport(Transport):
    """zeep's transport, with a bound on answers, MTOM requests when asked, and no message logging."""

    def __init__(self, session: requests.Session, timeout: float, max_answer_bytes: int, use_mtom: bool):
        super().__init__(session=session, timeout=timeout, operation_timeout=timeout)
        self.max_answer_bytes = max_answer_bytes
        self.use_mtom = use_mtom
        self.files: dict[str, bytes] = {}  # MTOM: the files of the call under way, by the key zeep carries

    def post_xml(self, address, envelope, headers):
        if not self.use_mtom:
            return super().post_xml(address, envelope, headers)
        content_type = mtom.ContentType.parse(headers.get("Content-Type"))
        packed_type, body = mtom.package(envelope, FILE_ELEMENTS, content_type.params.get("action"),
                                         content=lambda text: self.files[base64.b64decode(text).decode()])
        return self.post(address, body, {**headers, "Content-Type": packed_type})

    def post(self, address, message, headers):
        response = self.session.post(address, data=message, headers=headers, timeout=self.operation_timeout,
                                     stream=True)
        try:
            content = response.raw.read(self.max_answer_bytes + 1, decode_content=True)
        finally:
            response.close()
        if len(content) > self.max_answer_bytes:
            raise AnswerTooLarge(f"réponse de plus de {self.max_answer_bytes} octets")
        response._content = content  # what zeep reads; requests' own bounded-read idiom
        return response


class Pusher:
    """Sends deliveries to counters' endpoints; one per worker thread (zeep clients are not shared)."""

    def __init__(self, settings: DispatchSettings):
        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE and proxy variables override what we set here
        session.cert = (str(settings.client_certificate), str(settings.client_key))
        session.verify = str(settings.trusted)
        session.mount("https://", HTTPAdapter(pool_connections=64, pool_maxsize=4, max_retries=0))
        session.headers["User-Agent"] = "sne-hub-dispatch"
        wsdl = str(RECEIVER_WSDL)
        self.clients = {
            use_mtom: zeep.Client(wsdl, transport=BoundedTransport(session, settings.timeout,
                                                                   settings.max_answer_bytes, use_mtom),
                                  settings=zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True,
                                                         forbid_external=True, xml_huge_tree=False))
            for use_mtom in (True, False)
        }

    def deliver(self, delivery: Delivery) -> Outcome:
        client = self.clients[delivery.subscription.mtom]
        service = client.create_service(BINDING, delivery.counter.endpoint)
        items = [wire_item(item, delivery.counter.code) for item in delivery.items]
        if delivery.subscription.mtom:  # zeep carries a short key; the file becomes its own part as it is
            client.transport.files = {str(item["sequence"]): item["fichierDis"] for item in items if "fichierDis" in item}
            for item in items:
                if "fichierDis" in item:
                    item["fichierDis"] = str(item["sequence"]).encode()
        try:
            answer = service.recevoirDispatch(
                idLivraison=delivery.id, guichet=delivery.counter.code, abonnement=delivery.subscription.id,
                derniereSequence=delivery.last_sequence, dispatch=items)
        except zeep.exceptions.Fault as fault:
            return _fault(fault)
        except requests.exceptions.SSLError as error:
            return Failed(f"TLS : {_reason(error)}")
        except requests.exceptions.Timeout:
            return Failed("délai de réponse dépassé")
        except requests.exceptions.ConnectionError as error:
            return Failed(f"connexion impossible : {_reason(error)}")
        except zeep.exceptions.TransportError as error:
            return Failed(f"HTTP {error.status_code} sans accusé de réception")
        except AnswerTooLarge as error:
            return Failed(str(error))
        except (zeep.exceptions.Error, etree.LxmlError, ValueError, AttributeError) as error:
            return Failed(f"réponse illisible ({type(error).__name__})")
        if answer is None or answer.idLivraison != delivery.id:
            return Failed("la réponse n'est pas l'accusé de réception de cette livraison")
        sent = {item.sequence for item in delivery.items}
        refusals = {refusal.sequence: f"{refusal.code} : {refusal.message}"[:500]
                    for refusal in (answer.refus or []) if refusal.sequence in sent}
        return Delivered(refusals)


def _fault(fault: zeep.exceptions.Fault) -> Failed:
    """A fault's detail says whether to retry; without one, SOAP 1.2's own rule: a Sender fault is
    the message's fault (sending it again would not help), a Receiver fault may pass."""
    retry = None
    detail = fault.detail
    if detail is not None:
        flag = detail.find(f".//{{{NS}}}recevoirDispatchException/reessayer")
        if flag is not None and (flag.text or "").strip() in ("true", "1", "false", "0"):
            retry = flag.text.strip() in ("true", "1")
    if retry is None:
        retry = "Sender" not in str(fault.code or "")
    message = f"refus du récepteur : {fault.message}"[:500]
    return Failed(message, permanent=not retry)


def _reason(error: Exception) -> str:
    """The innermost cause, without the URL (an endpoint is not personal data, but is noise)."""
    cause = error
    while cause.__context__ is not None and cause.__context__ is not cause:
        cause = cause.__context__
    return f"{type(cause).__name__}: {str(cause)[:200]}"


"""The kit's side of the wire, playing the hub: HTTPS with a client certificate, and the reading of
what the receiver answers (an acknowledgement, or a SOAP 1.2 fault and whether the hub retries it).

http.client rather than a SOAP library: the kit must send what a library would refuse to (broken
XML, an oversize body, no certificate) and hang up without reading the answer, as the hub does when
its timeout passes.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from lxml import etree

from .deliveries import NS, SOAP12

MAX_ANSWER_BYTES = 1024 * 1024  # what the hub reads of an answer (docs/DISPATCHING.md)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    seconds: float


@dataclass(frozen=True)
class Acknowledgement:
    delivery_id: str
    refusals: dict[int, str]  # sequence -> code


@dataclass(frozen=True)
class Fault:
    code: str  # the SOAP 1.2 Code/Value, e.g. soap:Sender
    retry: bool  # what the hub concludes: the detail's reessayer, else Receiver retried, Sender not
    detail: etree._Element | None  # recevoirDispatchException, or whatever the Detail held


class Sender:
    """POSTs to the receiver's endpoint over TLS, verifying its certificate and host name as the hub
    does, with a client certificate (or none); each exchange is handed to ``record``."""

    def __init__(self, url: str, ca: str | None, timeout: float, record: Callable[[dict], None]):
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise ValueError("the hub pushes over HTTPS only: give an https:// URL")
        self.url, self.host, self.port = url, parts.hostname, parts.port or 443
        self.path = parts.path or "/"
        self.ca, self.timeout, self.record = ca, timeout, record

    def context(self, certificate: tuple[str, str] | None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca)
        if certificate:
            context.load_cert_chain(*certificate)
        return context

    def _connection(self, certificate) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.host, self.port, context=self.context(certificate),
                                           timeout=self.timeout)

    def post(self, content_type: str, body: bytes, certificate: tuple[str, str] | None,
             what: str = "") -> Answer:
        """The answer, at most MAX_ANSWER_BYTES of it; raises OSError (ssl.SSLError included) when the
        connection fails or the receiver closes it, TimeoutError when it does not answer in time."""
        connection = self._connection(certificate)
        started = time.monotonic()
        exchange = self._exchange(what, content_type, body)
        try:
            try:
                connection.request("POST", self.path, body, {"Content-Type": content_type})
            except OSError as error:  # the receiver may have answered already
                exchange["error"] = f"sending stopped: {type(error).__name__}"
            response = connection.getresponse()
            data = response.read(MAX_ANSWER_BYTES + 1)
            answer = Answer(response.status, response.getheader("Content-Type", ""), data,
                            time.monotonic() - started)
            exchange.update(status=answer.status, response=data,
                            response_headers={"Content-Type": answer.content_type})
            return answer
        except (OSError, http.client.HTTPException) as error:
            failure = f"{type(error).__name__}: {error}"
            exchange["error"] = "; ".join(filter(None, [exchange.get("error"), failure]))
            if isinstance(error, socket.timeout):
                raise TimeoutError(f"no answer within {self.timeout} s") from error
            raise ConnectionError(failure) from error
        finally:
            connection.close()
            self.record(exchange)

    def hang_up(self, content_type: str, body: bytes, certificate: tuple[str, str]) -> None:
        """Send the request whole, then close without reading the answer: the hub's timeout, passed."""
        connection = self._connection(certificate)
        try:
            connection.request("POST", self.path, body, {"Content-Type": content_type})
        finally:
            connection.close()
            self.record(self._exchange("hung up once sent, as the hub when its timeout passes", content_type, body))

    def _exchange(self, what: str, content_type: str, body: bytes) -> dict:
        """An exchange as the kit's plugin records it (``exchanges``)."""
        return {"what": what, "method": "POST", "url": self.url, "counter": "hub (the kit)",
                "request_headers": {"Content-Type": content_type}, "request": body,
                "status": "", "response": b"", "response_headers": {}}


def parse(data: bytes) -> etree._Element:
    if b"<!DOCTYPE" in data[:2048].upper():
        raise etree.XMLSyntaxError("DOCTYPE in an answer", None, 0, 0, "")
    return etree.fromstring(data, _PARSER)


def message_of(answer: Answer) -> etree._Element | None:
    """The first element of the answer's SOAP 1.2 Body (None when it is not one)."""
    if len(answer.body) > MAX_ANSWER_BYTES:
        return None
    try:
        root = parse(answer.body)
    except etree.XMLSyntaxError:
        return None
    body = root.find(f"{{{SOAP12}}}Body") if root.tag == f"{{{SOAP12}}}Envelope" else None
    return body[0] if body is not None and len(body) else None


def acknowledgement(answer: Answer) -> Acknowledgement | None:
    """The ``recevoirDispatchReponse`` an answer carries, as the hub reads it; None if it carries none."""
    element = message_of(answer)
    if element is None or element.tag != f"{{{NS}}}recevoirDispatchReponse":
        return None
    refusals = {}
    for refusal in element.findall("refus"):
        try:
            refusals[int(refusal.findtext("sequence", ""))] = refusal.findtext("code", "")
        except ValueError:
            return None
    return Acknowledgement(element.findtext("idLivraison", ""), refusals)


def fault(answer: Answer) -> Fault | None:
    """The SOAP 1.2 fault an answer carries, and whether the hub would retry it; None if none."""
    element = message_of(answer)
    if element is None or element.tag != f"{{{SOAP12}}}Fault":
        return None
    code = (element.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value") or "").strip()
    detail = element.find(f"{{{SOAP12}}}Detail")
    detail = detail[0] if detail is not None and len(detail) else None
    flag = detail.findtext("reessayer") if detail is not None and detail.tag == f"{{{NS}}}recevoirDispatchException" \
        else None
    if flag is not None and flag.strip() in ("true", "1", "false", "0"):
        retry = flag.strip() in ("true", "1")
    else:
        retry = not code.endswith("Sender")
    return Fault(code, retry, detail)


def describe(answer: Answer) -> str:
    return (f"HTTP {answer.status} {answer.content_type!r}, {len(answer.body)} bytes in {answer.seconds:.2f} s: "
            f"{answer.body[:300].decode('utf-8', 'replace')}")

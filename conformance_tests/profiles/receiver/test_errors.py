"""What is wrong with the message itself is refused for good (a fault the hub does not retry), in the
contract's terms, and does not take the receiver down."""

from __future__ import annotations

import base64
import os

import pytest

from .checks import acknowledged, not_retried_fault
from .deliveries import NS, SOAP12, SOAP_CONTENT_TYPE
from .wire import fault

PART_BYTES = 240 * 1024  # each oversize item's file: far below an XML parser's limits on a text node


def oversize_body(delivery, size: int) -> bytes:
    """The delivery's envelope with as many 240 KiB base64 files as make ``size`` bytes."""
    body = delivery.inline()[1]
    filler = base64.b64encode(os.urandom(PART_BYTES)).decode()
    items = "".join(f"<dispatch><sequence>{n}</sequence><typeChangement>CRE</typeChangement>"
                    f"<numUnique>057000000000{n % 1000000:06d}</numUnique><version>1</version>"
                    f"<dateChangement>2026-12-01T10:00:00Z</dateChangement><guichetOrigine>KITOR</guichetOrigine>"
                    f"<nomFichier>DIS-{n}.xml</nomFichier><fichierDis>{filler}</fichierDis></dispatch>"
                    for n in range(1, size // len(filler) + 2))
    return body.replace(b"</tns:recevoirDispatchParametres>", items.encode() + b"</tns:recevoirDispatchParametres>")


@pytest.mark.requirement("SNE-HUB-R305")
def test_an_oversize_delivery_is_refused_cleanly(sender, kit_certificate, push, stream, option):
    size = option("--receiver-oversize-mib") * 1024 * 1024
    delivery = stream.delivery(last_sequence=0)
    body = oversize_body(delivery, size)
    assert len(body) > size
    try:
        answer = sender.post(SOAP_CONTENT_TYPE, body, kit_certificate, f"{len(body)} bytes")
    except ConnectionError as error:
        pytest.fail(f"a delivery of {len(body)} bytes: the connection ended without an answer ({error}); "
                    "the hub retries that (answer a fault saying not to, after discarding the body)")
    not_retried_fault(answer, f"a delivery of {len(body)} bytes")
    following = stream.delivery(stream.change("CRE"))
    acknowledged(push(following, what="the next delivery"), following)


def not_xml():
    return SOAP_CONTENT_TYPE, b"<soap:Envelope xmlns:soap='" + SOAP12.encode() + b"'><soap:Body><oops></soap:Body>"


def breaking_the_wsdl(stream):
    delivery = stream.delivery(stream.change("CRE"))
    content_type, body = delivery.inline()
    subscription = f"<abonnement>{delivery.subscription}</abonnement>".encode()
    return content_type, body.replace(subscription, b"<abonnement>douze</abonnement>")


@pytest.mark.requirement("SNE-HUB-R360")
def test_malformed_xml_is_a_fault_not_retried(sender, kit_certificate):
    not_retried_fault(sender.post(*not_xml(), kit_certificate, "not well-formed XML"), "not well-formed XML")


@pytest.mark.requirement("SNE-HUB-R361")
def test_a_message_that_breaks_the_wsdl_is_a_fault_not_retried(sender, kit_certificate, stream):
    answer = sender.post(*breaking_the_wsdl(stream), kit_certificate, "abonnement 'douze'")
    not_retried_fault(answer, "an abonnement that is not a number")


@pytest.mark.requirement("SNE-HUB-R362")
def test_a_fault_detail_is_the_contracts(sender, kit_certificate, stream, message_schema):
    for what, request in (("not well-formed XML", not_xml()), ("abonnement 'douze'", breaking_the_wsdl(stream))):
        try:
            found = fault(sender.post(*request, kit_certificate, what))
        except OSError:
            continue  # no answer: R360 and R361 say so
        if found is None or found.detail is None:
            continue
        assert found.detail.tag == f"{{{NS}}}recevoirDispatchException", \
            f"{what}: the fault's detail is {found.detail.tag}, not {{{NS}}}recevoirDispatchException"
        errors = [f"{error.path}: {error.reason}" for error in message_schema.iter_errors(found.detail)]
        assert not errors, f"{what}: the fault's detail breaks the WSDL's schema: {errors}"

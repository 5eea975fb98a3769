"""Malformed requests get SOAP 1.2 faults with stable codes, the code repeated in the detail message."""

import pytest

from .files import Household, application_file
from .operations import get_num_unique
from .wire import DEMANDE, SERVICES_NS, SOAP12, envelope

SOAP_CONTENT_TYPE = f'application/soap+xml; charset=utf-8; action="{SERVICES_NS}getNumUnique"'


def assert_fault(reply, status: int, code: str) -> None:
    """A SOAP 1.2 fault: Code Sender, Subcode ``code``, and ``code`` in the detail's message."""
    assert reply.envelope is not None, f"HTTP {reply.status}, not a SOAP envelope: {reply.body[:300]!r}"
    assert (reply.status, reply.fault_code) == (status, code), reply.describe()
    value = reply.envelope.findtext(f".//{{{SOAP12}}}Fault/{{{SOAP12}}}Code/{{{SOAP12}}}Value") or ""
    assert value.endswith("Sender"), f"fault Code {value!r}, not Sender"
    message = reply.envelope.findtext(f".//{{{SOAP12}}}Detail/{{{SERVICES_NS}}}demandeLogementException/message")
    assert message and message.startswith(code), f"detail message {message!r} does not start with {code}"


@pytest.mark.requirement("SNE-HUB-R150")
def test_a_body_that_is_not_xml(client):
    assert_fault(client.post(DEMANDE, b"ceci n'est pas du XML", SOAP_CONTENT_TYPE), 400, "XML-MALFORME")


@pytest.mark.requirement("SNE-HUB-R151")
def test_xml_that_is_not_a_soap12_envelope(client):
    body = f'<soap:Envelope xmlns:soap="{SOAP12}"><soap:Header/></soap:Envelope>'.encode()
    assert_fault(client.post(DEMANDE, body, SOAP_CONTENT_TYPE), 400, "SOAP-ENVELOPPE")


@pytest.mark.requirement("SNE-HUB-R152")
def test_an_operation_the_service_does_not_have(client):
    body = envelope("operationInconnueParametres", ["<numUnique>1</numUnique>"]).encode()
    assert_fault(client.post(DEMANDE, body, SOAP_CONTENT_TYPE), 400, "SOAP-OPERATION")


@pytest.mark.requirement("SNE-HUB-R153")
def test_a_file_that_breaks_its_schema(client, target, family):
    file = application_file(target.counter, Household.invent(family, 50), commune=target.commune)
    broken = file.replace(b"<ns2:montantLoyer>650</ns2:montantLoyer>", b"<ns2:montantLoyer>beaucoup</ns2:montantLoyer>")
    assert broken != file
    assert_fault(get_num_unique(client, broken), 400, "FICHIER-XSD")


@pytest.mark.requirement("SNE-HUB-R154")
def test_soap11_is_refused(client):
    body = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>')
    reply = client.post(DEMANDE, body, 'text/xml; charset=utf-8')
    assert (reply.status, reply.fault_code) == (415, "SOAP-VERSION"), reply.describe()

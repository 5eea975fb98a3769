"""The service descriptions: each WSDL served at ``?wsdl``, well-formed, SOAP 1.2, with a valid schema."""

import pytest
import xmlschema
from lxml import etree

from .wire import DEMANDE, RECHERCHE, parse

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP12_BINDING = "http://schemas.xmlsoap.org/wsdl/soap12/"
XS = "http://www.w3.org/2001/XMLSchema"
SERVICES = (DEMANDE, RECHERCHE)


def wsdl_of(client, service: str) -> etree._Element:
    response = client.wsdl(service)
    assert response.status_code == 200, f"{service}?wsdl: HTTP {response.status_code}"
    document = parse(response.content)
    assert document.tag == f"{{{WSDL}}}definitions", f"{service}?wsdl: root {document.tag}, not wsdl:definitions"
    return document


@pytest.mark.requirement("SNE-HUB-R100")
@pytest.mark.parametrize("service", SERVICES)
def test_the_wsdl_is_served_with_a_soap12_binding_at_the_service_address(client, service):
    document = wsdl_of(client, service)
    address = document.find(f"{{{WSDL}}}service/{{{WSDL}}}port/{{{SOAP12_BINDING}}}address")
    assert address is not None, f"{service}: no soap12:address (SOAP 1.2 port)"
    assert address.get("location", "").rstrip("/").endswith(f"/services/{service}"), address.get("location")
    binding = document.find(f"{{{WSDL}}}binding/{{{SOAP12_BINDING}}}binding")
    assert binding is not None and binding.get("style", "document") == "document", f"{service}: not document style"


@pytest.mark.requirement("SNE-HUB-R101")
@pytest.mark.parametrize("service", SERVICES)
def test_the_wsdl_schema_is_valid_and_declares_every_message_part(client, service):
    document = wsdl_of(client, service)
    embedded = document.findall(f"{{{WSDL}}}types/{{{XS}}}schema")
    assert embedded, f"{service}: no schema in wsdl:types"
    try:
        schemas = [xmlschema.XMLSchema(etree.tostring(schema).decode()) for schema in embedded]
    except xmlschema.XMLSchemaException as error:
        pytest.fail(f"{service}: the WSDL's schema is not a valid XSD: {error}")
    declared = {f"{{{schema.target_namespace}}}{name}".replace("{}", "") for schema in schemas
                for name in (component.local_name for component in schema.elements.values())}
    namespaces = document.nsmap
    for part in document.iterfind(f"{{{WSDL}}}message/{{{WSDL}}}part"):
        prefix, _, local = part.get("element", "").rpartition(":")
        qualified = f"{{{namespaces.get(prefix or None, '')}}}{local}"
        assert qualified in declared, f"{service}: message part {part.get('element')} is not declared in wsdl:types"

"""The WSDLs are served at ?wsdl with the hub's own address; only the hub's services exist."""

import http.client
import ssl
from pathlib import Path

from lxml import etree

WSDL = "{http://schemas.xmlsoap.org/wsdl/}"
SOAP12 = "{http://schemas.xmlsoap.org/wsdl/soap12/}"


def get(hub, path: str, host: str | None = None) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(Path(hub.pki["ca"]["cert"])))
    connection = http.client.HTTPSConnection("localhost", hub.port, context=context, timeout=10)
    connection.putrequest("GET", path, skip_host=host is not None)
    if host is not None:
        connection.putheader("Host", host)
    connection.endheaders()
    response = connection.getresponse()
    return response.status, response.read()


def address(document: bytes) -> str:
    return etree.fromstring(document).find(f"{WSDL}service/{WSDL}port/{SOAP12}address").get("location")


def test_the_wsdls_are_served_with_the_hub_address(hub):
    for service in ("DemandeLogementImplService", "RechercheDemandeImplService", "GestionPartageeEVTImplService",
                    "DispatchDemandeImplService"):
        status, document = get(hub, f"/services/{service}/?wsdl")
        assert status == 200
        assert address(document) == f"https://localhost:{hub.port}/services/{service}/"
        assert etree.fromstring(document).find(f"{WSDL}service").get("name") == service


def test_a_wsdl_needs_no_client_certificate(hub):
    assert hub.client(None).wsdl("DemandeLogementImplService").status_code == 200


def test_a_hostile_host_header_does_not_reach_the_wsdl(hub):
    status, body = get(hub, "/services/DemandeLogementImplService/?wsdl", host='evil.example"/><x y="')
    assert (status, body) == (400, "En-tête Host invalide".encode())


def test_other_paths_are_not_found(hub):
    for path in ("/", "/services/DossierUniqueImplService/?wsdl", "/services/", "/services/X/Y"):
        status, body = get(hub, path)
        assert status == 404
        assert b"/services/DemandeLogementImplService/" in body

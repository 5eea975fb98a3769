"""Interoperability, white-box side: what the conformance kit's interoperability checks cannot see.

The kit's ``server`` profile drives zeep, node-soap, PHP's SoapClient and libsne against the hub
(conformance_tests/profiles/server/test_interop.py, requirements SNE-HUB-R190 to R193, run against a
real hub with every stack by tests/conformance/test_server_profile.py). What stays here needs the
project's own parts:

1. libsne, the client a software vendor wrote against the real SNE (libsne 0.1.0a8 sdist, cached in
   .cache/reference/): a refused code value (NUU101) as its anomaly exception, a read by another
   counter of the territory with the certificate part filled, the duplicates list against the
   ministry's reference schema, its XSD being the reference's;
2. zeep on sne-hub's own documents service, and a registration read by another counter with its
   certificate (the attestation PDF);
4. the WS-I Basic Profile rules that apply to a document/literal WSDL 1.1 description, checked on
   wsdl/*.wsdl with lxml;
5. PHP's SoapClient listing a territory's event types that the operator defined (Debian's php-cli and
   php-soap), with the kit's script.

PHP is installed by the Makefile's test setup (``make test``), never from here: the fixture below only
finds it. Its test is skipped when it is missing locally, and fails the run under CI=true, as
PostgreSQL does (tests/conftest.py).
"""

from __future__ import annotations

import base64
import http.client
import importlib
import json
import shutil
import ssl
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.transports import Transport
from zeep.wsdl.bindings.soap import Soap12Binding

from core import demo
from core.domain.calendar import now_in_paris
from core.service_layer import shared_management
from core.wire import schemas
from core.wire.codec import NS
from support.files import DEMANDE, GESTION, RECHERCHE, interface_file, person, types_file
from tests import reference
from tests.conftest import in_ci

N = f"{{{NS}}}"
SERVICES_NS = "http://ws.metier.nuu.application.i2/"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"  # WSDL 1.1's SOAP 1.2 binding, as the SNE's WSDLs use
XS = "http://www.w3.org/2001/XMLSchema"
WSDL_DIR = reference.REPO_ROOT / "wsdl"
KIT_STACKS = reference.REPO_ROOT / "conformance_tests" / "profiles" / "server" / "stacks"


def unavailable(message: str, what: str) -> None:
    """Skip locally; under CI=true the run must prove ``what``, so fail."""
    if in_ci():
        pytest.fail(f"{message} (CI=true requires {what})", pytrace=False)
    pytest.skip(message)


def credentials(hub, counter: str = "DEMOB") -> SimpleNamespace:
    entry = hub.pki["counters"][counter]
    return SimpleNamespace(cert=str(entry["cert"]), key=str(entry["key"]), ca=str(hub.pki["ca"]["cert"]))


def served_wsdl(hub, service: str = DEMANDE) -> bytes:
    wsdl = hub.client("DEMOB").wsdl(service)
    assert wsdl.status_code == 200
    return wsdl.content


NODE_SOAP_DIR = reference.REPO_ROOT / ".cache" / "node-soap"


@pytest.fixture(scope="session")
def node_soap() -> Path:
    """node_modules holding node-soap, which the Makefile's test setup installs into .cache/node-soap/
    (the dispatching interoperability tests' receivers run on it; the kit drives the client side)."""
    if not shutil.which("node"):
        unavailable("node is needed for the node-soap tests", "node-soap")
    modules = NODE_SOAP_DIR / "node_modules"
    if not (modules / "soap" / "package.json").is_file():
        unavailable(f"node-soap is not in {NODE_SOAP_DIR}: `make test` (or `make node-soap`) installs it", "node-soap")
    return modules


def valid_answer(data: bytes) -> etree._Element:
    """An interfaceNuu answer file, valid against our schema of its version."""
    answer = etree.fromstring(data)
    assert answer.tag == f"{N}interfaceNuu"
    assert schemas.errors(schemas.load(schemas.APPLICATION_FILES[answer.get("versionInterface")]), answer) == []
    return answer


# ------------------------------------------------------------------------------------------------
# 1. libsne, the vendor client: its requests, its headers, its way of reading answers
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def libsne():
    """libsne's module (``libsne.libsne``), imported from the cached sdist, its schemas next to it."""
    try:
        package = reference.libsne_package_dir()
    except reference.ReferenceUnavailable as error:
        unavailable(str(error), "libsne")
    root = str(package.parent)
    sys.path.insert(0, root)
    try:
        yield importlib.import_module("libsne.libsne")
    finally:
        sys.path.remove(root)
        for name in [name for name in sys.modules if name == "libsne" or name.startswith("libsne.")]:
            del sys.modules[name]


@pytest.fixture
def vendor(libsne, hub, monkeypatch):
    """libsne pointed at the hub: ``send`` runs its ConnexionServeur.https and returns the raw answer.

    libsne opens ``httplib.HTTPSConnection(hostname, cert_file=..., key_file=...)``, an API Python
    3.12 removed: the stand-in below takes the same arguments and opens the connection with an
    SSLContext (the hub's CA, the counter's certificate), recording what libsne sends. The body, the
    headers (Content-Type with start="soaproot", boundary MIME_BOUNDARY and the action; Host naming
    the ministry's host; Apache-HttpClient's User-Agent) and the request path are libsne's own.
    """
    sent: list[SimpleNamespace] = []
    ca = credentials(hub).ca

    class HTTPSConnection(http.client.HTTPSConnection):
        def __init__(self, host, cert_file=None, key_file=None):
            context = ssl.create_default_context(cafile=ca)
            if cert_file:
                context.load_cert_chain(cert_file, key_file)
            super().__init__(host, context=context, timeout=30)

        def request(self, method, url, body=None, headers=None, **kwargs):
            sent.append(SimpleNamespace(method=method, path=url, headers=dict(headers or {}), body=body))
            super().request(method, url, body=body, headers=headers or {}, **kwargs)

    monkeypatch.setattr(libsne, "httplib", SimpleNamespace(HTTPSConnection=HTTPSConnection,
                                                           HTTPResponse=http.client.HTTPResponse))
    address = f"localhost:{hub.port}"

    def send(service: str, counter: str = "DEMOB", status: int = 200, **kwargs) -> str:
        """The answer's body, decoded the way libsne decodes it."""
        own = credentials(hub, counter)
        response = libsne.ConnexionServeur.https(service, own.cert, own.key, address, **kwargs)
        body = response.read()
        assert response.status == status, body[:2000]
        return body.decode()

    def echanger(service: str, counter: str = "DEMOB", **kwargs) -> str:
        """libsne's entry point, unchanged: request, HTTPResponse, analysis, answer file."""
        own = credentials(hub, counter)
        return libsne.echanger(service, own.cert, own.key, address, **kwargs)

    def replay(body: str, counter: str = "DEMOB") -> str:
        """Another body libsne built, sent again with the headers libsne sent last."""
        own = credentials(hub, counter)
        connection = HTTPSConnection(address, own.cert, own.key)
        try:
            connection.request("POST", sent[-1].path, body=body, headers=sent[-1].headers)
            response = connection.getresponse()
            assert response.status == 200
            return response.read().decode()
        finally:
            connection.close()

    return SimpleNamespace(libsne=libsne, sent=sent, send=send, echanger=echanger, replay=replay)


def test_libsne_registration_goes_through_and_its_answer_is_read(vendor, reference_schemas_dir):
    """getNumUnique as libsne does it: MTOM built by ConstructionMessage, answer sliced by AnalyseReponse."""
    libsne = vendor.libsne
    text = vendor.send("numUnique", xml=interface_file("DEMOB", form=person(41)).decode("ascii"))

    request = vendor.sent[-1]
    assert (request.method, request.path) == ("POST", f"/services/{DEMANDE}/")
    assert request.headers["Host"] == libsne.HOSTNAME  # the ministry's: only DNS points at the hub
    content_type = request.headers["Content-Type"]
    assert content_type.startswith('multipart/related; type="application/xop+xml"; start="soaproot"')
    assert 'boundary="MIME_BOUNDARY"' in content_type and f'action="{SERVICES_NS}getNumUnique"' in content_type
    assert request.body.startswith("--MIME_BOUNDARY\r\n")

    analysis = libsne.AnalyseReponse("numUnique", text)
    analysis.anomalies()  # no AnomaliesException
    answer = analysis.get_demande()
    document = valid_answer(answer.encode())
    assert document.findtext(f"{N}entete/{N}typeFichier") == "RET"
    number = document.findtext(f".//{N}numUnique")
    assert len(number) == 18 and number.startswith("057") and number.endswith("DEMOB")
    # libsne's GestionDemande validates with the ministry's reference XSD shipped next to it.
    assert Path(libsne.XSD).resolve() == (reference_schemas_dir / "InterfaceNuu_v0201.xsd").resolve()
    accepted = libsne.GestionDemande(answer).get_interface_nuu()
    assert accepted.findtext(f".//{N}numUnique") == number


def test_libsne_raises_its_anomaly_exception_with_our_code(vendor):
    """A code value outside its list passes libsne's own checks, and comes back as an anomaly."""
    libsne = vendor.libsne
    form = person(42)
    form.household.applicant.civility = "9"
    text = vendor.send("numUnique", xml=interface_file("DEMOB", form=form).decode("ascii"))
    with pytest.raises(libsne.AnomaliesDansReponse) as raised:
        libsne.AnalyseReponse("numUnique", text).anomalies()
    assert "\nNUU101 : " in raised.value.message


def test_libsne_reads_an_application(vendor, hub):
    """getDemandeLogement with a number; then the same request carrying the counter's certificate."""
    libsne = vendor.libsne
    registered = vendor.echanger("numUnique", xml=interface_file("DEMOB", form=person(43)).decode("ascii"))
    number = etree.fromstring(registered).findtext(f".//{N}numUnique")

    text = vendor.send("demandeLogement", counter="DEMOC", num_unique=number)
    assert f'action="{SERVICES_NS}getDemandeLogement"' in vendor.sent[-1].headers["Content-Type"]
    analysis = libsne.AnalyseReponse("demandeLogement", text)
    analysis.anomalies()
    answer = valid_answer(analysis.get_demande().encode())
    assert answer.findtext(f".//{N}numUnique") == number
    assert answer.findtext(f".//{N}numGuichet") == "DEMOC"  # addressed to the reader
    libsne.GestionDemande(analysis.get_demande())

    # libsne leaves the certificate part empty; its template carries one when given (a BASE64 part).
    pem = Path(credentials(hub, "DEMOC").cert).read_text()
    certificate = base64.encodebytes(ssl.PEM_cert_to_DER_cert(pem)).decode("ascii").strip()
    body = libsne.ConstructionMessage().get_message_xopmtom(certificate, "demandeLogement",
                                                            num_unique=number).replace("\n", "\r\n")
    assert 'ws:contentType="application/x-x509-ca-cert"' in body
    analysis = libsne.AnalyseReponse("demandeLogement", vendor.replay(body, counter="DEMOC"))
    analysis.anomalies()
    assert etree.fromstring(analysis.get_demande()).findtext(f".//{N}numUnique") == number


def test_libsne_reads_the_duplicates_list(vendor, reference_schemas_dir):
    """getDoublons: libsne slices ``listeDoublons`` out of the body; the list is the reference's format."""
    libsne = vendor.libsne
    number = etree.fromstring(vendor.echanger(
        "numUnique", xml=interface_file("DEMOB", form=person(44)).decode("ascii"))).findtext(f".//{N}numUnique")

    text = vendor.send("doublons", counter="DEMOC", xml=interface_file("DEMOC", form=person(44)).decode("ascii"))
    assert f'action="{SERVICES_NS}getDoublons"' in vendor.sent[-1].headers["Content-Type"]
    analysis = libsne.AnalyseReponse("doublons", text)
    analysis.anomalies()
    duplicates = etree.fromstring(analysis.get_demande())
    assert duplicates.tag == f"{N}listeDoublons"
    assert [element.text for element in duplicates.iter(f"{N}numUnique")] == [number]
    reference_schema = etree.XMLSchema(etree.parse(str(reference_schemas_dir / "Doublon_V0200.xsd")))
    assert reference_schema.validate(duplicates), reference_schema.error_log


# ------------------------------------------------------------------------------------------------
# 2. zeep: our WSDL, served by the hub, in a mainstream Python SOAP stack
# ------------------------------------------------------------------------------------------------

@pytest.fixture
def zeep_client(hub):
    """``zeep_client(service)``: a zeep Client on the WSDL the hub serves; ``.sent`` lists its requests."""
    def make(service: str = DEMANDE, counter: str = "DEMOB") -> zeep.Client:
        own = credentials(hub, counter)
        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE, when set, silently replaces verify
        session.cert, session.verify = (own.cert, own.key), own.ca
        sent: list[requests.PreparedRequest] = []
        session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.request))
        client = zeep.Client(f"https://localhost:{hub.port}/services/{service}/?wsdl",
                             transport=Transport(session=session, timeout=30, operation_timeout=30))
        client.sent = sent
        return client
    return make


# The SNE's three services: the kit's SNE-HUB-R190 (tests/conformance/test_server_profile.py); sne-hub's own here.
@pytest.mark.parametrize("service", ["PiecesJustificativesImplService"])
def test_zeep_loads_our_wsdl_with_the_hub_address(hub, zeep_client, service):
    client = zeep_client(service)
    assert isinstance(client.service._binding, Soap12Binding)
    assert client.service._binding_options["address"] == f"https://localhost:{hub.port}/services/{service}/"
    port_type = etree.parse(str(WSDL_DIR / f"{service}.wsdl")).find(f"{{{WSDL}}}portType")
    expected = {operation.get("name") for operation in port_type.iter(f"{{{WSDL}}}operation")}
    assert set(client.service._binding._operations) == expected


def test_zeep_registers_and_reads_an_application(hub, zeep_client):
    """getNumUnique and getDemandeLogement with zeep's inline base64 (zeep sends no MTOM)."""
    client = zeep_client()
    registered = client.service.getNumUnique(
        nomFichierDemande="DEMTEST-000001.xml", fichierDemande=interface_file("DEMOB", form=person(45)),
        nomCertificat="CERTEST.pem", certificat=b"")
    assert client.sent[-1].headers["Content-Type"] == \
        f'application/soap+xml; charset=utf-8; action="{SERVICES_NS}getNumUnique"'
    answer = valid_answer(registered.fichierDemande._value_1)
    number = answer.findtext(f".//{N}numUnique")
    assert number.endswith("DEMOB") and not list(answer.iter(f"{N}anomalie"))
    assert registered.nomFichierDemande.endswith(".xml")
    assert registered.attestation._value_1.startswith(b"%PDF")

    read = zeep_client(counter="DEMOC").service.getDemandeLogement(
        numUnique=number, nomCertificat="CERTEST.pem", certificat=hub.certificate("DEMOC"))
    answer = valid_answer(read.fichierDemande._value_1)
    assert answer.findtext(f".//{N}numUnique") == number
    assert answer.findtext(f".//{N}numGuichet") == "DEMOC"


# ------------------------------------------------------------------------------------------------
# 4. WS-I Basic Profile: the rules that apply to a document/literal WSDL 1.1 description
# ------------------------------------------------------------------------------------------------
# Rule numbers and wording are Basic Profile 1.1's (www.ws-i.org/Profiles/BasicProfile-1.1.html).
# BP 1.1 writes them for WSDL's SOAP 1.1 binding (soapbind:); our WSDLs, like the SNE's, use the
# SOAP 1.2 binding (wsoap12:), for which BP 2.0 restates the same rules. R2401 (SOAP 1.1 binding
# only) is the one rule our SOAP 1.2 service cannot, and is not meant to, follow.

WSDL_FILES = sorted(WSDL_DIR.glob("*.wsdl"))
HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"
XSD_BUILTINS = {
    "string", "boolean", "decimal", "float", "double", "duration", "dateTime", "time", "date", "gYearMonth",
    "gYear", "gMonthDay", "gDay", "gMonth", "hexBinary", "base64Binary", "anyURI", "QName", "NOTATION",
    "normalizedString", "token", "language", "NMTOKEN", "NMTOKENS", "Name", "NCName", "ID", "IDREF", "IDREFS",
    "ENTITY", "ENTITIES", "integer", "nonPositiveInteger", "negativeInteger", "long", "int", "short", "byte",
    "nonNegativeInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte", "positiveInteger",
    "anyType", "anySimpleType",
}


class Description:
    """One WSDL file, with its top-level components by qualified name."""

    def __init__(self, path: Path):
        self.path = path
        self.root = etree.parse(str(path), etree.XMLParser(no_network=True, resolve_entities=False)).getroot()
        self.namespace = self.root.get("targetNamespace")
        self.schemas = self.root.findall(f"{{{WSDL}}}types/{{{XS}}}schema")

        def named(parent: etree._Element, tag: str, namespace: str) -> dict[etree.QName, etree._Element]:
            return {etree.QName(namespace, child.get("name")): child for child in parent.findall(tag)}

        self.messages = named(self.root, f"{{{WSDL}}}message", self.namespace)
        self.port_types = named(self.root, f"{{{WSDL}}}portType", self.namespace)
        self.bindings = named(self.root, f"{{{WSDL}}}binding", self.namespace)
        self.elements, self.types, self.attributes = {}, {}, {}
        for schema in self.schemas:
            target = schema.get("targetNamespace")
            self.elements |= named(schema, f"{{{XS}}}element", target)
            self.types |= named(schema, f"{{{XS}}}complexType", target) | named(schema, f"{{{XS}}}simpleType", target)
            self.attributes |= named(schema, f"{{{XS}}}attribute", target)

    @staticmethod
    def qname(element: etree._Element, attribute: str) -> etree.QName:
        """The QName in ``attribute``, its prefix resolved where it is written."""
        value = element.get(attribute)
        prefix, _, local = value.rpartition(":")
        namespace = element.nsmap.get(prefix or None)
        assert namespace is not None, f"undeclared prefix in {attribute}={value!r} (line {element.sourceline})"
        return etree.QName(namespace, local)

    def port_type_of(self, binding: etree._Element) -> etree._Element:
        return self.port_types[self.qname(binding, "type")]

    def message_of(self, operation: etree._Element, direction: str) -> etree._Element:
        return self.messages[self.qname(operation.find(f"{{{WSDL}}}{direction}"), "message")]

    def operations(self, parent: etree._Element) -> dict[str, etree._Element]:
        return {operation.get("name"): operation for operation in parent.findall(f"{{{WSDL}}}operation")}

    def soap_actions(self) -> dict[str, str]:
        return {operation.get("name"): operation.find(f"{{{WSOAP12}}}operation").get("soapAction")
                for binding in self.bindings.values() for operation in binding.findall(f"{{{WSDL}}}operation")}

    def signatures(self) -> dict[str, tuple[etree.QName, etree.QName]]:
        """Operation name -> (input element, output element)."""
        signatures = {}
        for port_type in self.port_types.values():
            for name, operation in self.operations(port_type).items():
                signatures[name] = tuple(self.qname(self.message_of(operation, direction).find(f"{{{WSDL}}}part"),
                                                    "element") for direction in ("input", "output"))
        return signatures


@pytest.fixture(params=WSDL_FILES, ids=lambda path: path.stem)
def description(request) -> Description:
    return Description(request.param)


def test_every_service_is_described():
    """The SNE's three services, sne-hub's own for dispatching (pulled from the hub, pushed to counters)
    and for supporting documents."""
    assert [path.stem for path in WSDL_FILES] == [DEMANDE, "DispatchDemandeImplService", GESTION,
                                                  "PiecesJustificativesImplService", "ReceptionDispatchImplService",
                                                  RECHERCHE]


def test_R2201_R2210_document_literal_messages_have_one_part(description):
    """R2201: at most one part listed in a body's ``parts``; R2210: without ``parts``, zero or one part."""
    for name, message in description.messages.items():
        assert len(message.findall(f"{{{WSDL}}}part")) == 1, name
    for body in description.root.iter(f"{{{WSOAP12}}}body"):
        assert len((body.get("parts") or "").split()) <= 1, body.sourceline


def test_R2204_R2206_R2306_parts_refer_to_global_elements_of_the_inline_schema(description):
    """R2204: parts defined with ``element``; R2306: never with ``type`` too; R2206: a global element."""
    for name, message in description.messages.items():
        part = message.find(f"{{{WSDL}}}part")
        assert part.get("element") and part.get("type") is None, name
        assert description.qname(part, "element") in description.elements, (name, part.get("element"))


def test_R2710_operation_signatures_are_unique(description):
    """R2710: the operations of a binding differ by their wire signature (the body's child element).
    GestionPartageeEVTImplService cannot: the ministry's WSDL gives its six operations one message,
    which the counters' software sends; their distinct soapActions tell them apart instead, and the
    hub requires the action (docs/REGISTER.md, "Shared management")."""
    for binding in description.bindings.values():
        port_type = description.port_type_of(binding)
        inputs = [description.qname(description.message_of(operation, "input").find(f"{{{WSDL}}}part"), "element")
                  for operation in description.operations(port_type).values()]
        if description.path.stem == GESTION:
            actions = list(description.soap_actions().values())
            assert len(set(inputs)) == 1 and len(set(actions)) == len(actions) == len(inputs) == 6
            continue
        assert len(set(inputs)) == len(inputs) == len(description.operations(binding))


def test_R2303_R2304_request_response_operations_with_distinct_names(description):
    """R2303: no solicit-response or notification operation; R2304: no overloaded operation name."""
    for port_type in description.port_types.values():
        names = [operation.get("name") for operation in port_type.findall(f"{{{WSDL}}}operation")]
        assert len(set(names)) == len(names)
        for operation in port_type.findall(f"{{{WSDL}}}operation"):
            shape = [etree.QName(child).localname for child in operation if isinstance(child.tag, str)]
            assert shape[:2] == ["input", "output"], (operation.get("name"), shape)


def test_R2718_R2209_bindings_cover_their_port_type(description):
    """R2718: a binding has the same operations as its portType; R2209: every part is bound (to the body)."""
    assert description.bindings
    for binding in description.bindings.values():
        port_type = description.port_type_of(binding)
        bound, declared = description.operations(binding), description.operations(port_type)
        assert set(bound) == set(declared)
        for name, operation in bound.items():
            for direction in ("input", "output"):
                assert (operation.find(f"{{{WSDL}}}{direction}") is None) == \
                    (declared[name].find(f"{{{WSDL}}}{direction}") is None), (name, direction)
                body = operation.find(f"{{{WSDL}}}{direction}/{{{WSOAP12}}}body")
                assert body is not None, (name, direction)
                part = description.message_of(declared[name], direction).find(f"{{{WSDL}}}part")
                assert body.get("parts") in (None, part.get("name")), (name, direction)


def test_R2701_R2702_R2705_R2706_R2716_document_literal_over_http(description):
    """R2701/R2702: HTTP transport; R2705: document style throughout; R2706: use="literal" everywhere;
    R2716: no ``namespace`` on a document-literal binding's body, header or fault."""
    for binding in description.bindings.values():
        soap_binding = binding.find(f"{{{WSOAP12}}}binding")
        assert soap_binding is not None and soap_binding.get("transport") == HTTP_TRANSPORT
        assert soap_binding.get("style", "document") == "document"
        for operation in binding.findall(f"{{{WSDL}}}operation"):
            assert operation.find(f"{{{WSOAP12}}}operation").get("style", "document") == "document"
        for tag in ("body", "header", "headerfault", "fault"):
            for element in binding.iter(f"{{{WSOAP12}}}{tag}"):
                assert element.get("use") == "literal", (tag, element.sourceline)
                assert element.get("namespace") is None and element.get("encodingStyle") is None


DISPATCH_SERVICES = ("DispatchDemandeImplService", "ReceptionDispatchImplService")
OWN_SERVICES = (*DISPATCH_SERVICES, "PiecesJustificativesImplService")  # sne-hub's own: no reference


@pytest.mark.parametrize("path", [path for path in WSDL_FILES if path.stem not in OWN_SERVICES],
                         ids=lambda path: path.stem)
def test_soap_actions_operations_and_messages_are_the_references(path, reference_schemas_dir):
    """Not a WS-I rule: what lets counter software switch by host name only. Every soapAction is
    present, absolute, and the reference's; so are the service, port, operations and message elements."""
    ours = description = Description(path)
    theirs = Description(reference_schemas_dir / description.path.name)
    assert ours.soap_actions() == theirs.soap_actions()
    for action in ours.soap_actions().values():
        assert urlsplit(action).scheme == "http" and action.startswith(SERVICES_NS), action
    assert ours.signatures() == theirs.signatures()
    for document in (ours, theirs):
        assert [(service.get("name"), [port.get("name") for port in service.findall(f"{{{WSDL}}}port")])
                for service in document.root.findall(f"{{{WSDL}}}service")] == \
            [(description.path.stem, [description.path.stem.replace("Service", "Port")])]


def test_R2105_schemas_and_definitions_have_absolute_target_namespaces(description):
    """R2105: every xsd:schema in wsdl:types has a valid, non-null targetNamespace (ours: absolute URIs)."""
    assert description.schemas
    for namespace in [description.namespace] + [schema.get("targetNamespace") for schema in description.schemas]:
        assert namespace and urlsplit(namespace).scheme in ("http", "https", "urn"), namespace
        assert urlsplit(namespace).netloc or namespace.startswith("urn:"), namespace


def test_R2101_R2102_every_qname_reference_resolves(description):
    """R2101/R2102: QNames only point into the document's own or imported namespaces; here, every one
    resolves to a declaration (inline schema, message, portType, binding) or an XSD built-in type."""
    def resolves(element: etree._Element, attribute: str, table: dict) -> None:
        name = description.qname(element, attribute)
        if name.namespace == XS:
            assert name.localname in XSD_BUILTINS, (attribute, element.get(attribute), element.sourceline)
        else:
            assert name in table, (attribute, element.get(attribute), element.sourceline)

    for part in description.root.iter(f"{{{WSDL}}}part"):
        resolves(part, "element", description.elements)
    for port_type in description.port_types.values():
        for operation in port_type.findall(f"{{{WSDL}}}operation"):
            for child in operation:
                if isinstance(child.tag, str):
                    resolves(child, "message", description.messages)
    for binding in description.bindings.values():
        resolves(binding, "type", description.port_types)
    for port in description.root.iter(f"{{{WSDL}}}port"):
        resolves(port, "binding", description.bindings)
    for schema in description.schemas:
        for element in schema.iter(f"{{{XS}}}element", f"{{{XS}}}attribute", f"{{{XS}}}extension",
                                   f"{{{XS}}}restriction"):
            if element.get("type"):
                resolves(element, "type", description.types)
            if element.get("base"):
                resolves(element, "base", description.types)
            if element.get("ref"):
                table = description.elements if etree.QName(element).localname == "element" else description.attributes
                resolves(element, "ref", table)


def test_R2001_R2002_R2801_self_contained_xml_schema_1_0(description):
    """R2001/R2002: imports only through wsdl:import / xsd:import, and ours fetch nothing remote (no
    http location at all: the description works offline); R2801: the inline schema is XML Schema 1.0."""
    for element in description.root.iter(f"{{{WSDL}}}import", f"{{{XS}}}import", f"{{{XS}}}include",
                                         f"{{{XS}}}redefine"):
        location = element.get("location") or element.get("schemaLocation") or ""
        assert urlsplit(location).scheme not in ("http", "https"), (etree.QName(element).localname, location)
    for schema in description.schemas:
        etree.XMLSchema(etree.ElementTree(schema))  # raises XMLSchemaParseError if not


# ------------------------------------------------------------------------------------------------
# 5. PHP's SoapClient
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def php() -> str:
    """The php executable with the soap extension (Debian's php-cli and php-soap, which the
    Makefile's test setup installs when it runs as root)."""
    found = shutil.which("php")
    if found is None or subprocess.run([found, "-r", "exit(class_exists('SoapServer') ? 0 : 1);"],
                                       capture_output=True, timeout=30, check=False).returncode != 0:
        unavailable("php with the soap extension is missing: `make test` installs Debian's php-cli and php-soap "
                    "(as root)", "PHP")
    return found


def test_php_soapclient_lists_the_territorys_event_types(hub, php, tmp_path):
    """A territorial type the hub's operator defined (white-box set-up), listed through SoapClient with
    the kit's script (the kit's R192 covers the national types)."""
    shared_management.define_territorial_type(hub.unit_of_work(), demo.EVENT_TYPES[0], "GEST1", now_in_paris())
    own = credentials(hub)
    pem = tmp_path / "counter.pem"
    pem.write_bytes(Path(own.cert).read_bytes() + Path(own.key).read_bytes())
    pem.chmod(0o600)
    options = {"wsdl": f"https://localhost:{hub.port}/services/{GESTION}/?wsdl", "pem": str(pem), "ca": own.ca,
               "operation": "listerTypesEvenementsTerritoriaux",
               "file": base64.b64encode(types_file("DEMOB", "057")).decode()}
    result = subprocess.run([php, str(KIT_STACKS / "shared_management.php"), json.dumps(options)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    output = json.loads(result.stdout)
    assert f'action="{SERVICES_NS}listerTypesEvenementsTerritoriaux"' in output["requestHeaders"]
    answer = etree.fromstring(base64.b64decode(output["fichierXmlRetour"]))
    assert [t.text for t in answer.iter(f"{N}codeTypeEvenement")] == ["COMLOC"]


def test_our_own_services_follow_the_sne_conventions_and_share_the_dispatch_type():
    """The dispatching and documents WSDLs are sne-hub's (the SNE had none), in its style: absolute
    soapActions in the services' namespace, <Name>Service/<Name>Port, and one description of a
    dispatched change."""
    pull, push = (Description(WSDL_DIR / f"{name}.wsdl") for name in DISPATCH_SERVICES)
    for document in (pull, push, Description(WSDL_DIR / "PiecesJustificativesImplService.wsdl")):
        for action in document.soap_actions().values():
            assert action.startswith(SERVICES_NS) and action.rpartition("/")[2] in document.soap_actions()
        services = [(service.get("name"), [port.get("name") for port in service.findall(f"{{{WSDL}}}port")])
                    for service in document.root.findall(f"{{{WSDL}}}service")]
        assert services == [(document.path.stem, [document.path.stem.replace("Service", "Port")])]

    def shared(document: Description) -> list[bytes]:
        schema = document.root.find(f"{{{WSDL}}}types/{{{XS}}}schema")
        return [etree.tostring(node) for node in schema if isinstance(node.tag, str)
                and node.get("name") in ("dispatch", "typeChangement", "base64Binary", "contentType")]

    assert len(shared(pull)) == 4 and shared(pull) == shared(push)

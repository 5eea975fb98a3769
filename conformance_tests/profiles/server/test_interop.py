"""Interoperability: mainstream SOAP stacks, as counters' software uses them, against the hub.

Each stack reads the WSDL the hub serves, calls the hub at the address written in it and reads its
answers and faults: zeep (Python, when importable), node-soap (JavaScript: ``--node-soap DIR``, a
``node_modules`` holding npm's ``soap``, and ``node`` on PATH), PHP's SoapClient (``php`` on PATH with
ext/soap) and libsne, the client a software vendor wrote against the real SNE (``--libsne DIR``, its
package folder). A stack that is absent skips its checks; ``--require-stacks`` makes that a failure.
The scripts the other languages run are in ``stacks/``.
"""

from __future__ import annotations

import base64
import http.client
import importlib
import json
import os
import shutil
import ssl
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import requests

from .files import application_file, types_file
from .operations import N, anomalies, number_of
from .schemas import TYPES_FILE
from .wire import DEMANDE, GESTION, RECHERCHE, SERVICES_NS, parse

STACKS = Path(__file__).resolve().parent / "stacks"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
DECREE_TYPE = "DECISCAL"  # one of the decree's national event types (R180)


def absent(config: pytest.Config, message: str) -> None:
    """Skip the stack's checks; under ``--require-stacks`` the run must prove them, so fail."""
    if config.getoption("--require-stacks"):
        pytest.fail(f"{message} (--require-stacks)", pytrace=False)
    pytest.skip(message)


def operations_of(wsdl: bytes) -> list[str]:
    """The operations of a served WSDL's portType, in its order."""
    port_type = parse(wsdl).find(f"{{{WSDL}}}portType")
    return [operation.get("name") for operation in port_type.iter(f"{{{WSDL}}}operation")]


def never_issued(number: str) -> str:
    """A number of the same territory and period as ``number``, its sequence far ahead (NUU111)."""
    return number[:7] + "999999" + number[13:]


@pytest.fixture(scope="module")
def served(client):
    """``served(service)``: the WSDL the hub serves for ``service``."""
    def wsdl(service: str) -> bytes:
        response = client.wsdl(service)
        assert response.status_code == 200, f"{service}?wsdl: HTTP {response.status_code}"
        return response.content
    return wsdl


@pytest.fixture
def registered(register) -> str:
    number, _ = register()
    return number


# -- zeep (Python) ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zeep_client(pytestconfig, target, exchanges):
    """``zeep_client(service)``: zeep on the WSDL the hub serves, its exchanges recorded for the reports."""
    try:
        zeep = importlib.import_module("zeep")
        transports = importlib.import_module("zeep.transports")
    except ImportError:
        absent(pytestconfig, "zeep is not installed (pip install zeep)")

    def record(response, *args, **kwargs):
        body = response.request.body or b""
        exchanges.record({"counter": target.counter, "method": response.request.method, "url": response.url,
                          "request_headers": dict(response.request.headers),
                          "request": body.encode() if isinstance(body, str) else body, "status": response.status_code,
                          "response_headers": dict(response.headers), "response": response.content})

    def make(service: str = DEMANDE):
        session = requests.Session()
        session.trust_env = False  # a REQUESTS_CA_BUNDLE variable would silently replace the CA
        session.verify = target.ca or True
        session.cert = (target.cert, target.key) if target.key else target.cert
        sent: list[requests.PreparedRequest] = []
        session.hooks["response"] += [record, lambda response, *args, **kwargs: sent.append(response.request)]
        client = zeep.Client(f"{target.url.rstrip('/')}/services/{service}/?wsdl",
                             transport=transports.Transport(session=session, timeout=30, operation_timeout=60))
        client.sent = sent
        return client
    return make


@pytest.mark.requirement("SNE-HUB-R190")
@pytest.mark.parametrize("service", [DEMANDE, RECHERCHE, GESTION])
def test_zeep_loads_the_served_wsdl_with_the_hubs_address(zeep_client, client, served, service):
    soap = importlib.import_module("zeep.wsdl.bindings.soap")
    loaded = zeep_client(service)
    assert isinstance(loaded.service._binding, soap.Soap12Binding), "zeep reads no SOAP 1.2 binding"
    assert loaded.service._binding_options["address"] == client.url(service)
    assert sorted(loaded.service._binding._operations) == sorted(operations_of(served(service)))


@pytest.mark.requirement("SNE-HUB-R190")
def test_zeep_registers_and_reads_an_application(zeep_client, target, ledger, household):
    """getNumUnique and getDemandeLogement with zeep's inline base64 (zeep sends no MTOM)."""
    loaded = zeep_client()
    answer = loaded.service.getNumUnique(
        nomFichierDemande="KIT.xml", fichierDemande=application_file(target.counter, household, commune=target.commune),
        nomCertificat="KIT.pem", certificat=b"")
    assert loaded.sent[-1].headers["Content-Type"] == \
        f'application/soap+xml; charset=utf-8; action="{SERVICES_NS}getNumUnique"'
    document = ledger.application("zeep getNumUnique, fichierDemande", answer.fichierDemande._value_1)
    number = number_of(document)
    assert number and not anomalies(document), f"no number, anomalies {anomalies(document)}"
    assert answer.nomFichierDemande.endswith(".xml")

    read = ledger.application("zeep getDemandeLogement, fichierDemande", loaded.service.getDemandeLogement(
        numUnique=number, nomCertificat="KIT.pem", certificat=b"").fichierDemande._value_1)
    assert number_of(read) == number


@pytest.mark.requirement("SNE-HUB-R190")
def test_zeep_calls_a_shared_management_operation_by_its_action(zeep_client, target, ledger):
    """The six operations share one message: zeep's action (the WSDL's soapAction) picks the operation."""
    loaded = zeep_client(GESTION)
    answer = loaded.service.listerTypesEvenementsNationaux(
        nomFichier="TEV.xml", fichierXml=types_file(target.counter), nomCertificat="KIT.pem")
    assert loaded.sent[-1].headers["Content-Type"] == \
        f'application/soap+xml; charset=utf-8; action="{SERVICES_NS}listerTypesEvenementsNationaux"'
    types = ledger.check("zeep listerTypesEvenementsNationaux", TYPES_FILE, answer.fichierXmlRetour._value_1)
    assert DECREE_TYPE in [code.text for code in types.iter(f"{N}codeTypeEvenement")]


@pytest.mark.requirement("SNE-HUB-R190")
def test_zeep_finds_the_stable_code_in_the_fault_subcode(zeep_client, registered):
    zeep_exceptions = importlib.import_module("zeep.exceptions")
    with pytest.raises(zeep_exceptions.Fault) as raised:
        zeep_client().service.getDemandeLogement(numUnique=never_issued(registered), nomCertificat="KIT.pem",
                                                 certificat=b"")
    assert [code.localname for code in raised.value.subcodes] == ["NUU111"]


# -- node-soap (JavaScript) ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node_soap(pytestconfig) -> Path:
    """The node_modules folder holding node-soap (``--node-soap``), with node on PATH."""
    modules = pytestconfig.getoption("--node-soap")
    if not shutil.which("node"):
        absent(pytestconfig, "node is not on PATH: the node-soap checks need it")
    if not modules or not (Path(modules) / "soap" / "package.json").is_file():
        absent(pytestconfig, "no node-soap: give --node-soap DIR, a node_modules holding npm's soap package")
    return Path(modules)


def run_script(command: list[str], options: dict, environment: dict | None = None) -> dict:
    result = subprocess.run([*command, json.dumps(options)], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **(environment or {})}, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return json.loads(result.stdout)


def node(node_soap: Path, script: str, target, wsdl: Path, **options) -> dict:
    options.update(wsdl=str(wsdl), cert=target.cert, key=target.key or target.cert, ca=target.ca)
    return run_script(["node", str(STACKS / script)], options, {"NODE_PATH": str(node_soap)})


@pytest.mark.requirement("SNE-HUB-R191")
def test_node_soap_lists_the_operations_and_reads_an_application(node_soap, target, client, served, ledger,
                                                                 registered, tmp_path):
    wsdl = tmp_path / f"{DEMANDE}.wsdl"
    wsdl.write_bytes(served(DEMANDE))
    output = node(node_soap, "read.js", target, wsdl, number=registered, unknown=never_issued(registered))
    assert output["operations"] == {f"{DEMANDE}/DemandeLogementImplPort": operations_of(wsdl.read_bytes())}
    read = output["read"]
    assert '<certificat contentType="application/x-x509-ca-cert"' in read["sent"], read["sent"]
    assert read["endpoint"] == client.url(DEMANDE)
    assert read["contentType"] == f'application/soap+xml; charset=utf-8; action="{SERVICES_NS}getDemandeLogement"'
    answer = ledger.application("node-soap getDemandeLogement", base64.b64decode(read["fichierDemande"]))
    assert number_of(answer) == registered
    refused = output["refused"]
    assert refused is not None and refused["fault"]["Code"]["Subcode"]["Value"] == "NUU111", refused


@pytest.mark.requirement("SNE-HUB-R191")
def test_node_soap_calls_shared_management(node_soap, target, served, ledger, tmp_path):
    wsdl = tmp_path / f"{GESTION}.wsdl"
    wsdl.write_bytes(served(GESTION))
    output = node(node_soap, "shared_management.js", target, wsdl,
                  file=base64.b64encode(types_file(target.counter)).decode())
    assert output["operations"] == operations_of(wsdl.read_bytes())
    assert output["contentType"] == \
        f'application/soap+xml; charset=utf-8; action="{SERVICES_NS}listerTypesEvenementsNationaux"'
    types = ledger.check("node-soap listerTypesEvenementsNationaux", TYPES_FILE,
                         base64.b64decode(output["fichierXmlRetour"]))
    assert DECREE_TYPE in [code.text for code in types.iter(f"{N}codeTypeEvenement")]


# -- PHP's SoapClient ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def php(pytestconfig) -> str:
    """php on PATH, with its soap extension (Debian: php-cli and php-soap)."""
    found = shutil.which("php")
    if found is None or subprocess.run([found, "-r", "exit(class_exists('SoapClient') ? 0 : 1);"],
                                       capture_output=True, timeout=30, check=False).returncode != 0:
        absent(pytestconfig, "php with its soap extension is not on PATH (Debian: php-cli php-soap)")
    return found


@pytest.fixture(scope="module")
def php_pem(target, tmp_path_factory) -> Path:
    """SoapClient's local_cert: the counter's certificate and key in one PEM file."""
    pem = tmp_path_factory.mktemp("php") / "counter.pem"
    pem.touch(0o600)
    pem.write_bytes(Path(target.cert).read_bytes() + (Path(target.key).read_bytes() if target.key else b""))
    return pem


def run_php(php: str, script: str, client, service: str, target, pem: Path, **options) -> dict:
    """A script of ``stacks/`` on the WSDL the hub serves for ``service``."""
    options.update(wsdl=client.url(service) + "?wsdl", pem=str(pem), ca=target.ca)
    return run_script([php, str(STACKS / script)], options)


@pytest.mark.requirement("SNE-HUB-R192")
def test_php_soapclient_loads_the_served_wsdl_and_reads_an_application(php, php_pem, target, client, served, ledger,
                                                                       registered):
    output = run_php(php, "read.php", client, DEMANDE, target, php_pem, number=registered)
    assert "demandeLogementReponse getDemandeLogement(demandeLogementParametres $parameters)" in output["functions"]
    assert len(output["functions"]) == len(operations_of(served(DEMANDE)))
    assert output["requestHeaders"].startswith(f"POST {urlsplit(client.url(DEMANDE)).path} HTTP/1.1\r\n")
    assert f'action="{SERVICES_NS}getDemandeLogement"' in output["requestHeaders"]
    assert '<certificat contentType="application/x-x509-ca-cert"' in output["request"], output["request"]
    assert "fault" not in output, output
    answer = ledger.application("PHP getDemandeLogement", base64.b64decode(output["answer"]["fichierDemande"]))
    assert number_of(answer) == registered


@pytest.mark.requirement("SNE-HUB-R192")
def test_php_soapclient_gets_the_stable_code_of_a_refusal(php, php_pem, target, client, registered):
    fault = run_php(php, "read.php", client, DEMANDE, target, php_pem, number=never_issued(registered))["fault"]
    assert "NUU111" in json.dumps(fault), fault


@pytest.mark.requirement("SNE-HUB-R192")
def test_php_soapclient_calls_shared_management(php, php_pem, target, client, served, ledger):
    output = run_php(php, "shared_management.php", client, GESTION, target, php_pem,
                     operation="listerTypesEvenementsNationaux",
                     file=base64.b64encode(types_file(target.counter)).decode())
    assert "fichierXmlReponse listerTypesEvenementsNationaux(fichierXmlParametres $parameters)" in output["functions"]
    assert len(output["functions"]) == len(operations_of(served(GESTION)))
    assert f'action="{SERVICES_NS}listerTypesEvenementsNationaux"' in output["requestHeaders"]
    types = ledger.check("PHP listerTypesEvenementsNationaux", TYPES_FILE, base64.b64decode(output["fichierXmlRetour"]))
    assert DECREE_TYPE in [code.text for code in types.iter(f"{N}codeTypeEvenement")]


# -- libsne, the vendor client ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def libsne(pytestconfig):
    """libsne's module (``libsne.libsne``), imported from ``--libsne DIR`` (its package folder)."""
    folder = pytestconfig.getoption("--libsne")
    if not folder or not (Path(folder) / "libsne.py").is_file():
        absent(pytestconfig, "no libsne: give --libsne DIR, the libsne package folder (its sdist's libsne/)")
    root = str(Path(folder).resolve().parent)
    sys.path.insert(0, root)
    try:
        yield importlib.import_module("libsne.libsne")
    except ImportError as error:
        absent(pytestconfig, f"libsne does not import: {error}")
    finally:
        sys.path.remove(root)
        for name in [name for name in sys.modules if name == "libsne" or name.startswith("libsne.")]:
            del sys.modules[name]


@pytest.fixture
def vendor(libsne, target, monkeypatch):
    """``vendor(service, **kwargs)``: libsne's ConnexionServeur.https against the hub; (what it sent, the
    answer's status and body).

    libsne opens ``httplib.HTTPSConnection(hostname, cert_file=..., key_file=...)``, an API Python 3.12
    removed: the stand-in takes the same arguments and opens the connection with an SSLContext (the
    hub's CA), recording what libsne sends; the body, the headers and the path are libsne's own.
    """
    sent: list[dict] = []

    class HTTPSConnection(http.client.HTTPSConnection):
        def __init__(self, host, cert_file=None, key_file=None):
            context = ssl.create_default_context(cafile=target.ca)
            if cert_file:
                context.load_cert_chain(cert_file, key_file)
            super().__init__(host, context=context, timeout=60)

        def request(self, method, url, body=None, headers=None, **kwargs):
            sent.append({"method": method, "path": url, "headers": dict(headers or {}), "body": body})
            super().request(method, url, body=body, headers=headers or {}, **kwargs)

    monkeypatch.setattr(libsne, "httplib", SimpleNamespace(HTTPSConnection=HTTPSConnection,
                                                           HTTPResponse=http.client.HTTPResponse))
    address = urlsplit(target.url).netloc

    def send(service: str, **kwargs) -> tuple[dict, int, str]:
        response = libsne.ConnexionServeur.https(service, target.cert, target.key or target.cert, address, **kwargs)
        return sent[-1], response.status, response.read().decode()
    return send


@pytest.mark.requirement("SNE-HUB-R193")
def test_libsne_registers_and_reads_an_application(libsne, vendor, target, ledger, household):
    """getNumUnique and getDemandeLogement as libsne builds them (MTOM, its Host header naming the
    ministry's host) and reads them (AnalyseReponse slicing the answer file out of the body)."""
    # libsne takes the file as text, which lxml refuses with an encoding declaration: without it
    file = application_file(target.counter, household, commune=target.commune).decode("utf-8")
    file = file[file.index("?>") + 2:].lstrip() if file.startswith("<?xml") else file
    request, status, body = vendor("numUnique", xml=file)
    assert status == 200, body[:2000]
    assert (request["method"], request["path"]) == ("POST", f"/services/{DEMANDE}/")
    assert request["headers"]["Host"] == libsne.HOSTNAME  # the ministry's: only DNS points at the hub
    content_type = request["headers"]["Content-Type"]
    assert content_type.startswith('multipart/related; type="application/xop+xml"; start="soaproot"')
    assert 'boundary="MIME_BOUNDARY"' in content_type and f'action="{SERVICES_NS}getNumUnique"' in content_type
    assert request["body"].startswith("--MIME_BOUNDARY\r\n")
    analysis = libsne.AnalyseReponse("numUnique", body)
    analysis.anomalies()  # no AnomaliesException
    number = number_of(ledger.application("libsne getNumUnique", analysis.get_demande().encode()))
    assert number and number.endswith(target.counter), f"libsne finds no numUnique of {target.counter}: {number}"

    request, status, body = vendor("demandeLogement", num_unique=number)
    assert status == 200, body[:2000]
    assert f'action="{SERVICES_NS}getDemandeLogement"' in request["headers"]["Content-Type"]
    analysis = libsne.AnalyseReponse("demandeLogement", body)
    analysis.anomalies()
    assert number_of(ledger.application("libsne getDemandeLogement", analysis.get_demande().encode())) == number
    libsne.GestionDemande(analysis.get_demande())  # libsne's own reading of the file accepts it


@pytest.mark.requirement("SNE-HUB-R193")
def test_libsne_user_sees_the_stable_code_of_a_refusal(libsne, vendor, registered):
    """A refusal is a SOAP fault, with no file to slice: libsne raises with the raw answer, code included."""
    _, status, body = vendor("demandeLogement", num_unique=never_issued(registered))
    assert status == 400, body[:2000]
    with pytest.raises(Exception, match="NUU111") as raised:
        libsne.AnalyseReponse("demandeLogement", body).anomalies()
    assert not isinstance(raised.value, libsne.AnomaliesException)

"""The conformance kit's ``client`` profile: the kit plays the SNE, clients call it through ``--client-run``.

The reference simulator passes every requirement; each deliberately broken simulator (one per
requirement family) fails exactly its requirement ids; real third-party clients (libsne, the vendor
client of the real SNE; zeep; PHP's SoapClient) pass the register-household scenario. The profile
runs in a pytest of its own (a subprocess: the kit is a separate product), as an integrator runs it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance_tests.profiles.client.requirements import REQUIREMENTS
from tests import reference

from .kit_report import failed, kit_environment, outcomes, passed_except

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "conformance_tests" / "profiles" / "client"
SIMULATOR = [sys.executable, "-m", "conformance_tests.simulator.client"]
REGISTER_A = "register-a"
# What each broken family must fail, and nothing else.
FAMILIES = {
    "framing": {"SNE-HUB-R200"},
    "xsd": {"SNE-HUB-R204"},
    "mtom": {"SNE-HUB-R202"},
    "certificates": {"SNE-HUB-R203"},
    "idempotency": {"SNE-HUB-R206"},
    "errors": {"SNE-HUB-R207", "SNE-HUB-R208"},
}


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory) -> Path:
    """One set of the kit's throwaway certificates for the module's runs (made by the first run)."""
    return tmp_path_factory.mktemp("client-profile-tls")


def run_profile(tls_dir: Path, tmp_path: Path, driver: list[str], scenarios: str | None = None) -> dict[str, str]:
    """Each requirement id's outcome, as the report says, when the client profile runs ``driver``."""
    reports = tmp_path / "reports"
    command = [sys.executable, "-m", "pytest", "-c", str(ROOT / "conformance_tests" / "kit.ini"),
               "--rootdir", str(ROOT / "conformance_tests"), "-p", "conformance_tests.plugin",
               str(PROFILE), "--client-dir", str(tls_dir), "--client-timeout", "60",
               "--client-run", shlex.join(driver), "--report-dir", str(reports), "-q"]
    if scenarios:
        command += ["--client-scenarios", scenarios]
    environment = {**kit_environment(reports), "PYTHONPATH": str(ROOT)}
    run = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120)
    return outcomes(reports, run)


def test_the_reference_simulator_passes_every_requirement(tls_dir, tmp_path):
    assert run_profile(tls_dir, tmp_path, SIMULATOR) == {requirement: "passed" for requirement in REQUIREMENTS}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_broken_simulator_fails_exactly_its_family(tls_dir, tmp_path, family):
    outcomes = run_profile(tls_dir, tmp_path, SIMULATOR + ["--break", family])
    assert outcomes == passed_except(REQUIREMENTS, FAMILIES[family])


# -- third-party clients, register household A ------------------------------------------------------

HOUSEHOLD_A = """
import os
from datetime import date
from conformance_tests.profiles.client.scenarios import ALPHA
from conformance_tests.profiles.server.files import Household, application_file
FILE = application_file("KIT01", Household(ALPHA, "Camille", date(1984, 5, 17)), commune="57463")
"""

ZEEP_DRIVER = HOUSEHOLD_A + """
import requests, zeep
from zeep.transports import Transport
session = requests.Session()
session.trust_env = False  # a REQUESTS_CA_BUNDLE variable would replace the kit's CA
session.cert, session.verify = (os.environ["SNE_CERT"], os.environ["SNE_KEY"]), os.environ["SNE_CA"]
client = zeep.Client(os.environ["SNE_URL"] + "/services/DemandeLogementImplService/?wsdl",
                     transport=Transport(session=session, timeout=30))
answer = client.service.getNumUnique(nomFichierDemande="DEM-000001.xml", fichierDemande=FILE,
                                     nomCertificat="KIT01.pem", certificat=b"")
assert b"<ns2:numUnique>" in answer.fichierDemande._value_1, answer
"""

LIBSNE_DRIVER = HOUSEHOLD_A + """
import http.client, ssl, sys, types
sys.path.insert(0, sys.argv[1])
from libsne import libsne

class HTTPSConnection(http.client.HTTPSConnection):
    # libsne calls httplib.HTTPSConnection(host, cert_file=, key_file=), which Python 3.12 removed
    def __init__(self, host, cert_file=None, key_file=None):
        context = ssl.create_default_context(cafile=os.environ["SNE_CA"])
        context.load_cert_chain(cert_file, key_file)
        super().__init__(host, context=context, timeout=30)

libsne.httplib = types.SimpleNamespace(HTTPSConnection=HTTPSConnection, HTTPResponse=http.client.HTTPResponse)
# libsne takes the file as text without its XML declaration, and sends it with http.client (ISO-8859-1)
text = FILE.split(b"?>", 1)[1].decode("utf-8").strip().encode("ascii", "xmlcharrefreplace").decode()
answer = libsne.echanger("numUnique", os.environ["SNE_CERT"], os.environ["SNE_KEY"],
                         os.environ["SNE_URL"].removeprefix("https://"), xml=text)
assert "numUnique" in str(answer), answer
"""

PHP_DRIVER = r"""<?php
$pem = tempnam(sys_get_temp_dir(), 'kit');
file_put_contents($pem, file_get_contents(getenv('SNE_CERT')) . file_get_contents(getenv('SNE_KEY')));
$context = stream_context_create(['ssl' => ['cafile' => getenv('SNE_CA'), 'local_cert' => $pem]]);
$client = new SoapClient(getenv('SNE_URL') . '/services/DemandeLogementImplService/?wsdl',
                         ['soap_version' => SOAP_1_2, 'local_cert' => $pem, 'stream_context' => $context,
                          'cache_wsdl' => WSDL_CACHE_NONE, 'exceptions' => true]);
$answer = $client->getNumUnique(['nomFichierDemande' => 'DEM-000001.xml',
                                 'fichierDemande' => ['_' => file_get_contents($argv[1]), 'contentType' => 'text/xml'],
                                 'nomCertificat' => 'KIT01.pem', 'certificat' => ['_' => '']]);
unlink($pem);
if (strpos($answer->fichierDemande->_, 'numUnique') === false) { exit(1); }
"""


def passes_register_household(results: dict[str, str]) -> None:
    assert not failed(results), results
    assert results["SNE-HUB-R205"] == "passed" and results["SNE-HUB-R204"] == "passed"


def test_zeep_passes_register_household(tls_dir, tmp_path):
    driver = tmp_path / "zeep_driver.py"
    driver.write_text(ZEEP_DRIVER)
    passes_register_household(run_profile(tls_dir, tmp_path, [sys.executable, str(driver)], REGISTER_A))


def test_libsne_passes_register_household(tls_dir, tmp_path):
    try:
        package = reference.libsne_package_dir()
    except reference.ReferenceUnavailable as error:
        pytest.skip(str(error))
    driver = tmp_path / "libsne_driver.py"
    driver.write_text(LIBSNE_DRIVER)
    results = run_profile(tls_dir, tmp_path, [sys.executable, str(driver), str(package.parent)], REGISTER_A)
    passes_register_household(results)
    assert results["SNE-HUB-R202"] == "passed"  # libsne sends MTOM


def test_php_soapclient_passes_register_household(tls_dir, tmp_path):
    php = shutil.which("php")
    if php is None or subprocess.run([php, "-r", "exit(class_exists('SoapClient') ? 0 : 1);"],
                                     capture_output=True, timeout=30).returncode != 0:
        pytest.skip("php with the soap extension is missing (make test-tools installs php-cli and php-soap)")
    file = tmp_path / "household-a.xml"
    subprocess.run([sys.executable, "-c", HOUSEHOLD_A + f"open({str(file)!r}, 'wb').write(FILE)"],
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=60)
    driver = tmp_path / "driver.php"
    driver.write_text(PHP_DRIVER)
    passes_register_household(run_profile(tls_dir, tmp_path, [php, str(driver), str(file)], REGISTER_A))

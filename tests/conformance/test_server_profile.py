"""The conformance kit's ``server`` profile, run as an integrator runs it, against the hub of ``make run``.

The profile runs in a pytest of its own (a subprocess: it is a separate product, with its own
options and conftest), against the demo hub started as ``make run`` starts it, and then against a
deliberately broken one (a proxy with one defect per requirement family), where exactly the
requirements those defects break must fail.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conformance_tests.profiles.server.requirements import REQUIREMENTS
from support.demo_hub import DemoHub
from tests import reference
from tests.conftest import in_ci

from .kit_report import failed, kit_environment, outcomes, report
from .tampering_proxy import (
    Tampering,
    TamperingProxy,
    mtom_without_its_type,
    subcode,
    unknown_element_in_the_answer_file,
)

ROOT = Path(__file__).resolve().parents[2]
NODE_SOAP = ROOT / ".cache" / "node-soap" / "node_modules"  # the Makefile's test-tools installs it
PROFILE = ROOT / "conformance_tests" / "profiles" / "server"
SEARCH_PAGE = 500
COUNTERS = ("DEMOB", "DEMOC", "DEMOE", "NANCY", "ETAT1")


@pytest.fixture(scope="module")
def demo_hub(tmp_path_factory):
    """The demo hub with a register larger than a search page, so that the kit's paging check meets
    RECH-SUITE."""
    with DemoHub(tmp_path_factory.mktemp("demo-hub"), applications=SEARCH_PAGE + 20) as hub:
        yield hub


def run_profile(hub: DemoHub, url: str, reports: Path, *extra: str) -> subprocess.CompletedProcess:
    """``pytest -p conformance_tests.plugin conformance_tests/profiles/server`` against ``url``, as DEMOB
    (NANCY: another territory, ETAT1: the State), with every SOAP stack of the interoperability checks
    (required under CI=true, as PostgreSQL is); the kit's reports written to ``reports``."""
    cert, key = hub.credentials("DEMOB")
    foreign_cert, foreign_key = hub.credentials("NANCY")
    state_cert, state_key = hub.credentials("ETAT1")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "conformance_tests.plugin",
               str(PROFILE), "-q", "--sne-url", url, "--sne-cert", str(cert), "--sne-key", str(key),
               "--sne-ca", str(hub.ca), "--sne-foreign-cert", str(foreign_cert), "--sne-foreign-key", str(foreign_key),
               "--sne-state-cert", str(state_cert), "--sne-state-key", str(state_key),
               "--node-soap", str(NODE_SOAP), "--report-dir", str(reports), *extra]
    try:
        command += ["--libsne", str(reference.libsne_package_dir())]
    except reference.ReferenceUnavailable:
        pass  # its checks skip, or fail under CI=true
    if in_ci():
        command.append("--require-stacks")
    return subprocess.run(command, cwd=ROOT, env=kit_environment(reports), capture_output=True, text=True, timeout=300)


def test_the_hub_passes_the_server_profile(demo_hub, tmp_path):
    run = run_profile(demo_hub, demo_hub.url, tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert outcomes(tmp_path, run) == {requirement: "passed" for requirement in REQUIREMENTS}
    checks = report(tmp_path)["checks"]
    registrations = [exchange for check in checks for exchange in check["exchanges"]
                     if exchange["url"].endswith("/DemandeLogementImplService/") and exchange["method"] == "POST"]
    assert registrations and all(exchange["counter"] for exchange in registrations)  # the calls, recorded
    assert "Conformite " not in (tmp_path / "report.json").read_text()  # households' names, masked


def test_a_broken_hub_fails_exactly_the_requirements_it_breaks(demo_hub, tmp_path):
    """One defect per family, each failing its requirement and no other: an answer file with an
    element its XSD does not have (schema: R105, not the checks that read the file for their own
    purpose), a fault whose Subcode is not the stable code (error handling: R150), MTOM answers
    without their ``type`` parameter (MTOM: R160), calls without a certificate let in
    (certificates: R170)."""
    tamperings = [Tampering("getDemandeLogement", unknown_element_in_the_answer_file),
                  Tampering("", subcode("XML-MALFORME", "ERREUR")),
                  Tampering("getNumUnique", mtom_without_its_type)]
    pki = demo_hub.ca.parent
    proxy = TamperingProxy(demo_hub.url, demo_hub.ca, (pki / "server-cert.pem", pki / "server-key.pem"),
                           [demo_hub.credentials(counter) for counter in COUNTERS], tamperings,
                           anonymous_as=demo_hub.credentials("DEMOB"))
    with proxy:
        # Without the interoperability checks: the WSDLs the hub serves behind the proxy name the hub's own
        # address, so the SOAP stacks would call the hub past the proxy (and fail the address checks).
        run = run_profile(demo_hub, proxy.url, tmp_path, "--ignore", str(PROFILE / "test_interop.py"))
    assert run.returncode == 1, run.stdout[-6000:]
    assert failed(outcomes(tmp_path, run)) == {"SNE-HUB-R105", "SNE-HUB-R150", "SNE-HUB-R160", "SNE-HUB-R170"}, \
        run.stdout[-6000:]
    assert "champInconnu" in run.stdout  # the schema error's path and reason reach the integrator

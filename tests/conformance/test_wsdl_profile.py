"""The kit's ``wsdl`` profile, run as an integrator runs it (``sne-hub-conformance wsdl``), on the
project's wsdl/ and xsd/ and on copies broken one way each in a temp dir.

The project's set passes, with the shared management reference's one-message operations as a known
deviation (R008), and gives the ministry's reference XSDs' verdicts on the kit's corpus (R030, R031,
``--reference-xsd``); each broken copy fails exactly the requirement it breaks.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conformance_tests.profiles.wsdl.requirements import REQUIREMENTS

from .kit_report import kit_environment, outcomes, report

ROOT = Path(__file__).resolve().parents[2]
DEMANDE = "wsdl/DemandeLogementImplService.wsdl"
DOUBLON = "xsd/Doublon_V0200.xsd"
COMPATIBILITY = {"SNE-HUB-R030", "SNE-HUB-R031"}  # need --reference-xsd: skipped without it


def run_kit(directory: Path, reports: Path, targets: list[str] | None = None, *extra: str) \
        -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """``sne-hub-conformance wsdl DIR/wsdl DIR/xsd --report-dir REPORTS`` (or other targets): the run and
    each requirement's outcome from report.json."""
    targets = targets or [str(directory / "wsdl"), str(directory / "xsd")]
    command = [sys.executable, "-m", "conformance_tests.cli", "wsdl", *targets, "--report-dir", str(reports), *extra]
    run = subprocess.run(command, cwd=reports.parent, capture_output=True, text=True, timeout=600,
                         env={**kit_environment(reports), "PYTHONPATH": str(ROOT)})
    return run, outcomes(reports, run)


def test_the_projects_descriptions_pass_with_the_shared_management_deviation(tmp_path, reference_schemas_dir):
    run, outcomes = run_kit(ROOT, tmp_path / "reports", None, "--reference-xsd", str(reference_schemas_dir))
    assert run.returncode == 0, run.stdout[-4000:]
    assert outcomes == {requirement: "deviation" if requirement == "SNE-HUB-R008" else "passed"
                        for requirement in REQUIREMENTS}
    requirements = report(tmp_path / "reports")["requirements"]
    deviation, = next(r["deviations"] for r in requirements if r["id"] == "SNE-HUB-R008")
    assert "GestionPartageeEVTPortType" in deviation and "SOAP action" in deviation


@pytest.fixture
def web_server():
    """The repository's files over HTTP, as a hub or a web site serves its descriptions."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(ROOT)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_descriptions_read_from_urls_pass_and_their_exchanges_are_reported(web_server, tmp_path):
    urls = [f"{web_server}/{path.relative_to(ROOT)}" for path in sorted((ROOT / "wsdl").glob("*.wsdl"))]
    run, outcomes = run_kit(ROOT, tmp_path / "reports", [*urls, str(ROOT / "xsd")])
    assert run.returncode == 0, run.stdout[-4000:]
    assert {outcomes[requirement] for requirement in COMPATIBILITY} == {"skipped"}  # no --reference-xsd
    assert {outcome for requirement, outcome in outcomes.items() if requirement not in COMPATIBILITY} == \
        {"passed", "deviation"}
    fetched = [exchange for check in report(tmp_path / "reports")["checks"] for exchange in check["exchanges"]]
    assert [(exchange["method"], exchange["url"], exchange["status"]) for exchange in fetched] == \
        [("GET", url, 200) for url in urls]
    assert all("wsdl:definitions" in exchange["response"] for exchange in fetched)


def replace(old: str, new: str, path: str = DEMANDE, count: int = 1):
    def breaking(directory: Path) -> None:
        file = directory / path
        text = file.read_text()
        assert old in text, f"{old!r} not in {path}"
        file.write_text(text.replace(old, new, count))
    return breaking


def add_file(path: str, text: str):
    return lambda directory: (directory / path).write_text(text)


BROKEN = {
    "SNE-HUB-R001": add_file("wsdl/Broken.wsdl", "<wsdl:definitions xmlns:wsdl='http://schemas.xmlsoap.org/wsdl/'>"),
    "SNE-HUB-R002": replace("<wsdl:types>", "<wsdl:import namespace='urn:elsewhere' location='Missing.wsdl'/>\n"
                                            "  <wsdl:types>"),
    "SNE-HUB-R003": replace('transport="http://schemas.xmlsoap.org/soap/http"', 'transport="urn:smtp"'),
    "SNE-HUB-R004": replace('<soap:body use="literal"/>', '<soap:body use="encoded"/>'),
    "SNE-HUB-R005": replace('<soap:body use="literal"/>',
                            '<soap:body use="literal" encodingStyle="http://www.w3.org/2003/05/soap-encoding"/>'),
    "SNE-HUB-R006": replace('<wsdl:part name="parameters" element="tns:numUniqueParametres"/>',
                            '<wsdl:part name="parameters" element="tns:numUniqueParametres"/>'
                            '<wsdl:part name="again" element="tns:numUniqueParametres"/>'),
    "SNE-HUB-R007": replace('<soap:operation soapAction="http://ws.metier.nuu.application.i2/getDoublons"/>',
                            "<soap:operation/>"),
    "SNE-HUB-R008": replace('<wsdl:input message="tns:demandeLogementRequest"/>',
                            '<wsdl:input message="tns:numUniqueRequest"/>'),
    "SNE-HUB-R009": replace('type="tns:DemandeLogementPortType"', 'type="tns:NoSuchPortType"'),
    "SNE-HUB-R010": replace("<wsdl:types>", "<wsdl:types>\n"
                                            "    <xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'/>"),
    "SNE-HUB-R020": replace('<xs:include schemaLocation="domains.xsd"/>',
                            '<xs:include schemaLocation="domains.xsd"/><xs:element name="broken" type="xs:noSuchType"/>',
                            path=DOUBLON),
    "SNE-HUB-R021": replace('element="tns:numUniqueReponse"', 'element="tns:noSuchReponse"'),
}


def test_every_requirement_has_a_broken_copy():
    assert set(BROKEN) | COMPATIBILITY == set(REQUIREMENTS)


@pytest.mark.parametrize("requirement", sorted(BROKEN))
def test_a_broken_copy_fails_exactly_its_requirement(requirement, tmp_path):
    copy = tmp_path / "copy"
    for directory in ("wsdl", "xsd"):
        shutil.copytree(ROOT / directory, copy / directory)
    BROKEN[requirement](copy)
    run, outcomes = run_kit(copy, tmp_path / "reports")
    assert run.returncode == 1, run.stdout[-4000:]
    assert {failed for failed, outcome in outcomes.items() if outcome == "failed"} == {requirement}, run.stdout[-4000:]


def test_a_copy_that_departs_from_the_reference_fails_the_compatibility_requirements(tmp_path, reference_schemas_dir):
    """A 38-character text type widened (the corpus's too-long probes become valid: R030) and the event
    types' file missing (R031): exactly those two fail."""
    copy = tmp_path / "copy"
    for directory in ("wsdl", "xsd"):
        shutil.copytree(ROOT / directory, copy / directory)
    replace('<xs:maxLength value="38"/>', '<xs:maxLength value="3800"/>', path="xsd/domains.xsd")(copy)
    (copy / "xsd" / "InterfaceNuuGPTypeEvenement_v0200.xsd").unlink()
    run, outcomes = run_kit(copy, tmp_path / "reports", None, "--reference-xsd", str(reference_schemas_dir))
    assert run.returncode == 1, run.stdout[-4000:]
    assert {failed for failed, outcome in outcomes.items() if outcome == "failed"} == COMPATIBILITY, run.stdout[-4000:]

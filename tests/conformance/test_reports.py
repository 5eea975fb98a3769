"""The kit's reports, as an integrator and a territorial manager use them.

- Captured exchanges are masked: an SNE file's names, birth date, address and a NIR-like number never
  reach report.json or report.html.
- The signed summary verifies with ``openssl cms -verify`` against the signer's certificate the report
  directory holds, and a changed summary does not; the kit's own certificate is made once and reused.
- report.html renders in headless Chromium: the screenshot shows the summary block, green for a run
  that passed, red for one that failed (its pixels are read with a small PNG decoder).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from certificates.demo import write_demo_pki
from conformance_tests.reports import COLOURS
from tests.conftest import in_ci

ROOT = Path(__file__).resolve().parents[2]
PERSONAL = ("DUPONT", "Jeanne", "1980-01-02", "12 rue des Lilas", "180017512345612")
APPLICATION = ("<interfaceNuu xmlns='http://nuu.application.i2/'><demandeLogement><demandeur><personnePhysique>"
               "<nom>DUPONT</nom><prenom>Jeanne</prenom><dateNaissance>1980-01-02</dateNaissance></personnePhysique>"
               "<adresse><voie>12 rue des Lilas</voie><codePostal>57000</codePostal></adresse>"
               "<refInterne>180017512345612</refInterne></demandeur></demandeLogement></interfaceNuu>")
ENVELOPE = ("<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body>"
            "<m:getNumUnique xmlns:m='http://ws.metier.nuu.application.i2/'><fichierXmlParametres>"
            f"<fichierXml>{base64.b64encode(APPLICATION.encode()).decode()}</fichierXml>"
            "</fichierXmlParametres></m:getNumUnique></s:Body></s:Envelope>")
CHECKS = f'''
import pytest

@pytest.mark.requirement("SNE-HUB-R001")
def test_an_exchange(exchanges):
    exchanges.record({{"method": "POST", "url": "https://hub.test/services/DemandeLogementImplService/",
                      "request": {ENVELOPE.encode()!r}, "status": 200, "response": b"<ok/>",
                      "request_headers": {{"Content-Type": "application/soap+xml"}}, "response_headers": {{}}}})
    exchanges.record({{"what": "the same again", "method": "POST", "url": "https://hub.test/services/",
                      "request": b"<again/>", "error": "ConnectionResetError: reset by peer"}})

@pytest.mark.requirement("SNE-HUB-R002")
def test_a_failure():
    assert False, "the target said no"
'''


def kit(arguments: list[str], home: Path, cwd: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "SNE_HUB_CONFORMANCE_HOME": str(home)}
    return subprocess.run(arguments, cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory) -> Path:
    """A run of two checks of the kit's plugin: one records an exchange carrying an SNE file, one fails."""
    directory = tmp_path_factory.mktemp("failed-run")
    (directory / "test_checks.py").write_text(CHECKS)
    run = kit([sys.executable, "-m", "pytest", "-p", "conformance_tests.plugin", "-p", "no:cacheprovider",
               "test_checks.py", "--report-dir", "reports"], directory / "home", directory)
    assert run.returncode == 1, run.stdout
    return directory / "reports"


@pytest.fixture(scope="module")
def passed_run(tmp_path_factory) -> Path:
    """``sne-hub-conformance wsdl`` on the project's descriptions: it passes."""
    directory = tmp_path_factory.mktemp("passed-run")
    run = kit([sys.executable, "-m", "conformance_tests.cli", "wsdl", str(ROOT / "wsdl"), str(ROOT / "xsd"),
               "--report-dir", "reports"], directory / "home", directory)
    assert run.returncode == 0, run.stdout
    return directory / "reports"


def test_exchanges_are_captured_with_personal_data_masked(failed_run):
    report = json.loads((failed_run / "report.json").read_text())
    exchange, _ = next(check for check in report["checks"] if check["nodeid"].endswith("test_an_exchange"))["exchanges"]
    assert "***" in exchange["request"] and "refInterne" in exchange["request"]  # the file shown, structure kept
    for text in ((failed_run / "report.json").read_text(), (failed_run / "report.html").read_text()):
        assert [value for value in PERSONAL if value in text] == []


def test_an_exchange_without_an_answer_says_what_it_was_for_and_what_went_wrong(failed_run):
    shown = "the same again: POST https://hub.test/services/ (8 bytes) [ConnectionResetError: reset by peer]"
    assert f"{shown} -&gt; no answer" in (failed_run / "report.html").read_text()


def test_the_report_says_which_requirement_failed_and_why(failed_run):
    report = json.loads((failed_run / "report.json").read_text())
    outcomes = {result["id"]: result for result in report["requirements"]}
    assert report["verdict"] == "failed"
    assert outcomes["SNE-HUB-R001"]["outcome"] == "passed"
    assert outcomes["SNE-HUB-R002"]["outcome"] == "failed"
    assert "the target said no" in outcomes["SNE-HUB-R002"]["why"][0]
    assert outcomes["SNE-HUB-R003"]["outcome"] == "not run"


def verify(directory: Path, summary: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", "cms", "-verify", "-in", str(summary), "-CAfile", str(directory / "signer.pem")],
                          capture_output=True, timeout=60)


@pytest.mark.skipif(shutil.which("openssl") is None and not in_ci(), reason="openssl is not installed")
def test_the_signed_summary_verifies_with_openssl(failed_run, passed_run, tmp_path):
    verified = verify(failed_run, failed_run / "summary.eml")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.replace(b"\r\n", b"\n") == (failed_run / "summary.txt").read_bytes()
    tampered = tmp_path / "tampered.eml"
    tampered.write_bytes((failed_run / "summary.eml").read_bytes().replace(b"SNE-HUB-R002 failed", b"SNE-HUB-R002 passed"))
    assert verify(failed_run, tampered).returncode != 0
    assert verify(passed_run, passed_run / "summary.eml").returncode == 0


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if in_ci():
            pytest.fail("chromium is not installed (CI=true requires the report's rendering test; make test-tools)",
                        pytrace=False)
        pytest.skip("chromium is not installed (make test-tools installs it as root)")
    return found


def screenshot(report: Path, png: Path) -> None:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--force-color-profile=srgb", "--window-size=1000,700", f"--screenshot={png}", report.as_uri()]
    subprocess.run(command, capture_output=True, timeout=120, env={**os.environ, "HOME": str(png.parent)})
    assert png.exists(), "chromium made no screenshot"


def pixels(png: Path) -> list[tuple[int, int, int]]:
    """The RGB pixels of an 8-bit RGB or RGBA PNG, non-interlaced (what Chromium writes)."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunks.setdefault(kind, []).append(data[position + 8:position + 8 + length])
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][0])
    assert (depth, colour, interlace) in ((8, 2, 0), (8, 6, 0)), "not an 8-bit RGB(A) PNG"
    channels = 3 if colour == 2 else 4
    raw, stride, rows, previous = zlib.decompress(b"".join(chunks[b"IDAT"])), width * channels, [], bytes(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            predictor = {0: 0, 1: left, 2: up, 3: (left + up) // 2, 4: paeth(left, up, corner)}[kind]
            line[x] = (line[x] + predictor) & 0xFF
        rows.append(bytes(line))
        previous = line
    return [tuple(row[x:x + 3]) for row in rows for x in range(0, stride, channels)]


def paeth(left: int, up: int, corner: int) -> int:
    estimate = left + up - corner
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - corner))
    return (left, up, corner)[distances.index(min(distances))]


def share_of(colour: str, image: list[tuple[int, int, int]]) -> float:
    wanted = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(all(abs(a - b) <= 8 for a, b in zip(pixel, wanted)) for pixel in image) / len(image)


@pytest.mark.parametrize("run, verdict", [("passed_run", "passed"), ("failed_run", "failed")])
def test_the_html_report_renders_its_summary_in_chromium(run, verdict, request, tmp_path):
    reports = request.getfixturevalue(run)
    png = tmp_path / "report.png"
    screenshot(reports / "report.html", png)
    image = pixels(png)
    other = "failed" if verdict == "passed" else "passed"
    assert share_of(COLOURS[verdict], image) > 0.10  # the summary block, across the top of the page
    assert share_of(COLOURS[other], image) < 0.01


@pytest.mark.skipif(shutil.which("openssl") is None and not in_ci(), reason="openssl is not installed")
def test_an_organisations_certificate_signs_the_summary_and_its_authority_verifies_it(tmp_path):
    """``--signing-cert``/``--signing-key``: a counter's S/MIME certificate from the deployment's authority
    signs, and ``openssl cms -verify -CAfile`` that authority's certificate accepts the summary."""
    pki = write_demo_pki(tmp_path / "pki", [("DEMOB", "Bailleur de démonstration", "guichet@demob.test")],
                         "hub@sne-hub.test")
    counter = pki["counters"]["DEMOB"]
    run = kit([sys.executable, "-m", "conformance_tests.cli", "wsdl", str(ROOT / "wsdl"), str(ROOT / "xsd"),
               "--report-dir", "reports", "--signing-cert", counter["cert"], "--signing-key", counter["key"]],
              tmp_path / "home", tmp_path)
    assert run.returncode == 0, run.stdout
    reports = tmp_path / "reports"
    assert (reports / "signer.pem").read_bytes() == Path(counter["cert"]).read_bytes()
    verified = subprocess.run(["openssl", "cms", "-verify", "-in", str(reports / "summary.eml"),
                               "-CAfile", pki["ca"]["cert"]], capture_output=True, timeout=60)
    assert verified.returncode == 0, verified.stderr
    assert not (tmp_path / "home").exists()  # the kit's own certificate was not needed

"""docs/INTERFACES.md says true things: its curl example works, its fault table is complete."""

import re
import subprocess
from pathlib import Path

import pytest

from core.domain.calendar import now_in_paris
from core.service_layer import services, shared_management
from core.wire import mtom, processing, xml
from hub import gate, transport
from support.files import person, today

ROOT = Path(__file__).resolve().parents[3]
INTERFACES = (ROOT / "docs" / "INTERFACES.md").read_text()


def example(name: str) -> str:
    block = re.search(rf"<!-- example:{name} -->\n```sh\n(.*?)```", INTERFACES, re.S)
    return block.group(1)


def test_the_curl_example_registers_an_application(hub, tmp_path):
    directory = Path(hub.pki["directory"])
    for name in ("ca.pem",):
        (tmp_path / name).write_bytes((directory / name).read_bytes())
    script = example("getNumUnique").replace("docs/examples", str(ROOT / "docs" / "examples"))
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "HUB": f"https://localhost:{hub.port}",
                                 "DEMO": str(directory)}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"<ns2:numUnique>057\d{4}\d{6}DEMOB</ns2:numUnique>\n", result.stdout)


def test_the_curl_example_records_an_event(hub, tmp_path):
    number = services.register(hub.unit_of_work(), person(7), today(), "DEMOC", now_in_paris()).number
    directory = Path(hub.pki["directory"])
    script = example("ajouterEvenementDemande").replace("docs/examples", str(ROOT / "docs" / "examples"))
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "HUB": f"https://localhost:{hub.port}",
                                 "DEMO": str(directory), "NUM": str(number)}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"<ns2:idEvenement>\d+</ns2:idEvenement>\n", result.stdout)
    [(event, _)] = shared_management.list_events(hub.unit_of_work(readonly=True), number, "DEMOB")
    assert (event.type_code, event.created_by, event.values) == ("DEMPIECE", "DEMOB",
                                                                 (("PIECES", "Avis d'imposition 2025"),))
    assert event.comment == "Courrier envoyé au demandeur"


CODES = [gate.TOO_LARGE, gate.REQUEST, gate.MEDIA_TYPE, gate.METHOD, gate.CERTIFICATE, gate.SOAP_VERSION, gate.ENVELOPE,
         gate.OPERATION, gate.MESSAGE, gate.INTERNAL, mtom.INVALID, mtom.MISSING_PART, mtom.BAD_ENCODING,
         xml.NOT_WELL_FORMED, xml.DTD_FORBIDDEN, xml.TOO_LARGE, xml.TOO_DEEP, processing.FILE_INVALID,
         processing.FILE_UNKNOWN, processing.FILE_VERSION, transport.TIMEOUT, transport.ENCODING]


@pytest.mark.parametrize("code", CODES)
def test_every_fault_code_is_documented(code):
    assert f"| `{code}` |" in INTERFACES


def test_the_curl_example_deposits_a_document(hub, tmp_path):
    number = services.register(hub.unit_of_work(), person(3), today(), "DEMOB", now_in_paris()).number
    directory = Path(hub.pki["directory"])
    script = example("deposerPiece").replace("docs/examples", str(ROOT / "docs" / "examples"))
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "HUB": f"https://localhost:{hub.port}",
                                 "DEMO": str(directory), "NUMBER": str(number)}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"<idPiece>[0-9a-f]{32}</idPiece>\n<typeMime>application/pdf</typeMime>\n", result.stdout)

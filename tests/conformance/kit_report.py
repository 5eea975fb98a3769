"""What a run of the kit said, read from the report.json it wrote (``--report-dir``), as integrators
read it: the project's tests hold the kit to the report it gives, not to a picture of their own."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path


def kit_environment(reports: Path) -> dict[str, str]:
    """The environment of a kit run writing to ``reports``: the kit makes the certificate that signs
    its summary in its home, here among the reports rather than in the user's."""
    return {**os.environ, "SNE_HUB_CONFORMANCE_HOME": str(reports / "kit-home")}


def report(reports: Path, run: subprocess.CompletedProcess | None = None) -> dict:
    path = reports / "report.json"
    assert path.exists(), "no report.json" + (f": {run.stdout[-4000:]}{run.stderr[-2000:]}" if run else "")
    return json.loads(path.read_text())


def outcomes(reports: Path, run: subprocess.CompletedProcess | None = None) -> dict[str, str]:
    """Each requirement's outcome ("passed", "failed", "skipped", "deviation", "not run")."""
    return {requirement["id"]: requirement["outcome"] for requirement in report(reports, run)["requirements"]}


def failed(outcomes: dict[str, str]) -> set[str]:
    return {requirement for requirement, outcome in outcomes.items() if outcome == "failed"}


def passed_except(requirements, failing: set[str]) -> dict[str, str]:
    """The outcomes of a run where exactly ``failing`` fail and every other requirement passes (none
    skipped, none left without a check)."""
    return {requirement: "failed" if requirement in failing else "passed" for requirement in requirements}

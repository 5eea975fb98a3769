"""The conformance kit's ``mail`` profile, run as an integrator runs it, against the hub's mail channel.

The hub is the one ``make run`` starts (``support.demo_hub``), serving only its mail channel
(``sne-hub serve --only mail``), its outbound relay pointed at the kit's own mailbox; the kit plays
the demo counter DEMOB. In production the hub requires encryption (docs/MAIL.md): so configured, it
passes every requirement; configured without (the demo's default), exactly SNE-HUB-R408 fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conformance_tests.profiles.mail.requirements import REQUIREMENTS
from support.demo_hub import DemoHub
from support.topology import free_ports

from .kit_report import kit_environment, outcomes, passed_except

ROOT = Path(__file__).resolve().parents[2]


def run_profile(directory: Path, require_encryption: bool) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """The demo hub's mail channel, and ``sne-hub-conformance mail`` against it as DEMOB: the run, and
    each requirement's outcome as its report says."""
    mailbox = free_ports(1)[0]
    settings = {"SNE_HUB_SMTP_RELAY": f"127.0.0.1:{mailbox}",
                "SNE_HUB_MAIL_REQUIRE_ENCRYPTION": "on" if require_encryption else "off"}
    reports = directory / "reports"
    with DemoHub(directory / "hub", channel="mail", settings=settings) as hub:
        cert, key = hub.credentials("DEMOB")
        command = [sys.executable, "-m", "conformance_tests.cli", "mail", "--smtp", f"127.0.0.1:{hub.port}",
                   "--cert", str(cert), "--key", str(key), "--hub-cert", str(hub.ca.parent / "hub-cert.pem"),
                   "--mailbox", f"127.0.0.1:{mailbox}", "--report-dir", str(reports), "--", "-q",
                   # a refused mail is followed by a null flow whose answer proves the hub got that far;
                   # half a second more of silence, not the integrators' default 3 s, four times a run
                   "--mail-quiet", "0.5"]
        run = subprocess.run(command, cwd=ROOT, env=kit_environment(reports), capture_output=True, text=True,
                             timeout=600)
    return run, outcomes(reports, run)


def test_the_hub_passes_the_mail_profile(tmp_path):
    run, results = run_profile(tmp_path, True)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert results == {requirement: "passed" for requirement in REQUIREMENTS}


def test_a_hub_that_does_not_require_encryption_fails_exactly_r408(tmp_path):
    run, results = run_profile(tmp_path, False)
    assert run.returncode != 0
    assert results == passed_except(REQUIREMENTS, {"SNE-HUB-R408"}), run.stdout[-6000:]

"""The conformance kit's ``mail`` profile, run as an integrator runs it, against the hub's mail channel.

The hub is the one ``make run`` starts (``support.demo_hub``), serving only its mail channel
(``sne-hub serve --only mail``), its outbound relay pointed at the kit's own mailbox; the kit plays
the demo counter DEMOB. In production the hub requires encryption (docs/MAIL.md): so configured, it
passes every requirement; configured without (the demo's default), exactly SNE-HUB-R408 fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conformance_tests.profiles.mail.requirements import REQUIREMENTS
from support.demo_hub import DemoHub
from support.topology import free_ports

ROOT = Path(__file__).resolve().parents[2]


def run_profile(directory: Path, require_encryption: bool, outcomes: Path) -> subprocess.CompletedProcess:
    """The demo hub's mail channel, and ``sne-hub-conformance mail`` against it as DEMOB."""
    mailbox = free_ports(1)[0]
    settings = {"SNE_HUB_SMTP_RELAY": f"127.0.0.1:{mailbox}",
                "SNE_HUB_MAIL_REQUIRE_ENCRYPTION": "on" if require_encryption else "off"}
    with DemoHub(directory, channel="mail", settings=settings) as hub:
        cert, key = hub.credentials("DEMOB")
        command = [sys.executable, "-m", "conformance_tests.cli", "mail", "--smtp", f"127.0.0.1:{hub.port}",
                   "--cert", str(cert), "--key", str(key), "--hub-cert", str(hub.ca.parent / "hub-cert.pem"),
                   "--mailbox", f"127.0.0.1:{mailbox}", "--",
                   "-q", "-p", "tests.conformance.requirement_outcomes", "--requirement-outcomes", str(outcomes)]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_the_hub_passes_the_mail_profile(tmp_path):
    outcomes = tmp_path / "outcomes.json"
    run = run_profile(tmp_path / "hub", True, outcomes)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert json.loads(outcomes.read_text()) == {requirement: "passed" for requirement in REQUIREMENTS}


def test_a_hub_that_does_not_require_encryption_fails_exactly_r408(tmp_path):
    outcomes = tmp_path / "outcomes.json"
    run = run_profile(tmp_path / "hub", False, outcomes)
    assert run.returncode != 0
    results = json.loads(outcomes.read_text())
    assert {requirement for requirement, outcome in results.items() if outcome == "failed"} == {"SNE-HUB-R408"}, \
        run.stdout[-6000:]

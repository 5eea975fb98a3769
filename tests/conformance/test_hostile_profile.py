"""The conformance kit's ``hostile`` profile against the hub of ``make run``: every requirement passes,
and the hostile requests write nothing.

The profile runs as an integrator runs it (``sne-hub-conformance hostile URL --cert --key --ca``, a
subprocess) against the demo hub, as DEMOB (ETAT1: the State). It registers one application first
and reads it back after each family; every other request it sends is hostile. So the register's
rows after the run differ from those before by exactly what one registration writes, measured here
with the same call just before. The cases that need the hub's insides (row counts case by case, the
test PKI's other counters, PostgreSQL) are tests/integration/hub/test_hostile.py's.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance_tests.profiles.hostile.requirements import REQUIREMENTS
from conformance_tests.profiles.server.files import Household, application_file, run_token
from conformance_tests.profiles.server.operations import answered, get_num_unique
from conformance_tests.profiles.server.wire import Client
from core.adapters.database import make_engine
from core.adapters.repository import count_rows
from support.demo_hub import DemoHub

from .kit_report import kit_environment, outcomes

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("applications", "application_people", "application_communes", "journal", "outbox")
HOSTILE_REQUESTS = 300  # the families' cases (311 when this was written): fewer means cases were lost


@pytest.fixture(scope="module")
def demo_hub(tmp_path_factory):
    with DemoHub(tmp_path_factory.mktemp("demo-hub")) as hub:
        yield hub


def rows(hub: DemoHub) -> dict[str, int]:
    engine = make_engine(hub.database_url)
    try:
        with engine.connect() as connection:
            return {table: count_rows(connection, table) for table in TABLES}
    finally:
        engine.dispose()


def register_once(hub: DemoHub) -> None:
    cert, key = hub.credentials("DEMOB")
    client = Client(hub.url, str(hub.ca), str(cert), str(key))
    answered(get_num_unique(client, application_file("DEMOB", Household.invent(run_token(), 0), commune="57463")),
             "getNumUnique CRE")


def run_profile(hub: DemoHub, reports: Path) -> subprocess.CompletedProcess:
    cert, key = hub.credentials("DEMOB")
    state_cert, state_key = hub.credentials("ETAT1")
    command = [sys.executable, "-m", "conformance_tests.cli", "hostile", hub.url, "--cert", str(cert),
               "--key", str(key), "--ca", str(hub.ca), "--state-cert", str(state_cert), "--state-key", str(state_key),
               "--report-dir", str(reports)]
    return subprocess.run(command, cwd=ROOT, env=kit_environment(reports), capture_output=True, text=True, timeout=600)


def test_the_hub_passes_the_hostile_profile_and_writes_nothing(demo_hub, tmp_path):
    start = rows(demo_hub)
    register_once(demo_hub)
    registered = rows(demo_hub)
    one_registration = {table: registered[table] - start[table] for table in TABLES}
    assert one_registration["applications"] == 1

    run = run_profile(demo_hub, tmp_path)

    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert outcomes(tmp_path, run) == {requirement: "passed" for requirement in REQUIREMENTS}
    after = rows(demo_hub)
    assert {table: after[table] - registered[table] for table in TABLES} == one_registration
    sent = re.search(r"hostile: (\d+) hostile requests sent", run.stdout)
    assert sent and int(sent.group(1)) >= HOSTILE_REQUESTS, run.stdout[-2000:]

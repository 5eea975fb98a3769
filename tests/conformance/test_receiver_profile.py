"""The conformance kit's ``receiver`` profile, run as an integrator runs it (a pytest of its own, in a
subprocess), against the reference simulator, each of its deliberately broken variants, and the
project's own reference receiver (dispatching.receiver, started as the dispatching tests start it).
And the other way round: the hub's own dispatcher delivers to the simulator, so that what the kit
sends and what the simulator accepts are the hub's wire, not only the kit's picture of it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from conformance_tests.profiles.receiver.pki import KitPki
from conformance_tests.profiles.receiver.requirements import REQUIREMENTS
from conformance_tests.simulator import receiver as simulator
from support.receivers import ENDPOINT_PATH, start_receiver

from ..integration.conftest import pki  # noqa: F401 (fixtures of the dispatching tests)
from ..integration.dispatching.conftest import dispatcher, register, settings  # noqa: F401
from ..integration.dispatching.streams import deliver_all, register_household, subscribe
from .kit_report import kit_environment, outcomes, passed_except, report

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "conformance_tests" / "profiles" / "receiver"
TIMEOUT = 3  # seconds a receiver has to answer here (the hub's 30 would make the slow variant's run last)

# Each broken variant of the simulator, and exactly the requirements its defect breaks.
BROKEN = {
    "framing": {"SNE-HUB-R305"},  # reads a request of any size
    "mtom": {"SNE-HUB-R310"},  # cannot read MTOM
    "xsd": {"SNE-HUB-R320"},  # applies files without checking them
    "certificates": {"SNE-HUB-R330", "SNE-HUB-R331", "SNE-HUB-R332"},  # any client may push
    "idempotency": {"SNE-HUB-R340", "SNE-HUB-R341"},  # keeps no delivery ids
    "errors": {"SNE-HUB-R360", "SNE-HUB-R361"},  # a bad message is a bare HTTP 500
    "slow": {"SNE-HUB-R301"},  # a full delivery outlasts the timeout
}


@pytest.fixture(scope="module")
def kit_pki(tmp_path_factory) -> KitPki:
    """The kit's certificates; its server certificate (localhost) serves the receivers under test."""
    return KitPki(tmp_path_factory.mktemp("kit-pki")).ensure()


def profile_command(url: str, kit_pki: KitPki, reports: Path) -> list[str]:
    """``pytest -p conformance_tests.plugin conformance_tests/profiles/receiver`` against ``url``, the
    kit's reports written to ``reports``."""
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "conformance_tests.plugin",
            str(PROFILE), "-q", "--receiver-url", url, "--receiver-ca", str(kit_pki.ca),
            "--kit-pki", str(kit_pki.directory), "--receiver-timeout", str(TIMEOUT), "--report-dir", str(reports)]


def run_profile(url: str, kit_pki: KitPki, reports: Path) -> subprocess.CompletedProcess:
    return subprocess.run(profile_command(url, kit_pki, reports), cwd=ROOT, env=kit_environment(reports),
                          capture_output=True, text=True, timeout=120)


def test_the_simulator_passes_the_receiver_profile(kit_pki, tmp_path):
    """Both started as an integrator starts them: ``sne-hub-conformance simulate receiver`` (port 0
    here: any free one) and ``sne-hub-conformance receiver URL`` with its reports."""
    kit, reports = [sys.executable, "-m", "conformance_tests.cli"], tmp_path / "report"
    process = subprocess.Popen([*kit, "simulate", "receiver", "--port", "0", "--kit-pki", str(kit_pki.directory),
                                "--database", str(tmp_path / "applied.db")],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = process.stdout.readline().split()[-1].replace("127.0.0.1", "localhost")
        run = subprocess.run([*kit, "receiver", url, "--kit-pki", str(kit_pki.directory), "--ca", str(kit_pki.ca),
                              "--timeout", str(TIMEOUT), "--ca-out", str(tmp_path / "trust-this.pem"),
                              "--report-dir", str(reports)],
                             cwd=ROOT, env=kit_environment(reports), capture_output=True, text=True, timeout=120)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert outcomes(reports, run) == {requirement: "passed" for requirement in REQUIREMENTS}
    assert (tmp_path / "trust-this.pem").read_bytes() == kit_pki.ca.read_bytes()
    pushed = {check["nodeid"].split("::")[-1]: check["exchanges"] for check in report(reports)["checks"]}
    [delivery] = pushed["test_a_valid_delivery_is_acknowledged"]
    assert (delivery["url"], delivery["status"]) == (url, 200) and "recevoirDispatch" in delivery["request"]
    oversize, following = pushed["test_an_oversize_delivery_is_refused_cleanly"]
    assert oversize["request"] == f"[{oversize['request_bytes']} bytes, not shown]"  # the report stays readable
    assert following["what"] == "the next delivery"


@pytest.fixture(scope="module")
def broken_runs(kit_pki, tmp_path_factory) -> Iterator[tuple[dict[str, subprocess.CompletedProcess], Path]]:
    """The profile against every broken variant at once (their runs mostly wait: in parallel the
    module stays well under a minute), each run's output in its own file, its reports in its own directory."""
    directory = tmp_path_factory.mktemp("broken")
    servers, processes = [], {}
    try:
        for family in BROKEN:
            server = simulator.start(simulator.build(family), "127.0.0.1", 0, *kit_pki.pair("server"), str(kit_pki.ca))
            servers.append(server)
            url = f"https://localhost:{server.server_address[1]}{ENDPOINT_PATH}"
            reports = directory / family
            with (directory / f"{family}.out").open("w") as output:
                processes[family] = subprocess.Popen(profile_command(url, kit_pki, reports), cwd=ROOT,
                                                     env=kit_environment(reports), stdout=output,
                                                     stderr=subprocess.STDOUT, text=True)
        runs = {family: process.wait(timeout=180) for family, process in processes.items()}
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    yield {family: subprocess.CompletedProcess([], code, (directory / f"{family}.out").read_text(), "")
           for family, code in runs.items()}, directory


@pytest.mark.parametrize("family", sorted(BROKEN))
def test_a_broken_simulator_fails_exactly_its_requirements(family, broken_runs):
    runs, directory = broken_runs
    run = runs[family]
    assert run.returncode == 1, run.stdout[-6000:]
    assert outcomes(directory / family, run) == passed_except(REQUIREMENTS, BROKEN[family]), run.stdout[-6000:]


def test_the_projects_reference_receiver_passes(kit_pki, tmp_path):
    """dispatching.receiver behind TLS as the dispatching tests run it, trusting the kit's authority;
    its recording store shows from inside what the kit can only infer: nothing applied twice."""
    receiver = start_receiver({"directory": kit_pki.directory})
    try:
        run = run_profile(f"https://localhost:{receiver.port}{ENDPOINT_PATH}", kit_pki, tmp_path)
    finally:
        receiver.stop()
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert outcomes(tmp_path, run) == {requirement: "passed" for requirement in REQUIREMENTS}
    assert receiver.store.redelivered >= 2  # R340 and R341 sent deliveries again...
    assert receiver.store.applied_twice == [] and receiver.store.reapplied == []  # ...applied once


@pytest.mark.parametrize("mtom", [True, False], ids=["mtom", "inline"])
def test_the_hubs_dispatcher_delivers_to_the_simulator(register, dispatcher, pki, mtom, tmp_path):  # noqa: F811
    directory = Path(pki["directory"])
    system = simulator.build(database=str(tmp_path / "applied.db"))
    server = simulator.start(system, "127.0.0.1", 0, str(directory / "server-cert.pem"),
                             str(directory / "server-key.pem"), str(directory / "ca.pem"))
    try:
        subscribe(register, "DEMOB", f"https://localhost:{server.server_address[1]}{ENDPOINT_PATH}", mtom=mtom)
        application = register_household(register)
        assert deliver_all(dispatcher) == ["delivered"]
    finally:
        server.shutdown()
        server.server_close()
    [(kind, number, version, file)] = system.store.db.execute("SELECT kind, number, version, file FROM changes")
    assert (kind, number, version) == ("CRE", str(application.number), 1)
    assert b"<ns2:typeFichier>DIS</ns2:typeFichier>" in file and b"<ns2:numGuichet>DEMOB<" in file

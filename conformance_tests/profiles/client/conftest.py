"""The client profile: the kit plays the SNE, the integrator's software calls it, the checks judge the requests.

Options (each named ``--client-*``: every profile's conftest is loaded when the catalogue is listed):

- ``--client-listen HOST:PORT`` where the conformance endpoint listens (default 127.0.0.1, any port);
- ``--client-run CMD``: the integrator's driver, run with ``SNE_URL``, ``SNE_CA``, ``SNE_CERT``,
  ``SNE_KEY`` and ``SNE_SCENARIOS`` in its environment; the run ends when it exits. Without it the
  endpoint serves until every scenario was seen, or ``--client-timeout`` seconds (default 300);
- ``--client-scenarios a,b``: only these scenarios (default: all; ``scenarios.SCENARIOS``);
- ``--client-ca PEM``: the CA the integrator's client certificates chain to (default: the kit's, which
  issues ``counter.pem`` in ``--client-dir``, default ``$SNE_HUB_CONFORMANCE_HOME/client``);
- ``--client-xsd DIR``: the interface's XSD directory (default: the copy the installed kit ships, or the
  repository's ``xsd/`` in a clone; conformance_tests.interface_xsd).

The checks run once the exchanges are over: each reads the session's ``Log``.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ... import interface_xsd
from ...signing import kit_home
from . import tls
from .endpoint import Endpoint, Log
from .scenarios import Scenario, selected
from .verdicts import complete


def pytest_addoption(parser):
    group = parser.getgroup("sne-client", "SNE conformance kit: the client profile")
    group.addoption("--client-listen", default="127.0.0.1:0", help="HOST:PORT of the conformance endpoint")
    group.addoption("--client-run", help="the integrator's driver command (gets SNE_URL, SNE_CA, SNE_CERT, SNE_KEY)")
    group.addoption("--client-timeout", type=float, default=300.0, help="seconds to wait for the scenarios")
    group.addoption("--client-scenarios", help="comma-separated scenario ids (default: all)")
    group.addoption("--client-ca", help="CA bundle the integrator's client certificates chain to (PEM)")
    group.addoption("--client-dir", help="where the kit writes its CA, server and counter certificates")
    group.addoption("--client-xsd", default=str(interface_xsd()),
                    help="directory of the interface's XSD files (default: the copy the kit ships)")


def pytest_configure(config):
    config.addinivalue_line("markers", "requirement(*ids): the SNE-HUB requirement ids this check proves")


@dataclass
class Session:
    """What the run saw: the requests, the scenarios asked for, and the driver's outcome (if any)."""

    log: Log
    scenarios: tuple[Scenario, ...]
    driver: subprocess.CompletedProcess | None = None


@pytest.fixture(scope="session")
def session(pytestconfig) -> Session:
    option = pytestconfig.getoption
    xsd = Path(option("--client-xsd"))
    if not (xsd / "InterfaceNuu_v0201.xsd").exists():
        pytest.exit(f"no interface XSD in {xsd}: give --client-xsd", returncode=4)
    scenarios = selected(option("--client-scenarios"))
    directory = Path(option("--client-dir") or kit_home() / "client")
    host, port = option("--client-listen").rsplit(":", 1)
    tls.make(directory, host)
    client_ca = Path(option("--client-ca")) if option("--client-ca") else None
    endpoint = Endpoint((host, int(port)), tls.server_context(directory, client_ca), xsd, scenarios)
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    environment = {"SNE_URL": endpoint.url, "SNE_CA": str(directory / "ca.pem"),
                   "SNE_CERT": str(directory / "counter.pem"), "SNE_KEY": str(directory / "counter-key.pem"),
                   "SNE_SCENARIOS": ",".join(scenario.id for scenario in scenarios)}
    tell(pytestconfig, environment, scenarios)
    outcome = Session(endpoint.log, scenarios)
    try:
        if option("--client-run"):
            outcome.driver = subprocess.run(shlex.split(option("--client-run")), env={**os.environ, **environment},
                                            capture_output=True, text=True, timeout=option("--client-timeout"))
        else:
            wait(endpoint.log, scenarios, option("--client-timeout"))
    finally:
        endpoint.shutdown()
        endpoint.server_close()
    return outcome


def tell(config, environment: dict[str, str], scenarios: tuple[Scenario, ...]) -> None:
    """Where the endpoint is and what to send, on the terminal (the list is also served at /scenarios)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    write = reporter.write_line if reporter else (lambda line: print(line, file=sys.stderr))
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        write("")
        write(f"SNE conformance endpoint: {environment['SNE_URL']}/services/DemandeLogementImplService/?wsdl")
        write(f"  its CA: {environment['SNE_CA']}; a counter certificate: {environment['SNE_CERT']} "
              f"(key {environment['SNE_KEY']})")
        for scenario in scenarios:
            write(f"  scenario {scenario.id}: {scenario.instruction}")


def wait(log: Log, scenarios: tuple[Scenario, ...], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with log.changed:
        while not complete(log, scenarios) and time.monotonic() < deadline:
            log.changed.wait(min(1.0, max(0.0, deadline - time.monotonic())))

"""The ``hostile`` profile's target: an SNE-compatible hub, sent hostile input as a counter.

It takes the server profile's options (``--sne-url``, ``--sne-cert``, ``--sne-key``, ``--sne-ca``,
``--sne-counter``, ``--sne-commune``, ``--sne-state-cert``/``--sne-state-key``,
``--sne-foreign-cert``/``--sne-foreign-key``; conformance_tests/profiles/server/conftest.py) and
registers one application first, which every family reads back once its cases are sent. At the end
it reports how many hostile requests it sent.
"""

from __future__ import annotations

import pytest

from ..server.conftest import add_target_options, counter_code
from ..server.files import Household, application_file, run_token
from ..server.operations import answered, get_num_unique, number_of
from ..server.wire import Client, parse
from .exchange import FOREIGN, OWN, SENT, STATE, Context
from .target import Target


def pytest_addoption(parser):
    add_target_options(parser)
    parser.getgroup("sne-hostile", "SNE conformance kit: hostile profile").addoption(
        "--sne-max-request-bytes", type=int, default=10 * 1024 * 1024,
        help="the hub's request size bound (default 10 MiB, the bound docs/INTERFACES.md states)")


def pytest_configure(config):
    config.addinivalue_line("markers", "requirement(*ids): the SNE-HUB requirement ids this check proves")


def pytest_terminal_summary(terminalreporter):
    if SENT["requests"]:
        terminalreporter.write_line(f"hostile: {SENT['requests']} hostile requests sent")


@pytest.fixture(scope="session")
def hub(pytestconfig) -> Target:
    option = pytestconfig.getoption
    if not option("--sne-url") or not option("--sne-cert"):
        pytest.exit("the hostile profile needs --sne-url and --sne-cert (and --sne-key, --sne-ca)", returncode=4)
    roles = {OWN: "", STATE: "state-", FOREIGN: "foreign-"}
    credentials = {role: (option(f"--sne-{prefix}cert"), option(f"--sne-{prefix}key"))
                   for role, prefix in roles.items() if option(f"--sne-{prefix}cert")}
    return Target(option("--sne-url"), option("--sne-ca"), credentials,
                  option("--sne-counter") or counter_code(option("--sne-cert")), option("--sne-commune"),
                  option("--sne-max-request-bytes"))


@pytest.fixture(scope="session")
def context(hub) -> Context:
    """An application of the counter's, registered before any hostile case is sent."""
    cert, key = hub.credentials[OWN]
    client = Client(hub.url, hub.ca, cert, key, name=hub.counter)
    file = application_file(hub.counter, Household.invent(run_token(), 0), commune=hub.commune)
    answer = parse(answered(get_num_unique(client, file), "getNumUnique CRE").field("fichierDemande") or b"<x/>")
    number = number_of(answer)
    assert number, "the hub registered no application to read back after the hostile cases"
    return Context(hub, number)

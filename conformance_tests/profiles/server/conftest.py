"""The ``server`` profile's target: an SNE-compatible hub, reached as a counter with its certificate.

Options (``sne-hub-conformance server URL --cert C --key K --ca A`` passes them on):

- ``--sne-url``: the hub's base URL (``https://host:port``); the services are under ``/services/``.
- ``--sne-cert``, ``--sne-key``: the counter's TLS client certificate and key (PEM).
- ``--sne-ca``: the CA bundle that verifies the hub's server certificate.
- ``--sne-counter``: the counter's code, when its certificate's subject ``serialNumber`` is not it.
- ``--sne-commune``: an INSEE commune of the counter's territory, first wished commune of the
  households the kit registers (default 57463, Metz).
- ``--sne-foreign-cert``, ``--sne-foreign-key``: a counter of another territory (rights refusals).
- ``--sne-state-cert``, ``--sne-state-key``: a State counter of the same territory (DALO declarations).
- ``--sne-xsd``: the interface's XSD directory (default: the copy the installed kit ships, or the
  repository's ``xsd/`` in a clone of sne-hub; conformance_tests.interface_xsd).
- ``--node-soap``: a ``node_modules`` folder holding npm's ``soap`` (node-soap's interoperability checks);
  ``--libsne``: the libsne package folder (the vendor client's checks);
  ``--require-stacks``: a SOAP stack that is absent (zeep, node-soap, PHP's SoapClient, libsne) fails its checks
  rather than skipping them (test_interop.py).

Checks that need a counter that was not given are skipped, and say which option they need.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from conformance_tests import interface_xsd

from .files import Household, application_file, run_token
from .operations import anomalies, answer_file, get_num_unique, number_of
from .schemas import FileLedger
from .wire import Client

VALIDITY_CHECK = "test_every_file_is_valid_against_its_schema"


def pytest_addoption(parser):
    add_target_options(parser)


def add_target_options(parser) -> None:
    """The target's options, shared with the hostile profile: added once when both profiles are collected."""
    group = parser.getgroup("sne-server", "SNE conformance kit: server and hostile profiles")
    if any("--sne-url" in option.names() for option in group.options):
        return
    group.addoption("--sne-url", help="base URL of the hub under test, e.g. https://127.0.0.1:8443")
    group.addoption("--sne-cert", help="the counter's TLS client certificate (PEM)")
    group.addoption("--sne-key", help="the counter's private key (PEM)")
    group.addoption("--sne-ca", help="CA bundle that verifies the hub's server certificate (PEM)")
    group.addoption("--sne-counter", help="the counter's code (default: its certificate's subject serialNumber)")
    group.addoption("--sne-commune", default="57463", help="an INSEE commune of the counter's territory")
    group.addoption("--sne-foreign-cert", help="certificate of a counter of another territory (rights checks)")
    group.addoption("--sne-foreign-key", help="its private key")
    group.addoption("--sne-state-cert", help="certificate of a State counter of the territory (DALO checks)")
    group.addoption("--sne-state-key", help="its private key")
    group.addoption("--node-soap", help="a node_modules folder holding npm's soap package (interoperability checks)")
    group.addoption("--libsne", help="the libsne package folder (its sdist's libsne/): the vendor client's checks")
    group.addoption("--require-stacks", action="store_true",
                    help="fail, rather than skip, the interoperability checks of a SOAP stack that is absent")
    group.addoption("--sne-xsd", default=str(interface_xsd()),
                    help="directory of the interface's XSD files (default: the copy the kit ships)")


def pytest_configure(config):
    # conformance_tests.plugin registers it too: registering twice is harmless.
    config.addinivalue_line("markers", "requirement(*ids): the SNE-HUB requirement ids this check proves")


def pytest_collection_modifyitems(session, config, items):
    """The schema verdict on every file seen runs last, once every other check has received its files."""
    items.sort(key=lambda item: item.name == VALIDITY_CHECK)


@dataclass(frozen=True)
class Target:
    url: str
    ca: str | None
    cert: str
    key: str | None
    counter: str
    commune: str
    postal_code: str


def counter_code(certificate: str) -> str:
    """The counter's code as SNE certificates carry it: the subject's serialNumber (else its CN)."""
    subject = x509.load_pem_x509_certificate(Path(certificate).read_bytes()).subject
    for oid in (NameOID.SERIAL_NUMBER, NameOID.COMMON_NAME):
        attributes = subject.get_attributes_for_oid(oid)
        if attributes:
            return str(attributes[0].value)
    raise pytest.UsageError(f"{certificate} names no counter: give --sne-counter")


@pytest.fixture(scope="session")
def target(pytestconfig) -> Target:
    option = pytestconfig.getoption
    if not option("--sne-url") or not option("--sne-cert"):
        pytest.exit("the server profile needs --sne-url and --sne-cert (and --sne-key, --sne-ca)", returncode=4)
    commune = option("--sne-commune")
    return Target(option("--sne-url"), option("--sne-ca"), option("--sne-cert"), option("--sne-key"),
                  option("--sne-counter") or counter_code(option("--sne-cert")), commune,
                  postal_code=commune[:2] + "000")


@pytest.fixture(scope="session")
def ledger(pytestconfig) -> FileLedger:
    directory = Path(pytestconfig.getoption("--sne-xsd"))
    if not (directory / "InterfaceNuu_v0201.xsd").exists():
        pytest.exit(f"no interface XSD in {directory}: give --sne-xsd", returncode=4)
    return FileLedger(directory)


@pytest.fixture(scope="session")
def client(target, exchanges) -> Client:
    return Client(target.url, target.ca, target.cert, target.key, exchanges.record, target.counter)


def _other_counter(pytestconfig, target, exchanges, kind: str) -> Client:
    cert, key = pytestconfig.getoption(f"--sne-{kind}-cert"), pytestconfig.getoption(f"--sne-{kind}-key")
    if not cert:
        pytest.skip(f"needs a {kind} counter: --sne-{kind}-cert and --sne-{kind}-key")
    return Client(target.url, target.ca, cert, key, exchanges.record, counter_code(cert))


@pytest.fixture(scope="session")
def foreign(pytestconfig, target, exchanges) -> Client:
    """A counter of another territory."""
    return _other_counter(pytestconfig, target, exchanges, "foreign")


@pytest.fixture(scope="session")
def state(pytestconfig, target, exchanges) -> Client:
    """A State counter of the target counter's territory."""
    return _other_counter(pytestconfig, target, exchanges, "state")


@pytest.fixture(scope="session")
def family() -> str:
    """This run's family name: households of earlier runs are never this run's duplicates."""
    return run_token()


@pytest.fixture
def household(family, request) -> Household:
    return Household.invent(family, hash(request.node.nodeid))


@pytest.fixture
def register(client, target, ledger, family):
    """``register(household=None)``: a CRE registered for a new household (or the one given); returns
    (number, household)."""
    def registered(household: Household | None = None) -> tuple[str, Household]:
        household = household or Household.invent(family, 0)
        reply = get_num_unique(client, application_file(target.counter, household, commune=target.commune))
        answer = answer_file(reply, ledger, "getNumUnique CRE")
        number = number_of(answer)
        assert number, f"getNumUnique CRE: no numUnique in the RET file; anomalies {anomalies(answer)}"
        return number, household

    return registered

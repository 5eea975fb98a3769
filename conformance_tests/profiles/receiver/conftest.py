"""The ``receiver`` profile's target: a counter's system that implements ReceptionDispatchImplService,
to which the kit pushes deliveries as the hub does.

Options (``sne-hub-conformance receiver URL ...`` passes them on):

- ``--receiver-url``: the endpoint, e.g. https://si.example.fr/services/ReceptionDispatchImplService/
- ``--receiver-ca``: the CA bundle that verifies the receiver's server certificate (default: the
  system's authorities).
- ``--kit-pki``: where the kit keeps its certificates (made on the first run, kept after): configure
  the receiver to trust ``<kit-pki>/ca.pem`` for its clients, as it trusts the hub's authority.
- ``--kit-ca-out FILE``: a copy of that ``ca.pem``, where the receiver's configuration wants it.
- ``--receiver-counter``: the receiving counter's code, in ``guichet`` and in the DIS files.
- ``--receiver-subscription``: the ``abonnement`` number (default: one of its own per run).
- ``--receiver-timeout``: seconds the receiver has to answer (the hub's SNE_HUB_DISPATCH_TIMEOUT, 30).
- ``--receiver-oversize-mib``: the size of the oversize delivery (32 MiB).
- ``--receiver-wsdl``, ``--receiver-xsd``: the receiver WSDL and the interface's XSD directory (default:
  those beside the kit, as in the sne-hub repository); the kit checks what it sends against them.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from .deliveries import Stream
from .pki import KitPki
from .wire import Sender

ROOT = Path(__file__).resolve().parents[3]
WSDL = "http://schemas.xmlsoap.org/wsdl/"
XS = "http://www.w3.org/2001/XMLSchema"


def pytest_addoption(parser):
    group = parser.getgroup("sne-receiver", "SNE conformance kit: receiver profile")
    group.addoption("--receiver-url", help="the receiver's endpoint (https://…/services/ReceptionDispatchImplService/)")
    group.addoption("--receiver-ca", help="CA bundle that verifies the receiver's server certificate (PEM)")
    group.addoption("--kit-pki", default="sne-kit-pki",
                    help="directory of the kit's certificates (made if absent); the receiver trusts its ca.pem")
    group.addoption("--kit-ca-out", help="copy the kit's authority (the one the receiver trusts) to this file")
    group.addoption("--receiver-counter", default="GUI01", help="the receiving counter's code")
    group.addoption("--receiver-subscription", type=int, help="the subscription number (default: one per run)")
    group.addoption("--receiver-timeout", type=float, default=30.0, help="seconds the receiver has to answer")
    group.addoption("--receiver-oversize-mib", type=int, default=32, help="size of the oversize delivery")
    group.addoption("--receiver-wsdl", default=str(ROOT / "wsdl" / "ReceptionDispatchImplService.wsdl"),
                    help="the receiver WSDL (ReceptionDispatchImplService.wsdl)")
    group.addoption("--receiver-xsd", default=str(ROOT / "xsd"), help="directory of the interface's XSD files")


def pytest_configure(config):
    # conformance_tests.plugin registers it too: registering twice is harmless.
    config.addinivalue_line("markers", "requirement(*ids): the SNE-HUB requirement ids this check proves")


@pytest.fixture(scope="session")
def option(pytestconfig):
    if not pytestconfig.getoption("--receiver-url"):
        pytest.exit("the receiver profile needs --receiver-url (and --receiver-ca, --kit-pki)", returncode=4)
    return pytestconfig.getoption


@pytest.fixture(scope="session")
def pki(option) -> KitPki:
    pki = KitPki(option("--kit-pki")).ensure()
    if option("--kit-ca-out"):
        shutil.copyfile(pki.ca, option("--kit-ca-out"))
    return pki


@pytest.fixture(scope="session")
def kit_certificate(pki) -> tuple[str, str]:
    return pki.pair("client")


@pytest.fixture(scope="session")
def sender(option, exchanges) -> Sender:
    """Each exchange goes to the kit's reports, masked, and to a failed check's output."""
    return Sender(option("--receiver-url"), option("--receiver-ca"), option("--receiver-timeout"), exchanges.record)


def _given(name: str, path: Path) -> str:
    if not path.exists():
        pytest.exit(f"{path} not found: give {name} (the sne-hub repository's wsdl/ and xsd/ have them)", returncode=4)
    return str(path)


@pytest.fixture(scope="session")
def message_schema(option) -> xmlschema.XMLSchema:
    """The schema the receiver WSDL embeds: the kit checks every message it means to be valid."""
    wsdl = _given("--receiver-wsdl", Path(option("--receiver-wsdl")))
    embedded = etree.parse(wsdl).find(f"{{{WSDL}}}types/{{{XS}}}schema")
    return xmlschema.XMLSchema(etree.tostring(embedded).decode())


@pytest.fixture(scope="session")
def dis_schema(option) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(_given("--receiver-xsd", Path(option("--receiver-xsd")) / "InterfaceNuu_v0201.xsd"))


@pytest.fixture(scope="session")
def stream(option, dis_schema) -> Stream:
    """The run's stream: sequences start at the run's second, so they only grow across runs. The
    kit's DIS files are checked against the XSD first (all come from one template)."""
    now = int(time.time())
    stream = Stream(option("--receiver-counter"), option("--receiver-subscription") or now, now * 1000)
    dis_schema.validate(stream.change().file)
    return stream


@pytest.fixture
def push(sender, kit_certificate, message_schema, dis_schema):
    """``push(delivery, mtom=False)``: the delivery sent as the hub sends it (checked first against
    the WSDL and XSD: a kit defect is never blamed on the receiver)."""
    def pushed(delivery, mtom: bool = False, what: str = ""):
        message_schema.validate(delivery.message())
        content_type, body = delivery.mtom() if mtom else delivery.inline()
        return sender.post(content_type, body, kit_certificate, what or f"delivery {delivery.id}")

    return pushed

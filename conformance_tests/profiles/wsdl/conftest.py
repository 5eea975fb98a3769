"""The ``wsdl`` profile's target: a set of WSDL 1.1 / SOAP 1.2 descriptions and XSDs.

``--wsdl PATH|URL`` (repeatable; ``sne-hub-conformance wsdl PATH|URL…`` passes each on): a .wsdl or
.xsd file, a directory (every .wsdl and .xsd under it) or a URL. The checks judge the whole set: a
WSDL's messages may name elements an XSD of the set declares. ``--reference-xsd DIR``: the reference
XSD files the set's are compared to (R030, R031).

Known deviations (KNOWN_DEVIATIONS): where the ministry's reference interface itself departs from the
WS-I Basic Profile, a description that copies it passes, and the report says so and why.
"""

from __future__ import annotations

import pytest

from .description import Document, documents

KNOWN_DEVIATIONS = {
    ("SNE-HUB-R008", "{http://ws.metier.nuu.application.i2/}GestionPartageeEVTPortType"):
        "the ministry's shared management reference gives its six operations the same message; clients built "
        "from it send exactly that, so servers tell the operations apart by their SOAP action "
        "(sne-hub's docs/REGISTER.md, shared management)",
}


def pytest_addoption(parser):
    group = parser.getgroup("sne-wsdl", "SNE conformance kit: wsdl profile")
    group.addoption("--wsdl", action="append", default=[], metavar="PATH|URL",
                    help="a WSDL or XSD file, a directory of them, or a URL (repeatable)")
    group.addoption("--reference-xsd", metavar="DIR",
                    help="the ministry's reference XSD files: the set's XSDs must give the same verdicts on the "
                         "kit's corpus (test_compatibility.py)")


@pytest.fixture(scope="session")
def description_set(pytestconfig, exchanges) -> list[Document]:
    """The documents of every ``--wsdl`` target; what URLs answered is in the report's exchanges."""
    targets = pytestconfig.getoption("--wsdl")
    if not targets:
        pytest.exit("the wsdl profile needs at least one --wsdl PATH|URL", returncode=4)
    found = documents(targets, exchanges.record)
    if not found:
        pytest.exit(f"no .wsdl or .xsd file in {', '.join(targets)}", returncode=4)
    return found


def verdict(problems: list[str]) -> None:
    """Fail with every problem found, one per line (a check judges the whole set at once)."""
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)

"""The conformance kit: black-box checks integrators run against their own systems and the hub.

It imports nothing from this project: it speaks only the SNE's published wire format.
"""

from pathlib import Path

KIT = Path(__file__).resolve().parent


def interface_xsd() -> Path:
    """The interface's XSD files: the copy the installed kit ships (the data package ``conformance_tests.xsd``,
    packaging/sne-hub-conformance/setup.py), else, in a clone of sne-hub, the repository's ``xsd/``."""
    shipped, checkout = KIT / "xsd", KIT.parent / "xsd"
    return shipped if (shipped / "InterfaceNuu_v0201.xsd").exists() else checkout

r"""``sne-hub-conformance receiver URL``: the receiver profile against an integrator's endpoint.

    sne-hub-conformance receiver https://si.example.fr/services/ReceptionDispatchImplService/ \
        --kit-pki sne-kit-pki --ca their-server-ca.pem --counter 10691

The first run makes the kit's certificates in ``--kit-pki`` (``--ca-out FILE`` copies the kit's
authority there too): configure the receiver to trust that authority for its clients, as it
trusts the hub's deployment authority, then run again. Other arguments go to pytest (``-k``, ``-x``…).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
from pathlib import Path

import pytest

from .pki import KitPki

PROFILE = Path(__file__).parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sne-hub-conformance receiver", description=__doc__.split("\n")[0])
    parser.add_argument("url", help="the receiver's endpoint (https://…/services/ReceptionDispatchImplService/)")
    parser.add_argument("--kit-pki", default="sne-kit-pki", help="directory of the kit's certificates (made if absent)")
    parser.add_argument("--ca-out", help="copy the kit's authority (the one the receiver must trust) to this file")
    parser.add_argument("--ca", help="CA bundle that verifies the receiver's server certificate")
    parser.add_argument("--counter", default="GUI01", help="the receiving counter's code")
    parser.add_argument("--subscription", type=int, help="the subscription number (default: one per run)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds the receiver has to answer")
    arguments, pytest_args = parser.parse_known_args(argv)
    pytest_args = [argument for argument in pytest_args if argument != "--"]
    pki = KitPki(arguments.kit_pki).ensure()
    if arguments.ca_out:
        shutil.copyfile(pki.ca, arguments.ca_out)
    options = ["--receiver-url", arguments.url, "--kit-pki", arguments.kit_pki, "--receiver-counter", arguments.counter,
               "--receiver-timeout", str(arguments.timeout)]
    options += ["--receiver-ca", arguments.ca] if arguments.ca else []
    options += ["--receiver-subscription", str(arguments.subscription)] if arguments.subscription else []
    plugin = ["-p", "conformance_tests.plugin"] if importlib.util.find_spec("conformance_tests.plugin") else []
    return int(pytest.main([*plugin, str(PROFILE), *options, *pytest_args]))


if __name__ == "__main__":
    raise SystemExit(main())

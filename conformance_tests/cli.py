"""``sne-hub-conformance``: run one profile of the kit against a target, pytest underneath.

Each sub-command turns its arguments into the profile's pytest options and runs
``pytest -c kit.ini -p conformance_tests.plugin <profile directory>`` in this process; arguments after
``--`` go to pytest unchanged (``-k``, ``-x``, ``-v``…). The exit status is pytest's: 0 when every
check passed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

import pytest

from . import catalogue

KIT = Path(__file__).resolve().parent
PROFILES = KIT / "profiles"


def _report_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reports (docs/CONFORMANCE.md)")
    group.add_argument("--report-dir", help="write report.json, report.html, junit.xml and the signed summary here")
    group.add_argument("--signing-cert", help="the certificate that signs the summary (PEM); default: the kit's "
                                              "own, made on first use")
    group.add_argument("--signing-key", help="its private key (PEM)")


def _wsdl(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser("wsdl", help="WS-I Basic Profile and schema checks on a WSDL/XSD set",
                            description="Check WSDL 1.1 / SOAP 1.2 descriptions and their XSDs: WS-I Basic "
                                        "Profile assertions and schema compilation (requirements R001-R049).")
    parser.add_argument("targets", nargs="+", metavar="PATH|URL",
                        help="a .wsdl or .xsd file, a directory of them, or a URL (e.g. https://host/service?wsdl)")
    parser.add_argument("--reference-xsd", metavar="DIR", help="the reference XSD files: the set's XSDs must give "
                                                             "their verdicts on the kit's corpus (R030, R031)")
    parser.set_defaults(options=lambda args: [option for target in args.targets for option in ("--wsdl", target)]
                        + (["--reference-xsd", args.reference_xsd] if args.reference_xsd else []))
    return parser


def _server(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser("server", help="the interface scenario against an SNE-compatible hub",
                            description="Play a counter against an SNE-compatible hub: every operation, file "
                                        "type, duplicates, rights, faults, MTOM (requirements R100-R199).")
    parser.add_argument("url", metavar="URL", help="the hub's base URL, e.g. https://127.0.0.1:8443")
    parser.add_argument("--cert", required=True, help="the counter's TLS client certificate (PEM)")
    parser.add_argument("--key", help="its private key (PEM), when not in --cert")
    parser.add_argument("--ca", help="CA bundle that verifies the hub's server certificate (PEM)")
    stacks = parser.add_argument_group("interoperability (R190-R199): SOAP stacks that call the hub; zeep and "
                                       "PHP's SoapClient when installed")
    stacks.add_argument("--node-soap", metavar="DIR", help="a node_modules folder holding npm's soap package")
    stacks.add_argument("--libsne", metavar="DIR", help="the libsne package folder (the vendor client)")
    stacks.add_argument("--require-stacks", action="store_true", help="fail, rather than skip, an absent stack")
    parser.set_defaults(options=_server_options)
    return parser


def _server_options(args: argparse.Namespace) -> list[str]:
    given = {"--sne-url": args.url, "--sne-cert": args.cert, "--sne-key": args.key, "--sne-ca": args.ca,
             "--node-soap": args.node_soap, "--libsne": args.libsne}
    options = [item for option, value in given.items() if value for item in (option, value)]
    return options + (["--require-stacks"] if args.require_stacks else [])


SUBCOMMANDS = {"wsdl": _wsdl, "server": _server}


def requirement_index() -> dict[str, dict]:
    """Every requirement of the catalogue with its sentence, profile and the checks marked with it (pytest
    collects every profile; nothing runs)."""
    with tempfile.TemporaryDirectory() as directory:
        index = Path(directory) / "index.json"
        with contextlib.redirect_stdout(io.StringIO()) as output:
            code = pytest.main(["-c", str(KIT / "kit.ini"), "--rootdir", str(KIT), "-p", "conformance_tests.plugin",
                                "--collect-only", "-q", "--requirement-index", str(index),
                                *(str(PROFILES / name) for name in catalogue.profile_names())])
        if code != 0:
            raise SystemExit(f"collecting the profiles failed:\n{output.getvalue()}")
        checks = json.loads(index.read_text())
    return {requirement.id: {"profile": requirement.profile, "sentence": requirement.sentence,
                             "checks": checks.get(requirement.id, [])} for requirement in catalogue.load().values()}


def list_requirements(as_json: bool) -> int:
    index = requirement_index()
    if as_json:
        print(json.dumps(index, indent=2, ensure_ascii=False))
    else:
        for requirement, about in sorted(index.items()):
            print(f"{requirement}  {about['profile']:<8} {len(about['checks'])} check(s)  {about['sentence']}")
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="sne-hub-conformance",
        description="The SNE interface's conformance kit: checks a system against numbered requirements "
                    "(SNE-HUB-Rnnn) and writes reports a regulator can read.",
        epilog="Arguments after `--` go to pytest. Guide: docs/CONFORMANCE.md.")
    sub = main_parser.add_subparsers(dest="profile", required=True, metavar="PROFILE")
    for name, add in SUBCOMMANDS.items():
        _report_options(add(sub))
    listing = sub.add_parser("requirements", help="list the requirement ids, their sentences and checks",
                             description="Every requirement of every profile: its id, profile, sentence and "
                                         "the number of checks that prove it (docs/INTERFACES.md).")
    listing.add_argument("--json", action="store_true", help="as JSON, with each check's pytest node id")
    return main_parser


def pytest_arguments(args: argparse.Namespace, extra: list[str]) -> list[str]:
    """The pytest command line for ``args``: the kit's settings, its plugin, the profile and its options."""
    reports = []
    if args.report_dir:
        Path(args.report_dir).mkdir(parents=True, exist_ok=True)
        reports = ["--report-dir", args.report_dir, "--junitxml", str(Path(args.report_dir) / "junit.xml")]
    for option in ("signing_cert", "signing_key"):
        if getattr(args, option):
            reports += ["--" + option.replace("_", "-"), getattr(args, option)]
    return (["-c", str(KIT / "kit.ini"), "--rootdir", str(KIT), "-p", "conformance_tests.plugin",
             str(PROFILES / args.profile)] + args.options(args) + reports + extra)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser().parse_args(argv[:len(argv) - len(extra) - (1 if "--" in argv else 0)])
    if args.profile == "requirements":
        return list_requirements(args.json)
    return int(pytest.main(pytest_arguments(args, extra)))


if __name__ == "__main__":
    sys.exit(main())

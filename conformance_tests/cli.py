"""``sne-hub-conformance``: run one profile of the kit against a target, pytest underneath.

Each sub-command turns its arguments into the profile's pytest options and runs
``pytest -c kit.ini -p conformance_tests.plugin <profile directory>`` in this process; arguments after
``--`` go to pytest unchanged (``-k``, ``-x``, ``-v``…). The exit status is pytest's: 0 when every
check passed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
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
                        + _given(args, {"reference_xsd": "--reference-xsd"}))
    return parser


def _server(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser("server", help="the interface scenario against an SNE-compatible hub",
                            description="Play a counter against an SNE-compatible hub: every operation, file "
                                        "type, duplicates, rights, faults, MTOM (requirements R100-R199).")
    _counter_target(parser)
    stacks = parser.add_argument_group("interoperability (R190-R199): SOAP stacks that call the hub; zeep and "
                                       "PHP's SoapClient when installed")
    stacks.add_argument("--node-soap", metavar="DIR", help="a node_modules folder holding npm's soap package")
    stacks.add_argument("--libsne", metavar="DIR", help="the libsne package folder (the vendor client)")
    stacks.add_argument("--require-stacks", action="store_true", help="fail, rather than skip, an absent stack")
    parser.set_defaults(options=lambda args: _counter_options(args)
                        + _given(args, {"node_soap": "--node-soap", "libsne": "--libsne"})
                        + (["--require-stacks"] if args.require_stacks else []))
    return parser


def _counter_target(parser: argparse.ArgumentParser) -> None:
    """The hub's URL and the counter's certificate: what the server and hostile profiles need."""
    parser.add_argument("url", metavar="URL", help="the hub's base URL, e.g. https://127.0.0.1:8443")
    parser.add_argument("--cert", required=True, help="the counter's TLS client certificate (PEM)")
    parser.add_argument("--key", help="its private key (PEM), when not in --cert")
    parser.add_argument("--ca", help="CA bundle that verifies the hub's server certificate (PEM)")


def _counter_options(args: argparse.Namespace) -> list[str]:
    return ["--sne-url", args.url, "--sne-cert", args.cert] + _given(args, {"key": "--sne-key", "ca": "--sne-ca"})


def _given(args: argparse.Namespace, options: dict[str, str]) -> list[str]:
    """The profile's pytest options for the optional arguments given (``options``: argument → option)."""
    return [item for name, option in options.items() if getattr(args, name)
            for item in (option, str(getattr(args, name)))]


def _hostile(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser("hostile", help="hostile input against an SNE-compatible hub",
                            description="Send an SNE-compatible hub hostile requests as a counter (content types, "
                                        "envelopes, operations, MTOM framing, HTTP methods and framing, DTDs and "
                                        "entities, nesting depth, names, client certificates, sizes) and check "
                                        "each documented refusal and that the hub still serves "
                                        "(requirements R050-R099).")
    _counter_target(parser)
    parser.add_argument("--state-cert", help="a State counter of the territory (PEM), for the cases sent as the State")
    parser.add_argument("--state-key", help="its private key (PEM)")
    parser.add_argument("--max-request-bytes", type=int, help="the hub's request size bound (default 10 MiB)")
    parser.set_defaults(options=lambda args: _counter_options(args) + _given(args, {
        "state_cert": "--sne-state-cert", "state_key": "--sne-state-key",
        "max_request_bytes": "--sne-max-request-bytes"}))
    return parser


def _mail(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser("mail", help="the signed mail channel of an SNE-compatible hub",
                            description="Play a counter's mail software and mailbox against a hub's SMTP listener: "
                                        "signed and encrypted files, answers, replays, null flows, refusals "
                                        "(requirements R400-R499). The hub's outbound relay (SNE_HUB_SMTP_RELAY) "
                                        "must deliver to --mailbox, where the kit receives the answers.")
    parser.add_argument("--smtp", required=True, metavar="HOST:PORT", help="the hub's SMTP listener")
    parser.add_argument("--cert", required=True, help="the counter's S/MIME certificate (PEM)")
    parser.add_argument("--key", help="its private key (PEM), when not in --cert")
    parser.add_argument("--hub-cert", required=True, help="the hub's S/MIME certificate (PEM): mails are encrypted "
                                                          "to it, answers verified with it")
    parser.add_argument("--hub-address", help="the hub's exchange address (default hub@sne-hub.example.org)")
    parser.add_argument("--mailbox", metavar="HOST:PORT", help="where the kit receives the hub's answers "
                                                               "(default 127.0.0.1:2526)")
    parser.set_defaults(options=lambda args: ["--mail-smtp", args.smtp, "--mail-cert", args.cert,
                                              "--mail-hub-cert", args.hub_cert]
                        + _given(args, {"key": "--mail-key", "hub_address": "--mail-hub-address",
                                        "mailbox": "--mail-mailbox"}))
    return parser


def _receiver(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser("receiver", help="play the hub against a counter's dispatching receiver",
                            description="Push deliveries to a ReceptionDispatchImplService endpoint as the hub "
                                        "does: valid files, redeliveries, gaps, oversize, bad certificates, "
                                        "malformed messages (requirements R300-R399). The first run makes the "
                                        "kit's certificates in --kit-pki: trust its ca.pem for the receiver's "
                                        "clients.")
    parser.add_argument("url", metavar="URL", help="the endpoint, https://…/services/ReceptionDispatchImplService/")
    parser.add_argument("--kit-pki", default="sne-kit-pki", help="directory of the kit's certificates (made if absent)")
    parser.add_argument("--ca-out", help="copy the kit's authority (the one the receiver trusts) to this file")
    parser.add_argument("--ca", help="CA bundle that verifies the receiver's server certificate (PEM)")
    parser.add_argument("--counter", default="GUI01", help="the receiving counter's code")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds the receiver has to answer")
    parser.set_defaults(options=lambda args: ["--receiver-url", args.url, "--kit-pki", args.kit_pki,
                                              "--receiver-counter", args.counter, "--receiver-timeout",
                                              str(args.timeout)]
                        + _given(args, {"ca": "--receiver-ca", "ca_out": "--kit-ca-out"}))
    return parser


def _client(sub) -> argparse.ArgumentParser:
    from .profiles.client.command import add_parser  # it reads this module's helpers: imported when asked for

    return add_parser(sub)


SUBCOMMANDS = {"wsdl": _wsdl, "hostile": _hostile, "server": _server, "client": _client, "receiver": _receiver,
               "mail": _mail}
SIMULATORS = {"client": "conformance_tests.simulator.client", "receiver": "conformance_tests.simulator.receiver"}


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
    simulate = sub.add_parser("simulate", help="run a reference system that passes a profile",
                              description="A tiny, readable counter system that passes the profile: the example "
                                          "integrators copy. Its own options follow (--help after the name).")
    simulate.add_argument("system", choices=sorted(SIMULATORS))
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
    if argv[:1] == ["simulate"] and len(argv) > 1 and argv[1] in SIMULATORS:
        return importlib.import_module(SIMULATORS[argv[1]]).main(argv[2:])
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser().parse_args(argv[:len(argv) - len(extra) - (1 if "--" in argv else 0)])
    if args.profile == "requirements":
        return list_requirements(args.json)
    return int(pytest.main(pytest_arguments(args, extra)))


if __name__ == "__main__":
    sys.exit(main())

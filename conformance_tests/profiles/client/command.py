"""``sne-hub-conformance client``: the client profile's sub-command (for conformance_tests.cli's SUBCOMMANDS).

``add_parser(sub)`` adds ``client`` to the kit's CLI; ``main(argv)`` runs it on its own:
``python -m conformance_tests.profiles.client.command --run "my-driver" --report-dir out/client``.
"""

from __future__ import annotations

import argparse
import sys

import pytest

from ... import cli


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser("client", help="the kit plays the SNE; your counter software calls it",
                            description="Serve a conformance endpoint that plays the SNE, run or wait for the "
                                        "integrator's client, check every request (requirements R200-R299).")
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT of the endpoint (default: any port)")
    parser.add_argument("--run", help="your driver command; it gets SNE_URL, SNE_CA, SNE_CERT, SNE_KEY, SNE_SCENARIOS")
    parser.add_argument("--timeout", default="300", help="seconds to wait for the scenarios (default 300)")
    parser.add_argument("--scenarios", help="comma-separated scenario ids (default: all)")
    parser.add_argument("--client-ca", help="the CA your client certificates chain to (default: the kit's own)")
    parser.add_argument("--dir", help="where the kit writes its CA, server and counter certificates")

    def options(args: argparse.Namespace) -> list[str]:
        given = {"--client-listen": args.listen, "--client-run": args.run, "--client-timeout": args.timeout,
                 "--client-scenarios": args.scenarios, "--client-ca": args.client_ca, "--client-dir": args.dir}
        return [item for option, value in given.items() if value for item in (option, value)]

    parser.set_defaults(options=options)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    parser = argparse.ArgumentParser(prog="sne-hub-conformance")
    sub = parser.add_subparsers(dest="profile", required=True)
    cli._report_options(add_parser(sub))
    args = parser.parse_args(["client", *argv[:len(argv) - len(extra) - (1 if "--" in argv else 0)]])
    return int(pytest.main(cli.pytest_arguments(args, extra)))


if __name__ == "__main__":
    sys.exit(main())

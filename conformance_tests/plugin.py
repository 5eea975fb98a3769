"""The kit's pytest plugin (``-p conformance_tests.plugin``): requirements, exchanges and reports.

- The marker ``@pytest.mark.requirement("SNE-HUB-R101", …)``: the requirement ids a check proves.
  An id that no profile's ``requirements.py`` lists is a usage error, found at collection.
- The fixture ``exchanges`` (session-wide): ``exchanges.record(exchange)`` keeps one request/response
  (a dict: ``method``, ``url``, ``request``, ``status``, ``response``, and optionally ``counter``,
  ``request_headers``, ``response_headers``, ``what`` the check meant by it, ``error`` what went wrong
  on the wire: no answer, or a request not sent whole) for the check running now, bodies masked at once
  (conformance_tests.masking), so personal data never reaches a report; a failed check shows them, masked,
  in pytest's output too.
- The fixture ``known_deviation``: ``known_deviation("SNE-HUB-R008", why)`` records that a check met a
  deviation the reference imposes; the check passes, its requirement reads ``deviation`` with why.
- ``--report-dir DIR`` writes report.json, report.html, summary.txt and summary.eml (signed with
  ``--signing-cert``/``--signing-key``, or the kit's own certificate) and signer.pem
  (conformance_tests.reports, conformance_tests.signing).
"""

from __future__ import annotations

import datetime
import json
import shutil
import sys
import warnings
from pathlib import Path

import pytest

from . import catalogue, reports, signing
from .masking import mask_body

VERSION = "0.1.0"
STATE = pytest.StashKey["Run"]()
# each profile's option that names its target
TARGET_OPTIONS = ("sne_url", "wsdl", "client_listen", "receiver_url", "mail_smtp")


class KnownDeviation(UserWarning):
    """A deviation from a requirement that the ministry's reference imposes (docs/CONFORMANCE.md)."""


class Exchanges:
    """The exchanges of the check running now, masked as they are recorded."""

    def __init__(self) -> None:
        self.current: reports.Check | None = None

    def record(self, exchange: dict) -> None:
        if self.current is None:
            return
        request_type = exchange.get("request_headers", {}).get("Content-Type", "")
        response_type = exchange.get("response_headers", {}).get("Content-Type", "")
        request = exchange.get("request") or b""
        self.current.exchanges.append({
            "what": exchange.get("what", ""), "method": exchange.get("method", ""), "url": exchange.get("url", ""),
            "counter": exchange.get("counter", ""), "status": exchange.get("status", ""),
            "error": exchange.get("error", ""), "request_bytes": len(request),
            "request_content_type": request_type, "response_content_type": response_type,
            "request": mask_body(request, request_type),
            "response": mask_body(exchange.get("response") or b"", response_type)})


class Run:
    def __init__(self, config: pytest.Config) -> None:
        self.catalogue = catalogue.load()
        self.checks: dict[str, reports.Check] = {}
        self.exchanges = Exchanges()
        self.profiles: set[str] = set()
        self.started = _now()
        self.target = target(config)


def target(config: pytest.Config) -> list[str]:
    """What the run checked, as its profile's target options name it (the hub's URL, the WSDL paths…)."""
    values = [config.getoption(option, default=None) for option in TARGET_OPTIONS]
    return [str(item) for value in values if value for item in (value if isinstance(value, list) else [value])]


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def pytest_addoption(parser):
    group = parser.getgroup("sne-conformance", "SNE conformance kit: reports")
    group.addoption("--report-dir", help="write report.json, report.html and the signed summary here")
    group.addoption("--signing-cert", help="certificate that signs the summary (PEM); default: the kit's own")
    group.addoption("--signing-key", help="its private key (PEM)")
    group.addoption("--requirement-index", help="write {requirement id: [its checks]} of the collected checks "
                                                "to this JSON file (sne-hub-conformance requirements)")


def pytest_configure(config):
    config.addinivalue_line("markers", "requirement(*ids): the SNE-HUB requirement ids this check proves")
    config.stash[STATE] = Run(config)


def pytest_collection_modifyitems(session, config, items):
    run = config.stash[STATE]
    for item in items:
        ids = [requirement for marker in item.iter_markers("requirement") for requirement in marker.args]
        unknown = [requirement for requirement in ids if requirement not in run.catalogue]
        if unknown:
            raise pytest.UsageError(f"{item.nodeid}: no profile lists {', '.join(unknown)} in its requirements.py")
        run.checks[item.nodeid] = reports.Check(item.nodeid, ids)
        run.profiles.update(run.catalogue[requirement].profile for requirement in ids)
    index = config.getoption("--requirement-index")
    if index:
        checks = {requirement: [check.nodeid for check in run.checks.values() if requirement in check.requirements]
                  for requirement in sorted(run.catalogue)}
        Path(index).write_text(json.dumps(checks, indent=2))


@pytest.fixture(scope="session")
def exchanges(pytestconfig) -> Exchanges:
    return pytestconfig.stash[STATE].exchanges


@pytest.fixture
def known_deviation(request):
    def record(requirement: str, why: str) -> None:
        request.config.stash[STATE].checks[request.node.nodeid].deviations.append(f"{requirement}: {why}")
        warnings.warn(KnownDeviation(f"{requirement}: {why}"), stacklevel=2)
    return record


def pytest_runtest_setup(item):
    run = item.config.stash[STATE]
    run.exchanges.current = run.checks.get(item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    check = item.config.stash[STATE].checks.get(item.nodeid)
    if check is None or (report.when != "call" and report.passed):
        return
    why = ""
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        why = crash.message if crash else str(report.longrepr)
    elif report.skipped and isinstance(report.longrepr, tuple):
        why = report.longrepr[2]
    check.settle(report.outcome, why)
    if report.when == "call" and report.failed and check.exchanges:
        report.sections.append(("SNE exchanges (masked)", exchanges_summary(check.exchanges)))


def exchanges_summary(exchanges: list[dict], excerpt: int = 600) -> str:
    """One paragraph per exchange: its line (reports.exchange_line), the masked answer's start."""
    return "\n".join(f"{reports.exchange_line(exchange)}\n    " + exchange["response"][:excerpt].replace("\n", "\n    ")
                     for exchange in exchanges)


def pytest_sessionfinish(session):
    directory = session.config.getoption("--report-dir")
    run = session.config.stash.get(STATE, None)
    if not directory or run is None:
        return
    write_reports(run, Path(directory), session.config)


def write_reports(run: Run, directory: Path, config: pytest.Config) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    checks = list(run.checks.values())
    results = reports.requirement_results(run.catalogue, checks, run.profiles)
    about = {"kit": VERSION, "python": sys.version.split()[0], "profiles": sorted(run.profiles),
             "target": run.target, "started": run.started, "finished": _now()}
    (directory / "report.json").write_text(reports.as_json(about, results, checks), encoding="utf-8")
    (directory / "report.html").write_text(reports.as_html(about, results, checks), encoding="utf-8")
    digests = {name: reports.digest(directory / name) for name in ("report.json", "report.html")}
    summary = reports.summary_text(about, results, digests).encode()
    (directory / "summary.txt").write_bytes(summary)
    cert = config.getoption("--signing-cert")
    cert, key = (Path(cert), Path(config.getoption("--signing-key") or cert)) if cert else signing.own_signer()
    (directory / "summary.eml").write_bytes(signing.sign(summary, cert, key))
    shutil.copyfile(cert, directory / "signer.pem")

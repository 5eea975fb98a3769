"""A pytest plugin for the kit's project tests: each requirement id's outcome, written as JSON (to retire:
the client, receiver, mail and hostile profile tests still use it; test_server_profile reads report.json).

``-p tests.conformance.requirement_outcomes --requirement-outcomes FILE`` writes
``{"SNE-HUB-R110": "passed", …}``: a requirement fails when one of its checks fails, and is
skipped when all its checks were. (The kit's own reports, conformance_tests.plugin, say the same
to integrators; this keeps the project test independent of their format.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

OUTCOMES = pytest.StashKey[dict]()
RANK = {"skipped": 0, "passed": 1, "failed": 2}


def pytest_addoption(parser):
    parser.addoption("--requirement-outcomes", help="write each requirement id's outcome to this JSON file")


def pytest_configure(config):
    config.stash[OUTCOMES] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if report.when == "call" or report.outcome != "passed":
        outcomes = item.config.stash[OUTCOMES]
        for marker in item.iter_markers("requirement"):
            for requirement in marker.args:
                known = outcomes.get(requirement, "skipped")
                outcomes[requirement] = max(known, report.outcome, key=RANK.__getitem__)


def pytest_sessionfinish(session):
    path = session.config.getoption("--requirement-outcomes")
    if path:
        Path(path).write_text(json.dumps(session.config.stash[OUTCOMES], indent=2, sort_keys=True))

"""The import rules of setup.cfg hold: core is independent, adapters don't know each other."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "hub", "async_mail", "dispatching", "certificates", "conformance_tests", "support")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(command, cwd=tree, capture_output=True, text=True, env=environment)


def test_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_broken_rule_is_detected(tmp_path):
    """The contracts are live: a copy of the tree where core imports an adapter fails them."""
    shutil.copy(ROOT / "setup.cfg", tmp_path)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "core" / "probe.py").write_text("import hub  # deliberately forbidden\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "core imports none of the adapters BROKEN" in result.stdout


def test_the_repository_tracks_no_symbolic_link():
    """A tracked link points at a path of the machine that committed it: in CI's clean checkout a link
    to a developer's cache loops or dangles, and every test reading through it fails."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    index = subprocess.run(["git", "ls-files", "--stage"], cwd=ROOT, capture_output=True, text=True, check=True)
    links = [line.split("\t", 1)[1] for line in index.stdout.splitlines() if line.startswith("120000 ")]
    assert links == []

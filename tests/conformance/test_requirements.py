"""The requirement catalogue and docs/INTERFACES.md say the same, and every requirement is checked.

Every id of a profile's ``requirements.py`` has its sentence, verbatim, as a bullet of the profile's
sub-heading in INTERFACES.md's "## Conformance requirements", and at least one check marked with it
(the kit's ``requirements`` listing: pytest collects every profile); every bullet there is in a catalogue.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance_tests import catalogue

ROOT = Path(__file__).resolve().parents[2]
BULLET = re.compile(r"^- \*\*(SNE-HUB-R\d{3})\*\*: (.+)$")


def documented() -> dict[str, tuple[str, str]]:
    """Each bullet of INTERFACES.md's conformance section: id -> (profile sub-heading, sentence)."""
    text = (ROOT / "docs" / "INTERFACES.md").read_text()
    section = text.split("\n## Conformance requirements\n", 1)[1].split("\n## ", 1)[0]
    bullets, profile = {}, ""
    for line in section.splitlines():
        if line.startswith("### "):
            profile = line[4:].strip()
        elif match := BULLET.match(line):
            assert match.group(1) not in bullets, f"{match.group(1)} is documented twice"
            bullets[match.group(1)] = (profile, match.group(2))
    return bullets


@pytest.fixture(scope="module")
def index() -> dict[str, dict]:
    listing = subprocess.run([sys.executable, "-m", "conformance_tests.cli", "requirements", "--json"], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr
    return json.loads(listing.stdout)


def test_every_requirement_is_documented_verbatim_under_its_profile():
    bullets = documented()
    mismatched = {requirement.id: (requirement.profile, requirement.sentence) for requirement in catalogue.load().values()
                  if bullets.get(requirement.id) != (requirement.profile, requirement.sentence)}
    assert not mismatched, "not in INTERFACES.md as stated (profile, sentence):\n" + "\n".join(
        f"{id}: {expected}" for id, expected in sorted(mismatched.items()))


def test_every_documented_requirement_is_in_a_catalogue():
    assert set(documented()) <= set(catalogue.load())


def test_every_requirement_has_a_check(index):
    assert index.keys() == catalogue.load().keys()
    assert [requirement for requirement, about in index.items() if not about["checks"]] == []


def test_ids_are_in_their_profiles_range():
    ranges = {"wsdl": range(1, 50), "hostile": range(50, 100), "server": range(100, 200), "client": range(200, 300),
              "receiver": range(300, 400), "mail": range(400, 500)}
    misplaced = [requirement.id for requirement in catalogue.load().values()
                 if int(requirement.id[-3:]) not in ranges.get(requirement.profile, range(50, 100))]
    assert misplaced == []

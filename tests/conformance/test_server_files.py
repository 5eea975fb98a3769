"""The files the server profile sends are valid: a hub that refuses them must be the one at fault."""

from pathlib import Path

import pytest

from conformance_tests.profiles.server import files
from conformance_tests.profiles.server.schemas import (
    APPLICATION_FILES,
    EVENTS_FILE,
    SEARCH_FILE,
    TYPES_FILE,
    FileLedger,
)

ROOT = Path(__file__).resolve().parents[2]

HOUSEHOLD = files.Household.invent("TEST", 0)
NUMBER = "0571226000001DEMOB"
TODAY = files.today()


@pytest.fixture
def ledger() -> FileLedger:
    return FileLedger(ROOT / "xsd")


@pytest.mark.parametrize("file_type, options", [
    ("CRE", {}),
    ("CRE", {"force_duplicate": True}),
    ("MOD", {"number": NUMBER, "email": "autre@example.org"}),
    ("MOD", {"number": NUMBER, "dalo": files.dalo_active(TODAY)}),
    ("REN", {"number": NUMBER, "lifecycle": files.renewal(TODAY)}),
    ("SUP", {"number": NUMBER}),
    *[("RAD", {"number": NUMBER, "lifecycle": files.cancellation(motive, TODAY, "57463", "57000")})
      for motive in ("RADABA", "RADIRR", "RADCON", "RADATT", "RADREN", None)],
])
def test_the_application_files_are_valid(ledger, file_type, options):
    data = files.application_file("DEMOB", HOUSEHOLD, file_type, commune="57463", **options)
    document = ledger.application(file_type, data)
    assert ledger.invalid == [] and document.get("versionInterface") in APPLICATION_FILES
    assert b"@" not in data.replace(b"@example.org", b""), "a placeholder was left in the template"


@pytest.mark.parametrize("after", [None, NUMBER])
def test_the_search_files_are_valid(ledger, after):
    criteria = f"<etatDemande>A</etatDemande><personneRecherchee><nom>{HOUSEHOLD.surname}</nom></personneRecherchee>"
    ledger.check("search", SEARCH_FILE, files.search_file("DEMOB", criteria, after))
    assert ledger.invalid == []


@pytest.mark.parametrize("events", [(), (files.event("DEMPIECE", TODAY, PIECES="Avis"),),
                                    (files.event("DEMPIECE", TODAY, "12", PIECES="Avis"),),
                                    (files.event(event_id="12"),)])
def test_the_shared_management_files_are_valid(ledger, events):
    ledger.check("events", EVENTS_FILE, files.events_file("DEMOB", NUMBER, *events))
    ledger.check("types", TYPES_FILE, files.types_file("DEMOB"))
    assert ledger.invalid == []


def test_a_broken_file_is_reported_with_the_path_and_reason_of_each_error(ledger):
    data = files.application_file("DEMOB", HOUSEHOLD, commune="57463").replace(
        b"<ns2:montantLoyer>650</ns2:montantLoyer>", b"<ns2:montantLoyer>beaucoup</ns2:montantLoyer>")
    ledger.application("CRE with a rent in words", data)
    report = ledger.report()
    assert "1 of 1 files broke their schema" in report
    assert "/ns2:interfaceNuu/ns2:demande/ns2:demandeLogement/ns2:logementRecherche/ns2:montantLoyer" in report

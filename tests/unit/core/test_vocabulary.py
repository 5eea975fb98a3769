"""One vocabulary: wire names come from the model's metadata, and the docs say the same."""

from pathlib import Path

import pytest

from core import docs
from core.domain.application import Cancellation
from core.domain.form import ApplicationForm
from core.domain.vocabulary import wire_path

DOCS = Path(__file__).resolve().parents[3] / "docs"


@pytest.mark.parametrize(
    "python, wire",
    [
        ("household.applicant.birth_date", "personnePhysique.demandeur.dateNaissance"),
        ("household.co_applicants[0].relationship", "personnePhysique.listeCotitulaire.cotitulaire[0].lienDemandeur"),
        ("housing_sought.wished_locations", "logementRecherche.listeLocalisationSouhaite"),
        ("housing_sought.wished_locations[2].commune",
         "logementRecherche.listeLocalisationSouhaite.localisationSouhaite[2].commune"),
        ("motives.motives[1]", "principauxMotifDemande.motifDemande[1]"),
        ("disabilities[0].referent.phone", "listeHandicap.handicap[0].referent.tel"),
        ("dalo.status", "informationDalo.statutDalo"),
    ],
)
def test_wire_paths(python, wire):
    assert wire_path(ApplicationForm, python) == wire


def test_cancellation_paths():
    assert wire_path(Cancellation, "allocation.address.commune") == "attributionLogement.adresse.commune"


def test_unknown_attribute_is_an_error():
    with pytest.raises(KeyError):
        wire_path(ApplicationForm, "household.applicant.shoe_size")


@pytest.mark.parametrize("page", sorted(docs.PAGES))
def test_generated_pages_are_up_to_date(page):
    assert (DOCS / page).read_text() == docs.PAGES[page](), f"run `python -m core.docs` to refresh docs/{page}"


def test_register_page_carries_the_rights_table_of_the_code():
    assert docs.rights_table() in (DOCS / "REGISTER.md").read_text()

"""Hostile names through the SOAP channel: what may be a person's name, and whom it duplicates.

Names are normalised to NFC; control and invisible characters are refused, a name begins with a
letter (docs/REGISTER.md, "Content rules": the refusals are the conformance kit's ``hostile``
profile, family ``names``, SNE-HUB-R058); duplicate detection folds confusable letters of other
scripts onto Latin ones (docs/REGISTER.md, "Registration").
"""

from dataclasses import replace

import pytest
from lxml import etree

from core.domain.numbers import RegistrationNumber
from core.service_layer import services
from core.wire.codec import NS
from support.files import get_num_unique, interface_file, person

N = f"{{{NS}}}"
SURNAME = "personnePhysique.demandeur.nom"
FIRST_NAME = "personnePhysique.demandeur.prenom"


def named(index: int, surname: str | None = None, first_name: str | None = None):
    form = person(index)
    applicant = form.household.applicant
    form.household.applicant = replace(applicant, surname=surname or applicant.surname,
                                       first_name=first_name or applicant.first_name)
    return form


def anomalies(reply) -> list[tuple[str, str]]:
    assert reply.status == 200, reply.body[:1000]
    answer = etree.fromstring(reply.field("fichierDemande"))
    return [(a.get("code"), a.get("propriete")) for a in answer.iter(f"{N}anomalie")]


def number_of(reply) -> str:
    return etree.fromstring(reply.field("fichierDemande")).findtext(f".//{N}numUnique")


def test_names_are_stored_in_nfc(hub):
    """``e`` followed by a combining acute accent is the one character ``é``, stored and answered so."""
    reply = get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", form=named(701, "Le\u0301vy", "Ame\u0301lie")))
    assert anomalies(reply) == []
    stored = services.get(hub.unit_of_work(), RegistrationNumber.parse(number_of(reply)), "DEMOB")
    assert (stored.form.household.applicant.surname, stored.form.household.applicant.first_name) == ("Lévy", "Amélie")


@pytest.mark.parametrize("spelling", [
    "M\u0430rtin",  # Cyrillic а
    "Mart\u026an",  # Latin letter small capital I
    "MART\u0399N",  # Greek capital iota
    "Ma\u0072\u0074in",  # plain Latin, as a control: the same name
])
def test_confusable_spellings_of_a_name_are_its_duplicates(hub, spelling):
    first = get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", form=named(702, "Martin", "Paule")))
    assert anomalies(first) == []
    again = get_num_unique(hub.client("DEMOC"), interface_file("DEMOC", form=named(702, spelling, "Paule")))
    assert anomalies(again) == [("NUU120", "forcerDoublon")]

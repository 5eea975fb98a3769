"""Hostile names through the SOAP channel: what may be a person's name, and whom it duplicates.

Names are normalised to NFC; control and invisible characters are refused, a name begins with a
letter (docs/REGISTER.md, "Content rules"); duplicate detection folds confusable letters of other
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


REFUSED_NAMES = {
    "spaces": "   ",
    "zero-width-space": "\u200b",
    "hyphen": "-",
    "lone-combining-accent": "\u0301",
    "accent-before-letter": "\u0301Martin",
    "tab": "Mar\ttin",
    "newline": "Martin\nDupont",
    "right-to-left-override": "\u202eMartin",
    "byte-order-mark": "\ufeffMartin",
    "no-break-space": "Le\u00a0Gall",
    "zero-width-joiner": "Mar\u200dtin",
}


@pytest.mark.parametrize("field, where", [("surname", SURNAME), ("first_name", FIRST_NAME)])
@pytest.mark.parametrize("case", sorted(REFUSED_NAMES))
def test_a_name_without_a_letter_or_with_hidden_characters_is_refused(hub, case, field, where):
    form = named(700, **{field: REFUSED_NAMES[case]})
    assert anomalies(get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", form=form))) == [("NUU103", where)]


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

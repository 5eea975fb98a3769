"""Shared management (GestionPartageeEVTImplService): the decree's event types, and an event's life."""

import pytest
from lxml import etree

from .files import event, events_file, today, types_file
from .operations import N, answered, codes, shared_management
from .schemas import EVENTS_FILE, TYPES_FILE

DECREE_TYPES = {"DEMPIECE", "DESIGCAL", "ODJCAL", "EXAMCAL", "VISITPROP", "VISITEFF", "DECISCAL", "REFUSDEM",
                "SIGNBAIL"}


def call(client, ledger, operation: str, file: bytes) -> etree._Element:
    data = answered(shared_management(client, operation, file), operation).field("fichierXmlRetour")
    assert data, f"{operation}: the answer carries no fichierXmlRetour"
    schema = TYPES_FILE if operation.startswith("listerTypes") else EVENTS_FILE
    return ledger.check(f"{operation}, fichierXmlRetour", schema, data)


def events_of(answer: etree._Element) -> list[dict[str, str]]:
    return [{etree.QName(child).localname: child.text for child in element if len(child) == 0}
            for element in answer.iter(f"{N}evenement")]


@pytest.mark.requirement("SNE-HUB-R180")
def test_the_national_event_types_are_the_decrees(client, target, ledger):
    answer = call(client, ledger, "listerTypesEvenementsNationaux", types_file(target.counter))
    assert codes(answer) == []
    listed = {element.findtext(f"{N}codeTypeEvenement") for element in answer.iter(f"{N}typeEvenement")}
    assert DECREE_TYPES <= listed, f"missing: {sorted(DECREE_TYPES - listed)}"


@pytest.mark.requirement("SNE-HUB-R181")
def test_an_event_is_added_listed_changed_and_deleted(client, target, ledger, register):
    number, _ = register()
    added = call(client, ledger, "ajouterEvenementDemande", events_file(target.counter, number, event(
        "DEMPIECE", today(), PIECES="Avis d'imposition")))
    assert codes(added) == []
    (created,) = events_of(added)
    event_id = created.get("idEvenement")
    assert event_id and created.get("natureModification") == "CRE"
    listed = events_of(call(client, ledger, "listerEvenementsDemande", events_file(target.counter, number)))
    assert [entry.get("idEvenement") for entry in listed] == [event_id]
    changed = events_of(call(client, ledger, "modifierEvenementDemande", events_file(target.counter, number, event(
        "DEMPIECE", today(), event_id, PIECES="Avis d'imposition et quittance"))))
    assert [entry.get("natureModification") for entry in changed] == ["MOD"]
    deleted = events_of(call(client, ledger, "supprimerEvenementDemande",
                             events_file(target.counter, number, event(event_id=event_id))))
    assert [entry.get("natureModification") for entry in deleted] == ["SUP"]

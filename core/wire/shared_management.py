"""Shared management files (InterfaceNuuGPEvenement, InterfaceNuuGPTypeEvenement): requests in, answers out.

The six operations of GestionPartageeEVTImplService each take one file and answer one, in the
same format (docs/INTERFACES.md, "Shared management"):

- events (``…EvenementDemande``): ``operation/numUnique`` names the application; ajouter, modifier
  and supprimer carry exactly one ``listeEvenements/evenement`` (modifier and supprimer name it by
  ``idEvenement``); the answer lists the event as the register now holds it (for a deletion, as it
  was, ``natureModification`` SUP), or, for lister, all of the application's events;
- types (``listerTypesEvenements…``): the answer lists the types; the territorial list needs
  ``operation/codeTerritoire``.

A file that breaks its schema is refused with a fault (FICHIER-XSD), like every file of the hub; a
refusal of the register is an answer whose ``listeAnomalies`` says why, with nothing changed.
"""

from __future__ import annotations

from datetime import date, datetime
from itertools import islice
from typing import Callable, Iterable

from lxml import etree

from core.domain.errors import (
    INVALID_VALUE,
    MISSING_VALUE,
    TOO_MANY_VALUES,
    Anomaly,
    InvalidEvent,
    RegisterError,
)
from core.domain.numbers import RegistrationNumber
from core.domain.shared_management import MAX_FEATURES, EventInput, EventType, Nature, SharedEvent
from core.service_layer import shared_management as service

from . import schemas
from .answers import answer_root, append_anomalies, check_sender, read_request, serialised, text
from .codec import q
from .processing import UnitOfWorkFactory

EVENTS_FILE, TYPES_FILE = schemas.EVENTS_FILE, schemas.EVENT_TYPES_FILE
ANSWER_TYPE = "RET"


# -- events ---------------------------------------------------------------------------------------


def add_answer(unit_of_work: UnitOfWorkFactory, counter: str, data: bytes, now: datetime) -> bytes:
    """ajouterEvenementDemande."""
    return _events_answer(data, counter, now, lambda number, root: [service.add_event(
        unit_of_work(), number, _content(_only_event(root)), counter, now)])


def change_answer(unit_of_work: UnitOfWorkFactory, counter: str, data: bytes, now: datetime) -> bytes:
    """modifierEvenementDemande."""
    def change(number: RegistrationNumber, root: etree._Element) -> list:
        element = _only_event(root)
        return [service.change_event(unit_of_work(), number, _event_id(element), _content(element), counter, now)]
    return _events_answer(data, counter, now, change)


def delete_answer(unit_of_work: UnitOfWorkFactory, counter: str, data: bytes, now: datetime) -> bytes:
    """supprimerEvenementDemande."""
    def delete(number: RegistrationNumber, root: etree._Element) -> list:
        event, event_type = service.delete_event(unit_of_work(), number, _event_id(_only_event(root)), counter, now)
        return [(event, event_type, Nature.DELETED)]
    return _events_answer(data, counter, now, delete)


def list_answer(unit_of_work: UnitOfWorkFactory, counter: str, data: bytes, now: datetime) -> bytes:
    """listerEvenementsDemande."""
    return _events_answer(data, counter, now, lambda number, root: service.list_events(
        unit_of_work(readonly=True), number, counter))


def _events_answer(data: bytes, counter: str, now: datetime,
                   act: Callable[[RegistrationNumber, etree._Element], list]) -> bytes:
    root = read_request(data, EVENTS_FILE)
    number_text = (root.findtext(f"{q('operation')}/{q('numUnique')}") or "").strip()
    listed, anomalies = [], []
    try:
        check_sender(root, counter)
        listed = act(RegistrationNumber.parse(number_text), root)
    except RegisterError as refusal:
        anomalies = refusal.anomalies
    answer = answer_root(counter, now, ANSWER_TYPE)
    etree.SubElement(etree.SubElement(answer, q("operation")), q("numUnique")).text = number_text
    if listed:
        events = etree.SubElement(answer, q("listeEvenements"))
        for entry in listed:
            events.append(event_element(*entry))
    append_anomalies(answer, anomalies)
    return serialised(answer)


def _only_event(root: etree._Element) -> etree._Element:
    events = list(islice(root.iterfind(f"{q('listeEvenements')}/{q('evenement')}"), 2))
    if not events:
        raise InvalidEvent([Anomaly(MISSING_VALUE, "listeEvenements porte l'événement de l'opération",
                                    "listeEvenements")])
    if len(events) > 1:
        raise InvalidEvent([Anomaly(TOO_MANY_VALUES, "Un seul événement par opération", "listeEvenements")])
    return events[0]


def _event_id(element: etree._Element) -> int:
    given = (element.findtext(q("idEvenement")) or "").strip()
    if not given:
        raise InvalidEvent([Anomaly(MISSING_VALUE, "idEvenement nomme l'événement à modifier ou supprimer",
                                    "idEvenement")])
    return int(given)  # the schema made it a non-negative xs:long


def _content(element: etree._Element) -> EventInput:
    type_code = (element.findtext(q("codeTypeEvenement")) or "").strip()
    if not type_code:
        raise InvalidEvent([Anomaly(MISSING_VALUE, "codeTypeEvenement est obligatoire", "codeTypeEvenement")])
    occurred = element.findtext(q("dateSurvenance"))
    path = f"{q('listeCaracteristiquesSpecifiques')}/{q('caracteristiqueSpecifique')}"
    features = list(islice(element.iterfind(path), MAX_FEATURES + 1))
    if len(features) > MAX_FEATURES:
        raise InvalidEvent([Anomaly(TOO_MANY_VALUES, f"{MAX_FEATURES} caractéristiques au plus par événement",
                                    "listeCaracteristiquesSpecifiques")])
    comment = element.findtext(q("commentaire"))
    return EventInput(
        type_code=type_code,
        occurred_on=_day(occurred),
        comment=comment.strip() or None if comment is not None else None,
        values=tuple(((feature.findtext(q("code")) or "").strip(),
                      (feature.findtext(q("valeurCaracteristiqueSpecifique")) or "").strip()) for feature in features),
    )


def _day(given: str | None) -> date | None:
    """An xs:date (its time zone says nothing about the day); None when absent."""
    if not given or not given.strip():
        return None
    try:
        return date.fromisoformat(given.strip()[:10])
    except ValueError:  # the schema takes years the register does not (before 1, after 9999)
        raise InvalidEvent([Anomaly(INVALID_VALUE, "dateSurvenance hors des dates prises en charge",
                                    "dateSurvenance")]) from None


def event_element(event: SharedEvent, event_type: EventType, nature: Nature | None = None) -> etree._Element:
    """An ``evenement`` as the register holds it, in the schema's order."""
    element = etree.Element(q("evenement"))
    text(element, "idEvenement", str(event.id))
    text(element, "codeTypeEvenement", event.type_code)
    text(element, "libelleTypeEvenement", event_type.label)
    text(element, "auteurCreation", event.created_by)
    text(element, "dateCreation", event.created_at.isoformat())
    if event.changed_at is not None:
        text(element, "auteurModification", event.changed_by)
        text(element, "dateModification", event.changed_at.isoformat())
    text(element, "natureModification", (nature or event.nature).value)
    text(element, "dateSurvenance", event.occurred_on.isoformat())
    if event.comment:
        text(element, "commentaire", event.comment)
    text(element, "reglementaire", _boolean(event_type.regulatory))
    if event.values:
        features = etree.SubElement(element, q("listeCaracteristiquesSpecifiques"))
        for code, value in event.values:
            feature = event_type.feature(code)
            entry = etree.SubElement(features, q("caracteristiqueSpecifique"))
            text(entry, "code", code)
            if feature is not None:
                text(entry, "libelle", feature.label)
                if feature.description:
                    text(entry, "texteDescriptif", feature.description[:500])
            text(entry, "valeurCaracteristiqueSpecifique", value)
    return element


# -- types ------------------------------------------------------------------------------------------


def national_types_answer(unit_of_work: UnitOfWorkFactory, counter: str, data: bytes, now: datetime) -> bytes:
    """listerTypesEvenementsNationaux."""
    def listed(root: etree._Element) -> Iterable[EventType]:
        return service.national_types(unit_of_work(readonly=True), counter)
    return _types_answer(data, counter, now, listed)


def territorial_types_answer(unit_of_work: UnitOfWorkFactory, counter: str, data: bytes, now: datetime) -> bytes:
    """listerTypesEvenementsTerritoriaux."""
    def listed(root: etree._Element) -> Iterable[EventType]:
        territory = (root.findtext(f"{q('operation')}/{q('codeTerritoire')}") or "").strip()
        if not territory:
            raise InvalidEvent([Anomaly(MISSING_VALUE, "operation/codeTerritoire nomme le territoire",
                                        "codeTerritoire")])
        return service.territorial_types(unit_of_work(readonly=True), counter, territory)
    return _types_answer(data, counter, now, listed)


def _types_answer(data: bytes, counter: str, now: datetime,
                  listed: Callable[[etree._Element], Iterable[EventType]]) -> bytes:
    root = read_request(data, TYPES_FILE)
    types, anomalies = [], []
    try:
        check_sender(root, counter)
        types = list(listed(root))
    except RegisterError as refusal:
        anomalies = refusal.anomalies
    answer = answer_root(counter, now, ANSWER_TYPE)
    territory = root.findtext(f"{q('operation')}/{q('codeTerritoire')}")
    if territory is not None:
        etree.SubElement(etree.SubElement(answer, q("operation")), q("codeTerritoire")).text = territory.strip()
    if types:
        listed_element = etree.SubElement(answer, q("listeTypesEvenements"))
        for event_type in types:
            listed_element.append(type_element(event_type))
    append_anomalies(answer, anomalies)
    return serialised(answer)


def type_element(event_type: EventType) -> etree._Element:
    """A ``typeEvenement``, in the schema's order."""
    element = etree.Element(q("typeEvenement"))
    text(element, "codeTypeEvenement", event_type.code)
    text(element, "texteDescriptifPGP", event_type.description_pgp)
    text(element, "texteDescriptifSNE", event_type.description_sne)
    text(element, "aPublierSurPGP", _boolean(event_type.published))
    text(element, "utilisableMultiplesAttributionsSousConditions",
          _boolean(event_type.usable_for_conditional_allocations))
    text(element, "utilisableRechercheInstruction", _boolean(event_type.usable_in_case_search))
    text(element, "reglementaire", _boolean(event_type.regulatory))
    if event_type.valid_from:
        text(element, "dateDebutValidite", event_type.valid_from.isoformat())
    if event_type.valid_until:
        text(element, "dateFinValidite", event_type.valid_until.isoformat())
    if event_type.territory:
        text(element, "codeTerritoire", event_type.territory)
    text(etree.SubElement(element, q("libelleTypeEvenement")), "libelle", event_type.label)
    if event_type.features:
        features = etree.SubElement(element, q("listeCaracteristiquesSpecifiques"))
        for feature in event_type.features:
            entry = etree.SubElement(features, q("caracteristiqueSpecifique"))
            text(entry, "code", feature.code)
            text(entry, "libelle", feature.label)
            text(entry, "typeCaracteristiqueSpecifique", feature.value_type.value)
            text(entry, "obligatoire", _boolean(feature.required))
            text(entry, "texteDescriptif", (feature.description or feature.label)[:500])
            text(entry, "aideALaSaisie", feature.input_help[:500])
    return element


def _boolean(value: bool) -> str:
    return "true" if value else "false"

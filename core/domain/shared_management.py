"""Shared management (gestion partagée): the events in the life of an application, and their types.

Decree 2015-523 (12 May 2015) lists what every actor of a territory must share about an
application, and the ALUR law makes those events visible to the applicant on the public portal
(PGP). The register keeps them per application; counters add, change, delete and list them through
GestionPartageeEVTImplService.

- **National types** are the decree's: :data:`NATIONAL_TYPES`, regulatory and published to the
  applicant, each with the specific characteristics its events carry (a CAL's date, a CAL
  decision's outcome, the applicant's reasons for refusing…).
- **Territorial types** are defined by a territory's manager (``sne-hub events types …``): never
  regulatory, published to the applicant only when the manager says so.
- **Who may do what** is one table, :data:`ADD_RIGHTS` (which counter types may add events of a
  national type; territorial types are open to every counter of their territory), and one rule for
  changes and deletions, :func:`authorize_event_change` (the counter that recorded the event, or the
  territory's manager). The application's territory is checked by the caller, as for any read.

Rules the regulation does not state are decisions (docs/REGISTER.md, "Shared management").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Iterable

from .codes import CounterType
from .errors import (
    INVALID_FEATURE,
    INVALID_VALUE,
    MISSING_VALUE,
    Anomaly,
    EventChangeRefused,
    EventTypeConflict,
    InvalidEvent,
    UnknownEventType,
)

EVENT_CODE = re.compile(r"[0-9A-Za-z]{1,10}")  # t_code10 of the reference schemas
MAX_COMMENT = 500
MAX_VALUE = 100
MAX_FEATURES = 20  # characteristics of one type (and so of one event)
MAX_LABEL = 100
MAX_DESCRIPTION = 500
MAX_EVENTS = 1_000  # events of one application: bounds what listerEvenementsDemande answers (docs/REGISTER.md)


class ValueType(StrEnum):
    """How a specific characteristic's value is written (``typeCaracteristiqueSpecifique``)."""

    DATE = "DAT"  # AAAA-MM-JJ
    TEXT = "TXT"  # up to 100 characters
    NUMBER = "NUM"  # a whole number, 0 or more
    BOOLEAN = "BOO"  # true or false
    CHOICE = "LST"  # one of the codes listed in the characteristic's ``choices``


@dataclass(frozen=True)
class Feature:
    """A specific characteristic the events of a type carry (``caracteristiqueSpecifique``)."""

    code: str
    label: str
    value_type: ValueType
    required: bool = False
    description: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (code, label) of a CHOICE characteristic

    @property
    def input_help(self) -> str:
        """``aideALaSaisie``: how to write the value, with the codes of a choice."""
        if self.value_type is ValueType.CHOICE:
            return "Un code parmi : " + ", ".join(f"{code} ({label})" for code, label in self.choices)
        return {ValueType.DATE: "Date AAAA-MM-JJ", ValueType.TEXT: f"Texte, {MAX_VALUE} caractères au plus",
                ValueType.NUMBER: "Nombre entier positif ou nul", ValueType.BOOLEAN: "true ou false"}[self.value_type]

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not a valid value of this characteristic (None when it is)."""
        if len(value) > MAX_VALUE:
            return f"{MAX_VALUE} caractères au plus"
        if self.value_type is ValueType.DATE:
            try:
                date.fromisoformat(value)
            except ValueError:
                return "une date AAAA-MM-JJ est attendue"
            return None if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else "une date AAAA-MM-JJ est attendue"
        if self.value_type is ValueType.NUMBER:
            return None if re.fullmatch(r"\d{1,9}", value) else "un nombre entier positif ou nul est attendu"
        if self.value_type is ValueType.BOOLEAN:
            return None if value in ("true", "false") else "true ou false est attendu"
        if self.value_type is ValueType.CHOICE:
            return None if value in dict(self.choices) else f"code inconnu : {self.input_help}"
        return None if value.strip() else "une valeur non vide est attendue"


@dataclass(frozen=True)
class EventType:
    """A type of event: the decree's (``territory`` None) or a territory's."""

    code: str
    label: str
    description_sne: str
    description_pgp: str
    regulatory: bool
    published: bool  # aPublierSurPGP: the applicant sees events of this type
    usable_for_conditional_allocations: bool = False  # utilisableMultiplesAttributionsSousConditions
    usable_in_case_search: bool = False  # utilisableRechercheInstruction
    features: tuple[Feature, ...] = ()
    territory: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None

    @property
    def national(self) -> bool:
        return self.territory is None

    def valid_on(self, day: date) -> bool:
        started = self.valid_from is None or self.valid_from <= day
        return started and (self.valid_until is None or day <= self.valid_until)

    def feature(self, code: str) -> Feature | None:
        return next((feature for feature in self.features if feature.code == code), None)


def _choice(*pairs: str) -> tuple[tuple[str, str], ...]:
    return tuple((pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2))


_DWELLING = Feature("LOGEMENT", "Logement", ValueType.TEXT, description="Référence du logement chez le bailleur")
_CAL_DATE = Feature("DATECAL", "Date de la CAL", ValueType.DATE, required=True,
                    description="Date de la séance de la commission d'attribution")
_LANDLORD = Feature("BAILLEUR", "Bailleur", ValueType.TEXT, description="Bailleur du logement (nom ou code guichet)")

# The outcomes of a CAL decision (article R. 441-3 of the CCH, as amended by the decree).
CAL_DECISIONS = _choice(
    "ATT", "Attribution",
    "ATTRANG", "Attribution sous réserve de refus des candidats précédents",
    "ATTCOND", "Attribution sous condition suspensive",
    "NONATT", "Non-attribution",
    "IRR", "Irrecevabilité",
)
CONDITIONAL_DECISION = "ATTRANG"
REFUSAL_REASONS = _choice(
    "LOCALIS", "Localisation",
    "TYPOLOG", "Typologie ou surface",
    "LOYER", "Loyer ou charges",
    "ETAT", "État du logement",
    "ENVIRON", "Environnement ou quartier",
    "ACCESS", "Accessibilité",
    "SITUAT", "Changement de situation",
    "AUTRE", "Autre motif",
)
PRIORITIES = _choice(
    "DALO", "Reconnu prioritaire DALO",
    "ACCORD", "Accord collectif",
    "LABEL", "Labellisation par une instance locale",
)


def _national(code: str, label: str, sne: str, pgp: str, *features: Feature, conditional: bool = False) -> EventType:
    return EventType(code, label, sne, pgp, regulatory=True, published=True,
                     usable_for_conditional_allocations=conditional, usable_in_case_search=True, features=features)


# The information decree 2015-523 makes shared, as the ministry's presentation lists it: the events
# of the processing of an application, then rectifications, priority and reservation quotas.
NATIONAL_TYPES: tuple[EventType, ...] = (
    _national("DEMPIECE", "Demande d'informations ou de pièces",
              "Demande d'informations ou de pièces justificatives adressée au demandeur",
              "Des informations ou des pièces justificatives vous ont été demandées",
              Feature("PIECES", "Informations ou pièces demandées", ValueType.TEXT, required=True),
              Feature("DATELIM", "Date limite de réponse", ValueType.DATE)),
    _national("DESIGCAL", "Désignation pour une CAL",
              "Désignation du demandeur en vue de la présentation de sa demande à une CAL",
              "Votre demande a été désignée pour être présentée à une commission d'attribution",
              _CAL_DATE, _DWELLING, _LANDLORD),
    _national("ODJCAL", "Inscription à l'ordre du jour d'une CAL",
              "Inscription de la demande à l'ordre du jour d'une CAL",
              "Votre demande est inscrite à l'ordre du jour d'une commission d'attribution",
              _CAL_DATE, _DWELLING),
    _national("EXAMCAL", "Examen par une CAL", "Examen de la demande par la CAL",
              "Votre demande a été examinée par une commission d'attribution", _CAL_DATE, _DWELLING),
    _national("VISITPROP", "Visite de logement proposée", "Visite d'un logement proposée au demandeur",
              "Une visite de logement vous a été proposée",
              Feature("DATEVISIT", "Date de la visite proposée", ValueType.DATE), _DWELLING),
    _national("VISITEFF", "Visite de logement effectuée", "Visite d'un logement effectuée par le demandeur",
              "Vous avez visité un logement",
              Feature("DATEVISIT", "Date de la visite", ValueType.DATE, required=True), _DWELLING),
    _national("DECISCAL", "Décision de la CAL", "Décision de la CAL sur la demande",
              "La commission d'attribution a pris une décision sur votre demande",
              _CAL_DATE,
              Feature("DECISION", "Décision", ValueType.CHOICE, required=True, choices=CAL_DECISIONS),
              Feature("RANG", "Rang", ValueType.NUMBER,
                      description="Rang du demandeur pour une attribution sous réserve de refus des candidats "
                                  "précédents"),
              Feature("MOTIF", "Motif", ValueType.TEXT, description="Motif d'une non-attribution, d'une condition"),
              _DWELLING, conditional=True),
    _national("REFUSDEM", "Refus du demandeur", "Refus par le demandeur du logement attribué, avec ses motifs",
              "Vous avez refusé le logement proposé",
              Feature("MOTIFREF", "Motif du refus", ValueType.CHOICE, required=True, choices=REFUSAL_REASONS),
              Feature("PRECISION", "Précision", ValueType.TEXT), _DWELLING),
    _national("SIGNBAIL", "Signature du bail", "Signature du bail par le demandeur",
              "Vous avez signé le bail de votre logement",
              Feature("DATEEFFET", "Date d'effet du bail", ValueType.DATE), _DWELLING, _LANDLORD, conditional=True),
    _national("RECTIF", "Rectification de la demande",
              "Rectification de la demande par un intervenant habilité, au vu des pièces justificatives",
              "Votre demande a été rectifiée au vu de vos pièces justificatives",
              Feature("OBJET", "Objet de la rectification", ValueType.TEXT, required=True)),
    _national("PRIORITE", "Caractère prioritaire", "Caractère prioritaire de la demande",
              "Votre demande a été reconnue prioritaire",
              Feature("PRIORITE", "Priorité", ValueType.CHOICE, required=True, choices=PRIORITIES)),
    _national("CONTINGENT", "Contingent de réservation",
              "Contingent de réservation auquel le demandeur est éligible",
              "Vous êtes éligible à un contingent de réservation",
              Feature("CONTINGENT", "Contingent", ValueType.TEXT, required=True,
                      description="Code du contingent (liste typeReservataire) ou son nom")),
)
NATIONAL_BY_CODE = {event_type.code: event_type for event_type in NATIONAL_TYPES}


# -- allocations subject to refusal by earlier candidates (estMultiplesAttributionsSousConditions) ---

DECISION_TYPE, LEASE_TYPE = "DECISCAL", "SIGNBAIL"
ALLOCATION_TYPES = (DECISION_TYPE, LEASE_TYPE)  # the events the indicator is computed from


def unsuccessful_conditional_allocations(events: list[SharedEvent]) -> set[str]:
    """The applications (numbers) allocated a dwelling "subject to refusal by earlier candidates"
    that finally went to someone else (decree 2015-523; docs/REGISTER.md, "Indicators").

    A CAL decision ``ATTRANG`` on a dwelling counts as finally not allocated once a lease of that
    same dwelling is signed by another application, on or after the decision's date. The dwelling is
    the landlord that recorded the event (CAL decisions and leases are recorded by landlords) and its
    ``LOGEMENT`` reference, compared without case or spaces; a decision that names no dwelling
    cannot be followed and flags nothing. ``events``: a territory's CAL decisions and leases.
    """
    leases: dict[tuple[str, str], list[tuple[str, date]]] = {}
    for event in events:
        dwelling = _dwelling(event)
        if event.type_code == LEASE_TYPE and dwelling:
            leases.setdefault(dwelling, []).append((event.number, event.occurred_on))
    return {event.number for event in events
            if event.type_code == DECISION_TYPE and _value(event, "DECISION") == CONDITIONAL_DECISION
            and any(number != event.number and signed >= event.occurred_on
                    for number, signed in leases.get(_dwelling(event) or ("", ""), ()))}


def _value(event: SharedEvent, code: str) -> str | None:
    return next((value for feature, value in event.values if feature == code), None)


def _dwelling(event: SharedEvent) -> tuple[str, str] | None:
    reference = "".join((_value(event, "LOGEMENT") or "").split()).casefold()
    return (event.created_by, reference) if reference else None

_ALL = frozenset(CounterType)
_RESERVATION_HOLDERS = frozenset(CounterType) - {CounterType.TERRITORIAL_MANAGER}
_LANDLORDS = frozenset({CounterType.LANDLORD})

# Which counter types may ADD events of each national type, within their own territory. One table,
# tested row by row (tests/unit/core/test_shared_management.py); docs/REGISTER.md says why.
# - The CAL is the landlord's commission: its agenda, examination, decision and the lease it leads
#   to are the landlord's to record. Designating candidates to a CAL is what reservation holders
#   (communes, EPCI, the State, others) and landlords do.
# - Priority (DALO, collective agreements, local labelling) is decided by the State, the manager,
#   or the inter-municipal body's local committee.
# - Everything else belongs to whoever deals with the household: every counter of the territory.
ADD_RIGHTS: dict[str, frozenset[CounterType]] = {
    "DEMPIECE": _ALL,
    "DESIGCAL": _RESERVATION_HOLDERS,
    "ODJCAL": _LANDLORDS,
    "EXAMCAL": _LANDLORDS,
    "VISITPROP": _RESERVATION_HOLDERS,
    "VISITEFF": _RESERVATION_HOLDERS,
    "DECISCAL": _LANDLORDS,
    "REFUSDEM": _RESERVATION_HOLDERS,
    "SIGNBAIL": _LANDLORDS,
    "RECTIF": _ALL,
    "PRIORITE": frozenset({CounterType.STATE, CounterType.TERRITORIAL_MANAGER, CounterType.INTERMUNICIPAL_BODY}),
    "CONTINGENT": _RESERVATION_HOLDERS,
}
TERRITORIAL_ADD_RIGHTS = _ALL  # a territory's own types are for all its counters


class Nature(StrEnum):
    """``natureModification``: what last happened to an event."""

    CREATED = "CRE"
    CHANGED = "MOD"
    DELETED = "SUP"


@dataclass(frozen=True)
class EventInput:
    """What a counter sends to record or change an event."""

    type_code: str
    occurred_on: date | None
    comment: str | None = None
    values: tuple[tuple[str, str], ...] = ()  # (characteristic code, value)


@dataclass(frozen=True)
class SharedEvent:
    """An event recorded on an application. ``id`` is the register's (``idEvenement``)."""

    id: int | None
    number: str
    territory: str
    type_code: str
    occurred_on: date
    created_at: datetime
    created_by: str
    comment: str | None = None
    values: tuple[tuple[str, str], ...] = ()
    changed_at: datetime | None = None
    changed_by: str | None = None

    @property
    def nature(self) -> Nature:
        return Nature.CHANGED if self.changed_at is not None else Nature.CREATED

    def changed(self, content: EventInput, by: str, at: datetime) -> "SharedEvent":
        return replace(self, occurred_on=content.occurred_on, comment=content.comment, values=content.values,
                       changed_at=at, changed_by=by)


def authorize_event_add(counter_type: CounterType, event_type: EventType) -> None:
    """Refuse unless a counter of ``counter_type`` may record events of ``event_type``."""
    allowed = TERRITORIAL_ADD_RIGHTS if not event_type.national else ADD_RIGHTS[event_type.code]
    if counter_type not in allowed:
        raise EventChangeRefused(f"Un guichet de type {counter_type.label} n'inscrit pas d'événement "
                                 f"{event_type.code} ({event_type.label})", "codeTypeEvenement")


def authorize_event_change(counter_code: str, counter_type: CounterType, event: SharedEvent) -> None:
    """Refuse unless the counter may change or delete ``event``: the counter that recorded it, or the
    territory's manager (data quality). Territory is checked with the application."""
    if counter_code != event.created_by and counter_type is not CounterType.TERRITORIAL_MANAGER:
        raise EventChangeRefused(f"L'événement {event.id} a été inscrit par le guichet {event.created_by} : lui seul "
                                 "ou le gestionnaire territorial le modifie ou le supprime", "idEvenement")


def check_content(event_type: EventType, content: EventInput, today: date, filed_on: date) -> None:
    """Every problem of ``content`` for ``event_type`` at once: the date it happened (known, not in
    the future, not before the application was filed), the comment, each characteristic (known to
    the type, once, a valid value) and the type's required ones."""
    anomalies = []
    if content.occurred_on is None:
        anomalies.append(Anomaly(MISSING_VALUE, "La date de survenance de l'événement est obligatoire",
                                 "dateSurvenance"))
    elif content.occurred_on > today:
        anomalies.append(Anomaly(INVALID_VALUE, "Un événement inscrit est survenu : sa date n'est pas dans le futur",
                                 "dateSurvenance"))
    elif content.occurred_on < filed_on:
        anomalies.append(Anomaly(INVALID_VALUE, f"Date antérieure au dépôt de la demande ({filed_on:%d/%m/%Y})",
                                 "dateSurvenance"))
    if content.comment is not None and len(content.comment) > MAX_COMMENT:
        anomalies.append(Anomaly(INVALID_VALUE, f"Commentaire de {MAX_COMMENT} caractères au plus", "commentaire"))
    seen = set()
    for code, value in content.values:
        feature = event_type.feature(code)
        path = f"listeCaracteristiquesSpecifiques.{code}"
        if feature is None:
            anomalies.append(Anomaly(INVALID_FEATURE, f"Le type {event_type.code} n'a pas de caractéristique {code}",
                                     path))
        elif code in seen:
            anomalies.append(Anomaly(INVALID_FEATURE, f"Caractéristique {code} donnée deux fois", path))
        elif (problem := feature.problem(value)) is not None:
            anomalies.append(Anomaly(INVALID_FEATURE, f"{feature.label} : {problem}", path))
        seen.add(code)
    for feature in event_type.features:
        if feature.required and feature.code not in seen:
            anomalies.append(Anomaly(MISSING_VALUE, f"Caractéristique obligatoire pour {event_type.code} : "
                                                    f"{feature.code} ({feature.label})",
                                     f"listeCaracteristiquesSpecifiques.{feature.code}"))
    if anomalies:
        raise InvalidEvent(anomalies)



def usable_type(code: str, territorial: Iterable[EventType], today: date) -> EventType:
    """The type ``code`` names for a new event: national first, then the territory's, valid today."""
    event_type = find_type(code, territorial)
    if not event_type.valid_on(today):
        raise UnknownEventType(f"Le type d'événement {code} n'est pas valide à cette date", "codeTypeEvenement")
    return event_type


def find_type(code: str, territorial: Iterable[EventType]) -> EventType:
    """The type ``code`` names, whatever its validity (an existing event keeps its type)."""
    found = NATIONAL_BY_CODE.get(code) or next((t for t in territorial if t.code == code), None)
    if found is None:
        raise UnknownEventType(f"Type d'événement inconnu : {code}", "codeTypeEvenement")
    return found


def territorial_type(territory: str, code: str, label: str, description_sne: str, description_pgp: str, *,
                     published: bool = False, usable_for_conditional_allocations: bool = False,
                     usable_in_case_search: bool = False, features: Iterable[Feature] = (),
                     valid_from: date | None = None, valid_until: date | None = None) -> EventType:
    """A territory's own type, checked: never regulatory (the decree's types are the national ones)."""
    features = tuple(features)
    problems = []
    if not EVENT_CODE.fullmatch(code or ""):
        problems.append(Anomaly(INVALID_VALUE, "Code de type : 1 à 10 lettres ou chiffres", "code"))
    elif code in NATIONAL_BY_CODE:
        problems.append(Anomaly(INVALID_VALUE, f"{code} est un type national", "code"))
    for name, text, bound in (("label", label, MAX_LABEL), ("description_sne", description_sne, MAX_DESCRIPTION),
                              ("description_pgp", description_pgp, MAX_DESCRIPTION)):
        if not (text or "").strip() or len(text) > bound:
            problems.append(Anomaly(INVALID_VALUE, f"{name} : 1 à {bound} caractères", name))
    if valid_from and valid_until and valid_until < valid_from:
        problems.append(Anomaly(INVALID_VALUE, "Fin de validité avant son début", "valid_until"))
    if len(features) > MAX_FEATURES:
        problems.append(Anomaly(INVALID_VALUE, f"{MAX_FEATURES} caractéristiques au plus", "features"))
    codes = [feature.code for feature in features]
    for feature in features:
        if not EVENT_CODE.fullmatch(feature.code) or codes.count(feature.code) > 1:
            problems.append(Anomaly(INVALID_VALUE, f"Caractéristique {feature.code!r} : code de 1 à 10 lettres ou "
                                                   "chiffres, une seule fois", "features"))
        if not feature.label.strip() or len(feature.label) > MAX_LABEL:
            problems.append(Anomaly(INVALID_VALUE, f"Caractéristique {feature.code} : libellé de 1 à {MAX_LABEL} "
                                                   "caractères", "features"))
        if feature.value_type is ValueType.CHOICE and not feature.choices:
            problems.append(Anomaly(INVALID_VALUE, f"Caractéristique {feature.code} : une liste a des codes",
                                    "features"))
    if problems:
        raise EventTypeConflict(problems)
    return EventType(code, label, description_sne, description_pgp, regulatory=False, published=published,
                     usable_for_conditional_allocations=usable_for_conditional_allocations,
                     usable_in_case_search=usable_in_case_search, features=features, territory=territory,
                     valid_from=valid_from, valid_until=valid_until)


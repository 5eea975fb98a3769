"""Content rules of an application form, checked before any registration or change.

The channels validate each file against the XSD first, which settles structure and sizes of single
values. These are the rules the XSD cannot express: code lists, the wished communes and the
territory, consistency between fields, and bounds on repeated groups. Every anomaly found is
reported at once, with the wire path of the property concerned.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from enum import Enum
from functools import cache
from typing import Any, Callable, Iterator, TypeVar

from .codes import RequestMotive
from .errors import (
    INCONSISTENT_VALUES,
    INVALID_VALUE,
    MISSING_VALUE,
    TOO_MANY_VALUES,
    UNKNOWN_CODE,
    Anomaly,
    InvalidContent,
    OutsideTerritory,
)
from .form import Address, ApplicationForm
from .identity import name_problem
from .referential import Territory
from .vocabulary import compiled, is_model, lists_over, text_carriers, unknown_codes, wire_path

T = TypeVar("T")

MAX_REPEATED = 30  # any repeated group: wished communes, dependants, resources… (docs/REGISTER.md, why 30)
OLDEST_BIRTH_DATE = date(1900, 1, 1)


def check_codes(instance: Any, model_prefix: str = "") -> list[Anomaly]:
    """An anomaly for each code that is not in its published list."""
    return [
        Anomaly(UNKNOWN_CODE, f"Code inconnu « {found.value} » ({_list_name(found.codes)})",
                model_prefix + wire_path(type(instance), found.python_path))
        for found in unknown_codes(instance)
    ]


def normalized(instance: T) -> T:
    """``instance`` with every text in Unicode NFC: ``é`` sent as ``e`` and a combining accent is
    stored, compared and searched as the one character it is. Already normalised parts (nearly
    every form) are returned as they are, not copied."""
    return _text_walk(type(instance))(instance)


@cache
def _text_walk(model: type) -> Callable[[Any], Any]:
    """``walk(instance)`` for one ``model``: :func:`normalized`, written for that class (as
    core.domain.vocabulary writes the walks over codes and lists). Only the fields that hold text,
    or a model holding some, are visited (numbers, booleans and dates hold none)."""
    lines = ["def walk(instance):", "    changes = {}"]
    for wire_field in text_carriers(model):
        attribute = wire_field.attribute
        lines.append(f"    value = instance.{attribute}")
        if wire_field.is_list:
            lines += ["    if value:", "        items = [normalized_value(item) for item in value]",
                      "        if any(new is not old for new, old in zip(items, value)):",
                      f"            changes[{attribute!r}] = items"]
        elif wire_field.element_type is str:
            lines += ["    if isinstance(value, str) and not is_normalized('NFC', value):",
                      f"        changes[{attribute!r}] = normalize('NFC', value)"]
        else:
            lines += ["    if value is not None:", "        new = walk_of(type(value))(value)",
                      "        if new is not value:", f"            changes[{attribute!r}] = new"]
    lines.append("    return replace(instance, **changes) if changes else instance")
    names = {"normalized_value": _normalized_value, "replace": replace, "walk_of": _text_walk,
             "is_normalized": unicodedata.is_normalized, "normalize": unicodedata.normalize}
    return compiled(lines, names, f"text walk {model.__name__}")


def _normalized_value(value: Any) -> Any:
    if isinstance(value, str):
        return value if unicodedata.is_normalized("NFC", value) else unicodedata.normalize("NFC", value)
    return normalized(value) if is_model(type(value)) else value


@dataclass(frozen=True)
class TerritoryFreeAnomalies:
    """What is wrong with a form whatever its territory, split where the territory's own check
    comes in the list (the order anomalies are reported in)."""

    before: list[Anomaly]
    after: list[Anomaly]


def territory_free_anomalies(form: ApplicationForm, today: date) -> TerritoryFreeAnomalies:
    """Most of :func:`validate_form`'s work, which a registration does before its transaction
    opens (SQLite's write lock is held from its start): all but the wished communes' territory."""
    before = check_codes(form) + _bounded_lists(form) + list(_holder(form, today))
    return TerritoryFreeAnomalies(before, list(_motives(form)))


def validate_form(form: ApplicationForm, territory: Territory, today: date,
                  checked: TerritoryFreeAnomalies | None = None) -> None:
    """Raise :class:`InvalidContent` listing everything wrong with ``form``; ``checked``: what
    :func:`territory_free_anomalies` found for it on ``today``, computed ahead."""
    checked = checked if checked is not None else territory_free_anomalies(form, today)
    anomalies = checked.before + list(_housing_sought(form, territory)) + checked.after
    if anomalies:
        raise InvalidContent(anomalies)


def _list_name(checker: type) -> str:
    return checker.__name__ if issubclass(checker, Enum) else checker.label


def _at(python_path: str) -> str:
    """The wire path of a form property, for anomalies."""
    return wire_path(ApplicationForm, python_path)


def _bounded_lists(form: ApplicationForm) -> list[Anomaly]:
    return [Anomaly(TOO_MANY_VALUES, f"Au plus {MAX_REPEATED} éléments", _at(python_path))
            for python_path in lists_over(MAX_REPEATED, form)]


def _holder(form: ApplicationForm, today: date) -> Iterator[Anomaly]:
    if (form.association is None) == (form.household is None):
        yield Anomaly(INCONSISTENT_VALUES, "La demande porte soit sur une association, soit sur une personne",
                      _at("household"))
        return
    if form.association is not None:
        if not form.association.name:
            yield Anomaly(MISSING_VALUE, "Nom de l'association obligatoire", _at("association.name"))
        yield from _address(form.association.postal_address, _at("association.postal_address"))
        return
    household = form.household
    applicant = household.applicant
    if applicant is None:
        yield Anomaly(MISSING_VALUE, "Le demandeur est obligatoire", _at("household.applicant"))
        return
    yield from _person(applicant, _at("household.applicant"), today)
    if applicant.sms_notifications and not applicant.mobile_phone:
        yield Anomaly(INCONSISTENT_VALUES, "Notification par SMS sans numéro de portable",
                      _at("household.applicant.sms_notifications"))
    yield from _address(applicant.postal_address, _at("household.applicant.postal_address"))
    yield from _address(household.dwelling_address, _at("household.dwelling_address"))
    for index, co_applicant in enumerate(household.co_applicants):
        yield from _person(co_applicant, _at(f"household.co_applicants[{index}]"), today)
    for index, dependant in enumerate(household.dependants):
        yield from _names(dependant, ("surname", "first_name"), _at(f"household.dependants[{index}]"))
        if dependant.birth_date and not OLDEST_BIRTH_DATE <= dependant.birth_date <= today:
            yield Anomaly(INVALID_VALUE, "Date de naissance hors limites",
                          _at(f"household.dependants[{index}].birth_date"))
    if household.current_housing is None:
        yield Anomaly(MISSING_VALUE, "Le logement actuel est obligatoire", _at("household.current_housing"))


def _person(person: Any, path: str, today: date) -> Iterator[Anomaly]:
    for attribute in ("civility", "surname", "first_name", "birth_date", "nationality", "family_situation"):
        if not getattr(person, attribute):
            yield Anomaly(MISSING_VALUE, "Valeur obligatoire", f"{path}.{wire_path(type(person), attribute)}")
    yield from _names(person, ("surname", "birth_name", "first_name"), path)
    if person.birth_date and not OLDEST_BIRTH_DATE <= person.birth_date <= today:
        yield Anomaly(INVALID_VALUE, "Date de naissance hors limites",
                      f"{path}.{wire_path(type(person), 'birth_date')}")


def _names(person: Any, attributes: tuple[str, ...], path: str) -> Iterator[Anomaly]:
    for attribute in attributes:
        name = getattr(person, attribute)
        problem = name_problem(name) if name else None
        if problem:
            yield Anomaly(INVALID_VALUE, problem, f"{path}.{wire_path(type(person), attribute)}")


def _address(address: Address | None, path: str) -> Iterator[Anomaly]:
    if address is None:
        return
    french = address.postal_code is not None or address.commune is not None
    foreign = any(v is not None for v in (address.foreign_postal_code, address.foreign_commune, address.country))
    if french and foreign:
        yield Anomaly(INCONSISTENT_VALUES, "Adresse à la fois française et étrangère", path)
    elif address.abroad and french:
        yield Anomaly(INCONSISTENT_VALUES, "Adresse marquée à l'étranger avec une localité française",
                      f"{path}.{wire_path(Address, 'abroad')}")
    elif address.abroad is False and foreign:
        yield Anomaly(INCONSISTENT_VALUES, "Adresse en France avec une localité étrangère",
                      f"{path}.{wire_path(Address, 'abroad')}")


def _housing_sought(form: ApplicationForm, territory: Territory) -> Iterator[Anomaly]:
    sought = form.housing_sought
    if sought is None:
        yield Anomaly(MISSING_VALUE, "Le logement recherché est obligatoire", _at("housing_sought"))
        return
    if not sought.housing_types:
        yield Anomaly(MISSING_VALUE, "Au moins un type de logement", _at("housing_sought.housing_types"))
    communes = [location.commune for location in sought.wished_locations]
    if not communes:
        yield Anomaly(MISSING_VALUE, "Au moins une commune souhaitée", _at("housing_sought.wished_locations"))
        return
    seen: set[str] = set()
    for index, commune in enumerate(communes):
        path = _at(f"housing_sought.wished_locations[{index}].commune")
        if commune is None:
            yield Anomaly(MISSING_VALUE, "Code commune obligatoire", path)
        elif commune in seen:
            yield Anomaly(INCONSISTENT_VALUES, f"Commune {commune} souhaitée deux fois", path)
        seen.add(commune)
    first = communes[0]
    if first and not territory.covers(first):
        yield Anomaly(
            OutsideTerritory.code,
            f"La première commune souhaitée ({first}) n'appartient pas au territoire {territory.code}",
            _at("housing_sought.wished_locations[0].commune"),
        )


def _motives(form: ApplicationForm) -> Iterator[Anomaly]:
    if form.motives is None or not form.motives.motives:
        yield Anomaly(MISSING_VALUE, "Au moins un motif de demande", _at("motives.motives"))
        return
    if RequestMotive.OTHER.value in form.motives.motives and not form.motives.other_motive:
        yield Anomaly(MISSING_VALUE, "Préciser l'autre motif", _at("motives.other_motive"))

"""Shared management's rules: the rights table row by row, against the specification written out
here, and the content rules of events."""

from datetime import date, datetime

import pytest

from core.domain.calendar import PARIS
from core.domain.codes import CounterType
from core.domain.errors import EventChangeRefused, EventTypeConflict, InvalidEvent, UnknownEventType
from core.domain.shared_management import (
    ADD_RIGHTS,
    ALLOCATION_TYPES,
    NATIONAL_TYPES,
    EventInput,
    Feature,
    SharedEvent,
    ValueType,
    authorize_event_add,
    authorize_event_change,
    check_content,
    find_type,
    territorial_type,
    unsuccessful_conditional_allocations,
    usable_type,
)

ALL = {"bailleur", "commune", "EPCI", "Etat", "autre", "gestionnaire"}
RESERVATION_HOLDERS = ALL - {"gestionnaire"}

# The specification (docs/REGISTER.md, "Shared management"): who may ADD events of each national type.
EXPECTED_ADD = {
    "DEMPIECE": ALL,
    "DESIGCAL": RESERVATION_HOLDERS,
    "ODJCAL": {"bailleur"},
    "EXAMCAL": {"bailleur"},
    "VISITPROP": RESERVATION_HOLDERS,
    "VISITEFF": RESERVATION_HOLDERS,
    "DECISCAL": {"bailleur"},
    "REFUSDEM": RESERVATION_HOLDERS,
    "SIGNBAIL": {"bailleur"},
    "RECTIF": ALL,
    "PRIORITE": {"Etat", "gestionnaire", "EPCI"},
    "CONTINGENT": RESERVATION_HOLDERS,
}
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)
TODAY = NOW.date()
FILED = date(2026, 1, 15)
LOCAL = territorial_type("057", "COMLOC", "Commission locale", "Passage en commission locale",
                         "Votre demande a été étudiée", features=[Feature("AVIS", "Avis", ValueType.BOOLEAN, True)])


def test_the_specification_covers_every_national_type():
    assert set(EXPECTED_ADD) == {event_type.code for event_type in NATIONAL_TYPES} == set(ADD_RIGHTS)


@pytest.mark.parametrize("code", sorted(EXPECTED_ADD))
@pytest.mark.parametrize("kind", list(CounterType))
def test_who_adds_events_of_each_national_type(code, kind):
    event_type = find_type(code, [])
    if kind.value in EXPECTED_ADD[code]:
        authorize_event_add(kind, event_type)
    else:
        with pytest.raises(EventChangeRefused):
            authorize_event_add(kind, event_type)


@pytest.mark.parametrize("kind", list(CounterType))
def test_every_counter_of_the_territory_adds_events_of_its_own_types(kind):
    authorize_event_add(kind, LOCAL)


AUTHOR = "DEMOB"


def recorded(by: str = AUTHOR) -> SharedEvent:
    return SharedEvent(7, "0571226000001DEMOC", "057", "DEMPIECE", TODAY, NOW, by, values=(("PIECES", "x"),))


# (who, their type, may they change or delete the event DEMOB recorded?)
CHANGE_ROWS = [
    ("DEMOB", CounterType.LANDLORD, True),  # the author
    ("BAIL2", CounterType.LANDLORD, False),  # another counter of the same type
    ("DEMOC", CounterType.MUNICIPALITY, False),
    ("DEMOE", CounterType.INTERMUNICIPAL_BODY, False),
    ("ETAT1", CounterType.STATE, False),
    ("AUTR1", CounterType.OTHER_RESERVATION_HOLDER, False),
    ("GEST1", CounterType.TERRITORIAL_MANAGER, True),  # data quality
]


@pytest.mark.parametrize("code, kind, allowed", CHANGE_ROWS)
def test_who_changes_or_deletes_an_event(code, kind, allowed):
    if allowed:
        authorize_event_change(code, kind, recorded())
    else:
        with pytest.raises(EventChangeRefused):
            authorize_event_change(code, kind, recorded())


def test_national_types_are_regulatory_published_and_territorial_ones_are_not_regulatory():
    assert all(t.regulatory and t.published and t.national for t in NATIONAL_TYPES)
    assert not LOCAL.regulatory and not LOCAL.published and LOCAL.territory == "057"
    published = territorial_type("057", "PUB", "Publié", "SNE", "PGP", published=True)
    assert published.published and not published.regulatory


def problems(code: str, occurred: date | None = TODAY, **values: str) -> list[tuple[str, str]]:
    try:
        check_content(find_type(code, [LOCAL]), EventInput(code, occurred, None, tuple(values.items())), TODAY, FILED)
    except InvalidEvent as refusal:
        return [(anomaly.code, anomaly.property) for anomaly in refusal.anomalies]
    return []


@pytest.mark.parametrize("code, values, expected", [
    ("DECISCAL", {"DATECAL": "2026-11-20", "DECISION": "ATTRANG", "RANG": "2"}, []),
    ("DECISCAL", {"DATECAL": "2026-11-20"}, [("NUU102", "listeCaracteristiquesSpecifiques.DECISION")]),
    ("DECISCAL", {"DATECAL": "20/11/2026", "DECISION": "ATT"},
     [("NUU202", "listeCaracteristiquesSpecifiques.DATECAL")]),
    ("DECISCAL", {"DATECAL": "2026-11-20", "DECISION": "OUI"},
     [("NUU202", "listeCaracteristiquesSpecifiques.DECISION")]),
    ("DECISCAL", {"DATECAL": "2026-11-20", "DECISION": "ATT", "RANG": "-1"},
     [("NUU202", "listeCaracteristiquesSpecifiques.RANG")]),
    ("REFUSDEM", {"MOTIFREF": "LOYER", "PRECISION": "Trop cher"}, []),
    ("REFUSDEM", {"MOTIFREF": "LOYER", "INCONNU": "x"}, [("NUU202", "listeCaracteristiquesSpecifiques.INCONNU")]),
    ("SIGNBAIL", {}, []),
    ("COMLOC", {"AVIS": "true"}, []),
    ("COMLOC", {"AVIS": "oui"}, [("NUU202", "listeCaracteristiquesSpecifiques.AVIS")]),
])
def test_characteristics_of_each_type(code, values, expected):
    assert problems(code, **values) == expected


@pytest.mark.parametrize("occurred, expected", [
    (None, [("NUU102", "dateSurvenance")]),
    (date(2026, 12, 1), [("NUU103", "dateSurvenance")]),  # tomorrow
    (date(2026, 1, 14), [("NUU103", "dateSurvenance")]),  # before the filing
    (FILED, []),
])
def test_the_date_an_event_happened(occurred, expected):
    assert problems("SIGNBAIL", occurred) == expected


def test_a_characteristic_given_twice_is_refused():
    content = EventInput("SIGNBAIL", TODAY, None, (("LOGEMENT", "A12"), ("LOGEMENT", "B3")))
    with pytest.raises(InvalidEvent):
        check_content(find_type("SIGNBAIL", []), content, TODAY, FILED)


def test_a_type_out_of_its_validity_takes_no_new_event_but_stays_known():
    ended = territorial_type("057", "FINI", "Fini", "SNE", "PGP", valid_until=date(2026, 6, 30))
    with pytest.raises(UnknownEventType):
        usable_type("FINI", [ended], TODAY)
    assert find_type("FINI", [ended]) is ended
    with pytest.raises(UnknownEventType):
        find_type("AUTRE", [ended])


@pytest.mark.parametrize("code, label, features", [
    ("DECISCAL", "Libellé", ()),  # a national code
    ("TROP-LONG-CODE", "Libellé", ()),
    ("OK", "", ()),
    ("OK", "Libellé", (Feature("CHOIX", "Choix", ValueType.CHOICE),)),  # a list without codes
    ("OK", "Libellé", (Feature("A", "A", ValueType.TEXT), Feature("A", "B", ValueType.TEXT))),
])
def test_territorial_types_are_checked(code, label, features):
    with pytest.raises(EventTypeConflict):
        territorial_type("057", code, label, "SNE", "PGP", features=features)


# -- allocations subject to refusal by earlier candidates --------------------------------------------

DECIDED = date(2026, 3, 2)


def allocation_event(kind: str, number: str, on: date, dwelling: str | None, decision: str = "ATTRANG",
                     landlord: str = "DEMOB") -> SharedEvent:
    values = (("DATECAL", on.isoformat()), ("DECISION", decision)) if kind == "DECISCAL" else ()
    values += (("LOGEMENT", dwelling),) if dwelling is not None else ()
    return SharedEvent(None, number, "057", kind, on, datetime(2026, 3, 2, 9, 0, tzinfo=PARIS), landlord, None, values)


@pytest.mark.parametrize("lease, flagged", [
    (allocation_event("SIGNBAIL", "B", date(2026, 3, 20), "Metz 12B"), {"A"}),  # another household signed it
    (allocation_event("SIGNBAIL", "B", date(2026, 3, 20), " metz12b "), {"A"}),  # the same reference, written otherwise
    (allocation_event("SIGNBAIL", "A", date(2026, 3, 20), "Metz 12B"), set()),  # the household itself signed
    (allocation_event("SIGNBAIL", "B", date(2026, 2, 20), "Metz 12B"), set()),  # a lease before the decision
    (allocation_event("SIGNBAIL", "B", date(2026, 3, 20), "Metz 14"), set()),  # another dwelling
    (allocation_event("SIGNBAIL", "B", date(2026, 3, 20), "Metz 12B", landlord="AUTRE"), set()),  # another landlord's
    (allocation_event("SIGNBAIL", "B", date(2026, 3, 20), None), set()),  # a lease naming no dwelling
])
def test_a_conditional_allocation_is_unsuccessful_once_another_household_signs_the_lease(lease, flagged):
    decision = allocation_event("DECISCAL", "A", DECIDED, "Metz 12B")
    assert unsuccessful_conditional_allocations([decision, lease]) == flagged


@pytest.mark.parametrize("decision", [
    allocation_event("DECISCAL", "A", DECIDED, "Metz 12B", decision="ATT"),  # allocated outright
    allocation_event("DECISCAL", "A", DECIDED, None),  # no dwelling named: nothing to follow
])
def test_only_a_conditional_decision_naming_its_dwelling_can_be_followed(decision):
    lease = allocation_event("SIGNBAIL", "B", date(2026, 3, 20), "Metz 12B")
    assert unsuccessful_conditional_allocations([decision, lease]) == set()


def test_the_types_published_as_usable_for_the_indicator_are_those_it_is_computed_from():
    usable = {event_type.code for event_type in NATIONAL_TYPES if event_type.usable_for_conditional_allocations}
    assert usable == set(ALLOCATION_TYPES)

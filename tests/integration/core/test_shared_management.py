"""Shared management's use cases on real databases (SQLite and PostgreSQL): what is stored, journaled
and queued, and what a refusal leaves (nothing)."""

from dataclasses import replace
from datetime import date, datetime

import pytest
from sqlalchemy import select

from core import demo
from core.adapters import orm
from core.domain.calendar import PARIS
from core.domain.errors import EventChangeRefused, EventNotFound, EventTypeConflict, InvalidEvent, NotAllowed
from core.domain.shared_management import MAX_EVENTS, EventInput, Feature, ValueType, territorial_type
from core.service_layer import services
from core.service_layer import shared_management as gp

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)
TODAY = NOW.date()
DECISION = EventInput("DECISCAL", TODAY, "Dossier de M. Martin", (("DATECAL", "2026-11-27"), ("DECISION", "ATT")))


@pytest.fixture
def number(uow):
    services.add_territory(uow(), demo.TERRITORY)
    for counter in demo.COUNTERS + (demo.MANAGER,):
        services.add_counter(uow(), counter)
    return services.register(uow(), demo.household_form(), TODAY, "DEMOC", NOW).number


def table(uow, name):
    with uow(readonly=True) as work:
        return work.connection.execute(select(orm.metadata.tables[name])).mappings().all()


def test_an_event_is_stored_journaled_without_its_content_and_queued(uow, number):
    event, event_type = gp.add_event(uow(), number, DECISION, "DEMOB", NOW)
    assert event_type.code == "DECISCAL" and event.id is not None
    [(stored, _)] = gp.list_events(uow(readonly=True), number, "DEMOE")
    assert stored == event and stored.values == (("DATECAL", "2026-11-27"), ("DECISION", "ATT"))
    with uow(readonly=True) as work:
        entry = work.events.history(str(number))[-1]
    assert (entry.kind, entry.actor) == ("shared_event.added", "DEMOB")
    assert entry.details == {"version": 1, "event": event.id, "type": "DECISCAL", "nature": "CRE"}
    assert "Martin" not in str(entry.details)  # the comment is not journaled
    [queued] = [row for row in table(uow, "outbox") if row["topic"] == "shared_event.added"]
    assert queued["number"] == str(number) and queued["payload"]["change"]["application"]


def test_a_change_replaces_the_content_and_a_deletion_removes_the_event(uow, number):
    event, _ = gp.add_event(uow(), number, DECISION, "DEMOB", NOW)
    later = datetime(2026, 11, 30, 11, 0, tzinfo=PARIS)
    changed, _ = gp.change_event(uow(), number, event.id, EventInput("DECISCAL", TODAY, None, (
        ("DATECAL", "2026-11-27"), ("DECISION", "NONATT"), ("MOTIF", "Ressources"))), "DEMOB", later)
    assert (changed.changed_by, changed.changed_at, changed.comment) == ("DEMOB", later, None)
    [(stored, _)] = gp.list_events(uow(readonly=True), number, "DEMOB")
    assert stored == changed and stored.created_at == NOW
    gp.delete_event(uow(), number, event.id, "DEMOG", later)  # the manager
    assert gp.list_events(uow(readonly=True), number, "DEMOB") == []
    natures = [entry.details["nature"] for entry in uow(readonly=True).__enter__().events.history(str(number))[1:]]
    assert natures == ["CRE", "MOD", "SUP"]


@pytest.mark.parametrize("act, refusal", [
    (lambda uow, number, event_id: gp.add_event(uow(), number, DECISION, "DEMOC", NOW), EventChangeRefused),
    (lambda uow, number, event_id: gp.add_event(uow(), number, EventInput("DECISCAL", TODAY), "DEMOB", NOW),
     InvalidEvent),
    (lambda uow, number, event_id: gp.change_event(uow(), number, event_id, DECISION, "DEMOE", NOW),
     EventChangeRefused),
    (lambda uow, number, event_id: gp.delete_event(uow(), number, event_id + 1, "DEMOB", NOW), EventNotFound),
])
def test_a_refusal_stores_journals_and_queues_nothing(uow, number, act, refusal):
    event, _ = gp.add_event(uow(), number, DECISION, "DEMOB", NOW)
    before = (table(uow, "shared_events"), table(uow, "journal"), table(uow, "outbox"))
    with pytest.raises(refusal):
        act(uow, number, event.id)
    assert (table(uow, "shared_events"), table(uow, "journal"), table(uow, "outbox")) == before


def test_territorial_types_are_the_managers(uow, number):
    opinion = Feature("AVIS", "Avis", ValueType.CHOICE, True, choices=(("FAV", "Favorable"),))
    local = territorial_type("057", "COMLOC", "Commission locale", "SNE", "PGP", published=True, features=[opinion])
    with pytest.raises(NotAllowed):
        gp.define_territorial_type(uow(), local, "DEMOB", NOW)
    gp.define_territorial_type(uow(), local, "DEMOG", NOW)
    assert gp.territorial_types(uow(readonly=True), "DEMOC", "057") == [local]
    with pytest.raises(EventTypeConflict):
        gp.define_territorial_type(uow(), local, "DEMOG", NOW)
    gp.end_territorial_type(uow(), "057", "COMLOC", date(2026, 12, 31), "DEMOG")
    [ended] = gp.territorial_types(uow(readonly=True), "DEMOC", "057")
    assert ended.valid_until == date(2026, 12, 31) and ended.features == local.features


def test_the_demo_seeds_its_manager_and_event_types(uow):
    added = demo.seed(uow, NOW)
    assert "counter DEMOG" in added and "event type COMLOC" in added and "event type ACCOMP" in added
    assert [t.code for t in gp.territorial_types(uow(readonly=True), "DEMOB", "057")] == ["ACCOMP", "COMLOC"]
    assert not [line for line in demo.seed(uow, NOW) if "event type" in line]  # once


def test_an_application_holds_a_bounded_number_of_events(uow, number):
    """What listerEvenementsDemande answers stays bounded: MAX_EVENTS per application."""
    event, _ = gp.add_event(uow(), number, DECISION, "DEMOB", NOW)
    with uow() as work:
        for _ in range(MAX_EVENTS - 1):
            work.shared_events.add(replace(event, id=None))
        work.commit()
    with pytest.raises(InvalidEvent) as refused:
        gp.add_event(uow(), number, DECISION, "DEMOB", NOW)
    assert refused.value.anomalies[0].code == "NUU105"
    assert len(gp.list_events(uow(readonly=True), number, "DEMOB")) == MAX_EVENTS

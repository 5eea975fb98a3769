"""The daily renewal job on real databases: outbox notices, journal, idempotence, catch-up."""

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from core import demo
from core.adapters import orm
from core.domain.calendar import PARIS
from core.service_layer import renewal_clock, services

FILED = datetime(2026, 11, 30, 10, tzinfo=PARIS)  # due 2027-11-30


def day(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 2, tzinfo=PARIS)


@pytest.fixture
def register_of(uow):
    demo.seed(uow, FILED)  # three households, due 2027-11-30
    return uow


def outbox(uow, topic="notice.renewal"):
    with uow(readonly=True) as work:
        query = select(orm.outbox).where(orm.outbox.c.topic == topic).order_by(orm.outbox.c.id)
        return work.connection.execute(query).mappings().all()


def journal(uow, kind):
    with uow(readonly=True) as work:
        query = select(orm.journal).where(orm.journal.c.kind == kind).order_by(orm.journal.c.id)
        return work.connection.execute(query).mappings().all()


def run(uow, d: date):
    return renewal_clock.run(uow, d, day(d))


def test_first_notices_reach_the_outbox_with_what_channels_need(register_of):
    report = run(register_of, date(2027, 9, 30))
    assert (report.examined, report.first_notices) == (3, 3)
    messages = outbox(register_of)
    channels = {m["number"]: m["payload"]["delivery"]["channels"] for m in messages}
    assert sorted(channels.values()) == [["email", "sms"], ["email", "sms"], ["letter"]]
    letter = next(m for m in messages if m["payload"]["delivery"]["channels"] == ["letter"])
    assert letter["payload"]["delivery"]["recipient"]["address"] == ["12 rue des Jardins", "57000"]


def test_the_journal_never_holds_personal_data(register_of):
    run(register_of, date(2027, 9, 30))
    lines = json.dumps([dict(r["details"]) for r in journal(register_of, "notice.renewal")])
    assert "claire" not in lines.lower() and "0612345678" not in lines and "rue des Jardins" not in lines
    assert '"channels"' in lines


def test_running_twice_the_same_day_sends_nothing_more(register_of):
    run(register_of, date(2027, 9, 30))
    again = run(register_of, date(2027, 9, 30))
    assert (again.first_notices, again.second_notices, again.cancelled) == (0, 0, 0)
    assert len(outbox(register_of)) == 3


def test_the_full_cycle_ends_in_non_renewal_cancellation(register_of):
    run(register_of, date(2027, 9, 30))
    second = run(register_of, date(2027, 10, 30))
    assert second.second_notices == 3
    assert run(register_of, date(2027, 12, 29)).cancelled == 0
    assert run(register_of, date(2027, 12, 30)).cancelled == 3
    with register_of(readonly=True) as work:
        states = work.connection.execute(select(orm.applications.c.state, orm.applications.c.cancellation_motive,
                                                orm.applications.c.cancelled_on)).all()
    assert set(states) == {("cancelled", "RADREN", date(2027, 12, 30))}
    assert len(outbox(register_of, "application.cancelled")) == 3


def test_a_renewed_application_drops_out_of_the_cycle(register_of):
    run(register_of, date(2027, 9, 30))
    with register_of(readonly=True) as work:
        number = work.applications.due_for_clock(date(2028, 1, 1))[0]
    services.renew(register_of(), number, "DEMOB", day(date(2027, 10, 5)))
    assert run(register_of, date(2027, 12, 30)).cancelled == 2
    with register_of(readonly=True) as work:
        renewed = work.applications.get(number)
    assert renewed.is_active and renewed.renewal.next_due == date(2028, 11, 30)


def test_after_a_long_downtime_notices_first_then_cancellation_a_month_later(register_of):
    first = run(register_of, date(2028, 1, 15))  # nothing ran since registration
    assert (first.first_notices, first.second_notices, first.cancelled) == (3, 3, 0)
    assert run(register_of, date(2028, 2, 14)).cancelled == 0
    assert run(register_of, date(2028, 2, 15)).cancelled == 3

"""The daily renewal job on real databases: notices requested and left, journal, idempotence, catch-up.

``run`` plays a day: the clock, then (unless told otherwise) the notice channels taking every
notice it requested, as the dispatcher's notice workers do (tests/integration/core/notices.py).
"""

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from core import demo
from core.adapters import orm
from core.domain.calendar import PARIS
from core.domain.dispatch import RetrySchedule
from core.service_layer import notices, renewal_clock, services

from .notices import notices_leave

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


def run(uow, d: date, leave: bool = True):
    report = renewal_clock.run(uow, d, day(d))
    if leave:
        notices_leave(uow, day(d))
    return report


def states(uow) -> set[tuple]:
    with uow(readonly=True) as work:
        return set(work.connection.execute(select(orm.applications.c.state, orm.applications.c.cancellation_motive)))


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
    assert run(register_of, date(2027, 10, 30)).second_notices == 2
    assert run(register_of, date(2027, 12, 30)).cancelled == 2
    with register_of(readonly=True) as work:
        renewed = work.applications.get(number)
    assert renewed.is_active and renewed.renewal.next_due == date(2028, 11, 30)


def test_after_a_long_downtime_notices_first_then_cancellation_a_month_later(register_of):
    first = run(register_of, date(2028, 1, 15))  # nothing ran since registration
    assert (first.first_notices, first.second_notices, first.cancelled) == (3, 0, 0)
    assert run(register_of, date(2028, 1, 16)).second_notices == 3  # once the first has left
    assert run(register_of, date(2028, 2, 14)).cancelled == 0
    assert run(register_of, date(2028, 2, 15)).cancelled == 3


def test_notices_that_never_leave_hold_the_second_notice_and_the_cancellation(register_of):
    """The defect: a notice queued but never sent must not lead to a cancellation a month later."""
    run(register_of, date(2027, 9, 30), leave=False)
    assert run(register_of, date(2027, 10, 30), leave=False).second_notices == 0
    report = run(register_of, date(2028, 1, 15), leave=False)
    assert (report.cancelled, report.held) == (0, 3)
    assert states(register_of) == {("active", None)}
    assert len(outbox(register_of)) == 3  # requested once each, never again
    notices_leave(register_of, day(date(2028, 1, 16)))  # the channels come back
    assert run(register_of, date(2028, 1, 16)).second_notices == 3
    assert run(register_of, date(2028, 2, 15)).cancelled == 0  # a month after the first notice left
    assert run(register_of, date(2028, 2, 16)).cancelled == 3


def fail_electronic_notices(uow, at) -> list[str]:
    notices.take_requests(uow(), at)
    outcomes = []
    for channel in (notices.EMAIL, notices.SMS):
        for send in notices.claim(uow(), channel, at, timedelta(minutes=1)):
            outcomes.append(notices.failed(uow(), send.id, at, "refusé par le relais", RetrySchedule.parse("0s"),
                                           permanent=True))
    return outcomes


def test_when_email_and_sms_both_fail_the_notice_falls_back_to_a_letter(register_of):
    run(register_of, date(2027, 9, 30), leave=False)
    at = day(date(2027, 9, 30))
    # two households have email and SMS: the first failure leaves the other channel, the second falls back
    assert sorted(fail_electronic_notices(register_of, at)) == ["failed", "failed", "fallback", "fallback"]
    assert len(notices.close_letter_batches(register_of, at, lambda *letters: b"%PDF-1.4 test")) == 1
    with register_of(readonly=True) as work:
        records = work.notices.list()
        left = {application.renewal.notice_sent_on for application in
                map(work.applications.get, work.applications.due_for_clock(date(2028, 1, 1)))}
    assert [(record.status, record.sent_channel) for record in records] == [("sent", "letter")] * 3
    assert left == {date(2027, 9, 30)}


def test_a_notice_no_channel_can_take_is_an_alert_never_a_cancellation(register_of):
    form = demo.household_form("Sansadresse", "Léa", date(1990, 1, 1))
    form.household.applicant.postal_address = None
    number = services.register(register_of(), form, FILED.date(), "DEMOC", FILED).number
    run(register_of, date(2027, 9, 30), leave=False)
    outcomes = fail_electronic_notices(register_of, day(date(2027, 9, 30)))
    assert outcomes.count("alert") == 1
    with register_of(readonly=True) as work:
        failed = work.notices.list(status="failed")
    assert [record.number for record in failed] == [str(number)]
    assert [line["details"]["notice"] for line in journal(register_of, "notice.failed")] == ["first"]
    notices_leave(register_of, day(date(2027, 9, 30)))  # the others fell back to letters, which left
    run(register_of, date(2027, 10, 30))
    report = run(register_of, date(2028, 3, 1))  # long after the cancellation date
    assert (report.cancelled, report.held) == (3, 1)
    with register_of(readonly=True) as work:
        assert work.applications.get(number).is_active
    assert notices.retry(register_of(), failed[0].id, day(date(2028, 3, 2))) == 2  # an operator tries again

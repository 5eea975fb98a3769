"""The renewal clock's decisions: notices, channels, cancellation, and catching up.

A notice counts once a channel took it (``notice_left``), not when the clock requested it: these
tests play the channels too, leaving the notice the same day unless a test says otherwise.
"""

from datetime import date, datetime

import pytest

from core.demo import household_form
from core.domain.application import Application
from core.domain.calendar import PARIS
from core.domain.codes import ApplicationState, CounterType
from core.domain.events import EventKind
from core.domain.numbers import RegistrationNumber
from core.domain.referential import SYSTEM, Counter
from core.domain.renewal import SMS_TEXT, CancelNotRenewed, SendNotice, held_for_notice, next_step

TOWN = Counter("COMM1", "Commune", CounterType.MUNICIPALITY, "057")
FILED = date(2025, 5, 26)  # due 2026-05-26: first notice 03-26, second 04-26, cancellation 06-26


def application(**form_options) -> Application:
    number = RegistrationNumber.issue("057", FILED, 7, "COMM1")
    return Application.register(number, "057", household_form(**form_options), FILED, TOWN,
                                datetime(2025, 5, 26, tzinfo=PARIS))


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=PARIS)


def run_clock(app: Application, day: date, leave: bool = True) -> list:
    """Apply steps as the job does, returning them; ``leave``: a channel takes each notice at once."""
    steps = []
    while (step := next_step(app, day)) is not None:
        steps.append(step)
        if isinstance(step, SendNotice):
            app.request_notice(step.second, day, SYSTEM, at(day), step.delivery)
            if leave:
                app.notice_left(step.second, app.renewal.next_due, day, step.delivery["channels"][0], SYSTEM, at(day))
        else:
            app.cancel_not_renewed(step.on, SYSTEM, at(day))
    return steps


def test_nothing_before_two_months_ahead():
    assert next_step(application(), date(2026, 3, 25)) is None


def test_first_notice_two_months_before_by_email_and_sms():
    step = next_step(application(), date(2026, 3, 26))
    assert isinstance(step, SendNotice) and not step.second
    assert step.delivery["channels"] == ["email", "sms"]
    assert step.delivery["recipient"]["email"] == "claire.martin@example.org"
    assert step.delivery["sms_text"] == SMS_TEXT.format(number="057 0525 000007 COMM1")


def test_first_notice_by_letter_without_email_or_mobile():
    step = next_step(application(email=None, mobile=None), date(2026, 3, 26))
    assert step.delivery["channels"] == ["letter"]
    assert step.delivery["recipient"]["address"]  # something to print on the envelope


def test_second_notice_is_a_registered_letter_one_month_before():
    app = application()
    run_clock(app, date(2026, 3, 26))
    step = next_step(app, date(2026, 4, 26))
    assert isinstance(step, SendNotice) and step.second
    assert step.delivery["channels"] == ["registered_letter"]


def test_online_applications_never_get_letters():
    app = application(online=True)
    run_clock(app, date(2026, 3, 26))
    assert next_step(app, date(2026, 4, 26)).delivery["channels"] == ["email", "sms"]


def test_sms_is_not_sent_when_the_applicant_refused_it():
    app = application()
    app.form.household.applicant.sms_notifications = False
    assert next_step(app, date(2026, 3, 26)).delivery["channels"] == ["email"]


def test_cancellation_one_month_after_the_due_date():
    app = application()
    run_clock(app, date(2026, 3, 26))
    run_clock(app, date(2026, 4, 26))
    assert next_step(app, date(2026, 6, 25)) is None
    assert next_step(app, date(2026, 6, 26)) == CancelNotRenewed(date(2026, 6, 26))


def test_the_same_day_twice_does_nothing_more():
    app = application()
    assert len(run_clock(app, date(2026, 3, 26))) == 1
    assert run_clock(app, date(2026, 3, 26)) == []


def test_catching_up_sends_the_missed_notices_but_never_cancels_without_a_month_of_warning():
    """The hub was down from March to July: notices go out now, cancellation waits a month."""
    app = application()
    steps = run_clock(app, date(2026, 7, 1))
    assert [type(s) for s in steps] == [SendNotice, SendNotice]
    assert app.is_active
    assert run_clock(app, date(2026, 7, 31)) == []
    assert run_clock(app, date(2026, 8, 1)) == [CancelNotRenewed(date(2026, 8, 1))]
    assert not app.is_active and app.cancellation.motive == "RADREN"


def test_renewed_application_is_left_alone():
    app = application()
    run_clock(app, date(2026, 3, 26))
    app.renew(TOWN, datetime(2026, 4, 1, tzinfo=PARIS), date(2026, 4, 1))
    assert next_step(app, date(2026, 6, 26)) is None


def test_a_requested_notice_that_has_not_left_holds_everything_after_it():
    """The defect this rule fixes: a notice queued is not a notice sent, and nobody is cancelled unwarned."""
    app = application()
    assert len(run_clock(app, date(2026, 3, 26), leave=False)) == 1
    assert app.renewal.notice_requested_on == date(2026, 3, 26) and app.renewal.notice_sent_on is None
    for day in (date(2026, 4, 26), date(2026, 6, 26), date(2027, 1, 1)):
        assert next_step(app, day) is None  # no second notice, no cancellation, no new request
    assert held_for_notice(app, date(2026, 6, 26)) and not held_for_notice(app, date(2026, 6, 25))


def test_cancellation_waits_a_month_after_the_notice_left_not_after_it_was_requested():
    app = application()
    run_clock(app, date(2026, 3, 26), leave=False)
    app.notice_left(False, date(2026, 5, 26), date(2026, 6, 10), "letter", SYSTEM, at(date(2026, 6, 10)))
    run_clock(app, date(2026, 6, 10))  # the second notice is overdue: requested, and it leaves
    assert app.renewal.second_notice_sent_on == date(2026, 6, 10)
    assert next_step(app, date(2026, 7, 9)) is None
    assert next_step(app, date(2026, 7, 10)) == CancelNotRenewed(date(2026, 7, 10))


def test_a_second_notice_that_has_not_left_holds_the_cancellation():
    app = application()
    run_clock(app, date(2026, 3, 26))
    run_clock(app, date(2026, 4, 26), leave=False)
    assert next_step(app, date(2026, 7, 1)) is None and held_for_notice(app, date(2026, 7, 1))
    app.notice_left(True, date(2026, 5, 26), date(2026, 7, 1), "registered_letter", SYSTEM, at(date(2026, 7, 1)))
    assert next_step(app, date(2026, 7, 1)) == CancelNotRenewed(date(2026, 6, 26))


def test_a_notice_leaving_is_journaled_once_without_changing_the_version():
    app = application()
    run_clock(app, date(2026, 3, 26), leave=False)
    version, app.events[:] = app.version, []
    assert app.notice_left(False, date(2026, 5, 26), date(2026, 3, 27), "email", SYSTEM, at(date(2026, 3, 27)))
    assert not app.notice_left(False, date(2026, 5, 26), date(2026, 3, 28), "sms", SYSTEM, at(date(2026, 3, 28)))
    assert app.renewal.notice_sent_on == date(2026, 3, 27) and app.version == version
    assert [(e.kind, e.details["channel"]) for e in app.events] == [(EventKind.NOTICE_SENT, "email")]


def test_a_notice_of_a_renewal_cycle_that_is_over_changes_nothing():
    app = application()
    run_clock(app, date(2026, 3, 26), leave=False)
    app.renew(TOWN, at(date(2026, 4, 1)), date(2026, 4, 1))
    assert not app.notice_left(False, date(2026, 5, 26), date(2026, 4, 2), "letter", SYSTEM, at(date(2026, 4, 2)))
    assert app.renewal.notice_sent_on is None and app.renewal.next_due == date(2027, 5, 26)


def test_a_notice_that_cannot_leave_is_journaled_for_operators():
    app = application()
    run_clock(app, date(2026, 3, 26), leave=False)
    app.events[:] = []
    app.notice_failed(False, date(2026, 5, 26), "adresse postale absente", SYSTEM, at(date(2026, 3, 27)))
    assert [e.kind for e in app.events] == [EventKind.NOTICE_FAILED] and not EventKind.NOTICE_FAILED.queued
    assert app.is_active and next_step(app, date(2026, 12, 31)) is None


@pytest.mark.parametrize("state", [ApplicationState.CANCELLED, ApplicationState.DELETED])
def test_inactive_applications_are_ignored(state):
    app = application()
    app.state = state
    assert next_step(app, date(2026, 7, 1)) is None

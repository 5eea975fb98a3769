"""The renewal clock's decisions: notices, channels, cancellation, and catching up."""

from datetime import date, datetime

import pytest

from core.demo import household_form
from core.domain.application import Application
from core.domain.calendar import PARIS
from core.domain.codes import ApplicationState, CounterType
from core.domain.numbers import RegistrationNumber
from core.domain.referential import SYSTEM, Counter
from core.domain.renewal import SMS_TEXT, CancelNotRenewed, SendNotice, next_step

TOWN = Counter("COMM1", "Commune", CounterType.MUNICIPALITY, "057")
FILED = date(2025, 5, 26)  # due 2026-05-26: first notice 03-26, second 04-26, cancellation 06-26


def application(**form_options) -> Application:
    number = RegistrationNumber.issue("057", FILED, 7, "COMM1")
    return Application.register(number, "057", household_form(**form_options), FILED, TOWN,
                                datetime(2025, 5, 26, tzinfo=PARIS))


def run_clock(app: Application, day: date) -> list:
    """Apply steps as the job does, returning them."""
    steps = []
    while (step := next_step(app, day)) is not None:
        steps.append(step)
        if isinstance(step, SendNotice):
            app.record_notice(step.second, day, SYSTEM, datetime(day.year, day.month, day.day, tzinfo=PARIS),
                              step.delivery)
        else:
            app.cancel_not_renewed(step.on, SYSTEM, datetime(day.year, day.month, day.day, tzinfo=PARIS))
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


@pytest.mark.parametrize("state", [ApplicationState.CANCELLED, ApplicationState.DELETED])
def test_inactive_applications_are_ignored(state):
    app = application()
    app.state = state
    assert next_step(app, date(2026, 7, 1)) is None

"""The register's indicators and retention, on the domain alone (no I/O)."""

from datetime import date, datetime

import pytest

from core.demo import household_form
from core.domain.application import Application, Cancellation
from core.domain.calendar import PARIS
from core.domain.codes import CounterType
from core.domain.errors import ApplicationNotActive, InvalidPrefectDelay
from core.domain.events import EventKind
from core.domain.indicators import PrefectDelay, abnormally_long_wait, departement_of_wish, flags
from core.domain.numbers import RegistrationNumber
from core.domain.referential import SYSTEM, Counter
from core.domain.retention import candidates_until, is_due, kept_until

TOWN = Counter("COMM1", "Commune", CounterType.MUNICIPALITY, "057")
FILED = date(2024, 1, 31)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=PARIS)


def registered() -> Application:
    number = RegistrationNumber.issue("057", FILED, 1, TOWN.code)
    application = Application.register(number, "057", household_form(), FILED, TOWN, at(FILED))
    application.events.clear()
    return application


@pytest.mark.parametrize("commune, departement", [("57463", "57"), ("97411", "974"), ("2A004", "2A"), (None, None)])
def test_the_delay_is_that_of_the_first_wished_commune_departement(commune, departement):
    assert departement_of_wish(commune) == departement


@pytest.mark.parametrize("today, flagged", [
    (date(2026, 1, 30), False),  # the day before
    (date(2026, 1, 31), True),  # reached ("atteint ou dépassé")
    (date(2027, 5, 1), True),  # passed
])
def test_a_wait_is_abnormally_long_from_the_day_it_reaches_the_delay(today, flagged):
    assert abnormally_long_wait(FILED, "57463", {"57": 24}, today) is flagged


def test_a_month_end_filing_reaches_its_delay_on_the_last_day_of_a_shorter_month():
    assert abnormally_long_wait(date(2024, 3, 31), "57463", {"57": 11}, date(2025, 2, 28)) is True
    assert abnormally_long_wait(date(2024, 3, 31), "57463", {"57": 11}, date(2025, 2, 27)) is False


def test_no_delay_for_the_departement_flags_nobody():
    assert abnormally_long_wait(FILED, "57463", {"54": 1}, date(2040, 1, 1)) is False
    assert abnormally_long_wait(FILED, None, {"57": 1}, date(2040, 1, 1)) is False


@pytest.mark.parametrize("departement, months", [("57", 0), ("57", 241), ("99", 12), ("5", 12)])
def test_a_delay_is_a_departement_and_1_to_240_months(departement, months):
    with pytest.raises(InvalidPrefectDelay) as refused:
        PrefectDelay(departement, months)
    assert refused.value.code == "NUU197"


def test_a_first_computation_with_nothing_to_flag_only_dates_the_block():
    application = registered()
    assert application.record_indicators((False, False), SYSTEM, at(date(2025, 1, 2))) is True
    assert application.form.processing.computed_at == at(date(2025, 1, 2))
    assert application.version == 1 and not application.events


def test_a_flag_that_changes_is_a_new_version_journaled_and_dispatched():
    application = registered()
    application.record_indicators((False, False), SYSTEM, at(date(2025, 1, 2)))
    assert application.record_indicators(flags(FILED, "57463", {"57": 12}, date(2025, 2, 1), False), SYSTEM,
                                         at(date(2025, 2, 1))) is True
    assert application.version == 2
    event = application.events[-1]
    assert event.kind is EventKind.INDICATORS_CHANGED and event.kind.queued
    assert event.details == {"version": 2, "abnormally_long_wait": True, "multiple_conditional_allocations": False}
    assert event.change.altered == {"form": {"processing": {"abnormally_long_wait": True, "computed_at": True}}}


def test_the_same_flags_change_nothing():
    application = registered()
    application.record_indicators((True, False), SYSTEM, at(date(2025, 1, 2)))
    application.events.clear()
    assert application.record_indicators((True, False), SYSTEM, at(date(2025, 1, 3))) is False
    assert application.form.processing.computed_at == at(date(2025, 1, 2)) and not application.events


# -- retention ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cancelled_on, today, due", [
    (date(2024, 6, 10), date(2025, 6, 10), False),  # the anniversary: still kept
    (date(2024, 6, 10), date(2025, 6, 11), True),
    (date(2024, 2, 29), date(2025, 2, 28), False),
    (date(2024, 2, 29), date(2025, 3, 1), True),
])
def test_an_application_is_kept_through_the_anniversary_of_its_cancellation(cancelled_on, today, due):
    assert is_due(cancelled_on, today) is due
    assert kept_until(cancelled_on) < today if due else kept_until(cancelled_on) >= today
    if due:
        assert cancelled_on <= candidates_until(today)


def test_only_a_cancellation_past_its_retention_is_purged():
    application = registered()
    with pytest.raises(ApplicationNotActive):
        application.purge(SYSTEM, at(date(2030, 1, 1)), date(2030, 1, 1))
    application.cancel(Cancellation(date(2024, 3, 1), "RADABA"), TOWN, at(date(2024, 3, 1)))
    application.events.clear()
    with pytest.raises(ApplicationNotActive):
        application.purge(SYSTEM, at(date(2025, 3, 1)), date(2025, 3, 1))
    application.purge(SYSTEM, at(date(2025, 3, 2)), date(2025, 3, 2))
    event = application.events[-1]
    assert event.kind is EventKind.PURGED and not event.kind.queued  # the journal only: nothing to dispatch
    assert event.details == {"version": 2, "cancelled_on": "2024-03-01", "motive": "RADABA"}

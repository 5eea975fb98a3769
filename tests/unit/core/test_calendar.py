"""Months and anniversaries as the regulation counts them."""

from datetime import date

from core.domain.calendar import add_months, anniversary


def test_adding_a_month_keeps_the_day():
    assert add_months(date(2026, 3, 15), 1) == date(2026, 4, 15)


def test_adding_a_month_clamps_to_shorter_months():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)


def test_negative_months_cross_years():
    assert add_months(date(2026, 1, 15), -2) == date(2025, 11, 15)


def test_anniversary_of_29_february():
    assert anniversary(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert anniversary(date(2024, 2, 29), 4) == date(2028, 2, 29)

"""Date arithmetic of the regulation: months and anniversaries as French administrations count them.

Adding months keeps the day of month, or takes the last day of a shorter month (31 January plus one
month is 28 or 29 February). An anniversary of 29 February falls on 28 February in common years.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")  # the register counts its days in metropolitan French time


def now_in_paris() -> datetime:
    return datetime.now(PARIS)


def add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def anniversary(origin: date, years: int) -> date:
    """The ``years``-th anniversary of ``origin`` (always computed from the origin, never chained)."""
    return add_years(origin, years)

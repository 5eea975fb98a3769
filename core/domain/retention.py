"""How long the register keeps an application after it ends (arrêté of 23 March 2015, annex: "data
are kept one year after cancellation"), then erases it. Rules and reasons: docs/REGISTER.md,
"Retention".
"""

from __future__ import annotations

from datetime import date

from .calendar import add_years

RETENTION_YEARS = 1


def kept_until(cancelled_on: date) -> date:
    """The last day the application is kept: the anniversary of its cancellation date (28 February
    for a 29 February); it is purged from the next day on."""
    return add_years(cancelled_on, RETENTION_YEARS)


def is_due(cancelled_on: date, today: date) -> bool:
    return today > kept_until(cancelled_on)


def candidates_until(today: date) -> date:
    """A cancellation date on or before which every application due on ``today`` lies (a superset:
    :func:`is_due` decides)."""
    return add_years(today, -RETENTION_YEARS)

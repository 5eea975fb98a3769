"""The indicators of ``informationTraitement`` that the register computes (decree 2015-523, shared
management): whose wait has reached the delay the prefect set for the département (article
L. 441-1-4 of the CCH), and who was allocated a dwelling "subject to refusal by earlier candidates"
and finally did not get it.

Pure functions of an application, the prefects' delays and the allocation decisions known to the
register, so that the daily job (core.service_layer.indicators) gives the same result whenever it
runs. Rules and their reasons: docs/REGISTER.md, "Indicators the register computes".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Mapping

from .calendar import add_months
from .errors import InvalidPrefectDelay
from .form import ProcessingInformation
from .referential import DEPARTEMENT_CODE, departement_of

MAX_DELAY_MONTHS = 240  # twenty years: far above any prefect's order, below any mistyped number of days


@dataclass(frozen=True)
class PrefectDelay:
    """The delay after which a wait is abnormally long in a département, in months from the filing date."""

    departement: str
    months: int

    def __post_init__(self) -> None:
        if not DEPARTEMENT_CODE.fullmatch(self.departement):
            raise InvalidPrefectDelay(f"Département inconnu : {self.departement}", "departement")
        if not 1 <= self.months <= MAX_DELAY_MONTHS:
            raise InvalidPrefectDelay(f"Délai en mois, de 1 à {MAX_DELAY_MONTHS} : {self.months}", "months")


def departement_of_wish(first_wished_commune: str | None) -> str | None:
    """The département whose delay applies: that of the first wished commune (the one the household
    ranked first, which the register requires to lie in the territory)."""
    return departement_of(first_wished_commune) if first_wished_commune else None


def abnormally_long_wait(filing_date: date, first_wished_commune: str | None, delays: Mapping[str, int],
                         today: date) -> bool:
    """The wait, counted from the filing date (seniority), has reached the prefect's delay: on the
    day it is reached, not the day after ("atteint ou dépassé"). No delay set: never."""
    months = delays.get(departement_of_wish(first_wished_commune) or "")
    return months is not None and add_months(filing_date, months) <= today


def flags(filing_date: date, first_wished_commune: str | None, delays: Mapping[str, int], today: date,
          unsuccessful_conditional_allocation: bool) -> tuple[bool, bool]:
    """(estDelaiAnormalementLong, estMultiplesAttributionsSousConditions) as the register computes them."""
    return (abnormally_long_wait(filing_date, first_wished_commune, delays, today),
            unsuccessful_conditional_allocation)


def stored_flags(processing: ProcessingInformation | None) -> tuple[bool, bool] | None:
    """The flags an application holds; None when the register never computed them."""
    if processing is None or processing.computed_at is None:
        return None
    return bool(processing.abnormally_long_wait), bool(processing.multiple_conditional_allocations)


def block(computed: tuple[bool, bool], now: datetime) -> ProcessingInformation:
    long_wait, conditional = computed
    return ProcessingInformation(abnormally_long_wait=long_wait, multiple_conditional_allocations=conditional,
                                 computed_at=now)

"""The daily job that keeps the register's indicators (``informationTraitement``) current, and the
operators' settings it reads: the delay each département's prefect set.

The job reads, one territory at a time, what every active application's flags depend on and the
flags it holds, decides in memory (:mod:`core.domain.indicators`), and changes only the applications whose
flags differ, each in its own transaction with its row locked and the decision taken again on the
locked row (with the delays and allocation decisions the scan read): a counter changing the same
application meanwhile loses nothing, and running the job twice in a day changes nothing the second
time.

Allocations "subject to refusal by earlier candidates" are decisions of allocation committees,
which the register holds as shared-management events (GestionPartageeEVT): the job asks an
:class:`AllocationDecisions` port, by default :class:`SharedEventDecisions`, which reads a
territory's CAL decisions and leases and applies
:func:`core.domain.shared_management.unsuccessful_conditional_allocations` (docs/REGISTER.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable, Protocol

from core.domain import indicators, shared_management
from core.domain.errors import InvalidPrefectDelay
from core.domain.indicators import PrefectDelay
from core.domain.numbers import RegistrationNumber
from core.domain.referential import SYSTEM

from .unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class AllocationDecisions(Protocol):
    """Who was allocated a dwelling subject to refusal by earlier candidates, and finally did not get it."""

    def unsuccessful_conditional(self, uow: UnitOfWork, numbers: list[str]) -> set[str]:
        """Those of ``numbers`` (active applications) in that case, read in ``uow``'s transaction."""


class SharedEventDecisions:
    """The CAL decisions and leases recorded as shared-management events."""

    def unsuccessful_conditional(self, uow: UnitOfWork, numbers: list[str]) -> set[str]:
        found: set[str] = set()
        for territory in sorted({RegistrationNumber.parse(number).territory for number in numbers}):
            events = uow.shared_events.of_types(territory, shared_management.ALLOCATION_TYPES)
            found |= shared_management.unsuccessful_conditional_allocations(events)
        return found & set(numbers)


SHARED_EVENT_DECISIONS = SharedEventDecisions()


@dataclass
class IndicatorReport:
    examined: int = 0
    computed: int = 0  # first computation, both flags false: the block is dated, nothing is sent
    changed: int = 0  # a flag changed: a new version, journaled and dispatched
    long_wait: int = 0  # applications flagged estDelaiAnormalementLong after the run

    def __str__(self) -> str:
        return (f"{self.examined} demandes actives examinées, {self.computed} indicateurs calculés pour la "
                f"première fois, {self.changed} indicateurs changés, {self.long_wait} délais anormalement longs")


# -- the prefects' delays ------------------------------------------------------------------------


def set_prefect_delay(uow: UnitOfWork, delay: PrefectDelay, now: datetime) -> None:
    """Record the delay a prefect set for a département the register covers; the next run applies it."""
    with uow:
        if delay.departement not in uow.territories.covered_departements():
            raise InvalidPrefectDelay(f"Aucun territoire ne couvre le département {delay.departement}", "departement")
        uow.territories.set_prefect_delay(delay, now)
        uow.commit()


def clear_prefect_delay(uow: UnitOfWork, departement: str) -> None:
    with uow:
        if not uow.territories.clear_prefect_delay(departement):
            raise InvalidPrefectDelay(f"Aucun délai n'est fixé pour le département {departement}", "departement")
        uow.commit()


def prefect_delays(uow: UnitOfWork) -> tuple[dict[str, int], set[str]]:
    """The delays set, and the départements covered by a territory (those without a delay flag nobody)."""
    with uow:
        return uow.territories.prefect_delays(), uow.territories.covered_departements()


# -- the daily job -------------------------------------------------------------------------------


@dataclass
class Pending:
    """What a scan of the register found: the applications whose flags must change, and what the
    flags were computed from (read once per run, not once per application)."""

    examined: int
    due: list[RegistrationNumber]
    long_wait: int  # flagged for a long wait once changed
    delays: dict[str, int]
    conditional: set[str]  # unsuccessful conditional allocations, as the scan read them


def pending(unit_of_work: Callable[..., UnitOfWork], today: date,
            decisions: AllocationDecisions = SHARED_EVENT_DECISIONS) -> Pending:
    """Which active applications' flags must change on ``today``, one territory's rows in memory at a time."""
    with unit_of_work(readonly=True) as uow:
        delays = uow.territories.prefect_delays()
        territories = [territory.code for territory in uow.territories.list()]
    found = Pending(0, [], 0, delays, set())
    for territory in territories:
        with unit_of_work(readonly=True) as uow:
            rows = uow.applications.indicator_rows(territory)
            conditional = decisions.unsuccessful_conditional(uow, [row.number for row in rows])
        found.examined += len(rows)
        found.conditional |= conditional
        for row in rows:
            computed = indicators.flags(row.filing_date, row.first_wished_commune, delays, today,
                                        row.number in conditional)
            found.long_wait += computed[0]
            if computed != row.stored:
                found.due.append(RegistrationNumber.parse(row.number))
    return found


def run(unit_of_work: Callable[..., UnitOfWork], today: date, now: datetime,
        decisions: AllocationDecisions = SHARED_EVENT_DECISIONS,
        progress: Callable[[int], None] = lambda done: None, found: Pending | None = None) -> IndicatorReport:
    """Bring every active application's indicators up to ``today``; ``progress`` is told of each
    application changed. ``found``: what :func:`pending` returned, when the caller already asked."""
    found = found if found is not None else pending(unit_of_work, today, decisions)
    report = IndicatorReport(examined=found.examined, long_wait=found.long_wait)
    for number in found.due:
        outcome = _recompute(unit_of_work, number, today, now, found)
        if outcome == "changed":
            report.changed += 1
        elif outcome == "computed":
            report.computed += 1
        progress(1)
    log.info("indicators for %s: %s", today.isoformat(), report)
    return report


def _recompute(unit_of_work: Callable[..., UnitOfWork], number: RegistrationNumber, today: date, now: datetime,
               found: Pending) -> str | None:
    """The flags decided again on the locked row (its filing date and communes as they are now),
    with the delays and allocation decisions the scan read: re-reading a territory's decisions for
    each application would make a first run over a national register quadratic, and a decision
    recorded during the run is taken into account by tomorrow's."""
    with unit_of_work() as uow:
        application = uow.applications.get(number, for_update=True)
        if application is None or not application.is_active:
            return None
        communes = application.form.wished_communes
        computed = indicators.flags(application.filing_date, communes[0] if communes else None,
                                    found.delays, today, str(number) in found.conditional)
        loaded_version = application.version
        if not application.record_indicators(computed, SYSTEM, now):
            return None
        uow.applications.save(application, loaded_version)
        uow.events.append(application.events)
        uow.commit()
        return "changed" if application.events else "computed"

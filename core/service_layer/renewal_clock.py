"""The daily renewal job: notices before the due date, non-renewal cancellation after it.

Each application is handled in its own transaction with its row locked, so the job can race with
counters renewing the same applications and lose nothing: whoever commits second sees the other's
result. The decisions themselves are :func:`core.domain.renewal.next_step`, which makes running the
job twice for one day, or for a day after a week of downtime, safe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from core.domain.calendar import add_months
from core.domain.numbers import RegistrationNumber
from core.domain.referential import SYSTEM
from core.domain.renewal import FIRST_NOTICE_MONTHS_BEFORE, CancelNotRenewed, SendNotice, held_for_notice, next_step

from .unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

MAX_STEPS_PER_APPLICATION = 3  # first notice, second notice, cancellation


@dataclass
class ClockReport:
    examined: int = 0
    first_notices: int = 0
    second_notices: int = 0
    cancelled: int = 0
    held: int = 0  # would be cancelled, but a requested notice has not left: see `sne-hub notices`

    def __str__(self) -> str:
        return (f"{self.examined} demandes examinées, {self.first_notices} premiers préavis demandés, "
                f"{self.second_notices} seconds préavis demandés, {self.cancelled} radiations pour "
                f"non-renouvellement, {self.held} radiations suspendues (préavis non parti)")


def pending(unit_of_work: Callable[[], UnitOfWork], today: date) -> list[RegistrationNumber]:
    """The applications the clock has to look at on ``today``: active, due within two months or overdue."""
    with unit_of_work() as uow:
        return uow.applications.due_for_clock(add_months(today, FIRST_NOTICE_MONTHS_BEFORE))


def run(
    unit_of_work: Callable[[], UnitOfWork],
    today: date,
    now: datetime,
    numbers: list[RegistrationNumber] | None = None,
    progress: Callable[[int], None] = lambda done: None,
) -> ClockReport:
    """Do everything the clock owes on ``today``; ``progress`` is told of each application handled."""
    if numbers is None:
        numbers = pending(unit_of_work, today)
    report = ClockReport()
    for number in numbers:
        _handle(unit_of_work, number, today, now, report)
        report.examined += 1
        progress(1)
    log.info("renewal clock for %s: %s", today.isoformat(), report)
    if report.held:
        log.error("renewal clock for %s: %d cancellations held because a notice has not left "
                  "(sne-hub notices list --status failed)", today.isoformat(), report.held)
    return report


def _handle(unit_of_work: Callable[[], UnitOfWork], number: RegistrationNumber, today: date, now: datetime,
            report: ClockReport) -> None:
    with unit_of_work() as uow:
        application = uow.applications.get(number, for_update=True)
        if application is None:
            return
        loaded_version = application.version
        for _ in range(MAX_STEPS_PER_APPLICATION):
            step = next_step(application, today)
            if isinstance(step, SendNotice):
                application.request_notice(step.second, today, SYSTEM, now, step.delivery)
                if step.second:
                    report.second_notices += 1
                else:
                    report.first_notices += 1
            elif isinstance(step, CancelNotRenewed):
                application.cancel_not_renewed(step.on, SYSTEM, now)
                report.cancelled += 1
            else:
                report.held += held_for_notice(application, today)
                break
        if application.events:
            uow.applications.save(application, loaded_version)
            uow.events.append(application.events)
            uow.commit()

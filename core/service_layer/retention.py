"""The daily purge: applications cancelled more than a year ago are erased (arrêté of 23 March
2015: data are kept one year after cancellation), with every copy of their data the register
holds, and their supporting documents through the :class:`ApplicationDocuments` port.

Each application is purged in its own transaction with its row locked: its documents first (their
rows in the same transaction; their bytes, which cannot roll back, right away: a failure leaves the
application and its documents' rows, to be purged whole on the next run, deleting bytes already
gone does nothing), then its data; the journal keeps one line saying it was purged, and its
earlier lines, which never held personal data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable, Protocol

from core.domain import retention
from core.domain.numbers import RegistrationNumber
from core.domain.referential import SYSTEM

from .unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class ApplicationDocuments(Protocol):
    """Where an application's supporting documents live ("dossier unique"): what the purge erases
    with it. An implementation erases the documents' rows in ``uow``'s transaction and their bytes
    in its storage; bytes cannot roll back, so it erases them idempotently (a purge retried after a
    failure finds some already gone) and returns how many documents it erased."""

    def purge(self, uow: UnitOfWork, number: str) -> int: ...


class NoDocuments:
    """For callers that hold no document store (tests of the purge's own rules): erases no document.
    The jobs pass the deployment's store (``core.cli.Context.documents``)."""

    def purge(self, uow: UnitOfWork, number: str) -> int:
        return 0


NO_DOCUMENTS = NoDocuments()


@dataclass
class PurgeReport:
    purged: int = 0
    documents: int = 0

    def __str__(self) -> str:
        return f"{self.purged} demandes radiées depuis plus d'un an effacées, {self.documents} pièces effacées"


def pending(unit_of_work: Callable[..., UnitOfWork], today: date) -> list[RegistrationNumber]:
    """The applications whose retention period is over on ``today``."""
    with unit_of_work(readonly=True) as uow:
        return uow.applications.cancelled_on_or_before(retention.candidates_until(today))


def run(unit_of_work: Callable[..., UnitOfWork], today: date, now: datetime, documents: ApplicationDocuments,
        numbers: list[RegistrationNumber] | None = None,
        progress: Callable[[int], None] = lambda done: None) -> PurgeReport:
    """Purge every application due on ``today``; ``progress`` is told of each one handled.

    ``documents`` has no default: a purge that forgot the store would erase the application and
    leave its documents' bytes behind, unreachable and never erased."""
    if numbers is None:
        numbers = pending(unit_of_work, today)
    report = PurgeReport()
    for number in numbers:
        erased = _purge(unit_of_work, number, today, now, documents)
        if erased is not None:
            report.purged += 1
            report.documents += erased
        progress(1)
    log.info("retention for %s: %s", today.isoformat(), report)
    return report


def _purge(unit_of_work: Callable[..., UnitOfWork], number: RegistrationNumber, today: date, now: datetime,
           documents: ApplicationDocuments) -> int | None:
    with unit_of_work() as uow:
        application = uow.applications.get(number, for_update=True)
        if application is None or application.cancellation is None \
                or not retention.is_due(application.cancellation.date, today):
            return None  # reactivated, purged or not due after all: nothing to do
        application.purge(SYSTEM, now, today)
        erased = documents.purge(uow, str(number))
        uow.applications.purge(number)
        uow.events.append(application.events)
        uow.commit()
        return erased

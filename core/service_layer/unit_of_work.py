"""What the use cases need from storage, stated without naming any storage.

A unit of work is one transaction: everything done inside commits together or not at all. The
journal and the outbox are written through the same unit of work as the change they describe,
which is what guarantees that nothing committed is missed and nothing rolled back is ever sent.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable

from core.domain.application import Application
from core.domain.errors import DuplicateCandidate
from core.domain.events import Event
from core.domain.identity import PersonKey
from core.domain.numbers import RegistrationNumber
from core.domain.referential import Counter, CounterCertificate, Territory
from core.domain.search import SearchCriteria, SortKey


class Applications(abc.ABC):
    @abc.abstractmethod
    def add(self, application: Application) -> None: ...

    @abc.abstractmethod
    def get(self, number: RegistrationNumber, *, for_update: bool = False) -> Application | None:
        """Load an application; ``for_update`` locks it until the unit of work ends."""

    @abc.abstractmethod
    def save(self, application: Application, loaded_version: int) -> None:
        """Store a changed application; refuse if someone else changed it since ``loaded_version``."""

    @abc.abstractmethod
    def lock_identities(self, keys: Iterable[PersonKey]) -> None:
        """Serialise registrations of the same people, so two can't both pass the duplicate check."""

    @abc.abstractmethod
    def find_duplicates(
        self, keys: Iterable[PersonKey], territory: str, exclude: RegistrationNumber | None = None
    ) -> list[DuplicateCandidate]:
        """Active applications of ``territory`` held by one of these people."""

    @abc.abstractmethod
    def search(self, criteria: SearchCriteria, territory: str) -> list[SortKey]:
        """Every match's sort key in ``territory``, in the SNE's order."""

    @abc.abstractmethod
    def sort_key(self, number: str) -> SortKey | None: ...

    @abc.abstractmethod
    def cancelled_since(self, territory: str, since: datetime, motive: str | None) -> list[Application]:
        """Applications of ``territory`` cancelled (recorded) at or after ``since``, oldest first."""

    @abc.abstractmethod
    def dalo_active_since(self, territory: str, since: datetime) -> list[str]:
        """Numbers of active applications whose DALO status became ACTIF at or after ``since``."""

    @abc.abstractmethod
    def due_for_clock(self, until: date) -> list[RegistrationNumber]:
        """Active applications whose renewal is due on or before ``until``."""


class Territories(abc.ABC):
    @abc.abstractmethod
    def add(self, territory: Territory) -> None: ...

    @abc.abstractmethod
    def get(self, code: str) -> Territory | None: ...

    @abc.abstractmethod
    def list(self) -> list[Territory]: ...

    @abc.abstractmethod
    def claimed_areas(self, departements: Iterable[str], communes: Iterable[str]) -> dict[str, str]:
        """Which of these areas another territory already covers: {area: territory code}."""


class Counters(abc.ABC):
    @abc.abstractmethod
    def add(self, counter: Counter) -> None: ...

    @abc.abstractmethod
    def get(self, code: str) -> Counter | None: ...

    @abc.abstractmethod
    def list(self, territory: str | None = None) -> list[Counter]: ...


class Certificates(abc.ABC):
    @abc.abstractmethod
    def add(self, certificate: CounterCertificate) -> None: ...

    @abc.abstractmethod
    def get(self, fingerprint: str) -> CounterCertificate | None: ...

    @abc.abstractmethod
    def of_counter(self, counter: str) -> list[CounterCertificate]: ...

    @abc.abstractmethod
    def revoke(self, fingerprint: str, at: datetime) -> None: ...

    @abc.abstractmethod
    def expiring(self, after: datetime, until: datetime) -> list[CounterCertificate]:
        """Certificates not revoked whose validity ends between ``after`` and ``until``, soonest first."""


class NumberSequences(abc.ABC):
    @abc.abstractmethod
    def create(self, territory: str, last_issued: int = 0) -> None:
        """Start a territory's sequence after ``last_issued`` (a territory taken over from elsewhere)."""

    @abc.abstractmethod
    def next(self, territory: str) -> int:
        """The next sequence number of ``territory``; raises SequenceExhausted past 999999."""

    @abc.abstractmethod
    def last(self, territory: str) -> int:
        """The last sequence number drawn (0 when none)."""


@dataclass(frozen=True)
class JournalEntry:
    id: int
    at: datetime
    actor: str
    number: str
    kind: str
    details: dict[str, Any]


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    created_at: datetime
    topic: str
    number: str
    payload: dict[str, Any]


class EventLog(abc.ABC):
    """The journal (append-only history) and the outbox (messages for the channels)."""

    @abc.abstractmethod
    def append(self, events: Iterable[Event]) -> None:
        """Journal every event and queue it in the outbox."""

    @abc.abstractmethod
    def history(self, number: str) -> list[JournalEntry]: ...

    @abc.abstractmethod
    def claim(self, topics: Iterable[str], limit: int) -> list[OutboxMessage]:
        """Take pending messages for delivery; concurrent consumers never get the same one."""

    @abc.abstractmethod
    def done(self, message_ids: Iterable[int], at: datetime) -> None: ...


class UnitOfWork(abc.ABC):
    applications: Applications
    territories: Territories
    counters: Counters
    certificates: Certificates
    sequences: NumberSequences
    events: EventLog

    def __enter__(self) -> "UnitOfWork":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...


class StaleApplication(Exception):
    """Someone else saved the application since it was loaded; the use case is retried."""

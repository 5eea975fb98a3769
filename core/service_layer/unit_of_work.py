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
from core.domain.dispatch import Change, ItemStatus, Subscription
from core.domain.documents import Document, JournalLine, JournalQuery, Profile
from core.domain.errors import DuplicateCandidate
from core.domain.events import Event
from core.domain.form import ApplicationForm
from core.domain.identity import PersonKey
from core.domain.indicators import PrefectDelay
from core.domain.numbers import RegistrationNumber
from core.domain.referential import Counter, CounterCertificate, Epci, Territory
from core.domain.search import SearchCriteria, SortKey
from core.domain.shared_management import EventType, SharedEvent


@dataclass(frozen=True)
class IndicatorRow:
    """What the register's indicators of one active application depend on, and their stored values."""

    number: str
    filing_date: date
    first_wished_commune: str | None
    stored: tuple[bool, bool] | None  # None: never computed


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
    def record_documents(self, number: RegistrationNumber, categories: Iterable[str], day: date) -> None:
        """The application's documents changed on ``day``: keep the date (dateDerniereModificationPiece)
        and the categories it now holds active documents of (the search by category), without
        changing its version (documents are not the household's form)."""

    @abc.abstractmethod
    def lock_identities(self, keys: Iterable[PersonKey]) -> None:
        """Serialise registrations of the same people, so two can't both pass the duplicate check."""

    @abc.abstractmethod
    def find_duplicates(
        self, keys: Iterable[PersonKey], territory: str, exclude: RegistrationNumber | None = None
    ) -> list[DuplicateCandidate]:
        """Active applications of ``territory`` held by one of these people."""

    @abc.abstractmethod
    def search(self, criteria: SearchCriteria, territory: str, after: SortKey | None, limit: int) -> list[SortKey]:
        """The sort keys of the first ``limit`` matches in ``territory`` that come after the key
        ``after`` (from the first when None), in the SNE's order."""

    @abc.abstractmethod
    def count(self, criteria: SearchCriteria, territory: str, after: SortKey | None, limit: int) -> int:
        """How many matches come after ``after``, counted up to ``limit`` (the count stops there)."""

    @abc.abstractmethod
    def sort_key(self, number: str) -> SortKey | None:
        """Where the application ``number`` stands in the SNE's order, whatever its territory or state."""

    @abc.abstractmethod
    def cancelled_since(self, territory: str, since: datetime, motive: str | None) -> list[Application]:
        """Applications of ``territory`` cancelled (recorded) at or after ``since``, oldest first."""

    @abc.abstractmethod
    def dalo_active_since(self, territory: str, since: datetime) -> list[str]:
        """Numbers of active applications whose DALO status became ACTIF at or after ``since``."""

    @abc.abstractmethod
    def due_for_clock(self, until: date) -> list[RegistrationNumber]:
        """Active applications whose renewal is due on or before ``until``."""

    @abc.abstractmethod
    def indicator_rows(self, territory: str) -> list[IndicatorRow]:
        """Every active application of ``territory`` with what its indicators depend on and its stored flags."""

    @abc.abstractmethod
    def cancelled_on_or_before(self, until: date) -> list[RegistrationNumber]:
        """Cancelled applications whose cancellation date is on or before ``until``."""

    @abc.abstractmethod
    def purge(self, number: RegistrationNumber) -> None:
        """Erase the application and every copy of its data the register holds (its row and index
        rows, its outbox messages, its dispatched files and profiles, its notices' recipients, its
        shared management events); the journal stays."""


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

    @abc.abstractmethod
    def add_epci(self, epci: Epci) -> None: ...

    @abc.abstractmethod
    def epcis(self, territory: str | None = None) -> list[Epci]: ...

    @abc.abstractmethod
    def prefect_delays(self) -> dict[str, int]:
        """{département: months} for every département whose prefect's delay is set."""

    @abc.abstractmethod
    def set_prefect_delay(self, delay: PrefectDelay, at: datetime) -> None: ...

    @abc.abstractmethod
    def clear_prefect_delay(self, departement: str) -> bool:
        """Forget a département's delay; False when none was set."""

    @abc.abstractmethod
    def covered_departements(self) -> set[str]:
        """The départements some territory covers whole."""


class Counters(abc.ABC):
    @abc.abstractmethod
    def add(self, counter: Counter) -> None: ...

    @abc.abstractmethod
    def get(self, code: str) -> Counter | None: ...

    @abc.abstractmethod
    def get_with_territory(self, code: str) -> tuple[Counter, Territory | None] | None:
        """The counter and its territory in one read: what every registration starts with."""

    @abc.abstractmethod
    def list(self, territory: str | None = None) -> list[Counter]: ...

    @abc.abstractmethod
    def set_endpoint(self, code: str, endpoint: str | None) -> None: ...


class Certificates(abc.ABC):
    @abc.abstractmethod
    def add(self, certificate: CounterCertificate) -> None: ...

    @abc.abstractmethod
    def keep_der(self, fingerprint: str, der: bytes) -> None:
        """Store the certificate itself for one registered before the register kept them."""

    @abc.abstractmethod
    def get(self, fingerprint: str) -> CounterCertificate | None: ...

    @abc.abstractmethod
    def of_counter(self, counter: str) -> list[CounterCertificate]: ...

    @abc.abstractmethod
    def revoke(self, fingerprint: str, at: datetime) -> None: ...

    @abc.abstractmethod
    def revocation_mark(self) -> tuple:
        """Changes whenever a certificate is revoked or a counter deactivated (see services.revocation_mark)."""

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


@dataclass(frozen=True)
class PendingChange:
    """An application's change waiting in the outbox for fan-out, read back as domain objects."""

    outbox_id: int
    change: Change
    application: Application  # as it stood after the change
    altered: dict[str, Any]


@dataclass(frozen=True)
class StreamItem:
    """One item of a stream, with what a delivery of it carries."""

    id: int
    sequence: int
    status: ItemStatus
    batch: str | None
    change_id: int
    number: str
    kind: str
    version: int
    actor: str
    at: datetime
    file: bytes | None  # the compressed DIS file, numGuichet to fill in; None for a deletion
    error: str | None = None


@dataclass(frozen=True)
class StreamCounts:
    """Where a stream stands, for operators."""

    pending: int
    dead: int
    refused: int
    delivered: int
    oldest_pending_at: datetime | None
    last_delivered_sequence: int | None


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


class Subscriptions(abc.ABC):
    """Counters' subscriptions and their streams (dispatching)."""

    @abc.abstractmethod
    def add(self, subscription: Subscription) -> Subscription:
        """Store a new subscription; the stored one (with its id) comes back."""

    @abc.abstractmethod
    def get(self, subscription_id: int, *, for_update: bool = False) -> Subscription | None: ...

    @abc.abstractmethod
    def list(self, counter: str | None = None, territory: str | None = None) -> list[Subscription]: ...

    @abc.abstractmethod
    def update(self, subscription_id: int, **values: Any) -> None:
        """Change stored fields of a subscription (filter, enabled, stream state…)."""

    @abc.abstractmethod
    def lock_fan_out(self) -> bool:
        """Become the only fan-out of the deployment until the unit of work ends; False when another
        process holds it (it will do the work)."""

    @abc.abstractmethod
    def pending_changes(self, limit: int) -> list[PendingChange]:
        """The oldest application changes not fanned out yet, in outbox order."""

    @abc.abstractmethod
    def add_changes(self, changes: Iterable[tuple[Change, bytes | None]], at: datetime) -> None:
        """Keep fanned-out changes (each with its compressed DIS file) and consume their outbox
        messages (a change's id is its message's)."""

    @abc.abstractmethod
    def changes_since(self, territory: str, since: datetime) -> list[Change]:
        """The territory's changes kept since ``since``, oldest first."""

    @abc.abstractmethod
    def add_items(self, rows: Iterable[tuple[int, int, int, ItemStatus]], at: datetime) -> None:
        """New stream items: (subscription id, sequence, change id, status)."""

    @abc.abstractmethod
    def claim(self, channels: Iterable[str], now: datetime, lease_until: datetime, owner: str,
              daily_due: bool = False) -> Subscription | None:
        """Lease one enabled stream of ``channels`` with items due (for a daily stream: not sent
        today); concurrent workers never lease the same stream."""

    @abc.abstractmethod
    def head(self, subscription_id: int, limit: int) -> list[StreamItem]:
        """The batch at the head of the stream: the pending items of the lowest pending sequence's
        batch if it has one, else up to ``limit`` pending items without a batch, in order."""

    @abc.abstractmethod
    def assign_batch(self, subscription_id: int, first: int, last: int, batch: str) -> None:
        """Make the pending items of sequences ``first`` to ``last`` the delivery ``batch``."""

    @abc.abstractmethod
    def resolve(self, batch: str, status: ItemStatus, error: str | None, at: datetime,
                sequences: Iterable[int] | None = None) -> None:
        """Give the delivery's items still pending (or only those of ``sequences``) their outcome; an
        outcome already recorded never changes (a late report of a worker that lost its lease)."""

    @abc.abstractmethod
    def release(self, subscription_id: int, owner: str, **values: Any) -> bool:
        """End the lease (and store ``values``) if ``owner`` still holds it."""

    @abc.abstractmethod
    def items_after(self, subscription_id: int, sequence: int, limit: int) -> list[StreamItem]:
        """Items of the stream after ``sequence``, whatever their status, in order."""

    @abc.abstractmethod
    def items(self, subscription_id: int, statuses: Iterable[ItemStatus], limit: int) -> list[StreamItem]: ...

    @abc.abstractmethod
    def requeue(self, subscription_id: int, statuses: Iterable[ItemStatus]) -> int:
        """Put items of these statuses back to pending (keeping their batch and so their delivery id)."""

    @abc.abstractmethod
    def counts(self, subscription_id: int) -> StreamCounts: ...


@dataclass(frozen=True)
class NoticeSend:
    """One channel's attempt at a renewal notice, with what the channel needs."""

    id: int
    notice_id: int
    channel: str
    attempts: int
    number: str
    territory: str
    second: bool
    due: date
    recipient: dict[str, Any]


@dataclass(frozen=True)
class NoticeRecord:
    """A renewal notice and where it stands, for operators (no personal data)."""

    id: int
    number: str
    territory: str
    second: bool
    due: date
    requested_at: datetime
    status: str
    sent_at: datetime | None
    sent_channel: str | None
    sends: tuple[tuple[str, str, int, str | None], ...]  # (channel, status, attempts, last error)


@dataclass(frozen=True)
class LetterBatch:
    id: int
    territory: str
    channel: str
    day: date
    closed_at: datetime
    letters: int
    pdf: bytes | None
    exported_at: datetime | None
    export_path: str | None


class Notices(abc.ABC):
    """Renewal notices to applicants, each channel's attempts, and the daily letter batches."""

    @abc.abstractmethod
    def add(self, outbox_id: int, number: str, territory: str, second: bool, due: date, requested_at: datetime,
            recipient: dict[str, Any], channels: Iterable[str], at: datetime) -> int: ...

    @abc.abstractmethod
    def get(self, notice_id: int) -> NoticeRecord | None: ...

    @abc.abstractmethod
    def list(self, status: str | None = None, number: str | None = None, limit: int = 1000) -> list[NoticeRecord]: ...

    @abc.abstractmethod
    def claim(self, channel: str, now: datetime, lease_until: datetime, limit: int) -> list[NoticeSend]:
        """Lease queued sends of ``channel`` whose time has come; concurrent workers never get the same."""

    @abc.abstractmethod
    def send_of(self, send_id: int) -> NoticeSend | None: ...

    @abc.abstractmethod
    def update_send(self, send_id: int, **values: Any) -> None: ...

    @abc.abstractmethod
    def sends(self, notice_id: int) -> list[tuple[int, str, str]]:
        """(send id, channel, status) of every send of a notice."""

    @abc.abstractmethod
    def add_send(self, notice_id: int, channel: str, at: datetime) -> int: ...

    @abc.abstractmethod
    def update(self, notice_id: int, **values: Any) -> None: ...

    @abc.abstractmethod
    def queued_letters(self, territory: str, channel: str, until: datetime) -> list[NoticeSend]:
        """Letters of ``territory`` queued before ``until``, oldest first, locked for the batch."""

    @abc.abstractmethod
    def letter_territories(self, until: datetime) -> list[tuple[str, str]]:
        """(territory, channel) pairs with letters queued before ``until``."""

    @abc.abstractmethod
    def add_batch(self, territory: str, channel: str, day: date, closed_at: datetime, letters: int,
                  pdf: bytes) -> int: ...

    @abc.abstractmethod
    def batches(self, exported: bool | None = None, limit: int = 1000) -> list[LetterBatch]: ...

    @abc.abstractmethod
    def batch(self, batch_id: int) -> LetterBatch | None: ...

    @abc.abstractmethod
    def exported(self, batch_id: int, path: str, at: datetime) -> None: ...


class SharedEvents(abc.ABC):
    """Shared management: a territory's own event types and the events recorded on applications."""

    @abc.abstractmethod
    def add_type(self, event_type: EventType, at: datetime, by: str) -> None: ...

    @abc.abstractmethod
    def types(self, territory: str) -> list[EventType]:
        """The territory's own types, by code."""

    @abc.abstractmethod
    def end_type(self, territory: str, code: str, valid_until: date) -> None: ...

    @abc.abstractmethod
    def add(self, event: SharedEvent) -> SharedEvent:
        """Store a new event; the stored one (with its id) comes back."""

    @abc.abstractmethod
    def get(self, event_id: int, *, for_update: bool = False) -> SharedEvent | None: ...

    @abc.abstractmethod
    def of_application(self, number: str) -> list[SharedEvent]:
        """The application's events, in the order they were recorded."""

    @abc.abstractmethod
    def of_types(self, territory: str, type_codes: tuple[str, ...]) -> list[SharedEvent]:
        """A territory's events of these types, in the order they were recorded."""

    @abc.abstractmethod
    def save(self, event: SharedEvent) -> None: ...

    @abc.abstractmethod
    def delete(self, event_id: int) -> None: ...


class Documents(abc.ABC):
    """Supporting documents' descriptions, their journal, and the counters' document profiles.

    Never their bytes: those are in a :class:`DocumentStore`."""

    @abc.abstractmethod
    def add(self, document: Document) -> None: ...

    @abc.abstractmethod
    def get(self, document_id: str, *, for_update: bool = False) -> Document | None: ...

    @abc.abstractmethod
    def save(self, document: Document) -> None:
        """Store a document's changed metadata and state."""

    @abc.abstractmethod
    def of_application(self, number: str, include_quarantined: bool = False) -> list[Document]:
        """An application's documents, by category, type and deposit."""

    @abc.abstractmethod
    def count_active(self, number: str, type_code: str) -> int: ...

    @abc.abstractmethod
    def erase_of_application(self, number: str) -> list[str]:
        """Remove every description of an application's documents, quarantined ones too, and their
        journal (which categories and types a number held says something of the household: a
        disability, a court ruling), and give back their storage keys."""

    @abc.abstractmethod
    def journal(self, lines: Iterable[JournalLine]) -> None: ...

    @abc.abstractmethod
    def search_journal(self, query: JournalQuery) -> list[JournalLine]:
        """Lines of an application's document journal, newest first."""

    @abc.abstractmethod
    def storage_keys(self, after: str | None, limit: int) -> list[str]:
        """Every document's storage key in key order, from after ``after``: what key rotation walks."""

    @abc.abstractmethod
    def count(self) -> int:
        """How many documents the register describes, quarantined ones included."""

    @abc.abstractmethod
    def lock_storage_key(self, key: str) -> bool:
        """Lock the document stored under ``key`` until the transaction ends; False when no
        document has that key any more (purged since it was listed)."""

    @abc.abstractmethod
    def profile(self, counter: str) -> Profile | None:
        """The document profile granted to a counter, None when not set (a counter's own then)."""

    @abc.abstractmethod
    def set_profile(self, counter: str, profile: Profile) -> None: ...


class DocumentStore(abc.ABC):
    """Where documents' bytes live, by opaque keys the register draws at random (never a client's name).

    Not transactional: a deposit stores the bytes first and removes them if its transaction fails."""

    @abc.abstractmethod
    def put(self, key: str, content: bytes) -> None: ...

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; DocumentUnreadable when absent or altered."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the bytes (nothing when absent)."""

    def reseal(self, key: str) -> bool:
        """Seal the bytes under ``key`` again with the current key if another sealed them; whether
        it did. DocumentUnreadable when they are absent or altered. Stores that seal nothing move nothing."""
        return False


@dataclass(frozen=True)
class Candidates:
    """The active applications of a territory held by one of a registration's people, and the
    territory's next sequence number when it was drawn with them (None: draw it)."""

    candidates: list[DuplicateCandidate]
    sequence: int | None


class UnitOfWork(abc.ABC):
    applications: Applications
    territories: Territories
    counters: Counters
    certificates: Certificates
    sequences: NumberSequences
    events: EventLog
    subscriptions: Subscriptions
    notices: Notices
    shared_events: SharedEvents
    documents: Documents

    def __enter__(self) -> "UnitOfWork":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...

    # A registration's work, which adapters may do in fewer round trips than the repositories' calls.

    def prepare_form(self, form: ApplicationForm) -> Any:
        """What storing ``form`` takes that the form alone decides (its document, its index rows),
        built before the transaction opens (SQLite's write lock is held from its start); None when
        the adapter has nothing to build ahead. Called outside ``with``."""
        return None

    def registration_counter(self, counter_code: str, keys: set[PersonKey]) -> tuple[Counter, Territory | None] | None:
        """The acting counter and its territory (None: no such counter), with the people ``keys``
        identify locked until the transaction ends: two registrations of the same people cannot
        both pass the duplicate check."""
        found = self.counters.get_with_territory(counter_code)
        if found is not None and found[1] is not None:
            self.applications.lock_identities(keys)
        return found

    def registration_candidates(self, counter_code: str, keys: set[PersonKey], territory: str, *,
                                draw: bool) -> Candidates:
        """The active applications of ``territory`` held by these people; with ``draw``, the
        territory's next sequence number too when the adapter can tell with the same read that
        there are none (None: the caller draws it, once its checks passed)."""
        return Candidates(self.applications.find_duplicates(keys, territory), None)

    def commit_registration(self, application: Application, prepared: Any = None) -> None:
        """Store a new application (with ``prepare_form``'s work when given) and its events, and commit."""
        self.applications.add(application)
        self.events.append(application.events)
        self.commit()


class StaleApplication(Exception):
    """Someone else saved the application since it was loaded; the use case is retried."""

"""What happened to an application: the journal's lines and the outbox's messages.

Each change records one :class:`Event`. ``details`` go to the append-only journal and must never
hold personal data (the journal outlives the applications it describes). What channels need goes
to the outbox only: ``delivery``, what a notice channel needs to reach the applicant (a renewal
notice's addresses), and ``change``, what dispatching needs to tell other counters (the application
after the change, what it altered, how it stood before).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    REGISTERED = "application.registered"
    REGISTERED_AFTER_SEPARATION = "application.registered_after_separation"
    UPDATED = "application.updated"
    RENEWED = "application.renewed"
    CANCELLED = "application.cancelled"
    REACTIVATED = "application.reactivated"
    DELETED = "application.deleted"
    DALO_DECLARED = "application.dalo_declared"
    INDICATORS_CHANGED = "application.indicators_changed"  # the register's informationTraitement flags
    PURGED = "application.purged"  # erased at the end of its retention period (journal only)
    # Shared management: an event of the application recorded, changed or deleted (its events, not
    # the application itself, changed: the application's version stays).
    SHARED_EVENT_ADDED = "shared_event.added"
    SHARED_EVENT_CHANGED = "shared_event.changed"
    SHARED_EVENT_DELETED = "shared_event.deleted"
    RENEWAL_NOTICE = "notice.renewal"  # a notice is due: the notice channels take it from the outbox
    NOTICE_SENT = "notice.sent"  # a channel took it (journal only)
    NOTICE_FAILED = "notice.failed"  # no channel could take it: an operator must act (journal only)

    @property
    def queued(self) -> bool:
        """Whether the event is also a message in the outbox (some only belong to the journal)."""
        return self not in (EventKind.NOTICE_SENT, EventKind.NOTICE_FAILED, EventKind.PURGED)


@dataclass(frozen=True)
class ChangeFacts:
    """What dispatching needs of a change; outbox only, never journaled (it is personal data)."""

    application: Any  # the Application after the change
    altered: dict[str, Any]  # core.domain.changes tree: what the change altered
    before: Any = None  # the dispatch Profile before the change, when the form changed


@dataclass(frozen=True)
class Event:
    kind: EventKind
    number: str
    at: datetime
    actor: str
    details: dict[str, Any] = field(default_factory=dict)
    delivery: dict[str, Any] | None = None
    change: ChangeFacts | None = field(default=None, compare=False, repr=False)

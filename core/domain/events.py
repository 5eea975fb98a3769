"""What happened to an application: the journal's lines and the outbox's messages.

Each change records one :class:`Event`. ``details`` go to the append-only journal and must never
hold personal data (the journal outlives the applications it describes); ``delivery`` holds what a
channel needs to reach the applicant (a renewal notice's addresses) and goes to the outbox only.
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
    RENEWAL_NOTICE = "notice.renewal"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    number: str
    at: datetime
    actor: str
    details: dict[str, Any] = field(default_factory=dict)
    delivery: dict[str, Any] | None = None

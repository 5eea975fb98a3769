"""Dispatching: which counters receive which changes of the register, and how each stream behaves.

The regulation obliges counters with their own software to load the changes OTHER counters of their
territory make, so that a household files once and nobody registers it twice. A counter subscribes
(one or more :class:`Subscription`), each with a channel and a :class:`Filter`. Every change of an
application becomes one item per matching subscription, numbered in that subscription's own
gapless sequence; a stream is delivered in sequence order.

Rules decided here (docs/REGISTER.md, "Dispatching"):

- nothing reaches a counter the rights table does not let read the application (same territory,
  active counter), whatever its filter says;
- a filter matches a change when it matches the application before OR after it, so a system learns
  of the change that takes an application out of its scope;
- by default a counter does not receive its own changes (it made them);
- criteria combine with AND; the values of one criterion with OR; an empty criterion matches all.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Iterable, Mapping

from .codes import CurrentHousingKind, DaloStatus, HousingType
from .errors import INVALID_VALUE, Anomaly, InvalidContent, RegisterError
from .events import EventKind
from .form import ApplicationForm
from .referential import DEPARTEMENT_CODE, EPCI_CODE, Counter, Operation, authorize, departement_of
from .vocabulary import InseeCommune


class Channel(StrEnum):
    SOAP = "soap"  # pushed to the counter's endpoint (receiver WSDL), at once
    MAIL = "mail"  # signed and encrypted mail to the counter's mailbox, at once
    DAILY_MAIL = "daily_mail"  # one mail a day, a null flow on days without changes
    PULL = "pull"  # nothing pushed: the counter's system asks getDispatchDepuis

    @property
    def pushed(self) -> bool:
        return self is not Channel.PULL


class ChangeKind(StrEnum):
    """What happened, as the delivery says it (``typeChangement``)."""

    CREATION = "CRE"
    CREATION_AFTER_SEPARATION = "CRS"
    MODIFICATION = "MOD"
    RENEWAL = "REN"
    CANCELLATION = "RAD"
    REACTIVATION = "REA"
    DELETION = "SUP"
    DALO = "DALO"
    EVENT = "EVT"  # shared management: the application's events changed (no DIS file; docs/DISPATCHING.md)

    @property
    def carries_file(self) -> bool:
        """Whether items of this kind carry a DIS file: not a deletion (the application is gone) nor an
        event change (the events travel by GestionPartageeEVTImplService, the DIS format has no place
        for them)."""
        return self not in (ChangeKind.DELETION, ChangeKind.EVENT)


CHANGE_OF_EVENT: dict[EventKind, ChangeKind] = {
    EventKind.REGISTERED: ChangeKind.CREATION,
    EventKind.REGISTERED_AFTER_SEPARATION: ChangeKind.CREATION_AFTER_SEPARATION,
    EventKind.UPDATED: ChangeKind.MODIFICATION,
    EventKind.RENEWED: ChangeKind.RENEWAL,
    EventKind.CANCELLED: ChangeKind.CANCELLATION,
    EventKind.REACTIVATED: ChangeKind.REACTIVATION,
    EventKind.DELETED: ChangeKind.DELETION,
    EventKind.DALO_DECLARED: ChangeKind.DALO,
    EventKind.INDICATORS_CHANGED: ChangeKind.MODIFICATION,  # the file changed: other systems see it as a MOD
    EventKind.SHARED_EVENT_ADDED: ChangeKind.EVENT,
    EventKind.SHARED_EVENT_CHANGED: ChangeKind.EVENT,
    EventKind.SHARED_EVENT_DELETED: ChangeKind.EVENT,
}
DISPATCHED_EVENTS = frozenset(event.value for event in CHANGE_OF_EVENT)


@dataclass(frozen=True)
class Profile:
    """What filters look at in an application: computed once per change, kept with it.

    ``household_size`` counts the applicant, co-applicants, dependants and expected births (None for
    an association); ``monthly_resources`` sums the monthly resources received by all of them, in
    euros (None when none are declared); ``social_tenant`` is true when the household lives in
    social housing already (a "mutation").
    """

    communes: tuple[str, ...] = ()
    housing_types: tuple[str, ...] = ()
    household_size: int | None = None
    monthly_resources: int | None = None
    dalo_status: str | None = None
    social_tenant: bool = False

    @classmethod
    def of(cls, form: ApplicationForm) -> "Profile":
        sought = form.housing_sought
        household = form.household
        size = resources = None
        social_tenant = False
        if household is not None:
            births = household.expected_births.count if household.expected_births else None
            size = 1 + len(household.co_applicants) + len(household.dependants) + (births or 0)
            received = [resource.amount for adult in form.people for resource in adult.resources_received]
            if household.applicant is not None:
                received += [r.amount for r in household.applicant.dependants_resources_received]
            amounts = [amount for amount in received if amount is not None]
            resources = sum(amounts) if amounts else None
            housing = household.current_housing
            social_tenant = housing is not None and CurrentHousingKind.SOCIAL_HOUSING_TENANT.value in housing.kinds
        return cls(
            communes=tuple(form.wished_communes),
            housing_types=tuple(sought.housing_types) if sought else (),
            household_size=size,
            monthly_resources=resources,
            dalo_status=form.dalo.status if form.dalo else None,
            social_tenant=social_tenant,
        )

    def to_document(self) -> dict[str, Any]:
        return {**asdict(self), "communes": list(self.communes), "housing_types": list(self.housing_types)}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> "Profile":
        return cls(**{**document, "communes": tuple(document.get("communes", ())),
                      "housing_types": tuple(document.get("housing_types", ()))})


@dataclass(frozen=True)
class Change:
    """One change of an application, as fan-out sees it."""

    id: int
    number: str
    territory: str
    kind: ChangeKind
    version: int
    actor: str
    at: datetime
    after: Profile
    before: Profile | None = None


@dataclass(frozen=True)
class Range:
    """An inclusive range of integers; an open end is None."""

    low: int | None = None
    high: int | None = None

    def contains(self, value: int | None) -> bool:
        if self.low is None and self.high is None:
            return True
        if value is None:
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    @property
    def is_open(self) -> bool:
        return self.low is None and self.high is None

    def __str__(self) -> str:
        return f"{'' if self.low is None else self.low}-{'' if self.high is None else self.high}"

    @classmethod
    def parse(cls, text: str) -> "Range":
        """``2-5``, ``3-`` (3 or more), ``-1500``, ``4`` (exactly 4)."""
        match = re.fullmatch(r"\s*(\d{0,9})\s*(-?)\s*(\d{0,9})\s*", text or "")
        if not match or not (match[1] or match[3]) or (match[3] and not match[2] and match[1]):
            raise ValueError(f"intervalle invalide : {text!r} (ex. 2-5, 3-, -1500, 4)")
        low = int(match[1]) if match[1] else None
        high = int(match[3]) if match[3] else (low if not match[2] else None)
        if low is not None and high is not None and low > high:
            raise ValueError(f"intervalle vide : {text!r}")
        return cls(low, high)


@dataclass(frozen=True)
class Filter:
    """Which changes a subscription wants. Validated on creation; empty criteria match everything."""

    kinds: frozenset[str] = frozenset()
    communes: frozenset[str] = frozenset()
    epcis: frozenset[str] = frozenset()
    departements: frozenset[str] = frozenset()
    housing_types: frozenset[str] = frozenset()
    household_size: Range = Range()
    monthly_resources: Range = Range()
    dalo_statuses: frozenset[str] = frozenset()
    mutations_only: bool = False
    include_own: bool = False

    def __post_init__(self) -> None:
        checks = (
            ("kinds", lambda v: v in ChangeKind._value2member_map_, "type de changement inconnu"),
            ("communes", InseeCommune.has, "code commune INSEE invalide"),
            ("epcis", lambda v: EPCI_CODE.fullmatch(v) is not None, "SIREN d'EPCI invalide (9 chiffres)"),
            ("departements", lambda v: DEPARTEMENT_CODE.fullmatch(v) is not None, "département inconnu"),
            ("housing_types", HousingType.has, "type de logement inconnu"),
            ("dalo_statuses", DaloStatus.has, "statut DALO inconnu"),
        )
        anomalies = [Anomaly(INVALID_VALUE, f"{message} : {value}", name)
                     for name, valid, message in checks for value in sorted(getattr(self, name)) if not valid(value)]
        if anomalies:
            raise InvalidContent(anomalies)

    @property
    def geographic(self) -> bool:
        return bool(self.communes or self.epcis or self.departements)

    def matches(self, change: Change, actor_is_subscriber: bool, epci_communes: Mapping[str, frozenset[str]]) -> bool:
        if actor_is_subscriber and not self.include_own:
            return False
        if self.kinds and change.kind.value not in self.kinds:
            return False
        profiles = [change.after] if change.before is None else [change.before, change.after]
        return any(self._matches_profile(profile, epci_communes) for profile in profiles)

    def _matches_profile(self, profile: Profile, epci_communes: Mapping[str, frozenset[str]]) -> bool:
        if self.geographic:
            wanted = set(self.communes).union(*(epci_communes.get(epci, frozenset()) for epci in self.epcis))
            if not any(c in wanted or departement_of(c) in self.departements for c in profile.communes):
                return False
        if self.housing_types and not self.housing_types.intersection(profile.housing_types):
            return False
        if self.dalo_statuses and profile.dalo_status not in self.dalo_statuses:
            return False
        if self.mutations_only and not profile.social_tenant:
            return False
        return self.household_size.contains(profile.household_size) and \
            self.monthly_resources.contains(profile.monthly_resources)

    # -- storage and display --------------------------------------------------------------------

    def to_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, frozenset) and value:
                document[item.name] = sorted(value)
            elif isinstance(value, Range) and not value.is_open:
                document[item.name] = str(value)
            elif isinstance(value, bool) and value:
                document[item.name] = True
        return document

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> "Filter":
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name not in document:
                continue
            raw = document[item.name]
            default = item.default
            if isinstance(default, frozenset):
                values[item.name] = frozenset(raw)
            elif isinstance(default, Range):
                values[item.name] = Range.parse(raw)
            else:
                values[item.name] = bool(raw)
        return cls(**values)

    def describe(self) -> str:
        parts = [f"{name}={','.join(v) if isinstance(v, list) else v}" for name, v in self.to_document().items()]
        return " ".join(parts) or "all"


def parse_duration(text: str) -> timedelta:
    """``0s``, ``90s``, ``5m``, ``24h``, ``2d``: how operators write delays."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text or "")
    if not match:
        raise ValueError(f"durée invalide : {text!r} (ex. 90s, 5m, 24h, 2d)")
    return timedelta(seconds=float(match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]])


@dataclass(frozen=True)
class RetrySchedule:
    """Delays before each attempt of a delivery: the first is usually 0 (at once).

    After a failure, the next attempt waits the next delay; when the delays are used up the
    delivery becomes a dead letter. Kept in the database per stream, so retries survive restarts
    and move between processes (which is why no in-process retry library fits).
    """

    delays: tuple[timedelta, ...]

    DEFAULT = "0s,5s,5m,30m,2h,5h,10h,10h"

    @classmethod
    def parse(cls, text: str) -> "RetrySchedule":
        try:
            return cls(tuple(parse_duration(token) for token in (text or "").split(",")))
        except ValueError:
            raise ValueError(f"calendrier de relances invalide : {text!r} (ex. {cls.DEFAULT})") from None

    def after_failure(self, failures: int) -> timedelta | None:
        """The wait before the next attempt after ``failures`` failed ones; None: give up."""
        return self.delays[failures] if failures < len(self.delays) else None


@dataclass(frozen=True)
class Subscription:
    """A counter's stream of changes, and where it stands."""

    id: int | None
    counter: str
    channel: Channel
    filter: Filter = Filter()
    mtom: bool = True  # SOAP push as MTOM (false: files inline in base64, for stacks without MTOM)
    enabled: bool = True
    created_at: datetime | None = None
    last_sequence: int = 0
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    failing_since: datetime | None = None
    last_success_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    daily_sent_on: date | None = None

    def accepts(self, counter: Counter, change: Change, epci_communes: Mapping[str, frozenset[str]]) -> bool:
        """Whether ``change`` goes to this subscription of ``counter``: rights first, then the filter."""
        if not counter.active or counter.territory != change.territory:
            return False
        try:
            authorize(counter, Operation.READ, change.territory)
        except RegisterError:  # any refusal of the rights table excludes the change
            return False
        return self.filter.matches(change, change.actor == counter.code, epci_communes)


@dataclass(frozen=True)
class Failure:
    """What the stream does after a failed attempt."""

    next_attempt_at: datetime | None  # None: the batch is a dead letter, the stream goes on
    attempts: int
    failing_since: datetime
    disable: bool


def after_failure(subscription: Subscription, now: datetime, schedule: RetrySchedule,
                  disable_after: timedelta) -> Failure:
    """Retry per ``schedule``, dead-letter when it is used up; disable the stream after failing
    for ``disable_after`` without a single success (its items wait: nothing is lost)."""
    attempts = subscription.attempts + 1
    failing_since = subscription.failing_since or now
    wait = schedule.after_failure(attempts)
    disable = now - failing_since >= disable_after
    if wait is None:
        return Failure(None, 0, failing_since, disable)
    return Failure(now + wait, attempts, failing_since, disable)


class ItemStatus(StrEnum):
    PENDING = "pending"  # to push (or to pull)
    DELIVERED = "delivered"  # acknowledged by the receiver, or taken by the mail relay
    REFUSED = "refused"  # refused for good by the receiver: not retried
    DEAD = "dead"  # the retry schedule ran out: a dead letter, retried only by an operator
    AVAILABLE = "available"  # a pull-only stream's item: the counter fetches it


def kinds_of(values: Iterable[str]) -> frozenset[str]:
    """Change kinds as operators type them (``cre``, ``RAD``…), upper-cased."""
    return frozenset(value.strip().upper() for value in values if value.strip())


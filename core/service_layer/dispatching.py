"""Dispatching's use cases: subscriptions, fan-out, delivering streams, pulling, operating them.

The guarantees (docs/DISPATCHING.md):

- fan-out turns each committed change into one item per matching subscription, numbered in the
  subscription's gapless sequence, in the same transaction that consumes the outbox message: a
  change is fanned out entirely or not at all, and never twice;
- a stream is sent in sequence order, one batch at a time, under a lease; a batch keeps its
  delivery id (``idLivraison``) across every retry, so a receiver applies it once whatever the
  number of attempts, crashes or lease expiries;
- failures are retried on a schedule, then dead-lettered (an operator retries them); a receiver's
  permanent refusal is not retried; a stream failing for too long is disabled and reported, and its
  items wait (nothing is lost): re-enabling or pulling (``getDispatchDepuis``) catches up.

Channels hand over a DIS renderer and the sending itself; everything decided is decided here.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable, Iterable

from core.domain.application import Application
from core.domain.calendar import PARIS
from core.domain.dispatch import (
    Channel,
    Filter,
    ItemStatus,
    RetrySchedule,
    Subscription,
    after_failure,
)
from core.domain.errors import (
    INVALID_VALUE,
    Anomaly,
    InvalidContent,
    ReferenceDataConflict,
    SubscriptionRefused,
    UnknownCounter,
    UnknownSubscription,
    UnknownTerritory,
)
from core.domain.referential import (
    Counter,
    Epci,
    Operation,
    Territory,
    authorize,
    departement_of,
    encryption_certificate,
)

from .unit_of_work import StreamCounts, StreamItem, UnitOfWork

log = logging.getLogger(__name__)

Renderer = Callable[[Application, dict], bytes | None]  # the stored DIS file of a change (None: deletion)
DEFAULT_BATCH = 100
MAX_PULL = 500
FAN_OUT_BATCH = 500


# -- reference data and subscriptions ------------------------------------------------------------


def add_epci(uow: UnitOfWork, epci: Epci) -> None:
    """An inter-municipal body of a territory, which filters may name (its communes in the territory)."""
    with uow:
        territory = _territory(uow, epci.territory)
        outside = sorted(commune for commune in epci.communes if not territory.covers(commune))
        if outside:
            raise SubscriptionRefused(f"Communes hors du territoire {territory.code} : {', '.join(outside)}",
                                      "communes")
        if any(known.code == epci.code for known in uow.territories.epcis()):
            raise ReferenceDataConflict(f"L'EPCI {epci.code} existe déjà", "code")
        uow.territories.add_epci(epci)
        uow.commit()


def subscribe(uow: UnitOfWork, counter_code: str, channel: Channel, filter: Filter, now: datetime, *,
              mtom: bool = True) -> Subscription:
    """A new stream for ``counter_code``; it receives the changes committed from now on."""
    with uow:
        counter = _counter(uow, counter_code)
        _check_reachable(counter, channel)
        _check_filter(uow, counter, filter)
        subscription = uow.subscriptions.add(Subscription(None, counter.code, channel, filter, mtom=mtom,
                                                          created_at=now))
        uow.commit()
    return subscription


def change_filter(uow: UnitOfWork, subscription_id: int, filter: Filter) -> Subscription:
    """A new filter, for the changes fanned out from now on (``replay`` applies it to the past)."""
    with uow:
        subscription = _subscription(uow, subscription_id)
        _check_filter(uow, _counter(uow, subscription.counter), filter)
        uow.subscriptions.update(subscription_id, filter=filter)
        uow.commit()
    return replace(subscription, filter=filter)


def set_enabled(uow: UnitOfWork, subscription_id: int, enabled: bool, now: datetime, reason: str | None = None) -> None:
    """Stop pushing a stream (its items keep accumulating), or resume it from where it stopped."""
    with uow:
        subscription = _subscription(uow, subscription_id)
        if enabled:
            _check_reachable(_counter(uow, subscription.counter), subscription.channel)
            values = dict(enabled=True, disabled_at=None, disabled_reason=None, failing_since=None, attempts=0,
                          next_attempt_at=None)
        else:
            reason = (reason or "désactivé par un opérateur")[:500]
            values = dict(enabled=False, disabled_at=now, disabled_reason=reason)
        uow.subscriptions.update(subscription_id, **values)
        uow.commit()


def set_endpoint(uow: UnitOfWork, counter_code: str, endpoint: str | None) -> None:
    """Where SOAP pushes reach the counter's system (https://…)."""
    with uow:
        counter = _counter(uow, counter_code, active_only=False)
        Counter(counter.code, counter.name, counter.type, counter.territory, counter.mailbox, endpoint)  # validates
        uow.counters.set_endpoint(counter.code, endpoint)
        uow.commit()


def preview(uow: UnitOfWork, counter_code: str, filter: Filter, now: datetime, days: int = 30) -> tuple[int, int]:
    """How many of the territory's changes of the last ``days`` days the filter would have sent the
    counter, out of how many: (matched, total)."""
    with uow:
        counter = _counter(uow, counter_code)
        _check_filter(uow, counter, filter)
        changes = uow.subscriptions.changes_since(counter.territory, now - timedelta(days=days))
        epcis = _epci_communes(uow)
    probe = Subscription(None, counter.code, Channel.PULL, filter)
    return sum(probe.accepts(counter, change, epcis) for change in changes), len(changes)


# -- fan-out ---------------------------------------------------------------------------------------


def fan_out(uow: UnitOfWork, now: datetime, render: Renderer, limit: int = FAN_OUT_BATCH) -> int:
    """Turn the oldest pending changes into stream items; returns how many changes were handled
    (0 when there were none, or another process is fanning out)."""
    with uow:
        if not uow.subscriptions.lock_fan_out():
            return 0
        pending = uow.subscriptions.pending_changes(limit)
        if not pending:
            return 0
        subscriptions = uow.subscriptions.list()
        counters = {counter.code: counter for counter in uow.counters.list()}
        epcis = _epci_communes(uow)
        sequences = {subscription.id: subscription.last_sequence for subscription in subscriptions}
        changes, items = [], []
        for found in pending:
            change = found.change
            changes.append((change, render(found.application, found.altered) if change.kind.carries_file else None))
            for subscription in subscriptions:
                if subscription.accepts(counters[subscription.counter], change, epcis):
                    sequences[subscription.id] += 1
                    status = ItemStatus.PENDING if subscription.channel.pushed else ItemStatus.AVAILABLE
                    items.append((subscription.id, sequences[subscription.id], change.id, status))
        uow.subscriptions.add_changes(changes, now)
        uow.subscriptions.add_items(items, now)
        for subscription in subscriptions:
            if sequences[subscription.id] != subscription.last_sequence:
                uow.subscriptions.update(subscription.id, last_sequence=sequences[subscription.id])
        uow.commit()
    return len(pending)


# -- delivering streams ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """A batch leased for sending: the same items, under the same id, until it succeeds or dies."""

    id: str  # idLivraison: the batch of its items
    subscription: Subscription
    counter: Counter
    items: tuple[StreamItem, ...]  # in sequence order
    last_sequence: int  # the stream's last allocated sequence: receivers see gaps against it
    owner: str
    daily: bool = False
    drains: bool = True  # a daily delivery that leaves nothing pending: the day's mail is done
    encrypt_to: bytes | None = None  # mail: the counter's certificate (DER)


@dataclass(frozen=True)
class Delivered:
    refusals: dict[int, str]  # sequence -> why the receiver refused that file for good


@dataclass(frozen=True)
class Failed:
    error: str
    permanent: bool = False  # the receiver refused the whole delivery: retrying would not help


Outcome = Delivered | Failed


def claim(uow: UnitOfWork, channels: Iterable[Channel], now: datetime, owner: str, lease: timedelta,
          batch_size: int = DEFAULT_BATCH, daily: bool = False) -> Delivery | None:
    """Lease the stream that waited longest among those with something due, and its head batch.

    ``daily``: the daily mail streams whose mail of today has not gone yet (a null flow when
    nothing is pending)."""
    today = now.astimezone(PARIS).date()
    with uow:
        subscription = uow.subscriptions.claim([c.value for c in channels], now, now + lease, owner,
                                               not_sent_on=today if daily else None)
        if subscription is None:
            return None
        counter = uow.counters.get(subscription.counter)
        items = uow.subscriptions.head(subscription.id, batch_size + 1)
        drains = not items or items[0].batch is not None or len(items) <= batch_size  # nothing left behind
        items = items[:batch_size]
        if not items:
            batch = f"S{subscription.id}-J{today:%Y%m%d}"  # a daily null flow
        elif items[0].batch is None:  # a new delivery (its items keep batch None as read: the id is here)
            batch = f"S{subscription.id}-{items[0].sequence:010d}-{items[-1].sequence:010d}"
            uow.subscriptions.assign_batch(subscription.id, items[0].sequence, items[-1].sequence, batch)
        else:
            batch = items[0].batch
        encrypt_to = None
        if subscription.channel in (Channel.MAIL, Channel.DAILY_MAIL):
            chosen = encryption_certificate(uow.certificates.of_counter(counter.code), now)
            encrypt_to = chosen.der if chosen else None
        uow.commit()
    return Delivery(batch, subscription, counter, tuple(items), subscription.last_sequence, owner, daily, drains,
                    encrypt_to)


def record(uow: UnitOfWork, delivery: Delivery, outcome: Outcome, now: datetime, schedule: RetrySchedule,
           disable_after: timedelta) -> str:
    """Store what became of a delivery and what the stream does next; returns a word for the logs
    (delivered, refused, retry, dead, disabled)."""
    subscription = delivery.subscription
    items = delivery.items
    with uow:
        outcomes: list[tuple[ItemStatus, str | None, list[int] | None]] = []  # (status, error, sequences)
        if isinstance(outcome, Delivered):
            word = "delivered"
            sent = {item.sequence for item in items}
            refusals = {sequence: why for sequence, why in outcome.refusals.items() if sequence in sent}
            outcomes = [(ItemStatus.REFUSED, why, [sequence]) for sequence, why in sorted(refusals.items())]
            outcomes.append((ItemStatus.DELIVERED, None, None))  # the rest of the delivery
            refused = "; ".join(f"{s}: {why}" for s, why in sorted(refusals.items()))[:1000] or None
            values = dict(attempts=0, next_attempt_at=None, failing_since=None, last_success_at=now,
                          last_error=f"refus : {refused}" if refused else None)
            if delivery.daily and delivery.drains:
                values["daily_sent_on"] = now.astimezone(PARIS).date()
        elif outcome.permanent:
            word = "refused"
            outcomes = [(ItemStatus.REFUSED, outcome.error, None)]
            values = dict(attempts=0, next_attempt_at=None, failing_since=None, last_error=outcome.error[:1000])
        else:
            decision = after_failure(subscription, now, schedule, disable_after)
            values = dict(attempts=decision.attempts, next_attempt_at=decision.next_attempt_at or now,
                          failing_since=decision.failing_since, last_error=outcome.error[:1000])
            word = "retry"
            if decision.next_attempt_at is None:
                word = "dead"
                outcomes = [(ItemStatus.DEAD, outcome.error, None)]
            if decision.disable:
                word = "disabled"
                values.update(enabled=False, disabled_at=now, disabled_reason=(
                    f"en échec depuis le {decision.failing_since.astimezone(PARIS):%d/%m/%Y %H:%M} : "
                    f"{outcome.error}")[:500])
        released = uow.subscriptions.release(subscription.id, delivery.owner, **values)
        if items and (released or isinstance(outcome, Delivered)):  # delivered is delivered, whoever leases now
            for status, error, sequences in outcomes:
                uow.subscriptions.resolve(delivery.id, status, error, now, sequences)
        uow.commit()
    if not released:
        log.warning("stream %d: lease lost during delivery %s (another worker took over)", subscription.id,
                    delivery.id)
    if word == "disabled":
        log.error("stream %d of counter %s disabled after failing since %s: %s", subscription.id,
                  subscription.counter, values["failing_since"].isoformat(), outcome.error[:200])
    elif word == "dead":
        log.error("stream %d of counter %s: delivery %s is a dead letter (%d files)", subscription.id,
                  subscription.counter, delivery.id, len(items))
    return word


# -- pulling ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pulled:
    subscription: Subscription
    items: list[StreamItem]
    complete: bool  # nothing more after the last item returned
    last_sequence: int


def pull(uow: UnitOfWork, counter_code: str, cursor: int, subscription_id: int | None = None,
         limit: int = DEFAULT_BATCH) -> Pulled:
    """getDispatchDepuis: the stream's items after ``cursor`` (the last sequence the counter's system
    applied), whatever their push status, at most ``limit``."""
    if cursor < 0:
        raise InvalidContent([Anomaly(INVALID_VALUE, "Le curseur est le dernier numéro de séquence reçu (≥ 0)",
                                      "curseur")])
    limit = max(1, min(limit, MAX_PULL))
    with uow:
        counter = _counter(uow, counter_code)
        authorize(counter, Operation.READ, counter.territory)
        subscription = _own_subscription(uow.subscriptions.list(counter=counter.code), subscription_id)
        items = uow.subscriptions.items_after(subscription.id, cursor, limit + 1)
    return Pulled(subscription, items[:limit], len(items) <= limit, subscription.last_sequence)


# -- operating streams -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamStatus:
    subscription: Subscription
    counts: StreamCounts
    lag: timedelta | None  # how long the oldest pending item has waited


def status(uow: UnitOfWork, now: datetime, counter: str | None = None,
           territory: str | None = None) -> list[StreamStatus]:
    with uow:
        found = []
        for subscription in uow.subscriptions.list(counter=counter, territory=territory):
            counts = uow.subscriptions.counts(subscription.id)
            lag = now - counts.oldest_pending_at if counts.oldest_pending_at else None
            found.append(StreamStatus(subscription, counts, lag))
    return found


def items(uow: UnitOfWork, subscription_id: int, statuses: Iterable[ItemStatus], limit: int = 1000) -> list[StreamItem]:
    with uow:
        _subscription(uow, subscription_id)
        return uow.subscriptions.items(subscription_id, statuses, limit)


def retry_dead(uow: UnitOfWork, subscription_id: int) -> int:
    """Send the stream's dead letters again, first, under their delivery ids."""
    with uow:
        _subscription(uow, subscription_id)
        count = uow.subscriptions.requeue(subscription_id, [ItemStatus.DEAD])
        uow.subscriptions.update(subscription_id, attempts=0, next_attempt_at=None)
        uow.commit()
    return count


def replay(uow: UnitOfWork, subscription_id: int, since: datetime, now: datetime) -> int:
    """Send again every change since ``since`` that the subscription's filter (as it is now) and the
    counter's rights accept, as new items at the end of the stream: a receiver that lost data, or a
    filter widened, gets them under new sequence numbers and delivery ids."""
    with uow:
        subscription = _subscription(uow, subscription_id, for_update=True)
        counter = _counter(uow, subscription.counter, active_only=False)
        epcis = _epci_communes(uow)
        changes = [change for change in uow.subscriptions.changes_since(counter.territory, since)
                   if subscription.accepts(counter, change, epcis)]
        status = ItemStatus.PENDING if subscription.channel.pushed else ItemStatus.AVAILABLE
        first = subscription.last_sequence + 1
        uow.subscriptions.add_items([(subscription.id, first + index, change.id, status)
                                     for index, change in enumerate(changes)], now)
        uow.subscriptions.update(subscription.id, last_sequence=subscription.last_sequence + len(changes))
        uow.commit()
    return len(changes)


# -- helpers ---------------------------------------------------------------------------------------


def _counter(uow: UnitOfWork, code: str, active_only: bool = True) -> Counter:
    counter = uow.counters.get(code)
    if counter is None or (active_only and not counter.active):
        raise UnknownCounter(f"Guichet inconnu ou inactif : {code}", "guichet")
    return counter


def _territory(uow: UnitOfWork, code: str) -> Territory:
    territory = uow.territories.get(code)
    if territory is None:
        raise UnknownTerritory(f"Territoire inconnu : {code}", "territory")
    return territory


def _subscription(uow: UnitOfWork, subscription_id: int, for_update: bool = False) -> Subscription:
    subscription = uow.subscriptions.get(subscription_id, for_update=for_update)
    if subscription is None:
        raise UnknownSubscription(f"Aucun abonnement n° {subscription_id}", "abonnement")
    return subscription


def _own_subscription(subscriptions: list[Subscription], wanted: int | None) -> Subscription:
    if wanted is not None:
        for subscription in subscriptions:
            if subscription.id == wanted:
                return subscription
        raise UnknownSubscription(f"Le guichet n'a pas d'abonnement n° {wanted}", "abonnement")
    if len(subscriptions) == 1:
        return subscriptions[0]
    if not subscriptions:
        raise UnknownSubscription("Le guichet n'a aucun abonnement au dispatching", "abonnement")
    numbers = ", ".join(str(subscription.id) for subscription in subscriptions)
    raise UnknownSubscription(f"Le guichet a plusieurs abonnements ({numbers}) : préciser lequel", "abonnement")


def _check_reachable(counter: Counter, channel: Channel) -> None:
    if channel is Channel.SOAP and not counter.endpoint:
        raise SubscriptionRefused(f"Le guichet {counter.code} n'a pas de point d'accès pour le dispatching SOAP "
                                  "(sne-hub dispatch endpoint)", "endpoint")
    if channel in (Channel.MAIL, Channel.DAILY_MAIL) and not counter.mailbox:
        raise SubscriptionRefused(f"Le guichet {counter.code} n'a pas d'adresse d'échange", "mailbox")


def _check_filter(uow: UnitOfWork, counter: Counter, filter: Filter) -> None:
    """Places a filter names must be the counter's territory's: it never sees anything else."""
    territory = _territory(uow, counter.territory)
    anomalies = [Anomaly(INVALID_VALUE, f"Commune hors du territoire {territory.code} : {commune}", "communes")
                 for commune in sorted(filter.communes) if not territory.covers(commune)]
    own_departements = territory.departements | {departement_of(c) for c in territory.communes}
    anomalies += [Anomaly(INVALID_VALUE, f"Département hors du territoire {territory.code} : {d}", "departements")
                  for d in sorted(filter.departements) if d not in own_departements]
    known = {epci.code for epci in uow.territories.epcis(territory.code)}
    anomalies += [Anomaly(INVALID_VALUE, f"EPCI inconnu du territoire {territory.code} : {code}", "epcis")
                  for code in sorted(filter.epcis) if code not in known]
    if anomalies:
        raise InvalidContent(anomalies)


def _epci_communes(uow: UnitOfWork) -> dict[str, frozenset[str]]:
    return {epci.code: epci.communes for epci in uow.territories.epcis()}


def new_owner() -> str:
    """A worker's name in leases: unique, so a worker never mistakes another's lease for its own."""
    return uuid.uuid4().hex


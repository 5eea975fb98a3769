"""Dispatching's storage: subscriptions, the changes fanned out to them, and each stream's items.

A stream is delivered in sequence order by one worker at a time: a worker *leases* the stream (a
row update with an expiry, so a worker killed mid-delivery only delays it until the lease ends),
takes the batch at its head, sends it without any transaction open, then records the outcome. On
PostgreSQL the lease is taken with ``FOR UPDATE SKIP LOCKED``, so workers of several processes
never wait on each other; SQLite's writers are serialised anyway (one process).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any, Iterable

from sqlalchemy import Connection, bindparam, exists, func, insert, or_, select, text, update

from core.domain.dispatch import (
    CHANGE_OF_EVENT,
    DISPATCHED_EVENTS,
    Change,
    ChangeKind,
    Channel,
    Filter,
    ItemStatus,
    Profile,
    Subscription,
)
from core.domain.events import EventKind
from core.service_layer import unit_of_work as port

from . import orm
from .rows import application_from_snapshot

FAN_OUT_LOCK = 0x534E4501  # PostgreSQL advisory lock: one fan-out at a time in the whole deployment
_SUBSCRIPTIONS, _ITEMS, _CHANGES, _OUTBOX = (orm.subscriptions.c, orm.dispatch_items.c, orm.dispatch_changes.c,
                                             orm.outbox.c)
_ITEM_COLUMNS = (_ITEMS.id, _ITEMS.sequence, _ITEMS.status, _ITEMS.batch, _ITEMS.change_id, _CHANGES.number,
                 _CHANGES.kind, _CHANGES.version, _CHANGES.actor, _CHANGES.at, _CHANGES.file, _ITEMS.error)
_SELECT_ITEMS = select(*_ITEM_COLUMNS).join(orm.dispatch_changes, _CHANGES.id == _ITEMS.change_id)
_PENDING = ItemStatus.PENDING.value
# Statements built once, with few parameters: prepared by the driver, whatever the batch's size.
ASSIGN_BATCH = (update(orm.dispatch_items)
                .where(_ITEMS.subscription_id == bindparam("subscription"), _ITEMS.status == _PENDING,
                       _ITEMS.batch.is_(None), _ITEMS.sequence.between(bindparam("first"), bindparam("last")))
                .values(batch=bindparam("new_batch")))
RESOLVE = (update(orm.dispatch_items).where(_ITEMS.batch == bindparam("of_batch"), _ITEMS.status == _PENDING)
           .values(status=bindparam("new_status"), error=bindparam("new_error"),
                   delivered_at=bindparam("new_delivered_at")))
RESOLVE_SEQUENCES = RESOLVE.where(_ITEMS.sequence.in_(bindparam("sequences", expanding=True)))


class SqlSubscriptions(port.Subscriptions):
    def __init__(self, connection: Connection, postgres: bool):
        self.connection = connection
        self.postgres = postgres

    # -- subscriptions ------------------------------------------------------------------------------

    def add(self, subscription: Subscription) -> Subscription:
        values = _values(subscription.__dict__)
        values.pop("id")
        row_id = self.connection.execute(insert(orm.subscriptions).values(**values)
                                         .returning(_SUBSCRIPTIONS.id)).scalar_one()
        return replace(subscription, id=row_id)

    def get(self, subscription_id: int, *, for_update: bool = False) -> Subscription | None:
        query = select(orm.subscriptions).where(_SUBSCRIPTIONS.id == subscription_id)
        if for_update and self.postgres:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return _subscription(row) if row else None

    def list(self, counter: str | None = None, territory: str | None = None) -> list[Subscription]:
        query = select(orm.subscriptions).order_by(_SUBSCRIPTIONS.counter_code, _SUBSCRIPTIONS.id)
        if counter is not None:
            query = query.where(_SUBSCRIPTIONS.counter_code == counter)
        if territory is not None:
            query = query.join(orm.counters, orm.counters.c.code == _SUBSCRIPTIONS.counter_code).where(
                orm.counters.c.territory_code == territory)
        return [_subscription(row) for row in self.connection.execute(query)]

    def update(self, subscription_id: int, **values: Any) -> None:
        self.connection.execute(update(orm.subscriptions).where(_SUBSCRIPTIONS.id == subscription_id)
                                .values(**_values(values)))

    # -- fan-out ------------------------------------------------------------------------------------

    def lock_fan_out(self) -> bool:
        if not self.postgres:
            return True  # SQLite: the writing transaction is already exclusive
        return bool(self.connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": FAN_OUT_LOCK}))

    def pending_changes(self, limit: int) -> list[port.PendingChange]:
        rows = self.connection.execute(
            select(_OUTBOX.id, _OUTBOX.topic, _OUTBOX.payload)
            .where(_OUTBOX.delivered_at.is_(None), _OUTBOX.topic.in_(sorted(DISPATCHED_EVENTS)))
            .order_by(_OUTBOX.id).limit(limit))
        return [_pending(row.id, row.topic, row.payload) for row in rows]

    def add_changes(self, changes: Iterable[tuple[Change, bytes | None]], at: datetime) -> None:
        rows = [{"id": change.id, "number": change.number, "territory_code": change.territory,
                 "kind": change.kind.value, "version": change.version, "actor": change.actor, "at": change.at,
                 "before": change.before.to_document() if change.before else None,
                 "after": change.after.to_document(), "file": file}
                for change, file in changes]
        if not rows:
            return
        self.connection.execute(insert(orm.dispatch_changes), rows)
        self.connection.execute(update(orm.outbox).where(_OUTBOX.id.in_([row["id"] for row in rows]))
                                .values(delivered_at=at))

    def changes_since(self, territory: str, since: datetime) -> list[Change]:
        rows = self.connection.execute(
            select(orm.dispatch_changes).where(_CHANGES.territory_code == territory, _CHANGES.at >= since)
            .order_by(_CHANGES.id))
        return [_change(row) for row in rows]

    def add_items(self, rows: Iterable[tuple[int, int, int, ItemStatus]], at: datetime) -> None:
        values = [{"subscription_id": subscription, "sequence": sequence, "change_id": change,
                   "status": status.value, "created_at": at} for subscription, sequence, change, status in rows]
        if values:
            self.connection.execute(insert(orm.dispatch_items), values)

    # -- streams ------------------------------------------------------------------------------------

    def claim(self, channels: Iterable[str], now: datetime, lease_until: datetime, owner: str,
              not_sent_on: date | None = None) -> Subscription | None:
        query = (select(orm.subscriptions)
                 .join(orm.counters, orm.counters.c.code == _SUBSCRIPTIONS.counter_code)
                 .where(orm.counters.c.active.is_(True),  # a deactivated counter receives nothing
                        _SUBSCRIPTIONS.enabled.is_(True), _SUBSCRIPTIONS.channel.in_(list(channels)),
                        or_(_SUBSCRIPTIONS.leased_until.is_(None), _SUBSCRIPTIONS.leased_until < now),
                        or_(_SUBSCRIPTIONS.next_attempt_at.is_(None), _SUBSCRIPTIONS.next_attempt_at <= now))
                 .order_by(_SUBSCRIPTIONS.last_attempt_at.asc().nulls_first(), _SUBSCRIPTIONS.id)
                 .limit(1))
        if not_sent_on is not None:  # a daily stream: due once a day, items or not (null flow)
            query = query.where(or_(_SUBSCRIPTIONS.daily_sent_on.is_(None), _SUBSCRIPTIONS.daily_sent_on < not_sent_on))
        else:
            query = query.where(exists().where(_ITEMS.subscription_id == _SUBSCRIPTIONS.id, _ITEMS.status == _PENDING))
        if self.postgres:
            query = query.with_for_update(skip_locked=True, of=orm.subscriptions)
        row = self.connection.execute(query).first()
        if row is None:
            return None
        self.connection.execute(update(orm.subscriptions).where(_SUBSCRIPTIONS.id == row.id)
                                .values(leased_until=lease_until, lease_owner=owner, last_attempt_at=now))
        return _subscription(row)

    def head(self, subscription_id: int, limit: int) -> list[port.StreamItem]:
        first = self.connection.execute(
            select(_ITEMS.batch).where(_ITEMS.subscription_id == subscription_id, _ITEMS.status == _PENDING)
            .order_by(_ITEMS.sequence).limit(1)).first()
        if first is None:
            return []
        query = _SELECT_ITEMS.where(_ITEMS.subscription_id == subscription_id, _ITEMS.status == _PENDING)
        if first.batch is not None:  # a delivery already tried: the very same items again
            query = query.where(_ITEMS.batch == first.batch)
        else:
            query = query.where(_ITEMS.batch.is_(None)).limit(limit)
        return [_item(row) for row in self.connection.execute(query.order_by(_ITEMS.sequence))]

    def assign_batch(self, subscription_id: int, first: int, last: int, batch: str) -> None:
        self.connection.execute(ASSIGN_BATCH, {"subscription": subscription_id, "first": first, "last": last,
                                               "new_batch": batch})

    def resolve(self, batch: str, status: ItemStatus, error: str | None, at: datetime,
                sequences: Iterable[int] | None = None) -> None:
        statement = RESOLVE if sequences is None else RESOLVE_SEQUENCES
        parameters = {"of_batch": batch, "new_status": status.value, "new_error": error[:1000] if error else None,
                      "new_delivered_at": at if status is ItemStatus.DELIVERED else None}
        if sequences is not None:
            parameters["sequences"] = list(sequences)
        self.connection.execute(statement, parameters)

    def release(self, subscription_id: int, owner: str, **values: Any) -> bool:
        result = self.connection.execute(
            update(orm.subscriptions)
            .where(_SUBSCRIPTIONS.id == subscription_id, _SUBSCRIPTIONS.lease_owner == owner)
            .values(leased_until=None, lease_owner=None, **_values(values)))
        return result.rowcount == 1

    def items_after(self, subscription_id: int, sequence: int, limit: int) -> list[port.StreamItem]:
        query = (_SELECT_ITEMS.where(_ITEMS.subscription_id == subscription_id, _ITEMS.sequence > sequence)
                 .order_by(_ITEMS.sequence).limit(limit))
        return [_item(row) for row in self.connection.execute(query)]

    def items(self, subscription_id: int, statuses: Iterable[ItemStatus], limit: int) -> list[port.StreamItem]:
        query = (_SELECT_ITEMS.where(_ITEMS.subscription_id == subscription_id,
                                     _ITEMS.status.in_([status.value for status in statuses]))
                 .order_by(_ITEMS.sequence).limit(limit))
        return [_item(row) for row in self.connection.execute(query)]

    def requeue(self, subscription_id: int, statuses: Iterable[ItemStatus]) -> int:
        result = self.connection.execute(
            update(orm.dispatch_items)
            .where(_ITEMS.subscription_id == subscription_id, _ITEMS.status.in_([s.value for s in statuses]))
            .values(status=_PENDING, error=None))
        return result.rowcount

    def counts(self, subscription_id: int) -> port.StreamCounts:
        by_status = dict(self.connection.execute(
            select(_ITEMS.status, func.count()).where(_ITEMS.subscription_id == subscription_id)
            .group_by(_ITEMS.status)).all())
        oldest = self.connection.scalar(select(func.min(_ITEMS.created_at)).where(
            _ITEMS.subscription_id == subscription_id, _ITEMS.status == _PENDING))
        delivered = self.connection.scalar(select(func.max(_ITEMS.sequence)).where(
            _ITEMS.subscription_id == subscription_id, _ITEMS.status == ItemStatus.DELIVERED.value))
        return port.StreamCounts(by_status.get(_PENDING, 0), by_status.get(ItemStatus.DEAD.value, 0),
                                 by_status.get(ItemStatus.REFUSED.value, 0),
                                 by_status.get(ItemStatus.DELIVERED.value, 0), oldest, delivered)


def _values(values: dict[str, Any]) -> dict[str, Any]:
    """Domain values as column values: the filter as its document, the channel as its code."""
    converted = {}
    for name, value in values.items():
        if name == "counter":
            converted["counter_code"] = value
        elif name == "filter":
            converted["filter"] = value.to_document()
        elif name == "channel":
            converted["channel"] = Channel(value).value
        else:
            converted[name] = value
    return converted


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row.id, counter=row.counter_code, channel=Channel(row.channel), filter=Filter.from_document(row.filter),
        mtom=row.mtom, enabled=row.enabled, created_at=row.created_at, last_sequence=row.last_sequence,
        disabled_at=row.disabled_at, disabled_reason=row.disabled_reason, failing_since=row.failing_since,
        last_success_at=row.last_success_at, last_attempt_at=row.last_attempt_at, last_error=row.last_error,
        attempts=row.attempts, next_attempt_at=row.next_attempt_at, daily_sent_on=row.daily_sent_on,
    )


def _pending(outbox_id: int, topic: str, payload: dict[str, Any]) -> port.PendingChange:
    facts = payload["change"]
    application = application_from_snapshot(facts["application"])
    change = Change(
        id=outbox_id, number=payload["number"], territory=application.territory,
        kind=CHANGE_OF_EVENT[EventKind(topic)], version=payload["version"], actor=payload["actor"],
        at=datetime.fromisoformat(payload["at"]), after=Profile.of(application.form),
        before=Profile.from_document(facts["before"]) if facts.get("before") else None,
    )
    return port.PendingChange(outbox_id, change, application, facts.get("altered") or {})


def _change(row: Any) -> Change:
    return Change(row.id, row.number, row.territory_code, ChangeKind(row.kind), row.version, row.actor, row.at,
                  Profile.from_document(row.after), Profile.from_document(row.before) if row.before else None)


def _item(row: Any) -> port.StreamItem:
    return port.StreamItem(row.id, row.sequence, ItemStatus(row.status), row.batch, row.change_id, row.number,
                           row.kind, row.version, row.actor, row.at, row.file, row.error)


"""Renewal notices' storage: each notice, each channel's attempts, the daily letter batches.

A notice holds the applicant's contact details (taken from the outbox message the renewal clock
wrote) only until it has left; then they are erased. Channel workers lease the sends they work on,
with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several processes never send one twice.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable

from sqlalchemy import Connection, insert, null, or_, select, update

from core.service_layer import unit_of_work as port

from . import orm

_NOTICES, _SENDS, _BATCHES = orm.notices.c, orm.notice_sends.c, orm.letter_batches.c
QUEUED = "queued"
LETTER_CHANNELS = ("letter", "registered_letter")
_SEND_COLUMNS = (_SENDS.id, _SENDS.notice_id, _SENDS.channel, _SENDS.attempts, _NOTICES.number,
                 _NOTICES.territory_code, _NOTICES.second, _NOTICES.due, _NOTICES.recipient)
_SELECT_SENDS = select(*_SEND_COLUMNS).join(orm.notices, _NOTICES.id == _SENDS.notice_id)


class SqlNotices(port.Notices):
    def __init__(self, connection: Connection, postgres: bool):
        self.connection = connection
        self.postgres = postgres

    def add(self, outbox_id: int, number: str, territory: str, second: bool, due: date, requested_at: datetime,
            recipient: dict[str, Any], channels: Iterable[str], at: datetime) -> int:
        notice_id = self.connection.execute(insert(orm.notices).values(
            outbox_id=outbox_id, number=number, territory_code=territory, second=second, due=due,
            requested_at=requested_at, recipient=recipient, status="pending").returning(_NOTICES.id)).scalar_one()
        for channel in channels:
            self.add_send(notice_id, channel, at)
        return notice_id

    def add_send(self, notice_id: int, channel: str, at: datetime) -> int:
        return self.connection.execute(insert(orm.notice_sends).values(
            notice_id=notice_id, channel=channel, status=QUEUED, attempts=0, next_attempt_at=at)
            .returning(_SENDS.id)).scalar_one()

    def get(self, notice_id: int) -> port.NoticeRecord | None:
        found = self._records(select(orm.notices).where(_NOTICES.id == notice_id))
        return found[0] if found else None

    def list(self, status: str | None = None, number: str | None = None, limit: int = 1000) -> list[port.NoticeRecord]:
        query = select(orm.notices).order_by(_NOTICES.id).limit(limit)
        if status is not None:
            query = query.where(_NOTICES.status == status)
        if number is not None:
            query = query.where(_NOTICES.number == number)
        return self._records(query)

    def _records(self, query) -> list[port.NoticeRecord]:
        rows = list(self.connection.execute(query))
        sends: dict[int, list[tuple[str, str, int, str | None]]] = {}
        if rows:
            for send in self.connection.execute(
                    select(_SENDS.notice_id, _SENDS.channel, _SENDS.status, _SENDS.attempts, _SENDS.last_error)
                    .where(_SENDS.notice_id.in_([row.id for row in rows])).order_by(_SENDS.id)):
                sends.setdefault(send.notice_id, []).append((send.channel, send.status, send.attempts, send.last_error))
        return [port.NoticeRecord(row.id, row.number, row.territory_code, row.second, row.due, row.requested_at,
                                  row.status, row.sent_at, row.sent_channel, tuple(sends.get(row.id, ())))
                for row in rows]

    def claim(self, channel: str, now: datetime, lease_until: datetime, limit: int) -> list[port.NoticeSend]:
        query = (_SELECT_SENDS
                 .where(_SENDS.channel == channel, _SENDS.status == QUEUED, _SENDS.next_attempt_at <= now,
                        or_(_SENDS.leased_until.is_(None), _SENDS.leased_until < now))
                 .order_by(_SENDS.next_attempt_at, _SENDS.id).limit(limit))
        if self.postgres:
            query = query.with_for_update(skip_locked=True, of=orm.notice_sends)
        found = [_send(row) for row in self.connection.execute(query)]
        if found:
            self.connection.execute(update(orm.notice_sends).where(_SENDS.id.in_([s.id for s in found]))
                                    .values(leased_until=lease_until))
        return found

    def send_of(self, send_id: int) -> port.NoticeSend | None:
        row = self.connection.execute(_SELECT_SENDS.where(_SENDS.id == send_id)).first()
        return _send(row) if row else None

    def update_send(self, send_id: int, **values: Any) -> None:
        self.connection.execute(update(orm.notice_sends).where(_SENDS.id == send_id).values(**values))

    def sends(self, notice_id: int) -> list[tuple[int, str, str]]:
        return [tuple(row) for row in self.connection.execute(
            select(_SENDS.id, _SENDS.channel, _SENDS.status).where(_SENDS.notice_id == notice_id)
            .order_by(_SENDS.id))]

    def update(self, notice_id: int, **values: Any) -> None:
        if "recipient" in values and values["recipient"] is None:
            values["recipient"] = null()  # SQL NULL: a JSON column would otherwise store JSON null
        self.connection.execute(update(orm.notices).where(_NOTICES.id == notice_id).values(**values))

    def queued_letters(self, territory: str, channel: str, until: datetime) -> list[port.NoticeSend]:
        query = (_SELECT_SENDS
                 .where(_SENDS.channel == channel, _SENDS.status == QUEUED, _SENDS.next_attempt_at <= until,
                        _NOTICES.territory_code == territory)
                 .order_by(_SENDS.id))
        if self.postgres:
            query = query.with_for_update(of=orm.notice_sends)
        return [_send(row) for row in self.connection.execute(query)]

    def letter_territories(self, until: datetime) -> list[tuple[str, str]]:
        query = (select(_NOTICES.territory_code, _SENDS.channel).distinct()
                 .join(orm.notices, _NOTICES.id == _SENDS.notice_id)
                 .where(_SENDS.channel.in_(LETTER_CHANNELS), _SENDS.status == QUEUED, _SENDS.next_attempt_at <= until)
                 .order_by(_NOTICES.territory_code, _SENDS.channel))
        return [tuple(row) for row in self.connection.execute(query)]

    def add_batch(self, territory: str, channel: str, day: date, closed_at: datetime, letters: int,
                  pdf: bytes) -> int:
        return self.connection.execute(insert(orm.letter_batches).values(
            territory_code=territory, channel=channel, day=day, closed_at=closed_at, letters=letters, pdf=pdf)
            .returning(_BATCHES.id)).scalar_one()

    def batches(self, exported: bool | None = None, limit: int = 1000) -> list[port.LetterBatch]:
        columns = [c for c in orm.letter_batches.c if c.name != "pdf"]
        query = select(*columns).order_by(_BATCHES.id).limit(limit)
        if exported is not None:
            query = query.where(_BATCHES.exported_at.is_not(None) if exported else _BATCHES.exported_at.is_(None))
        return [_batch(row, None) for row in self.connection.execute(query)]

    def batch(self, batch_id: int) -> port.LetterBatch | None:
        row = self.connection.execute(select(orm.letter_batches).where(_BATCHES.id == batch_id)).first()
        return _batch(row, row.pdf) if row else None

    def exported(self, batch_id: int, path: str, at: datetime) -> None:
        self.connection.execute(update(orm.letter_batches).where(_BATCHES.id == batch_id)
                                .values(exported_at=at, export_path=path[:500]))


def _send(row: Any) -> port.NoticeSend:
    return port.NoticeSend(row.id, row.notice_id, row.channel, row.attempts, row.number, row.territory_code,
                           row.second, row.due, row.recipient or {})


def _batch(row: Any, pdf: bytes | None) -> port.LetterBatch:
    return port.LetterBatch(row.id, row.territory_code, row.channel, row.day, row.closed_at, row.letters, pdf,
                            row.exported_at, row.export_path)

"""The mail channel's records: every message received (kept raw, quarantined or processed) and the
durable queue of replies, in the register's database.

A message is stored before the SMTP session is told it was accepted, so nothing accepted is ever
lost; it is processed afterwards, and a restart picks up what was stored but not processed.

Several mail processes may share the database. A mail being processed is leased by its process
(``owner``, ``lease_until``), which renews its leases while it lives: another process takes it only
once the lease ran out (the process died) or was let go (a graceful stop). A reply is leased the
same way by pushing its next attempt past the send (:meth:`MailStore.due`), so that two processes
never send it both; one that died while sending is sent again when its lease ends.

Nothing is kept for ever: a mail carries its files' personal data, so a settled mail (processed, or
quarantined and never released) and a settled reply (sent, or dead and never retried) are erased
whole once older than the retention period (:meth:`MailStore.purge`, ``MailSettings.retention``).
"""

from __future__ import annotations

import threading
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import Connection, Engine, and_, bindparam, case, func, insert, or_, select, update

from core.adapters import orm
from core.adapters.database import reading

RECEIVED, PROCESSING, PROCESSED = "received", "processing", "processed"
QUARANTINED, RELEASED = "quarantined", "released"
QUEUED, SENT, DEAD = "queued", "sent", "dead"
SETTLED_MAILS = (PROCESSED, QUARANTINED)  # the others are still to be processed
SETTLED_REPLIES = (SENT, DEAD)  # queued: still to be sent

messages, outbox = orm.mail_messages, orm.mail_outbox

# How long a process's hold on a mail or a reply lasts without renewal: what another process waits
# after it died. Renewed every third of it (async_mail.service), far longer than a mail takes.
LEASE = timedelta(seconds=60)

# PostgreSQL advisory locks of the replay check: the two-integer form, whose key space is apart from
# the one-bigint locks of core (identities, fan-out); the class says "a counter's mail".
REPLAY_LOCK_CLASS = 0x534E4D4C
REPLAY_LOCKS = ("SELECT pg_advisory_xact_lock(%(class)s, key) FROM unnest(CAST(%(keys)s AS integer[])) AS key "
                "ORDER BY key")

# The statements every mail runs, built once: SQLAlchemy then only binds their values (building a
# statement anew, and its cache key, cost more than PostgreSQL's answer). The PostgreSQL-only ones
# run on the DBAPI cursor of the mail's connection, inside its transaction, as core's registration does.
_EARLIER = (select(messages.c.id, messages.c.counter_code, messages.c.digest, messages.c.reply_id)
            .where(or_(messages.c.digest == bindparam("digest"), messages.c.message_id == bindparam("message_id")),
                   messages.c.counter_code == bindparam("counter"), messages.c.status == PROCESSED)
            .order_by(case((messages.c.digest == bindparam("digest"), 0), else_=1), messages.c.id).limit(1))
_ANSWERED_POSTGRES = f"""
    WITH queued AS (
        INSERT INTO mail_outbox (created_at, recipient, message_id, raw, status, attempts, next_attempt_at)
        VALUES (%(at)s, %(recipient)s, %(message_id)s, %(raw)s, '{QUEUED}', 0, %(at)s) RETURNING id)
    UPDATE mail_messages SET status = '{PROCESSED}', counter_code = %(counter)s, digest = %(digest)s,
        processed_at = %(at)s, reason_code = NULL, reason = NULL, reply_id = (SELECT id FROM queued)
    WHERE id = %(message)s RETURNING reply_id"""
_SENT = (update(outbox).where(outbox.c.id == bindparam("reply"))
         .values(status=SENT, sent_at=bindparam("at"), attempts=outbox.c.attempts + 1, last_error=None))


@dataclass(frozen=True)
class Earlier:
    """A counter's message already processed, which a new one may replay."""

    id: int
    counter: str
    digest: str
    reply_id: int | None


@dataclass(frozen=True)
class Outgoing:
    id: int
    recipient: str
    message_id: str
    raw: bytes
    attempts: int
    created_at: datetime


class MailStore:
    """``owner`` names this process in its leases (unique: a restarted process never takes its
    predecessor's leases for its own)."""

    def __init__(self, engine: Engine, owner: str | None = None, lease: timedelta = LEASE):
        self.engine = engine
        self.owner = owner or uuid.uuid4().hex
        self.lease = lease

    # -- received messages ---------------------------------------------------------------------

    def receive(self, raw: bytes, sender: str | None, message_id: str | None, at: datetime) -> int:
        """Store a message as received, for a worker to claim."""
        with self.engine.begin() as connection:
            return connection.execute(insert(messages).values(
                received_at=at, raw=raw, sender=(sender or "")[:320], message_id=_stored_id(message_id),
                status=RECEIVED,
            ).returning(messages.c.id)).scalar_one()

    def receive_many(self, received: list[tuple[bytes, str | None, str | None, datetime]],
                     keep: int | None = None) -> list[int]:
        """Store several messages in one transaction: their ids, in order. The first ``keep`` (default:
        all) are stored already claimed by the caller, which holds their bytes (the pipeline then needs
        no claim, an UPDATE that read the 13 KiB back, a transaction a mail); the others are stored
        waiting, for whichever process has a free worker first (:meth:`take`). Mails arriving together
        on several SMTP sessions share one commit. Nothing is lost: a mail whose process stopped while
        it was "processing" is taken again once let go or once its lease ran out."""
        keep = len(received) if keep is None else keep
        rows = [dict(received_at=at, raw=raw, sender=(sender or "")[:320], message_id=_stored_id(message_id),
                     status=PROCESSING if index < keep else RECEIVED, owner=self.owner if index < keep else None,
                     lease_until=at + self.lease if index < keep else None)
                for index, (raw, sender, message_id, at) in enumerate(received)]
        with self.engine.begin() as connection:
            return list(connection.scalars(insert(messages).returning(messages.c.id, sort_by_parameter_order=True),
                                           rows))

    def waiting(self, now: datetime) -> list[int]:
        """Messages to take: stored but not processed, released from quarantine, or left "processing"
        by a process that let them go or whose lease ran out."""
        with reading(self.engine) as connection:
            return list(connection.scalars(select(messages.c.id).where(self._takeable(now)).order_by(messages.c.id)))

    def take(self, now: datetime, limit: int) -> list[tuple[int, bytes]]:
        """Claim up to ``limit`` of the messages waiting (:meth:`waiting`), oldest first, in one
        statement, leased to this process: their ids and bytes. Rows another process is claiming at
        the same moment are skipped (PostgreSQL), not waited for."""
        chosen = (select(messages.c.id).where(self._takeable(now)).order_by(messages.c.id).limit(limit)
                  .with_for_update(skip_locked=True))
        with self.engine.begin() as connection:
            rows = connection.execute(update(messages).where(messages.c.id.in_(chosen.scalar_subquery()))
                                      .values(status=PROCESSING, owner=self.owner, lease_until=now + self.lease)
                                      .returning(messages.c.id, messages.c.raw)).all()
        return sorted((row.id, row.raw) for row in rows)

    def unfinished(self) -> list[int]:
        """Every message not yet processed nor quarantined, whoever holds it."""
        with reading(self.engine) as connection:
            return list(connection.scalars(select(messages.c.id).where(
                messages.c.status.in_([RECEIVED, RELEASED, PROCESSING])).order_by(messages.c.id)))

    def claim(self, message: int, now: datetime) -> Any:
        """Take a message for processing, leased to this process, and return it; None if another
        process holds it or it is done."""
        with self.engine.begin() as connection:
            return connection.execute(update(messages).where(messages.c.id == message, self._takeable(now))
                                      .values(status=PROCESSING, owner=self.owner, lease_until=now + self.lease)
                                      .returning(messages.c.id, messages.c.raw)).first()

    def renew(self, now: datetime) -> int:
        """Extend this process's leases on the mails it holds; how many it holds."""
        with self.engine.begin() as connection:
            return connection.execute(update(messages).where(messages.c.owner == self.owner,
                                                             messages.c.status == PROCESSING)
                                      .values(lease_until=now + self.lease)).rowcount

    def let_go(self) -> int:
        """Give up this process's leases (it stops, nothing of it is in flight): another process, or
        the next start, takes those mails at once instead of when the lease would have ended."""
        with self.engine.begin() as connection:
            return connection.execute(update(messages).where(messages.c.owner == self.owner,
                                                             messages.c.status == PROCESSING)
                                      .values(lease_until=None)).rowcount

    def holders(self) -> list[Any]:
        """The mails taken and not yet processed, by the process holding them: how many, the oldest
        one's arrival, the end of the latest lease (None: let go)."""
        query = (select(messages.c.owner, func.count().label("mails"),
                        func.min(messages.c.received_at).label("oldest"),
                        func.max(messages.c.lease_until).label("lease_until"))
                 .where(messages.c.status == PROCESSING).group_by(messages.c.owner).order_by(messages.c.owner))
        with reading(self.engine) as connection:
            return list(connection.execute(query))

    @staticmethod
    def _takeable(now: datetime) -> Any:
        lapsed = or_(messages.c.lease_until.is_(None), messages.c.lease_until < now)
        return or_(messages.c.status.in_([RECEIVED, RELEASED]), and_(messages.c.status == PROCESSING, lapsed))

    def get(self, message: int) -> Any:
        with reading(self.engine) as connection:
            return connection.execute(select(messages).where(messages.c.id == message)).first()

    def _lock_replays(self, connection: Connection, counter: str, message_id: str | None, digest: str) -> None:
        """Until ``connection``'s transaction ends, no other transaction checks or processes a mail of
        this counter with this signed content or this Message-ID: two copies of one mail handled at
        once (a client sending it twice, two workers, two hub processes) are then one processed and
        one replay, never two processed.

        SQLite needs nothing: a writing transaction is exclusive from its start (BEGIN IMMEDIATE).
        PostgreSQL: one advisory lock per (counter, content) and (counter, Message-ID), taken in one
        order so that two mails sharing one of them never deadlock.
        """
        if connection.dialect.name != "postgresql":
            return
        keys = {_lock_key(counter, "content", digest)}
        if message_id:
            keys.add(_lock_key(counter, "message-id", _stored_id(message_id)))
        _dbapi(connection).cursor().execute(REPLAY_LOCKS, {"class": REPLAY_LOCK_CLASS, "keys": sorted(keys)})

    def earlier(self, connection: Connection, counter: str, message_id: str | None, digest: str) -> Earlier | None:
        """The counter's processed message with this signed content or, failing that, this Message-ID.

        Only the counter's own messages count: another counter's Message-ID or content says nothing
        about this counter's mail (a content signed by another is another message). It first takes
        the replay locks for the rest of ``connection``'s transaction (:meth:`_lock_replays`), in which
        the caller then processes the mail or not.
        """
        self._lock_replays(connection, counter, message_id, digest)
        # Without a Message-ID, "message_id = NULL" matches nothing: the content alone decides.
        row = connection.execute(_EARLIER, {"digest": digest, "message_id": _stored_id(message_id),
                                            "counter": counter}).first()
        return Earlier(row.id, row.counter_code, row.digest, row.reply_id) if row else None

    def quarantine(self, message: int, code: str, reason: str, at: datetime, *, counter: str | None = None,
                   reply: int | None = None, connection: Connection | None = None) -> None:
        values = dict(status=QUARANTINED, reason_code=code, reason=reason[:1000], processed_at=at,
                      counter_code=counter, reply_id=reply)
        self._update(message, values, connection)

    def processed(self, message: int, counter: str | None, digest: str | None, reply: int | None, at: datetime,
                  connection: Connection | None = None) -> None:
        values = dict(status=PROCESSED, counter_code=counter, digest=digest, reply_id=reply, processed_at=at,
                      reason_code=None, reason=None)
        self._update(message, values, connection)

    def answered(self, message: int, counter: str, digest: str, recipient: str, message_id: str, raw: bytes,
                 at: datetime, connection: Connection) -> int:
        """The reply queued and the message marked processed, within ``connection``; the reply's id.

        On PostgreSQL one statement (the INSERT in a CTE of the UPDATE): one round trip a mail fewer."""
        if connection.dialect.name != "postgresql":
            reply = self.enqueue(recipient, message_id, raw, at, connection)
            self.processed(message, counter, digest, reply, at, connection)
            return reply
        return _dbapi(connection).cursor().execute(_ANSWERED_POSTGRES, {
            "at": at, "recipient": recipient, "message_id": message_id, "raw": raw, "counter": counter,
            "digest": digest, "message": message}).fetchone()[0]

    def quarantined(self) -> list[Any]:
        with reading(self.engine) as connection:
            return list(connection.execute(
                select(messages.c.id, messages.c.received_at, messages.c.sender, messages.c.reason_code,
                       messages.c.reason).where(messages.c.status == QUARANTINED).order_by(messages.c.id)))

    def release(self, message: int) -> bool:
        """Put a quarantined message back in line, to be checked and processed again."""
        with self.engine.begin() as connection:
            result = connection.execute(update(messages).where(messages.c.id == message,
                                                               messages.c.status == QUARANTINED)
                                        .values(status=RELEASED))
            return result.rowcount == 1

    def _update(self, message: int, values: dict, connection: Connection | None) -> None:
        statement = update(messages).where(messages.c.id == message).values(**values)
        if connection is not None:
            connection.execute(statement)
            return
        with self.engine.begin() as own:
            own.execute(statement)

    # -- retention -------------------------------------------------------------------------------

    def due_for_purge(self, before: datetime) -> Purged:
        """What :meth:`purge` would erase: the settled mails received and replies queued before ``before``."""
        with reading(self.engine) as connection:
            return Purged(*(connection.scalar(select(func.count()).select_from(query.subquery()))
                            for query in _purgeable(before)))

    def purge(self, before: datetime, batch: int = 1000, progress: Callable[[int], None] = lambda erased: None,
              stop: threading.Event | None = None) -> Purged:
        """Erase the settled mails received, and replies queued, before ``before``: rows and bytes.

        ``batch`` rows a transaction, so that a purge of months never holds long locks; ``progress``
        is told of each batch; once ``stop`` is set, no batch is begun (the next purge goes on).

        A mail's reply is queued when the mail is processed, after it was received, so a kept mail
        keeps its reply (a replay's answer). Several processes may purge at once: a row is erased
        once, and a process that finds its batch taken stops until its next purge. A mail still
        waiting or being processed, a reply still to be sent are never erased, whatever their age."""
        stopped = stop.is_set if stop is not None else lambda: False
        purged = Purged()
        mails, replies = _purgeable(before)
        for table, query, counted in ((messages, mails, "mails"), (outbox, replies, "replies")):
            erased = batch
            while erased == batch and not stopped():
                with self.engine.begin() as connection:
                    erased = connection.execute(table.delete().where(
                        table.c.id.in_(query.limit(batch).scalar_subquery()))).rowcount
                setattr(purged, counted, getattr(purged, counted) + erased)
                progress(erased)
        return purged

    # -- replies ---------------------------------------------------------------------------------

    def enqueue(self, recipient: str, message_id: str, raw: bytes, at: datetime,
                connection: Connection | None = None) -> int:
        statement = insert(outbox).values(created_at=at, recipient=recipient, message_id=message_id, raw=raw,
                                          status=QUEUED, attempts=0, next_attempt_at=at).returning(outbox.c.id)
        if connection is not None:
            return connection.execute(statement).scalar_one()
        with self.engine.begin() as own:
            return own.execute(statement).scalar_one()

    def reply_of(self, reply: int) -> Any:
        with reading(self.engine) as connection:
            return connection.execute(select(outbox).where(outbox.c.id == reply)).first()

    def due(self, at: datetime, limit: int = 20, hold: timedelta | None = None) -> list[Outgoing]:
        """Replies whose time has come, leased to the caller: their next attempt is put off by
        ``hold`` (default: the lease), so that no other process sends them meanwhile (PostgreSQL:
        rows another process is claiming are skipped, not waited for). :meth:`sent` or
        :meth:`failed` then settles each."""
        chosen = (select(outbox.c.id).where(outbox.c.status == QUEUED, outbox.c.next_attempt_at <= at)
                  .order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit).with_for_update(skip_locked=True))
        with self.engine.begin() as connection:
            rows = connection.execute(update(outbox).where(outbox.c.id.in_(chosen.scalar_subquery()))
                                      .values(next_attempt_at=at + (hold or self.lease))
                                      .returning(outbox.c.id, outbox.c.recipient, outbox.c.message_id, outbox.c.raw,
                                                 outbox.c.attempts, outbox.c.created_at)).all()
        return sorted((Outgoing(*row) for row in rows), key=lambda outgoing: outgoing.id)

    def sent(self, reply: int, at: datetime) -> None:
        """One transaction a reply, committed as soon as it is sent: a process that dies in the middle
        of a batch sends again only the reply it was sending."""
        with self.engine.begin() as connection:
            connection.execute(_SENT, {"reply": reply, "at": at})

    def failed(self, reply: int, error: str, at: datetime, dead_after: timedelta) -> str:
        """Record a failed attempt: retry later with exponential backoff, or give up (dead letter)."""
        with self.engine.begin() as connection:
            row = connection.execute(select(outbox.c.attempts, outbox.c.created_at).where(outbox.c.id == reply)).one()
            attempts = row.attempts + 1
            if at - row.created_at >= dead_after:
                status, next_at = DEAD, at
            else:
                status, next_at = QUEUED, at + min(timedelta(minutes=2 ** (attempts - 1)), timedelta(hours=1))
            connection.execute(update(outbox).where(outbox.c.id == reply).values(
                status=status, attempts=attempts, next_attempt_at=next_at, last_error=error[:1000]))
            return status

    def replies(self, status: str | None = None) -> list[Any]:
        query = select(outbox.c.id, outbox.c.created_at, outbox.c.recipient, outbox.c.status, outbox.c.attempts,
                       outbox.c.next_attempt_at, outbox.c.last_error).order_by(outbox.c.id)
        if status:
            query = query.where(outbox.c.status == status)
        with reading(self.engine) as connection:
            return list(connection.execute(query))

    def retry(self, reply: int, at: datetime) -> bool:
        """Send a dead (or waiting) reply again now, with a fresh delay before it dies."""
        with self.engine.begin() as connection:
            result = connection.execute(update(outbox).where(outbox.c.id == reply, outbox.c.status != SENT)
                                        .values(status=QUEUED, next_attempt_at=at, created_at=at))
            return result.rowcount == 1


@dataclass
class Purged:
    mails: int = 0
    replies: int = 0

    def __str__(self) -> str:
        return f"{self.mails} mail(s) and {self.replies} reply(ies) erased"


def _settled(table: Any, statuses: tuple[str, ...], at: Any, before: datetime) -> Any:
    """The ids of ``table``'s rows settled (``statuses``) before ``before``, oldest first, by the
    index on ``at`` (a range of the old rows only, however large the table)."""
    return select(table.c.id).where(at < before, table.c.status.in_(statuses)).order_by(at)


def _purgeable(before: datetime) -> tuple[Any, Any]:
    """The settled mails received, and replies queued, before ``before``."""
    return (_settled(messages, SETTLED_MAILS, messages.c.received_at, before),
            _settled(outbox, SETTLED_REPLIES, outbox.c.created_at, before))


def _dbapi(connection: Connection) -> Any:
    return connection.connection.dbapi_connection


def _lock_key(counter: str, kind: str, value: str) -> int:
    """A stable signed 32-bit key (PostgreSQL's integer) for one of a counter's replay locks."""
    key = zlib.crc32(f"{counter}|{kind}|{value}".encode())
    return key - (1 << 32) if key >= 1 << 31 else key


def _stored_id(message_id: str | None) -> str | None:
    """A Message-ID as the store keeps it (and compares it): at most a header line's 998 characters."""
    return (message_id or "")[:998] or None

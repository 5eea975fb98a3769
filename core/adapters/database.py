"""Engines for the embedded default (SQLite) and for deployments (PostgreSQL).

SQLite runs in WAL mode with foreign keys on. Writers open their transaction with
``BEGIN IMMEDIATE``: SQLite then serialises them at the start instead of failing one of two
transactions that both read before writing, which is what makes several hub processes on one SQLite
file safe (if not fast). Read-only units of work begin ``DEFERRED`` and never wait on writers.
Writers queue before ``BEGIN IMMEDIATE`` (:class:`WriterQueueConnection`) instead of in SQLite's busy
handler: on a lock of the engine within one process, and on a file lock next to the database
(``<file>.writers``) between processes.

On PostgreSQL, reads made apart from any write (:func:`reading`, read-only units of work) run in a
``READ ONLY`` transaction ended by ``COMMIT``, not ``ROLLBACK``: psycopg forgets every statement it
prepared on a connection at each ROLLBACK (it cannot tell a read from a rolled-back schema change),
and each must then run five more times, parsed and planned each time, before it is prepared again.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from .serialization import json_text

DEFAULT_URL = "sqlite:///var/sne-hub.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def database_url() -> str:
    """The configured database: SNE_HUB_DATABASE_URL, else (unset or empty, as a blank line of an
    environment file leaves it) the embedded SQLite file under var/."""
    return os.environ.get("SNE_HUB_DATABASE_URL") or DEFAULT_URL


def make_engine(url: str | None = None) -> Engine:
    url = make_url(url or database_url())
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return _postgres_engine(url)
    raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql")


# How a transaction that only reads begins: without SQLite's write lock, and READ ONLY on PostgreSQL,
# where it is then ended by COMMIT (module docstring).
READ_ONLY: dict[str, dict[str, Any]] = {"sqlite": {"sqlite_begin": "DEFERRED"},
                                        "postgresql": {"postgresql_readonly": True}}


def read_only_options(engine: Engine) -> dict[str, Any]:
    return READ_ONLY.get(engine.dialect.name, {})


def ends_by_commit(engine: Engine) -> bool:
    """Whether a read-only transaction on ``engine`` ends by COMMIT: where the server enforces READ
    ONLY, so that the COMMIT can persist nothing (PostgreSQL); SQLite's rolls back, as before."""
    return engine.dialect.name == "postgresql"


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads apart from any write, in a transaction of its own (module docstring)."""
    connection = engine.connect().execution_options(**read_only_options(engine))
    transaction = connection.begin()
    try:
        yield connection
        if ends_by_commit(engine):
            transaction.commit()
    finally:
        connection.close()  # rolls back what is still open: SQLite's, or after an error


PING_AFTER_IDLE_SECONDS = 1.0


def _postgres_engine(url) -> Engine:
    """A pool that asks the server whether a connection still works only when it sat idle.

    SQLAlchemy's ``pool_pre_ping`` costs a round trip (``SELECT 1``) at every checkout, a tenth of a
    registration's. Connections die when the server restarts or drops idle ones; under load each
    connection goes back to work within milliseconds, so pinging those idle for more than
    ``PING_AFTER_IDLE_SECONDS`` catches what a restart between two bursts left broken. A restart in
    the middle of a burst fails the requests in flight, as it would anyway, and the first statement
    to meet a dead connection makes SQLAlchemy replace the whole pool (``invalidate_pool_on_disconnect``).
    """
    from .pipeline import forget_statements_on_rollback  # psycopg's: not loaded for SQLite

    engine = create_engine(url, pool_size=10, max_overflow=10, json_serializer=json_text)
    forget_statements_on_rollback(engine)

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_after_idle(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.pop("idle_since", None)  # None: a new connection, nothing to ask
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise DisconnectionError() from error  # the pool connects again and retries the checkout
            raise

    return engine


class WriterQueue:
    """The turn to write on one SQLite file: a thread lock for this process's connections, then an
    exclusive ``flock`` on a lock file next to the database for the other processes.

    A writer waiting in SQLite's busy handler sleeps and retries (1, 2, 5, 10… up to 100 ms between
    tries) instead of being woken when the lock is free: with the hub's 16 threads registering on
    one file, most of a write transaction's turn went to sleeping waiters (docs/BENCHMARKS.md,
    "Second pass"), and two hub processes still met there ("Third pass"). The kernel wakes the next
    ``flock`` waiter as soon as the holder unlocks, or dies. The file is opened for each turn and
    closed at its end, which unlocks it: no descriptor outlives a turn (engines come and go in tests
    and tools), and a process forked between two turns inherits none.
    Between processes the wait has no timeout: the holder's transaction ends or its process dies.
    """

    def __init__(self, path: str | None):
        self.path = path  # None: an in-memory database, one process only
        self.threads = threading.Lock()
        self._descriptor: int | None = None  # the lock file, open during a turn

    def acquire(self) -> None:
        if not self.threads.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise sqlite3.OperationalError("database is locked")  # what SQLite says after its own timeout
        if self.path is None:
            return
        try:
            self._descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        except BaseException:
            self._close()
            self.threads.release()
            raise

    def release(self) -> None:
        try:
            self._close()
        finally:
            self.threads.release()

    def _close(self) -> None:
        if self._descriptor is not None:
            descriptor, self._descriptor = self._descriptor, None
            os.close(descriptor)  # gives the lock back


class WriterQueueConnection(sqlite3.Connection):
    """A SQLite connection whose writing transactions take their turn on their engine's
    :class:`WriterQueue` before ``BEGIN IMMEDIATE`` and give it back at commit, rollback or close."""

    writers: WriterQueue | None = None  # the engine's, set when the connection is made
    holds_writers = False

    def queue_for_writing(self) -> None:
        if self.writers is None or self.holds_writers:
            return
        self.writers.acquire()
        self.holds_writers = True

    def leave_writers(self) -> None:
        if self.holds_writers:
            self.holds_writers = False
            self.writers.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_writers()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_writers()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_writers()


def _sqlite_engine(url) -> Engine:
    on_disk = bool(url.database) and url.database != ":memory:"
    if on_disk:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    writers = WriterQueue(f"{url.database}.writers" if on_disk else None)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                              "factory": WriterQueueConnection}, json_serializer=json_text)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        dbapi_connection.writers = writers
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        dbapi_connection = connection.connection.dbapi_connection
        if mode == "IMMEDIATE":
            dbapi_connection.queue_for_writing()
        try:  # on the DBAPI connection: SQLAlchemy's statement machinery cost more than the BEGIN
            dbapi_connection.execute(f"BEGIN {mode}")
        except BaseException:
            dbapi_connection.leave_writers()
            raise

    return engine

"""Engines for the embedded default (SQLite) and for deployments (PostgreSQL).

SQLite runs in WAL mode with foreign keys on. Writers open their transaction with
``BEGIN IMMEDIATE``: SQLite then serialises them at the start instead of failing one of two
transactions that both read before writing, which is what makes several hub processes on one SQLite
file safe (if not fast). Read-only units of work begin ``DEFERRED`` and never wait on writers.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

DEFAULT_URL = "sqlite:///var/sne-hub.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def database_url() -> str:
    """The configured database: SNE_HUB_DATABASE_URL, else the embedded SQLite file under var/."""
    return os.environ.get("SNE_HUB_DATABASE_URL", DEFAULT_URL)


def make_engine(url: str | None = None) -> Engine:
    url = make_url(url or database_url())
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql")


def _sqlite_engine(url) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
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
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine

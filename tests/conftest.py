"""Fixtures shared by every test: the databases the data layer runs on.

Data-layer tests run twice, on SQLite and on PostgreSQL. PostgreSQL is the server at
SNE_HUB_TEST_POSTGRES_URL (default: postgres@127.0.0.1:5432, trust auth); each run creates a
throwaway database and drops it at the end. When the server is unreachable the PostgreSQL variants
are skipped locally, but fail under CI=true: CI must prove the PostgreSQL path. Each test's SQLite
database is a copy of one register migrated at the start of the session (the migrations from an
empty file run once, and test_migrations runs them down and up again).
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from core.adapters import schema
from core.adapters.database import make_engine
from core.adapters.orm import metadata
from core.adapters.repository import SqlUnitOfWork
from core.domain.calendar import PARIS
from tests import reference

POSTGRES_SERVER = os.environ.get("SNE_HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, migrated, for the whole session."""
    server = make_engine(POSTGRES_SERVER)
    name = f"sne_hub_test_{uuid.uuid4().hex[:12]}"
    try:
        with server.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # the server is down or refuses us
        server.dispose()
        message = f"PostgreSQL unreachable at {POSTGRES_SERVER}: {error.__class__.__name__}: {error}"
        if in_ci():
            pytest.fail(message + " (CI=true requires the PostgreSQL run)", pytrace=False)
        pytest.skip(message)
    url = make_url(POSTGRES_SERVER).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    yield url
    with server.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def drop_number_sequences(connection) -> None:
    """Territories' native sequences (PostgreSQL) go with the territories a test truncates."""
    names = connection.scalars(text("SELECT sequencename FROM pg_sequences WHERE sequencename LIKE 'number_sequence_%'"))
    for name in list(names):
        connection.execute(text(f'DROP SEQUENCE "{name}"'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An empty SQLite register, migrated once for the session: each test's database is a copy of it,
    which costs a millisecond where running the migrations costs 0.15–0.25 s."""
    path = tmp_path_factory.mktemp("template") / "register.db"
    engine = make_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """The URL of an empty, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "register.db"
        template = request.getfixturevalue("sqlite_template")
        with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(path)) as copy:
            source.backup(copy)  # the pages as they are, WAL mode and the planner's statistics included
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    tables = ", ".join(table.name for table in metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        drop_number_sequences(connection)
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def uow(engine) -> Callable[..., SqlUnitOfWork]:
    """A unit-of-work factory on the test database: ``uow()`` for writes, ``uow(readonly=True)``."""
    return lambda readonly=False: SqlUnitOfWork(engine, readonly=readonly)


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)


@pytest.fixture(scope="session")
def reference_schemas_dir() -> Path:
    """The ministry's reference XSD files (libsne 0.1.0a8 sdist, ressources/), never committed.

    Downloaded with pip into .cache/reference/ on first use, then read from there offline. When
    the download fails the tests that need them are skipped locally, but fail under CI=true.
    """
    try:
        return reference.reference_schemas_dir()
    except reference.ReferenceUnavailable as error:
        if in_ci():
            pytest.fail(f"{error} (CI=true requires the reference schemas)", pytrace=False)
        pytest.skip(str(error))

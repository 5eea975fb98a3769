"""Transactions that only read: READ ONLY and ended by COMMIT on PostgreSQL, without SQLite's write lock.

psycopg prepares a statement the sixth time a connection runs it, and forgets every statement it
prepared at each ROLLBACK. Reads that ended by ROLLBACK (a certificate's owner looked up, the
revocation mark polled, a mailbox's counter) therefore made the next registrations on that pooled
connection parse and plan their statements again (docs/BENCHMARKS.md, "Seventh pass").
"""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.adapters.database import DEFAULT_URL, database_url, make_engine, reading
from core.adapters.registration import array_literal
from core.adapters.repository import SqlUnitOfWork
from core.domain.referential import Territory

COUNT = text("SELECT count(*) FROM counters WHERE code = :code")
PREPARED_AFTER = 5  # psycopg's prepare_threshold: runs before a statement is prepared


@pytest.fixture
def postgres(postgres_url):
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def prepared(engine) -> set[str]:
    """The statements prepared on the pool's connection, read in a transaction that commits."""
    with engine.begin() as connection:
        return set(connection.scalars(text("SELECT statement FROM pg_prepared_statements")))


def backend(engine) -> int:
    with engine.begin() as connection:
        return connection.scalar(text("SELECT pg_backend_pid()"))


def prepare_count(engine) -> str:
    """Run COUNT until psycopg prepared it on the pool's one connection; its text as the server has it."""
    for _ in range(PREPARED_AFTER + 1):
        with engine.begin() as connection:
            connection.execute(COUNT, {"code": "DEMOB"})
    [statement] = [s for s in prepared(engine) if "FROM counters WHERE code" in s]
    return statement


def test_reads_apart_from_writes_keep_the_statements_psycopg_prepared(postgres):
    connection_used = backend(postgres)
    statement = prepare_count(postgres)

    with reading(postgres) as connection:
        connection.execute(text("SELECT 1"))
    with SqlUnitOfWork(postgres, readonly=True) as uow:
        uow.counters.get("DEMOB")
    assert statement in prepared(postgres)

    with postgres.connect() as connection:  # a read ended by ROLLBACK, as before
        connection.execute(text("SELECT 1"))
    assert statement not in prepared(postgres)
    assert backend(postgres) == connection_used  # one pooled connection all along


def test_a_read_only_unit_of_work_cannot_write_on_postgresql(postgres):
    with pytest.raises(DBAPIError, match="read-only transaction"):
        with SqlUnitOfWork(postgres, readonly=True) as uow:
            uow.territories.add(Territory("091", "Essonne", frozenset({"91"})))
    with pytest.raises(DBAPIError, match="read-only transaction"):
        with reading(postgres) as connection:
            connection.execute(text("INSERT INTO territories (code, name) VALUES ('091', 'Essonne')"))
    with SqlUnitOfWork(postgres, readonly=True) as uow:
        assert uow.territories.get("091") is None


def test_a_read_on_sqlite_does_not_wait_for_a_writer(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'register.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
        read = []

        def reader() -> None:
            with reading(engine) as connection:
                read.append(connection.scalar(text("SELECT count(*) FROM t")))

        with SqlUnitOfWork(engine) as writer:  # BEGIN IMMEDIATE: holds the writers' turn
            writer.connection.execute(text("INSERT INTO t VALUES (1)"))
            thread = threading.Thread(target=reader)
            thread.start()
            thread.join(timeout=10)
            assert read == [0]  # read at once, before the writer committed
        thread.join()
    finally:
        engine.dispose()


@pytest.mark.parametrize("value", ["", None])
def test_an_empty_or_unset_database_url_means_the_embedded_default(monkeypatch, value):
    """An empty SNE_HUB_DATABASE_URL (a blank line of an environment file) is no URL to parse."""
    if value is None:
        monkeypatch.delenv("SNE_HUB_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("SNE_HUB_DATABASE_URL", value)
    assert database_url() == DEFAULT_URL


@pytest.mark.parametrize("values", [["MARTIN", "DUPONT"], ['O"NEIL', "A\\B", "X,Y", "{Z}", " SPACED ", "NULL", "É"], []])
def test_an_array_sent_as_text_comes_back_as_the_same_values(postgres, values):
    """The registration's reads send their arrays as text literals (registration.array_literal):
    PostgreSQL must read every value back as it was, whatever it holds."""
    with postgres.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        back = cursor.execute("SELECT CAST(%s AS text[])", (array_literal(values),)).fetchone()[0]
    assert back == values


def test_a_hub_on_sqlite_never_loads_psycopg(tmp_path):
    """Only PostgreSQL's registrations need psycopg (core.adapters.postgres_registrations): its
    libraries would cost every process of `make run` some 6 MiB."""
    script = f"""
import sys
from datetime import datetime, timezone
import hub.app, async_mail, dispatching
from core import demo
from core.adapters.database import make_engine
from core.adapters.repository import SqlUnitOfWork
from core.adapters.schema import upgrade
from core.service_layer import services
engine = make_engine("sqlite:///{tmp_path / 'register.db'}")
upgrade(engine)
now = datetime(2026, 12, 5, 10, tzinfo=timezone.utc)
demo.seed(lambda: SqlUnitOfWork(engine), now)
services.register(SqlUnitOfWork(engine), demo.household_form("Seul", "Jean"), now.date(), "DEMOC", now)
print(sorted(name for name in sys.modules if name.split(".")[0] == "psycopg"))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"

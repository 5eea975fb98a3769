"""Prepared statements sent several to a round trip on psycopg's libpq connection (PostgreSQL).

A registration runs the same few statements hundreds of times a second. Through psycopg's cursor
each one costs Python work the statement does not need (the query's conversion, the cache of
prepared statements, the parameters' adaptation, the result's set-up) and a round trip of its own,
and BEGIN and COMMIT are round trips too. Here the statements are prepared by name once per
connection, their parameters go as text, and they travel in libpq's pipeline mode: BEGIN with the
first statement, COMMIT with the last, every exchange one round trip (docs/BENCHMARKS.md,
"Sixteenth pass"). Only :mod:`psycopg.pq`, psycopg's documented libpq wrapper, is used: the psycopg
connection sees a transaction begun and ended on its libpq connection as its own (it asks libpq for
the transaction's status), and the waits for the server release the GIL (``select.poll``).

Where the statements live: PostgreSQL keeps a prepared statement for its session, and psycopg
deallocates every statement of the session (``DEALLOCATE ALL``) when it rolls back a transaction
after preparing statements of its own. :class:`Statements` therefore remembers which connections
hold its statements in the pool's record of the connection (``info``), and
:func:`forget_statements_on_rollback` makes the engine forget them whenever a rollback may have
deallocated them. Should a connection lose them anyway, the statement fails with
``invalid_sql_statement_name``; the record is forgotten then, so that the next use prepares them again.
"""

from __future__ import annotations

import re
import select
from datetime import date, datetime
from typing import Any, Iterable, Mapping

from psycopg import errors, pq
from sqlalchemy import Engine, event

COMMAND_OK = pq.ExecStatus.COMMAND_OK
TUPLES_OK = pq.ExecStatus.TUPLES_OK
FATAL_ERROR = pq.ExecStatus.FATAL_ERROR
PIPELINE_SYNC = pq.ExecStatus.PIPELINE_SYNC
IDLE = pq.TransactionStatus.IDLE
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
BEGIN, COMMIT = (b"BEGIN",), (b"COMMIT",)
HELD = b"SELECT name FROM pg_prepared_statements WHERE name = ANY($1)"
_PREPARED = "sne_hub_prepared"  # the key in the pool's record of a connection: the Statements it holds


class Statements:
    """Named statements (SQL with psycopg's ``%(name)s`` placeholders), prepared together on a
    connection the first time it runs one of them (after asking the session which it already holds)."""

    def __init__(self, prefix: str, statements: Mapping[str, str]):
        self.prefix = prefix
        self.sql: dict[str, bytes] = {}
        self.parameters: dict[str, tuple[str, ...]] = {}
        for key, sql in statements.items():
            self.sql[key], self.parameters[key] = numbered(sql)
        self.names = {key: f"{prefix}_{key}".encode() for key in statements}

    def run(self, dbapi: Any, info: dict[str, Any], commands: Iterable[tuple[str, Mapping[str, Any]]], *,
            begin: bool = False, commit: bool = False) -> list[pq.abc.PGresult]:
        """Run ``commands`` (a statement's key and its values by placeholder name) on the psycopg
        connection ``dbapi`` in one round trip, after BEGIN and before COMMIT when asked; their
        results. ``info`` is the pool's record of the connection (``Connection.info``).

        The first error is raised as psycopg raises it; the commands after it in the round trip, the
        COMMIT among them, did not run, and the transaction is left failed for its owner to roll back."""
        pgconn = dbapi.pgconn
        self._ensure(pgconn, info)
        sent = [BEGIN] * begin + [
            (pgconn.send_query_prepared, self.names[key], [text_value(values[name]) for name in self.parameters[key]])
            for key, values in commands] + [COMMIT] * commit
        try:
            return _exchange(pgconn, sent)[begin:len(sent) - commit]
        except errors.InvalidSqlStatementName:
            self.forget(info)
            raise

    def forget(self, info: dict[str, Any]) -> None:
        info.get(_PREPARED, set()).discard(self.prefix)

    def _ensure(self, pgconn: pq.abc.PGconn, info: dict[str, Any]) -> None:
        """Prepare the statements on this connection unless its record says it holds them. The
        session is asked which it holds first: a rollback forgets them on the record when psycopg
        may have deallocated them, not only when it did, and preparing a name twice is an error
        (which, inside a transaction, would fail it)."""
        held = info.setdefault(_PREPARED, set())
        if self.prefix in held:
            return
        if pgconn.parameter_status(b"client_encoding") != b"UTF8":
            raise errors.NotSupportedError("the registration's statements read and write UTF-8 only")
        names = list(self.names.values())
        (found,) = _exchange(pgconn, [(pgconn.send_query_params, HELD, [b"{" + b",".join(names) + b"}"])])
        present = {name.encode() for (name,) in text_rows(found)}
        missing = [(pgconn.send_prepare, name, self.sql[key]) for key, name in self.names.items()
                   if name not in present]
        if missing:
            _exchange(pgconn, missing)
        held.add(self.prefix)


def _exchange(pgconn: pq.abc.PGconn, commands: list[tuple[Any, ...]]) -> list[pq.abc.PGresult]:
    """Send ``commands`` in libpq's pipeline mode with one sync; their results, or the first error
    raised. A command is a ``send_…`` method of ``pgconn`` (or BEGIN, COMMIT) and its arguments."""
    pgconn.enter_pipeline_mode()
    try:
        for send, *arguments in commands:
            if isinstance(send, bytes):
                pgconn.send_query_params(send, None)
            else:
                send(*arguments)
        pgconn.pipeline_sync()
        results = _results(pgconn, len(commands))
    finally:
        _leave_pipeline(pgconn)
    _raise_first_error(results)
    return results


def text_rows(result: pq.abc.PGresult) -> list[tuple[str | None, ...]]:
    """A result's rows, each value as its text (None for NULL)."""
    return [tuple(None if (value := result.get_value(row, column)) is None else value.decode()
                  for column in range(result.nfields))
            for row in range(result.ntuples)]


def in_transaction(pgconn: pq.abc.PGconn) -> bool:
    return pgconn.transaction_status != IDLE


def numbered(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """``sql`` with its ``%(name)s`` placeholders numbered as PostgreSQL's ``$n`` (a name used twice
    keeps its number), and the names in their numbers' order."""
    names: list[str] = []

    def number(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return _PLACEHOLDER.sub(number, sql).encode(), tuple(names)


def text_value(value: Any) -> bytes | None:
    """A parameter in PostgreSQL's text form, which the statement's types read."""
    if value is None:
        return None
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, (date, datetime)):  # an aware instant keeps its offset; a date is ISO
        return value.isoformat().encode()
    return str(value).encode()


def forget_statements_on_rollback(engine: Engine) -> None:
    """Forget the statements of a connection whenever psycopg may deallocate them: at a rollback of
    a transaction in progress, by a unit of work or by the pool when the connection comes back."""

    def forget(dbapi_connection: Any, info: dict[str, Any]) -> None:
        if in_transaction(dbapi_connection.pgconn):
            info.pop(_PREPARED, None)

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection) -> None:
        if not (connection.closed or connection.invalidated):  # an invalidated connection is discarded
            forget(connection.connection.dbapi_connection, connection.connection.info)

    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_connection, record, _reset_state) -> None:
        forget(dbapi_connection, record.info)


def _results(pgconn: pq.abc.PGconn, count: int) -> list[pq.abc.PGresult]:
    """The result of each of ``count`` commands sent in the pipeline, then its sync's."""
    _flush(pgconn)
    results = []
    for _ in range(count):
        result = _next_result(pgconn)
        if result is None:
            raise errors.OperationalError("a command of the pipeline had no result")
        results.append(result)
        while _next_result(pgconn) is not None:  # the end of that command's results
            pass
    sync = _next_result(pgconn)
    if sync is None or sync.status != PIPELINE_SYNC:
        raise errors.OperationalError("the pipeline's synchronisation did not come back")
    return results


def _flush(pgconn: pq.abc.PGconn) -> None:
    while pgconn.flush():
        _wait(pgconn, select.POLLOUT)


def _next_result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    while pgconn.is_busy():
        _wait(pgconn, select.POLLIN)
        pgconn.consume_input()
    return pgconn.get_result()


def _wait(pgconn: pq.abc.PGconn, events: int) -> None:
    poll = select.poll()
    poll.register(pgconn.socket, events)
    poll.poll()


def _leave_pipeline(pgconn: pq.abc.PGconn) -> None:
    """Back to psycopg's mode. Results left unread (the connection broke, or the wait was interrupted)
    keep libpq in pipeline mode, where psycopg cannot work: the connection is closed then, and the
    pool replaces it when the unit of work's rollback finds it closed."""
    if pgconn.pipeline_status == pq.PipelineStatus.OFF:
        return
    try:
        pgconn.exit_pipeline_mode()
    except errors.OperationalError:
        pgconn.finish()


def _raise_first_error(results: list[pq.abc.PGresult]) -> None:
    for result in results:
        if result.status == FATAL_ERROR:
            raise errors.error_from_result(result, encoding="utf-8")
        if result.status not in (COMMAND_OK, TUPLES_OK):
            raise errors.InternalError(f"unexpected result status {result.status!r}")

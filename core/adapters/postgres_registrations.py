"""A registration's statements on PostgreSQL, in three round trips on the libpq connection.

Apart from :mod:`.registration`, whose SQL they run, so that a hub on the embedded SQLite default
never loads psycopg (its libraries cost a process some 6 MiB).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from psycopg import errors

from core.domain.errors import SequenceExhausted, UnknownTerritory
from core.domain.identity import PersonKey
from core.domain.numbers import SEQUENCE_MAX
from core.domain.referential import Counter, Territory
from core.service_layer.unit_of_work import Candidates

from .pipeline import Statements, in_transaction, text_rows
from .registration import (
    CANDIDATES_OR_NUMBER,
    COUNTER_WITH_TERRITORY,
    GENERIC_PLANS,
    LOCKS_TAKEN,
    NEXT_POSTGRES_NUMBER,
    POSTGRES_INSERT,
    array_literal,
    counter_with_territory,
    duplicates,
    identity_lock,
    registered_form_left_out,
    sequence_name,
)
from .rows import json_rows
from .serialization import json_text


class PostgresRegistrations:
    """PostgreSQL: three round trips, on the libpq connection (:mod:`.pipeline`): BEGIN with the
    counter's read and the identity locks; the duplicates' search, with the number's draw when it
    finds no one; every row in one statement with the COMMIT. Arrays go as text
    (:func:`array_literal`).

    Generic plans, set for the transaction by the counter's read (``GENERIC_PLANS``). PostgreSQL
    plans a prepared statement anew at each execution for as long as it estimates such a "custom"
    plan cheaper than the generic one, which it does forever for the duplicates' search (its
    arrays) and for the insert. Both plans are the same (the identity index; the insert has no
    choice to make), and planning the search cost the server three times its execution (0.16
    against 0.05 ms). With generic plans each connection plans them once, and again after an
    ``ANALYZE`` of their tables; the setting ends with the transaction, so that other statements
    (the searches, whose plans depend on their values) keep PostgreSQL's choice."""

    def __init__(self) -> None:
        self.statements = Statements("sne_hub_registration", {
            "counter": COUNTER_WITH_TERRITORY.format(
                counters=f"{GENERIC_PLANS}, {LOCKS_TAKEN.format(ids='%(ids)s')}, counters c", code="%(code)s"),
            "candidates": CANDIDATES_OR_NUMBER,
            "number": NEXT_POSTGRES_NUMBER,
            "insert": POSTGRES_INSERT})

    def counter(self, dbapi: Any, info: dict[str, Any], counter_code: str,
                keys: list[PersonKey]) -> tuple[Counter, Territory | None] | None:
        """The counter and its territory, with the identity locks taken, in the transaction's first
        round trip (BEGIN unless a transaction is open). The duplicates' search comes later, in a
        statement of its own, so that its snapshot is taken once the locks are held. (A refused
        counter's file has taken its locks for nothing, until its rollback.)"""
        (result,) = self.statements.run(dbapi, info, [("counter", {
            "code": counter_code, "ids": array_literal(sorted({identity_lock(key) for key in keys}))})],
            begin=not in_transaction(dbapi.pgconn))
        return counter_with_territory([(*row[:6], row[6] == "t", *row[7:]) for row in text_rows(result)])

    def candidates(self, dbapi: Any, info: dict[str, Any], counter_code: str, keys: list[PersonKey],
                   territory: str, draw: bool) -> Candidates:
        """The duplicates' search; with ``draw``, the territory's next number drawn by the same
        statement when the search finds no one of these people at all (not even a namesake that
        :func:`duplicates` would set aside)."""
        if not keys:
            return Candidates([], self.next_number(dbapi, info, territory) if draw else None)
        with drawing_number(territory):
            (result,) = self.statements.run(dbapi, info, [("candidates", {
                "code": counter_code, "sequence": sequence_name(territory), "draw": draw,
                "birth_dates": array_literal(sorted({key.birth_date.isoformat() for key in keys})),
                "first_names": array_literal(sorted({key.first_name for key in keys})),
                "surnames": array_literal(sorted({surname for key in keys for surname in key.surnames}))})])
        found = text_rows(result)
        if found and found[-1][0] is None:  # the draw's row
            return Candidates([], int(found[-1][5]))
        return Candidates(duplicates((row[:5] for row in found), keys), None)

    def next_number(self, dbapi: Any, info: dict[str, Any], territory: str) -> int:
        with drawing_number(territory):
            (result,) = self.statements.run(dbapi, info, [("number", {"sequence": sequence_name(territory)})])
        return int(text_rows(result)[0][0])

    def write(self, dbapi: Any, info: dict[str, Any], columns: dict[str, Any], index: dict[str, list[dict[str, Any]]],
              journal: list[dict[str, Any]], outbox: list[dict[str, Any]], form: Any = None, *,
              commit: bool = False) -> int:
        """One statement for every row, and the COMMIT when ``commit``; its row id.

        ``form`` is the document ``columns["form"]`` was encoded from. An outbox message carrying
        that very document gets it from the application's new row, inside the statement, rather than
        as a second copy in the JSON sent: Python would encode the form twice and PostgreSQL parse it
        twice, for the same stored value."""
        values = {**columns,
                  "cancellation": json_text(columns["cancellation"]) if columns["cancellation"] else None,
                  **{table: json_rows(rows) for table, rows in index.items()},
                  "journal": json_rows(journal), "outbox": json_rows(registered_form_left_out(outbox, form))}
        (result,) = self.statements.run(dbapi, info, [("insert", values)], commit=commit)
        return int(text_rows(result)[0][0])


@contextmanager
def drawing_number(territory: str) -> Iterator[None]:
    """A native sequence's errors as the register's: exhausted (MAXVALUE, NO CYCLE), or no such
    territory. The transaction is lost either way: the unit of work rolls back."""
    try:
        yield
    except errors.SequenceGeneratorLimitExceeded:
        raise SequenceExhausted(f"Les {SEQUENCE_MAX} numéros du territoire {territory} sont épuisés") from None
    except errors.UndefinedTable:
        raise UnknownTerritory(f"Territoire inconnu : {territory}") from None

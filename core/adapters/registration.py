"""A registration's statements below SQLAlchemy: the register's hot path.

``services.register`` runs the same few statements hundreds of times a second. Through SQLAlchemy,
each execution costs more client CPU than the statement itself on SQLite (cache look-up, parameter
and result objects), and on PostgreSQL each one is also a round trip. Here their SQL is written once
per dialect and run inside the unit of work's transaction: on SQLite on the DBAPI cursor of its
connection, on PostgreSQL on that connection's libpq connection (:mod:`.pipeline`). SQLite's values
go through the schema's own types (``orm``: UTC instants, ISO dates, JSON text), so the rows are
stored exactly as SQLAlchemy stores them; PostgreSQL reads each parameter's text with the type its
statement gives it (dates, aware instants, and JSON cast to ``jsonb``).

On PostgreSQL a registration makes three round trips: BEGIN with the counter's read and the
identity locks; the duplicates' search, which draws the number when it finds no one; the
application, its index rows, its journal and outbox rows in one statement, with the COMMIT
(:class:`.postgres_registrations.PostgresRegistrations`, which runs this module's SQL). Through
psycopg's cursor it made six.

Errors come as the driver's, not wrapped by SQLAlchemy; the unit of work rolls back either way.
"""

from __future__ import annotations

import zlib
from datetime import date
from functools import lru_cache
from typing import Any, Callable, Iterable

from core.domain.codes import ApplicationState, CounterType
from core.domain.errors import DuplicateCandidate, UnknownTerritory
from core.domain.identity import PersonKey
from core.domain.numbers import TERRITORY_CODE
from core.domain.referential import Counter, Territory
from core.service_layer.unit_of_work import Candidates

from . import orm
from .rows import SEARCH_COLUMNS

ACTIVE = ApplicationState.ACTIVE.value
APPLICATION_COLUMNS = tuple(column.name for column in orm.applications.columns if column.name != "id")
INDEX_COLUMNS = {  # each side table's own columns, before the search columns it copies
    "application_people": ("role", "surname_key", "first_name_key", "birth_date"),
    "application_communes": ("rank", "commune"),
    "application_terms": ("kind", "value"),
}
JOURNAL_COLUMNS = ("at", "actor", "number", "kind", "details")
OUTBOX_COLUMNS = ("created_at", "topic", "number", "payload")

COUNTER_WITH_TERRITORY = """
    SELECT c.code, c.name, c.type, c.territory_code, c.mailbox, c.endpoint, c.active, t.name, a.kind, a.area
    FROM {counters}
    LEFT JOIN territories t ON t.code = c.territory_code
    LEFT JOIN territory_areas a ON a.territory_code = t.code
    WHERE c.code = {code}"""
# PostgreSQL, as the registration's first statement reads the counter: the rest of the transaction
# runs its prepared statements on their generic plans (PostgresRegistrations explains why).
GENERIC_PLANS = "(SELECT set_config('plan_cache_mode', 'force_generic_plan', true)) AS plans"
# The territory's next number (TableSequences, NativeSequences).
NEXT_SQLITE_NUMBER = "UPDATE number_sequences SET last_value = last_value + 1 WHERE territory_code = ? RETURNING last_value"
NEXT_POSTGRES_NUMBER = "SELECT nextval(CAST(%(sequence)s AS regclass))"
# PostgreSQL: transaction-scoped locks on these ids, taken in one statement in a fixed order.
ADVISORY_LOCKS = "SELECT pg_advisory_xact_lock(id) FROM unnest(CAST({ids} AS bigint[])) AS id ORDER BY id"
# PostgreSQL, as the registration's first statement reads the counter: the identity locks, once (one row).
LOCKS_TAKEN = "(SELECT count(*) FROM (" + ADVISORY_LOCKS + ") AS taken) AS locks"
# A superset of the matches (any date × first name × surname given), filtered in Python, among the
# active applications of the acting counter's territory: from the people's index alone (the side
# table's copies of the state, territory and number are the application's, kept in its transaction),
# without a join whose generic plan, chosen while the tables were small, scanned them per row. Its
# five columns are those of ix_application_people_identity (migration 0012), so that SQLite, which
# keeps no statistics, does not take a name index and scan every namesake of the territory.
IDENTITIES = """
    SELECT number, role, surname_key, first_name_key, birth_date FROM application_people
    WHERE birth_date {birth_dates} AND first_name_key {first_names} AND surname_key {surnames}
      AND state = '""" + ACTIVE + """'
      AND territory_code = (SELECT territory_code FROM counters WHERE code = {code})"""
# PostgreSQL: IDENTITIES, then a row with the territory's next number alone when asked to draw and
# IDENTITIES found no row (PostgreSQL evaluates ``nextval`` only for a row its WHERE lets through).
CANDIDATES_OR_NUMBER = """
    WITH found AS MATERIALIZED (""" + IDENTITIES.format(
    birth_dates="= ANY(CAST(%(birth_dates)s AS date[]))", first_names="= ANY(CAST(%(first_names)s AS text[]))",
    surnames="= ANY(CAST(%(surnames)s AS text[]))", code="%(code)s") + """)
    SELECT number, role, surname_key, first_name_key, birth_date, CAST(NULL AS bigint) FROM found
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, nextval(CAST(%(sequence)s AS regclass))
    WHERE CAST(%(draw)s AS boolean) AND NOT EXISTS (SELECT FROM found)"""


def counter_with_territory(rows: list[tuple]) -> tuple[Counter, Territory | None] | None:
    """A counter and its territory from the rows of COUNTER_WITH_TERRITORY, one per area."""
    return _counter_with_territory(tuple(rows))


@lru_cache(maxsize=256)
def _counter_with_territory(rows: tuple[tuple, ...]) -> tuple[Counter, Territory | None] | None:
    """Remembered by the rows' values: a counter registers file after file, and building both (frozen)
    objects again from the same rows cost 2 % of a SOAP process's work (docs/BENCHMARKS.md,
    "Fifteenth pass"). A changed counter or territory reads as other rows, so as new objects."""
    if not rows:
        return None
    code, name, kind, territory_code, mailbox, endpoint, active, territory_name = rows[0][:8]
    counter = Counter(code=code, name=name, type=CounterType(kind), territory=territory_code, mailbox=mailbox,
                      endpoint=endpoint, active=bool(active))
    if territory_name is None:
        return counter, None
    areas = {"departement": set(), "commune": set()}
    for *_, area_kind, area in rows:
        if area_kind in areas:
            areas[area_kind].add(area)
    return counter, Territory(territory_code, territory_name, frozenset(areas["departement"]),
                              frozenset(areas["commune"]))


def duplicates(rows: Iterable[tuple], keys: list[PersonKey]) -> list[DuplicateCandidate]:
    """The candidates among IDENTITIES' rows: the same first name, birth date and one surname."""
    found = set()
    for number, role, surname, first_name, birth_date in rows:
        if isinstance(birth_date, str):  # SQLite: the ISO text the Date type stores
            birth_date = date.fromisoformat(birth_date)
        if any(k.first_name == first_name and k.birth_date == birth_date and surname in k.surnames for k in keys):
            found.add(DuplicateCandidate(number, role))
    return sorted(found, key=lambda candidate: (candidate.number, candidate.person_role))


class SqliteRegistrations:
    """SQLite: the statements one after the other (no round trips to save), values converted by the
    schema's types."""

    def __init__(self, dialect: Any):
        self.convert = {table.name: tuple(_bind_processors(table, dialect).items())
                        for table in (orm.applications, orm.application_people, orm.application_communes,
                                      orm.application_terms, orm.journal, orm.outbox)}
        self.insert = {table: _insert(table, ("application_id", *columns, *SEARCH_COLUMNS))
                       for table, columns in INDEX_COLUMNS.items()}
        self.insert_application = _insert("applications", APPLICATION_COLUMNS) + " RETURNING id"
        self.insert_journal = _insert("journal", JOURNAL_COLUMNS)
        self.insert_outbox = _insert("outbox", OUTBOX_COLUMNS)

    def counter(self, dbapi: Any, _info: Any, counter_code: str,
                _keys: list[PersonKey]) -> tuple[Counter, Territory | None] | None:
        """The counter and its territory (the writers' turn serialises registrations: no locks)."""
        return counter_with_territory(dbapi.cursor().execute(
            COUNTER_WITH_TERRITORY.format(counters="counters c", code="?"), (counter_code,)).fetchall())

    def candidates(self, dbapi: Any, _info: Any, counter_code: str, keys: list[PersonKey], _territory: str,
                   _draw: bool) -> Candidates:
        """The duplicates' search; the number is drawn apart (TableSequences), there being no round
        trip to save."""
        if not keys:
            return Candidates([], None)
        birth_dates = sorted({key.birth_date.isoformat() for key in keys})
        first_names = sorted({key.first_name for key in keys})
        surnames = sorted({surname for key in keys for surname in key.surnames})
        sql = IDENTITIES.format(birth_dates=_in(birth_dates), first_names=_in(first_names),
                                surnames=_in(surnames), code="?")
        found = dbapi.cursor().execute(sql, (*birth_dates, *first_names, *surnames, counter_code)).fetchall()
        return Candidates(duplicates(found, keys), None)

    def write(self, dbapi: Any, _info: Any, columns: dict[str, Any], index: dict[str, list[dict[str, Any]]],
              journal: list[dict[str, Any]], outbox: list[dict[str, Any]], form: Any = None, *,
              commit: bool = False) -> int:
        """Insert the application, its index rows, journal and outbox rows; its row id. The unit of
        work commits, whatever ``commit`` says (its connection gives the writers' turn back then).
        ``columns["form"]`` is already the JSON text (``StoredForm.text``); ``form``, its document,
        serves PostgreSQL only.

        The search columns the side tables copy are converted once, with the application's."""
        cursor = dbapi.cursor()
        values = self._converted("applications", {k: v for k, v in columns.items() if k != "form"})
        values["form"] = columns["form"]
        row_id = cursor.execute(self.insert_application, values).fetchone()[0]
        searched = {name: values[name] for name in SEARCH_COLUMNS}
        for table, rows in index.items():
            if rows:
                cursor.executemany(self.insert[table], [self._converted(table, {"application_id": row_id, **row},
                                                                        searched) for row in rows])
        cursor.executemany(self.insert_journal, [self._converted("journal", dict(row)) for row in journal])
        if outbox:
            cursor.executemany(self.insert_outbox, [self._converted("outbox", dict(row)) for row in outbox])
        return row_id

    def _converted(self, table: str, row: dict[str, Any], converted: dict[str, Any] | None = None) -> dict[str, Any]:
        """``row`` (a dict of its own, changed in place) with its values as the DBAPI stores them,
        then ``converted``'s values, which are already."""
        for name, process in self.convert[table]:
            if name in row:
                row[name] = process(row[name])
        if converted:
            row.update(converted)
        return row


def registered_form_left_out(outbox: list[dict[str, Any]], form: Any) -> list[dict[str, Any]]:
    """The outbox rows to send: those whose change snapshots ``form`` go without it, marked
    ``registered_form`` (the insert puts the application's stored form in its place)."""
    rows = []
    for row in outbox:
        change = row["payload"].get("change")
        if form is not None and change is not None and change["application"].get("form") is form:
            snapshot = {**change["application"], "form": None}
            row = {**row, "payload": {**row["payload"], "change": {**change, "application": snapshot}},
                   "registered_form": True}
        rows.append(row)
    return rows


def _postgres_insert() -> str:
    """The application, then from its returned row the side tables' rows, the journal and the outbox
    (whose snapshot of the registered form is the returned row's, see ``registered_form_left_out``)."""
    jsonb = {"form", "cancellation"}
    values = ", ".join(f"CAST(%({name})s AS jsonb)" if name in jsonb else f"%({name})s"
                       for name in APPLICATION_COLUMNS)
    search = ", ".join(SEARCH_COLUMNS)
    types = {"role": "text", "surname_key": "text", "first_name_key": "text", "birth_date": "date",
             "rank": "integer", "commune": "text", "kind": "text", "value": "text"}
    side = ",\n".join(
        f"""    {table}_rows AS (
        INSERT INTO {table} (application_id, {", ".join(own)}, {search})
        SELECT application.id, {", ".join(f"r.{name}" for name in own)}, {", ".join(f"application.{n}" for n in
                                                                                  SEARCH_COLUMNS)}
        FROM application, jsonb_to_recordset(CAST(%({table})s AS jsonb))
            AS r({", ".join(f"{name} {types[name]}" for name in own)}))"""
        for table, own in INDEX_COLUMNS.items())
    return f"""
    WITH application AS (
        INSERT INTO applications ({", ".join(APPLICATION_COLUMNS)}) VALUES ({values})
        RETURNING id, form, {search}),
{side},
    journal_rows AS (
        INSERT INTO journal (at, actor, number, kind, details)
        SELECT at, actor, number, kind, details FROM jsonb_to_recordset(CAST(%(journal)s AS jsonb))
            AS r(at timestamptz, actor text, number text, kind text, details jsonb)),
    outbox_rows AS (
        INSERT INTO outbox (created_at, topic, number, payload)
        SELECT r.created_at, r.topic, r.number,
            CASE WHEN r.registered_form THEN jsonb_set(r.payload, '{{change,application,form}}', application.form)
                 ELSE r.payload END
        FROM application, jsonb_to_recordset(CAST(%(outbox)s AS jsonb))
            AS r(created_at timestamptz, topic text, number text, payload jsonb, registered_form boolean))
    SELECT id FROM application"""


POSTGRES_INSERT = _postgres_insert()


def array_literal(values: Iterable[Any]) -> str:
    """PostgreSQL's text form of an array, each element quoted, for a statement that casts it.

    psycopg adapts a Python list element by element, looking up each one's type (its list
    dumpers): for the four small arrays of a registration's reads, 3–4 % of a SOAP process's work at
    saturation (docs/BENCHMARKS.md, "Fifteenth pass"), where one string costs next to nothing."""
    return "{" + ",".join('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values) + "}"


def identity_lock(key: PersonKey) -> int:
    """A stable 32-bit lock id for everyone sharing a birth date and a first name."""
    return zlib.crc32(f"{key.birth_date.isoformat()}|{key.first_name}".encode())


def sequence_name(territory: str) -> str:
    """The territory's native sequence (NativeSequences)."""
    if not TERRITORY_CODE.fullmatch(territory):  # the name goes into DDL: accept only valid codes
        raise UnknownTerritory(f"Territoire inconnu : {territory}")
    return f"number_sequence_{territory.lower()}"


def _bind_processors(table: Any, dialect: Any) -> dict[str, Callable[[Any], Any]]:
    """Each column's conversion to what the DBAPI stores, as SQLAlchemy would apply it."""
    found = {}
    for column in table.columns:
        processor = column.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            found[column.name] = processor
    return found


def _insert(table: str, columns: Iterable[str]) -> str:
    columns = tuple(columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(f':{name}' for name in columns)})"


def _in(values: list[Any]) -> str:
    return f"IN ({', '.join('?' for _ in values)})"

"""The unit of work and repositories on SQLAlchemy Core, for SQLite and PostgreSQL alike.

Differences between the two are confined here: row locks and advisory locks exist on PostgreSQL;
on SQLite, ``BEGIN IMMEDIATE`` already makes every writing transaction exclusive.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, insert, or_, select, text, update

from core.domain.application import Application
from core.domain.codes import ApplicationState, CounterType
from core.domain.dispatch import Profile
from core.domain.errors import DuplicateCandidate, SequenceExhausted, UnknownTerritory
from core.domain.events import Event
from core.domain.form import ApplicationForm
from core.domain.identity import PersonKey
from core.domain.indicators import PrefectDelay
from core.domain.numbers import SEQUENCE_MAX, RegistrationNumber
from core.domain.referential import Counter, CounterCertificate, Epci, Territory
from core.domain.search import DOCUMENT, SearchCriteria, SortKey, document_terms
from core.service_layer import unit_of_work as port

from . import orm, registration
from .database import ends_by_commit, read_only_options
from .documents import SqlDocuments
from .notices import SqlNotices
from .registration import SqliteRegistrations, identity_lock
from .rows import (
    DOCUMENT_COLUMNS,
    SEARCH_COLUMNS,
    StoredForm,
    application_columns,
    application_of_row,
    application_snapshot,
    commune_rows,
    people_rows,
    search_columns,
    stored_form,
    term_rows,
)
from .rows import (
    json_rows as _json,
)
from .search import count_query, search_query
from .serialization import to_document
from .shared_events import SqlSharedEvents
from .subscriptions import SqlSubscriptions

# Statements built once: constructing SQLAlchemy expressions costs more than running them on SQLite.
_APPLICATIONS = orm.applications.c
INSERT_APPLICATION = insert(orm.applications).returning(_APPLICATIONS.id)
SELECT_APPLICATION = select(orm.applications).where(_APPLICATIONS.number == bindparam("number"))
UPDATE_APPLICATION = update(orm.applications).where(_APPLICATIONS.id == bindparam("row_id"),
                                                     _APPLICATIONS.version == bindparam("loaded_version"))
INDEX_TABLES = (orm.application_people, orm.application_communes, orm.application_terms)
INSERT_INDEX = {table.name: insert(table) for table in INDEX_TABLES}
# A changed form rebuilds the index rows it makes: never the document terms, which documents keep.
DELETE_INDEX = [delete(table).where(table.c.application_id == bindparam("row_id"),
                                    *([table.c.kind != DOCUMENT] if table is orm.application_terms else []))
                for table in INDEX_TABLES]
UPDATE_INDEX = [
    update(table).where(table.c.application_id == bindparam("row_id"))
    .values({name: bindparam(f"new_{name}") for name in SEARCH_COLUMNS})
    for table in INDEX_TABLES
]
SELECT_COUNTER = select(orm.counters).where(orm.counters.c.code == bindparam("code"))
INSERT_JOURNAL = insert(orm.journal)
INSERT_OUTBOX = insert(orm.outbox)
_PEOPLE = orm.application_people.c
SELECT_IDENTITIES = (  # a superset of the matches (any date × first name × surname given), filtered in Python;
    # from the people's index alone, as registration.IDENTITIES: its five columns are ix_application_people_identity
    select(_PEOPLE.number, _PEOPLE.role, _PEOPLE.surname_key, _PEOPLE.first_name_key, _PEOPLE.birth_date)
    .where(_PEOPLE.birth_date.in_(bindparam("birth_dates", expanding=True)),
           _PEOPLE.first_name_key.in_(bindparam("first_names", expanding=True)),
           _PEOPLE.surname_key.in_(bindparam("surnames", expanding=True)),
           _PEOPLE.state == ApplicationState.ACTIVE.value,
           _PEOPLE.territory_code == bindparam("territory"))
)
# PostgreSQL: several inserts in one statement (data-modifying CTEs), rows passed as JSON.
APPEND_EVENTS = text("""
    WITH journal_rows AS (
        INSERT INTO journal (at, actor, number, kind, details)
        SELECT at, actor, number, kind, details FROM jsonb_to_recordset(CAST(:journal AS jsonb))
            AS r(at timestamptz, actor text, number text, kind text, details jsonb))
    INSERT INTO outbox (created_at, topic, number, payload)
    SELECT created_at, topic, number, payload FROM jsonb_to_recordset(CAST(:outbox AS jsonb))
        AS r(created_at timestamptz, topic text, number text, payload jsonb)""")
_SEARCH_VALUES = ("CAST(:territory_code AS text), CAST(:state AS text), CAST(:first_wished_commune AS text), "
                  "CAST(:filing_date AS date), CAST(:number AS text)")
INDEX_APPLICATION = text(f"""
    WITH people_rows AS (
        INSERT INTO application_people (application_id, role, surname_key, first_name_key, birth_date,
                                        {", ".join(SEARCH_COLUMNS)})
        SELECT :application_id, role, surname_key, first_name_key, birth_date, {_SEARCH_VALUES}
        FROM jsonb_to_recordset(CAST(:people AS jsonb))
            AS r(role text, surname_key text, first_name_key text, birth_date date)),
    commune_rows AS (
        INSERT INTO application_communes (application_id, rank, commune, {", ".join(SEARCH_COLUMNS)})
        SELECT :application_id, rank, commune, {_SEARCH_VALUES}
        FROM jsonb_to_recordset(CAST(:communes AS jsonb)) AS r(rank integer, commune text))
    INSERT INTO application_terms (application_id, kind, value, {", ".join(SEARCH_COLUMNS)})
    SELECT :application_id, kind, value, {_SEARCH_VALUES}
    FROM jsonb_to_recordset(CAST(:terms AS jsonb)) AS r(kind text, value text)""")
_NEW_SEARCH_VALUES = ", ".join(f"{name} = :new_{name}" for name in SEARCH_COLUMNS)
UPDATE_INDEX_STATE = text(f"""
    WITH people_rows AS (UPDATE application_people SET {_NEW_SEARCH_VALUES} WHERE application_id = :row_id),
    commune_rows AS (UPDATE application_communes SET {_NEW_SEARCH_VALUES} WHERE application_id = :row_id)
    UPDATE application_terms SET {_NEW_SEARCH_VALUES} WHERE application_id = :row_id""")
DELETE_INDEX_ROWS = text("""
    WITH people_rows AS (DELETE FROM application_people WHERE application_id = :row_id),
    commune_rows AS (DELETE FROM application_communes WHERE application_id = :row_id)
    DELETE FROM application_terms WHERE application_id = :row_id AND kind <> 'document'""")
SEARCH_PLANNING = text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
                       "set_config('max_parallel_workers_per_gather', '0', true)")
ADVISORY_LOCKS = text(registration.ADVISORY_LOCKS.format(ids=":ids"))


ERASED_PROFILE = Profile().to_document()  # what a purged application's dispatched changes keep


class SqlUnitOfWork(port.UnitOfWork):
    """One database transaction. ``readonly`` ones never take SQLite's write lock, and run READ ONLY
    on PostgreSQL, where they end by COMMIT (core.adapters.database explains why).

    ``within`` joins the transaction of an open connection instead (as a savepoint): a channel
    that must commit a register change together with its own records (the mail channel: the
    changes of a message's files, its reply, its status) runs the use cases in it and commits once.
    """

    def __init__(self, engine: Engine, *, readonly: bool = False, within: Connection | None = None):
        self.engine = engine
        self.readonly = readonly
        self.within = within
        self.connection: Connection | None = None

    def __enter__(self) -> "SqlUnitOfWork":
        if self.within is not None:
            self.connection = self.within
            self._transaction = self.within.begin_nested()
        else:
            self.connection = self.engine.connect()
            if self.readonly:
                self.connection.execution_options(**read_only_options(self.engine))
            self._transaction = self.connection.begin()
        postgres = self.engine.dialect.name == "postgresql"
        self.applications = SqlApplications(self.connection, postgres)
        self.territories = SqlTerritories(self.connection)
        self.counters = SqlCounters(self.connection)
        self.certificates = SqlCertificates(self.connection)
        self.sequences = NativeSequences(self.connection) if postgres else TableSequences(self.connection)
        self.events = SqlEventLog(self.connection, postgres, self.applications)
        self.subscriptions = SqlSubscriptions(self.connection, postgres)
        self.notices = SqlNotices(self.connection, postgres)
        self.shared_events = SqlSharedEvents(self.connection, postgres)
        self.documents = SqlDocuments(self.connection, postgres)
        return self

    def __exit__(self, error_type: type | None, *exc_info: object) -> None:
        """A read-only unit of work on PostgreSQL ends by COMMIT, which its READ ONLY transaction
        makes harmless and which keeps the connection's prepared statements (core.adapters.database);
        any other, and one left by an error, ends by ROLLBACK unless it committed."""
        try:
            if (error_type is None and self.readonly and self.within is None and ends_by_commit(self.engine)
                    and self._transaction.is_active):
                self._transaction.commit()
            else:
                self.rollback()
        finally:
            if self.within is None:
                self.connection.close()
            self.connection = None

    def commit(self) -> None:
        self._transaction.commit()

    def rollback(self) -> None:
        if self._transaction.is_active:
            self._transaction.rollback()

    # A registration on the DBAPI connection (core.adapters.registration).

    def prepare_form(self, form: ApplicationForm) -> StoredForm:
        return stored_form(form)

    def registration_counter(self, counter_code: str, keys: set[PersonKey]) -> tuple[Counter, Territory | None] | None:
        return self._registrations().counter(self._dbapi(), self._info(), counter_code, list(keys))

    def registration_candidates(self, counter_code: str, keys: set[PersonKey], territory: str, *,
                                draw: bool) -> port.Candidates:
        return self._registrations().candidates(self._dbapi(), self._info(), counter_code, list(keys), territory, draw)

    def commit_registration(self, application: Application, prepared: StoredForm | None = None) -> None:
        """The application, its index rows, its journal and outbox rows (on PostgreSQL one
        statement), then the commit. ``prepared`` serves when built from the very form the
        application stores (a CRE's, unless the counter sent the register's own blocks)."""
        if prepared is None or prepared.form is not application.form:
            prepared = stored_form(application.form)
        columns = {**application_columns(application), "form": prepared.document}
        number = str(application.number)
        self.applications.keep_loaded(number, None, prepared.document, search_columns(columns))
        journal, outbox = self.events.rows(application.events)
        row_id = self._registrations().write(self._dbapi(), self._info(), {**columns, "form": prepared.text},
                                             prepared.index, journal, outbox, prepared.document,
                                             commit=self.within is None)
        self.applications.keep_loaded(number, row_id, prepared.document, search_columns(columns))
        self.commit()

    def _dbapi(self) -> Any:
        return self.connection.connection.dbapi_connection

    def _info(self) -> dict[str, Any]:
        """The pool's record of the connection, which outlives this unit of work."""
        return self.connection.connection.info

    def _registrations(self) -> Any:
        """SqliteRegistrations or PostgresRegistrations, built at first use (the latter's module
        loads psycopg, which a hub on SQLite never needs)."""
        return _registrations(self.engine.dialect)


def _registrations(dialect: Any) -> Any:
    found = _REGISTRATIONS.get(dialect.name)
    if found is None:
        if dialect.name == "postgresql":
            from .postgres_registrations import PostgresRegistrations
            found = PostgresRegistrations()
        else:
            found = SqliteRegistrations(dialect)  # its types' conversions come from the dialect
        _REGISTRATIONS[dialect.name] = found
    return found


_REGISTRATIONS: dict[str, Any] = {}  # by dialect name


class SqlApplications(port.Applications):
    def __init__(self, connection: Connection, postgres: bool):
        self.connection = connection
        self.postgres = postgres
        # number -> (row id, form document, search columns), as last read or written
        self._loaded: dict[str, tuple[int, dict[str, Any], dict[str, Any]]] = {}

    def keep_loaded(self, number: str, row_id: int | None, form: dict[str, Any], searched: dict[str, Any]) -> None:
        """Remember what was written for ``number`` (its event payloads reuse the form document)."""
        self._loaded[number] = (row_id, form, searched)

    def loaded_form(self, number: str) -> dict[str, Any] | None:
        """The form document last read or written for ``number`` in this unit of work."""
        loaded = self._loaded.get(number)
        return loaded[1] if loaded else None

    def add(self, application: Application) -> None:
        form = to_document(application.form)
        columns = application_columns(application)
        row_id = self.connection.execute(INSERT_APPLICATION, {**columns, "form": form}).scalar_one()
        searched = search_columns(columns)
        self._index(row_id, application, searched)
        self._loaded[str(application.number)] = (row_id, form, searched)

    def get(self, number: RegistrationNumber, *, for_update: bool = False) -> Application | None:
        query = SELECT_APPLICATION.with_for_update() if for_update else SELECT_APPLICATION
        row = self.connection.execute(query, {"number": str(number)}).mappings().first()
        if row is None:
            return None
        self._loaded[row["number"]] = (row["id"], row["form"], search_columns(row))
        return application_of_row(row)

    def save(self, application: Application, loaded_version: int) -> None:
        """Store the changed row; the side tables are rebuilt when the form changed, and every side
        row, the document terms kept across a form change included, takes the new search columns
        (first wished commune, state…) when they changed."""
        row_id, loaded_form, loaded_search = self._loaded[str(application.number)]
        form = to_document(application.form)
        values = application_columns(application)
        for name in DOCUMENT_COLUMNS:
            del values[name]
        if form != loaded_form:
            values["form"] = form
        result = self.connection.execute(UPDATE_APPLICATION.values(**values),
                                         {"row_id": row_id, "loaded_version": loaded_version})
        if result.rowcount != 1:
            raise port.StaleApplication(str(application.number))
        searched = search_columns(values)
        if form != loaded_form:
            self._unindex(row_id)
            self._index(row_id, application, searched)
        if searched != loaded_search:  # the document terms outlive a form change: they move with it
            self._reindex_search_columns(row_id, searched)
        self._loaded[str(application.number)] = (row_id, form, searched)

    def record_documents(self, number: RegistrationNumber, categories: Iterable[str], day: date) -> None:
        apps, terms = orm.applications.c, orm.application_terms.c
        row = self.connection.execute(select(apps.id, *(apps[name] for name in SEARCH_COLUMNS))
                                      .where(apps.number == str(number))).mappings().one()
        self.connection.execute(update(orm.applications).where(apps.id == row["id"])
                                .values(documents_changed_on=day))
        self.connection.execute(delete(orm.application_terms)
                                .where(terms.application_id == row["id"], terms.kind == DOCUMENT))
        rows = [{"application_id": row["id"], "kind": kind, "value": value, **search_columns(row)}
                for kind, value in document_terms(categories)]
        if rows:
            self.connection.execute(INSERT_INDEX[orm.application_terms.name], rows)

    def lock_identities(self, keys: Iterable[PersonKey]) -> None:
        if not self.postgres:
            return  # SQLite: the writing transaction is already exclusive
        lock_ids = sorted({identity_lock(key) for key in keys})
        if lock_ids:  # in one round trip, in a fixed order so that two registrations never deadlock
            self.connection.execute(ADVISORY_LOCKS, {"ids": lock_ids})

    def find_duplicates(self, keys: Iterable[PersonKey], territory: str,
                        exclude: RegistrationNumber | None = None) -> list[DuplicateCandidate]:
        keys = list(keys)
        if not keys:
            return []
        rows = self.connection.execute(SELECT_IDENTITIES, {
            "territory": territory,
            "birth_dates": sorted({key.birth_date for key in keys}),
            "first_names": sorted({key.first_name for key in keys}),
            "surnames": sorted({surname for key in keys for surname in key.surnames}),
        })
        return [candidate for candidate in registration.duplicates(rows, keys) if candidate.number != str(exclude)]

    def search(self, criteria: SearchCriteria, territory: str, after: SortKey | None, limit: int) -> list[SortKey]:
        statement = search_query(criteria, territory, after, limit, lateral=self.postgres)
        self._plan_each_search()
        return [(commune or "", filed, number) for commune, filed, number in self.connection.execute(*statement)]

    def count(self, criteria: SearchCriteria, territory: str, after: SortKey | None, limit: int) -> int:
        statement = count_query(criteria, territory, after, limit, lateral=self.postgres)
        self._plan_each_search()
        return min(self.connection.execute(*statement).scalar_one(), limit)

    def _plan_each_search(self) -> None:
        """PostgreSQL, for this transaction: plan each search for its values, without parallel workers.

        psycopg prepares a statement run five times on a connection, and PostgreSQL may then reuse
        one generic plan for all values: a plan that cannot tell a one-day filing window from a
        five-year one, or a big town from a village, reads whole territories. And a search reads a
        few thousand index entries at most: starting parallel workers costs it more than it saves.
        """
        if self.postgres:
            self.connection.execute(SEARCH_PLANNING)

    def cancelled_since(self, territory: str, since: datetime, motive: str | None) -> list[Application]:
        apps = orm.applications.c
        query = select(orm.applications).where(
            apps.territory_code == territory, apps.state == ApplicationState.CANCELLED.value,
            apps.last_changed_at >= since).order_by(apps.last_changed_at, apps.number)
        if motive:
            query = query.where(apps.cancellation_motive == motive)
        return [application_of_row(row) for row in self.connection.execute(query).mappings()]

    def dalo_active_since(self, territory: str, since: datetime) -> list[str]:
        apps = orm.applications.c
        query = select(apps.number).where(
            apps.territory_code == territory, apps.state == ApplicationState.ACTIVE.value,
            apps.dalo_active_since >= since).order_by(apps.dalo_active_since, apps.number)
        return list(self.connection.scalars(query))

    def sort_key(self, number: str) -> SortKey | None:
        apps = orm.applications.c
        row = self.connection.execute(
            select(apps.first_wished_commune, apps.filing_date, apps.number).where(apps.number == number)).first()
        return (row[0] or "", row[1], row[2]) if row else None

    def due_for_clock(self, until: date) -> list[RegistrationNumber]:
        apps = orm.applications.c
        query = (
            select(apps.number)
            .where(apps.state == ApplicationState.ACTIVE.value, apps.next_due <= until)
            .order_by(apps.next_due, apps.number)
        )
        return [RegistrationNumber.parse(number) for number in self.connection.scalars(query)]

    def indicator_rows(self, territory: str) -> list[port.IndicatorRow]:
        apps = orm.applications.c
        query = (select(apps.number, apps.filing_date, apps.first_wished_commune, apps.long_wait,
                        apps.conditional_allocation)
                 .where(apps.territory_code == territory, apps.state == ApplicationState.ACTIVE.value)
                 .order_by(apps.number))  # the search order index (territory, state, …) serves it
        return [port.IndicatorRow(number, filed, commune, None if long_wait is None else
                                  (bool(long_wait), bool(conditional)))
                for number, filed, commune, long_wait, conditional in self.connection.execute(query)]

    def cancelled_on_or_before(self, until: date) -> list[RegistrationNumber]:
        apps = orm.applications.c
        query = (select(apps.number)
                 .where(apps.state == ApplicationState.CANCELLED.value, apps.cancelled_on <= until)
                 .order_by(apps.cancelled_on, apps.number))
        return [RegistrationNumber.parse(number) for number in self.connection.scalars(query)]

    def purge(self, number: RegistrationNumber) -> None:
        """Every copy of the household's data goes: the row and its index rows, the outbox messages
        (application snapshots), the dispatched DIS files and filter profiles (the delivery records
        stay, naming a number and nothing else), the recipients of its notices, and its shared
        management events (their comments and characteristics are about the household)."""
        key = str(number)
        row_id, _, _ = self._loaded[key]
        for table in INDEX_TABLES:  # all its rows, its documents' terms too: no foreign key cascades (orm)
            self.connection.execute(delete(table).where(table.c.application_id == row_id))
        self.connection.execute(delete(orm.applications).where(_APPLICATIONS.id == row_id))
        self.connection.execute(delete(orm.outbox).where(orm.outbox.c.number == key))
        changes = orm.dispatch_changes
        self.connection.execute(update(changes).where(changes.c.number == key)
                                .values(file=None, before=None, after=ERASED_PROFILE))
        self.connection.execute(update(orm.notices).where(orm.notices.c.number == key).values(recipient=None))
        self.connection.execute(delete(orm.shared_events).where(orm.shared_events.c.number == key))
        del self._loaded[key]

    def _index(self, row_id: int, application: Application, searched: dict[str, Any]) -> None:
        form = application.form
        people, communes, terms = people_rows(form), commune_rows(form), term_rows(form)
        if self.postgres:  # one round trip for the three
            self.connection.execute(INDEX_APPLICATION, {
                "application_id": row_id, **searched, "people": _json(people), "communes": _json(communes),
                "terms": _json(terms)})
            return
        for table, rows in ((orm.application_people, people), (orm.application_communes, communes),
                            (orm.application_terms, terms)):
            if rows:
                self.connection.execute(INSERT_INDEX[table.name],
                                        [{"application_id": row_id, **row, **searched} for row in rows])

    def _unindex(self, row_id: int) -> None:
        if self.postgres:
            self.connection.execute(DELETE_INDEX_ROWS, {"row_id": row_id})
            return
        for statement in DELETE_INDEX:
            self.connection.execute(statement, {"row_id": row_id})

    def _reindex_search_columns(self, row_id: int, searched: dict[str, Any]) -> None:
        values = {"row_id": row_id, **{f"new_{name}": value for name, value in searched.items()}}
        if self.postgres:
            self.connection.execute(UPDATE_INDEX_STATE, values)
            return
        for statement in UPDATE_INDEX:
            self.connection.execute(statement, values)


class SqlTerritories(port.Territories):
    def __init__(self, connection: Connection):
        self.connection = connection

    def add(self, territory: Territory) -> None:
        self.connection.execute(insert(orm.territories).values(code=territory.code, name=territory.name))
        areas = [{"kind": "departement", "area": d, "territory_code": territory.code} for d in territory.departements]
        areas += [{"kind": "commune", "area": c, "territory_code": territory.code} for c in territory.communes]
        self.connection.execute(insert(orm.territory_areas), areas)

    def get(self, code: str) -> Territory | None:
        found = _territories(self.connection.execute(SELECT_TERRITORY, {"code": code}))
        return found[0] if found else None

    def list(self) -> list[Territory]:
        return _territories(self.connection.execute(SELECT_TERRITORIES))

    def claimed_areas(self, departements: Iterable[str], communes: Iterable[str]) -> dict[str, str]:
        areas = orm.territory_areas.c
        query = select(areas.area, areas.territory_code).where(
            or_(and_(areas.kind == "departement", areas.area.in_(list(departements))),
                and_(areas.kind == "commune", areas.area.in_(list(communes))))
        )
        return dict(self.connection.execute(query).all())

    def add_epci(self, epci: Epci) -> None:
        self.connection.execute(insert(orm.epcis).values(code=epci.code, name=epci.name,
                                                         territory_code=epci.territory))
        self.connection.execute(insert(orm.epci_communes),
                                [{"epci_code": epci.code, "commune": commune} for commune in sorted(epci.communes)])

    def epcis(self, territory: str | None = None) -> list[Epci]:
        query = (select(orm.epcis.c.code, orm.epcis.c.name, orm.epcis.c.territory_code, orm.epci_communes.c.commune)
                 .join(orm.epci_communes, orm.epci_communes.c.epci_code == orm.epcis.c.code)
                 .order_by(orm.epcis.c.code))
        if territory is not None:
            query = query.where(orm.epcis.c.territory_code == territory)
        found: dict[str, tuple[str, str, set[str]]] = {}
        for code, name, territory_code, commune in self.connection.execute(query):
            found.setdefault(code, (name, territory_code, set()))[2].add(commune)
        return [Epci(code, name, territory_code, frozenset(communes))
                for code, (name, territory_code, communes) in found.items()]

    def prefect_delays(self) -> dict[str, int]:
        delays = orm.prefect_delays.c
        return dict(self.connection.execute(select(delays.departement, delays.months)).all())

    def set_prefect_delay(self, delay: PrefectDelay, at: datetime) -> None:
        table = orm.prefect_delays
        updated = self.connection.execute(update(table).where(table.c.departement == delay.departement)
                                          .values(months=delay.months, set_at=at))
        if updated.rowcount == 0:
            self.connection.execute(insert(table).values(departement=delay.departement, months=delay.months,
                                                         set_at=at))

    def clear_prefect_delay(self, departement: str) -> bool:
        table = orm.prefect_delays
        return self.connection.execute(delete(table).where(table.c.departement == departement)).rowcount > 0

    def covered_departements(self) -> set[str]:
        areas = orm.territory_areas.c
        return set(self.connection.scalars(select(areas.area).where(areas.kind == "departement")))


SELECT_TERRITORIES = (
    select(orm.territories.c.code, orm.territories.c.name, orm.territory_areas.c.kind, orm.territory_areas.c.area)
    .join(orm.territory_areas, orm.territory_areas.c.territory_code == orm.territories.c.code, isouter=True)
    .order_by(orm.territories.c.code)
)
SELECT_TERRITORY = SELECT_TERRITORIES.where(orm.territories.c.code == bindparam("code"))


def _territories(rows: Iterable[Any]) -> list[Territory]:
    """Territories from their rows joined with their areas, one row per area."""
    found: dict[str, tuple[str, set[str], set[str]]] = {}
    for code, name, kind, area in rows:
        _, departements, communes = found.setdefault(code, (name, set(), set()))
        if kind == "departement":
            departements.add(area)
        elif kind == "commune":
            communes.add(area)
    return [Territory(code, name, frozenset(d), frozenset(c)) for code, (name, d, c) in found.items()]


class SqlCounters(port.Counters):
    def __init__(self, connection: Connection):
        self.connection = connection

    def add(self, counter: Counter) -> None:
        self.connection.execute(insert(orm.counters).values(
            code=counter.code, name=counter.name, type=counter.type.value, territory_code=counter.territory,
            mailbox=counter.mailbox, endpoint=counter.endpoint, active=counter.active,
        ))

    def get(self, code: str) -> Counter | None:
        row = self.connection.execute(SELECT_COUNTER, {"code": code}).first()
        return _counter(row) if row else None

    def get_with_territory(self, code: str) -> tuple[Counter, Territory | None] | None:
        return registration.counter_with_territory(
            [tuple(row) for row in self.connection.execute(SELECT_COUNTER_WITH_TERRITORY, {"code": code})])

    def list(self, territory: str | None = None) -> list[Counter]:
        query = select(orm.counters).order_by(orm.counters.c.code)
        if territory is not None:
            query = query.where(orm.counters.c.territory_code == territory)
        return [_counter(row) for row in self.connection.execute(query)]

    def set_endpoint(self, code: str, endpoint: str | None) -> None:
        self.connection.execute(update(orm.counters).where(orm.counters.c.code == code).values(endpoint=endpoint))


# The counter, its territory and the territory's areas: one row per area (at least one row), in
# registration.COUNTER_WITH_TERRITORY's order of columns.
SELECT_COUNTER_WITH_TERRITORY = (
    select(orm.counters, orm.territories.c.name.label("territory_name"), orm.territory_areas.c.kind,
           orm.territory_areas.c.area)
    .join(orm.territories, orm.territories.c.code == orm.counters.c.territory_code, isouter=True)
    .join(orm.territory_areas, orm.territory_areas.c.territory_code == orm.territories.c.code, isouter=True)
    .where(orm.counters.c.code == bindparam("code"))
)


def _counter(row: Any) -> Counter:
    return Counter(code=row.code, name=row.name, type=CounterType(row.type), territory=row.territory_code,
                   mailbox=row.mailbox, endpoint=row.endpoint, active=row.active)


class SqlCertificates(port.Certificates):
    def __init__(self, connection: Connection):
        self.connection = connection

    def add(self, certificate: CounterCertificate) -> None:
        self.connection.execute(insert(orm.counter_certificates).values(
            fingerprint=certificate.fingerprint, counter_code=certificate.counter, subject=certificate.subject,
            not_before=certificate.not_before, not_after=certificate.not_after, revoked_at=certificate.revoked_at,
            certificate=certificate.der,
        ))

    def keep_der(self, fingerprint: str, der: bytes) -> None:
        table = orm.counter_certificates
        self.connection.execute(update(table).where(table.c.fingerprint == fingerprint).values(certificate=der))

    def get(self, fingerprint: str) -> CounterCertificate | None:
        row = self.connection.execute(SELECT_CERTIFICATE, {"fingerprint": fingerprint}).first()
        return _certificate(row) if row else None

    def of_counter(self, counter: str) -> list[CounterCertificate]:
        table = orm.counter_certificates
        rows = self.connection.execute(select(table).where(table.c.counter_code == counter).order_by(table.c.not_after))
        return [_certificate(row) for row in rows]

    def revoke(self, fingerprint: str, at: datetime) -> None:
        table = orm.counter_certificates
        self.connection.execute(update(table).where(table.c.fingerprint == fingerprint).values(revoked_at=at))

    def revocation_mark(self) -> tuple:
        return tuple(self.connection.execute(REVOCATION_MARK).one())

    def expiring(self, after: datetime, until: datetime) -> list[CounterCertificate]:
        table = orm.counter_certificates
        rows = self.connection.execute(
            select(table).where(table.c.revoked_at.is_(None), table.c.not_after >= after, table.c.not_after <= until)
            .order_by(table.c.not_after, table.c.counter_code, table.c.fingerprint))
        return [_certificate(row) for row in rows]


REVOCATION_MARK = select(
    select(func.count()).select_from(orm.counter_certificates)
    .where(orm.counter_certificates.c.revoked_at.is_not(None)).scalar_subquery(),
    select(func.max(orm.counter_certificates.c.revoked_at)).scalar_subquery(),
    select(func.count()).select_from(orm.counters).where(orm.counters.c.active.is_(False)).scalar_subquery(),
)
SELECT_CERTIFICATE = select(orm.counter_certificates).where(
    orm.counter_certificates.c.fingerprint == bindparam("fingerprint"))


def _certificate(row: Any) -> CounterCertificate:
    return CounterCertificate(row.fingerprint, row.counter_code, row.subject, row.not_before, row.not_after,
                              row.revoked_at, row.certificate)


class TableSequences(port.NumberSequences):
    """SQLite: the territory's row counts, incremented inside the registration's transaction.

    Writers are serialised anyway, so this costs nothing and leaves no gap: a registration that
    rolls back gives its number back.
    """

    def __init__(self, connection: Connection):
        self.connection = connection

    def create(self, territory: str, last_issued: int = 0) -> None:
        self.connection.execute(insert(orm.number_sequences).values(territory_code=territory, last_value=last_issued))

    def next(self, territory: str) -> int:
        """On the DBAPI cursor: a registration's statement (core.adapters.registration)."""
        row = self.connection.connection.dbapi_connection.execute(registration.NEXT_SQLITE_NUMBER,
                                                                  (territory,)).fetchone()
        if row is None:
            raise UnknownTerritory(f"Territoire inconnu : {territory}")
        return _within_bounds(row[0], territory)

    def last(self, territory: str) -> int:
        return self.connection.execute(
            select(orm.number_sequences.c.last_value).where(orm.number_sequences.c.territory_code == territory)
        ).scalar_one()


class NativeSequences(TableSequences):
    """PostgreSQL: one native sequence per territory (``number_sequence_057``), never locked.

    A row counter would be locked from the draw to the commit, queueing every registration of a
    territory behind the previous one's round trips and fsync. A native sequence is drawn without
    a lock; the price is that a registration failing after its draw (a database error, never a
    business refusal, which happens before) leaves a gap. Numbers stay unique and increasing, and
    MAXVALUE 999999 NO CYCLE makes exhaustion an error. The ``number_sequences`` row records the
    starting point.
    """

    def create(self, territory: str, last_issued: int = 0) -> None:
        super().create(territory, last_issued)
        name = registration.sequence_name(territory)
        self.connection.execute(text(f"CREATE SEQUENCE {name} MINVALUE 1 MAXVALUE {SEQUENCE_MAX} NO CYCLE"))
        if last_issued:
            self.connection.execute(text("SELECT setval(:name, :value, true)"),
                                    {"name": name, "value": min(last_issued, SEQUENCE_MAX)})

    def next(self, territory: str) -> int:
        """A registration's statement (core.adapters.registration), on the libpq connection."""
        return _registrations(self.connection.dialect).next_number(self.connection.connection.dbapi_connection,
                                                                   self.connection.connection.info, territory)

    def last(self, territory: str) -> int:
        name = registration.sequence_name(territory)
        return self.connection.execute(
            text("SELECT coalesce(last_value, 0) FROM pg_sequences WHERE sequencename = :name"),
            {"name": name},
        ).scalar_one()


def _within_bounds(value: int, territory: str) -> int:
    if value > SEQUENCE_MAX:
        raise SequenceExhausted(f"Les {SEQUENCE_MAX} numéros du territoire {territory} sont épuisés")
    return value


class SqlEventLog(port.EventLog):
    def __init__(self, connection: Connection, postgres: bool, applications: SqlApplications | None = None):
        self.connection = connection
        self.postgres = postgres
        self.applications = applications  # its form documents, already built, go into the outbox as they are

    def append(self, events: Iterable[Event]) -> None:
        events = list(events)
        if not events:
            return
        journal, outbox = self.rows(events)
        if self.postgres:  # one round trip for both
            self.connection.execute(APPEND_EVENTS, {"journal": _json(journal), "outbox": _json(outbox)})
            return
        self.connection.execute(INSERT_JOURNAL, journal)
        if outbox:
            self.connection.execute(INSERT_OUTBOX, outbox)

    def rows(self, events: list[Event]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The journal's rows of ``events`` and the outbox's rows of those that are queued."""
        journal = [{"at": e.at, "actor": e.actor, "number": e.number, "kind": e.kind.value, "details": e.details}
                   for e in events]
        outbox = [{"created_at": e.at, "topic": e.kind.value, "number": e.number, "payload": self._payload(e)}
                  for e in events if e.kind.queued]
        return journal, outbox

    def _payload(self, event: Event) -> dict[str, Any]:
        payload = {**event.details, "number": event.number, "actor": event.actor, "at": event.at.isoformat()}
        if event.delivery:
            payload["delivery"] = event.delivery
        if event.change is not None:
            facts = event.change
            form = self.applications.loaded_form(event.number) if self.applications else None
            payload["change"] = {
                "application": application_snapshot(facts.application, form),
                "altered": facts.altered,
                "before": facts.before.to_document() if facts.before is not None else None,
            }
        return payload

    def history(self, number: str) -> list[port.JournalEntry]:
        rows = self.connection.execute(
            select(orm.journal).where(orm.journal.c.number == number).order_by(orm.journal.c.id)
        )
        return [port.JournalEntry(r.id, r.at, r.actor, r.number, r.kind, r.details) for r in rows]

    def claim(self, topics: Iterable[str], limit: int) -> list[port.OutboxMessage]:
        box = orm.outbox.c
        query = (
            select(orm.outbox)
            .where(box.delivered_at.is_(None), box.topic.in_(list(topics)))
            .order_by(box.id)
            .limit(limit)
        )
        if self.postgres:
            query = query.with_for_update(skip_locked=True)
        return [port.OutboxMessage(r.id, r.created_at, r.topic, r.number, r.payload)
                for r in self.connection.execute(query)]

    def done(self, message_ids: Iterable[int], at: datetime) -> None:
        self.connection.execute(
            update(orm.outbox).where(orm.outbox.c.id.in_(list(message_ids))).values(delivered_at=at)
        )


def count_rows(connection: Connection, table_name: str) -> int:
    """Operators' and tests' view of table sizes."""
    return connection.execute(select(func.count()).select_from(orm.metadata.tables[table_name])).scalar_one()

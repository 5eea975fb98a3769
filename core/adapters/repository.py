"""The unit of work and repositories on SQLAlchemy Core, for SQLite and PostgreSQL alike.

Differences between the two are confined here: row locks and advisory locks exist on PostgreSQL;
on SQLite, ``BEGIN IMMEDIATE`` already makes every writing transaction exclusive.
"""

from __future__ import annotations

import zlib
from datetime import date, datetime
from typing import Any, Iterable

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, text, true, update

from core.domain.application import Application, Cancellation, Renewal
from core.domain.codes import ApplicationState, CounterType
from core.domain.errors import DuplicateCandidate, SequenceExhausted, UnknownTerritory
from core.domain.events import Event
from core.domain.form import ApplicationForm
from core.domain.identity import PersonKey, name_key
from core.domain.numbers import SEQUENCE_MAX, RegistrationNumber
from core.domain.referential import Counter, Territory
from core.service_layer import unit_of_work as port

from . import orm
from .serialization import from_document, to_document


class SqlUnitOfWork(port.UnitOfWork):
    """One database transaction. ``readonly`` ones never take SQLite's write lock."""

    def __init__(self, engine: Engine, *, readonly: bool = False):
        self.engine = engine
        self.readonly = readonly
        self.connection: Connection | None = None

    def __enter__(self) -> "SqlUnitOfWork":
        options = {"sqlite_begin": "DEFERRED"} if self.readonly else {}
        self.connection = self.engine.connect().execution_options(**options)
        self._transaction = self.connection.begin()
        postgres = self.engine.dialect.name == "postgresql"
        self.applications = SqlApplications(self.connection, postgres)
        self.territories = SqlTerritories(self.connection)
        self.counters = SqlCounters(self.connection)
        self.sequences = SqlNumberSequences(self.connection)
        self.events = SqlEventLog(self.connection, postgres)
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.rollback()
        finally:
            self.connection.close()
            self.connection = None

    def commit(self) -> None:
        self._transaction.commit()

    def rollback(self) -> None:
        if self._transaction.is_active:
            self._transaction.rollback()


class SqlApplications(port.Applications):
    def __init__(self, connection: Connection, postgres: bool):
        self.connection = connection
        self.postgres = postgres
        self._loaded: dict[str, tuple[int, dict[str, Any]]] = {}  # number -> (row id, form document)

    def add(self, application: Application) -> None:
        form = to_document(application.form)
        row_id = self.connection.execute(
            insert(orm.applications).values(**_columns(application), form=form).returning(orm.applications.c.id)
        ).scalar_one()
        self._index(row_id, application)
        self._loaded[str(application.number)] = (row_id, form)

    def get(self, number: RegistrationNumber, *, for_update: bool = False) -> Application | None:
        query = select(orm.applications).where(orm.applications.c.number == str(number))
        if for_update:
            query = query.with_for_update()
        row = self.connection.execute(query).mappings().first()
        if row is None:
            return None
        self._loaded[row["number"]] = (row["id"], row["form"])
        return _application(row)

    def save(self, application: Application, loaded_version: int) -> None:
        row_id, loaded_form = self._loaded[str(application.number)]
        form = to_document(application.form)
        values = _columns(application)
        if form != loaded_form:
            values["form"] = form
        result = self.connection.execute(
            update(orm.applications)
            .where(orm.applications.c.id == row_id, orm.applications.c.version == loaded_version)
            .values(**values)
        )
        if result.rowcount != 1:
            raise port.StaleApplication(str(application.number))
        if form != loaded_form:
            self.connection.execute(delete(orm.application_people).where(orm.application_people.c.application_id == row_id))
            self.connection.execute(delete(orm.application_communes).where(orm.application_communes.c.application_id == row_id))
            self._index(row_id, application)
        self._loaded[str(application.number)] = (row_id, form)

    def lock_identities(self, keys: Iterable[PersonKey]) -> None:
        if not self.postgres:
            return  # SQLite: the writing transaction is already exclusive
        for lock_id in sorted({_identity_lock(key) for key in keys}):
            self.connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})

    def find_duplicates(self, keys: Iterable[PersonKey], territory: str,
                        exclude: RegistrationNumber | None = None) -> list[DuplicateCandidate]:
        people, apps = orm.application_people.c, orm.applications.c
        conditions = [
            and_(people.birth_date == key.birth_date, people.first_name_key == key.first_name,
                 people.surname_key.in_(sorted(key.surnames)))
            for key in keys
        ]
        if not conditions:
            return []
        query = (
            select(apps.number, people.role)
            .join(orm.applications, apps.id == people.application_id)
            .where(or_(*conditions), apps.state == ApplicationState.ACTIVE.value, apps.territory_code == territory)
            .distinct()
            .order_by(apps.number, people.role)
        )
        if exclude is not None:
            query = query.where(apps.number != str(exclude))
        return [DuplicateCandidate(number, role) for number, role in self.connection.execute(query)]

    def due_for_clock(self, until: date) -> list[RegistrationNumber]:
        apps = orm.applications.c
        query = (
            select(apps.number)
            .where(apps.state == ApplicationState.ACTIVE.value, apps.next_due <= until)
            .order_by(apps.next_due, apps.number)
        )
        return [RegistrationNumber.parse(number) for number in self.connection.scalars(query)]

    def _index(self, row_id: int, application: Application) -> None:
        people = [
            {"application_id": row_id, "role": role, "surname_key": surname, "first_name_key": key.first_name,
             "birth_date": key.birth_date}
            for role, key in _people(application.form)
            for surname in sorted(key.surnames)
        ]
        if people:
            self.connection.execute(insert(orm.application_people), people)
        communes = [{"application_id": row_id, "rank": rank, "commune": commune}
                    for rank, commune in enumerate(application.form.wished_communes)]
        if communes:
            self.connection.execute(insert(orm.application_communes), communes)


def _people(form: ApplicationForm) -> list[tuple[str, PersonKey]]:
    found = []
    for index, person in enumerate(form.people):
        key = PersonKey.of(person.surname, person.birth_name, person.first_name, person.birth_date)
        if key is not None:
            found.append(("applicant" if index == 0 else "co_applicant", key))
    return found


def _identity_lock(key: PersonKey) -> int:
    """A stable 32-bit lock id for everyone sharing a birth date and a first name."""
    return zlib.crc32(f"{key.birth_date.isoformat()}|{key.first_name}".encode())


def _columns(application: Application) -> dict[str, Any]:
    cancellation = application.cancellation
    communes = application.form.wished_communes
    return {
        "number": str(application.number),
        "territory_code": application.territory,
        "state": application.state.value,
        "version": application.version,
        "filing_date": application.filing_date,
        "registered_at": application.registered_at,
        "registered_by": application.registered_by,
        "last_changed_at": application.last_changed_at,
        "last_changed_by": application.last_changed_by,
        "next_due": application.renewal.next_due,
        "last_renewed_on": application.renewal.last_renewed_on,
        "notice_sent_on": application.renewal.notice_sent_on,
        "second_notice_sent_on": application.renewal.second_notice_sent_on,
        "cancelled_on": cancellation.date if cancellation else None,
        "cancellation_motive": cancellation.motive if cancellation else None,
        "allocation_commune": cancellation.allocation_commune if cancellation else None,
        "associated_number": str(application.associated_number) if application.associated_number else None,
        "first_wished_commune": communes[0] if communes else None,
        "online": application.online,
        "cancellation": to_document(cancellation) if cancellation else None,
    }


def _application(row: Any) -> Application:
    return Application(
        number=RegistrationNumber.parse(row["number"]),
        territory=row["territory_code"],
        filing_date=row["filing_date"],
        registered_at=row["registered_at"],
        registered_by=row["registered_by"],
        last_changed_at=row["last_changed_at"],
        last_changed_by=row["last_changed_by"],
        form=from_document(ApplicationForm, row["form"]),
        renewal=Renewal(
            next_due=row["next_due"],
            last_renewed_on=row["last_renewed_on"],
            notice_sent_on=row["notice_sent_on"],
            second_notice_sent_on=row["second_notice_sent_on"],
        ),
        version=row["version"],
        state=ApplicationState(row["state"]),
        associated_number=RegistrationNumber.parse(row["associated_number"]) if row["associated_number"] else None,
        cancellation=from_document(Cancellation, row["cancellation"]) if row["cancellation"] else None,
        online=row["online"],
    )


class SqlTerritories(port.Territories):
    def __init__(self, connection: Connection):
        self.connection = connection

    def add(self, territory: Territory) -> None:
        self.connection.execute(insert(orm.territories).values(code=territory.code, name=territory.name))
        areas = [{"kind": "departement", "area": d, "territory_code": territory.code} for d in territory.departements]
        areas += [{"kind": "commune", "area": c, "territory_code": territory.code} for c in territory.communes]
        self.connection.execute(insert(orm.territory_areas), areas)

    def get(self, code: str) -> Territory | None:
        found = self._load(orm.territories.c.code == code)
        return found[0] if found else None

    def list(self) -> list[Territory]:
        return self._load(true())

    def claimed_areas(self, departements: Iterable[str], communes: Iterable[str]) -> dict[str, str]:
        areas = orm.territory_areas.c
        query = select(areas.area, areas.territory_code).where(
            or_(and_(areas.kind == "departement", areas.area.in_(list(departements))),
                and_(areas.kind == "commune", areas.area.in_(list(communes))))
        )
        return dict(self.connection.execute(query).all())

    def _load(self, condition: Any) -> list[Territory]:
        rows = self.connection.execute(select(orm.territories).where(condition).order_by(orm.territories.c.code)).all()
        areas = self.connection.execute(
            select(orm.territory_areas).where(orm.territory_areas.c.territory_code.in_([r.code for r in rows]))
        ).all()
        return [
            Territory(
                code=row.code,
                name=row.name,
                departements=frozenset(a.area for a in areas if a.territory_code == row.code and a.kind == "departement"),
                communes=frozenset(a.area for a in areas if a.territory_code == row.code and a.kind == "commune"),
            )
            for row in rows
        ]


class SqlCounters(port.Counters):
    def __init__(self, connection: Connection):
        self.connection = connection

    def add(self, counter: Counter) -> None:
        self.connection.execute(insert(orm.counters).values(
            code=counter.code, name=counter.name, type=counter.type.value, territory_code=counter.territory,
            mailbox=counter.mailbox, endpoint=counter.endpoint, active=counter.active,
        ))

    def get(self, code: str) -> Counter | None:
        row = self.connection.execute(select(orm.counters).where(orm.counters.c.code == code)).first()
        return _counter(row) if row else None

    def list(self, territory: str | None = None) -> list[Counter]:
        query = select(orm.counters).order_by(orm.counters.c.code)
        if territory is not None:
            query = query.where(orm.counters.c.territory_code == territory)
        return [_counter(row) for row in self.connection.execute(query)]


def _counter(row: Any) -> Counter:
    return Counter(code=row.code, name=row.name, type=CounterType(row.type), territory=row.territory_code,
                   mailbox=row.mailbox, endpoint=row.endpoint, active=row.active)


class SqlNumberSequences(port.NumberSequences):
    def __init__(self, connection: Connection):
        self.connection = connection

    def create(self, territory: str) -> None:
        self.connection.execute(insert(orm.number_sequences).values(territory_code=territory, last_value=0))

    def next(self, territory: str) -> int:
        sequences = orm.number_sequences.c
        value = self.connection.execute(
            update(orm.number_sequences)
            .where(sequences.territory_code == territory)
            .values(last_value=sequences.last_value + 1)
            .returning(sequences.last_value)
        ).scalar_one_or_none()
        if value is None:
            raise UnknownTerritory(f"Territoire inconnu : {territory}")
        if value > SEQUENCE_MAX:
            raise SequenceExhausted(f"Les {SEQUENCE_MAX} numéros du territoire {territory} sont épuisés")
        return value


class SqlEventLog(port.EventLog):
    def __init__(self, connection: Connection, postgres: bool):
        self.connection = connection
        self.postgres = postgres

    def append(self, events: Iterable[Event]) -> None:
        events = list(events)
        if not events:
            return
        self.connection.execute(insert(orm.journal), [
            {"at": e.at, "actor": e.actor, "number": e.number, "kind": e.kind.value, "details": e.details}
            for e in events
        ])
        self.connection.execute(insert(orm.outbox), [
            {"created_at": e.at, "topic": e.kind.value, "number": e.number,
             "payload": {**e.details, **({"delivery": e.delivery} if e.delivery else {}),
                         "number": e.number, "actor": e.actor, "at": e.at.isoformat()}}
            for e in events
        ])

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

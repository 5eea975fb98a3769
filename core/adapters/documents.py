"""Supporting documents' rows, journal and profiles on SQLAlchemy Core (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from core.domain.documents import (
    Document,
    DocumentState,
    JournalEvent,
    JournalLine,
    JournalQuery,
    Metadata,
    Profile,
)
from core.service_layer import unit_of_work as port

from . import orm

_D = orm.documents.c
_J = orm.document_journal.c


class SqlDocuments(port.Documents):
    def __init__(self, connection: Connection, postgres: bool):
        self.connection = connection
        self.postgres = postgres

    def add(self, document: Document) -> None:
        self.connection.execute(insert(orm.documents).values(id=document.id, **_columns(document)))

    def get(self, document_id: str, *, for_update: bool = False) -> Document | None:
        query = select(orm.documents).where(_D.id == document_id)
        if for_update and self.postgres:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return _document(row) if row else None

    def save(self, document: Document) -> None:
        self.connection.execute(update(orm.documents).where(_D.id == document.id).values(**_columns(document)))

    def of_application(self, number: str, include_quarantined: bool = False) -> list[Document]:
        query = select(orm.documents).where(_D.number == number)
        if not include_quarantined:
            query = query.where(_D.state == DocumentState.ACTIVE.value)
        rows = self.connection.execute(query.order_by(_D.category, _D.type, _D.created_at, _D.id))
        return [_document(row) for row in rows]

    def count_active(self, number: str, type_code: str) -> int:
        return self.connection.execute(
            select(func.count()).select_from(orm.documents)
            .where(_D.number == number, _D.type == type_code, _D.state == DocumentState.ACTIVE.value)
        ).scalar_one()

    def erase_of_application(self, number: str) -> list[str]:
        keys = list(self.connection.execute(select(_D.storage_key).where(_D.number == number)).scalars())
        self.connection.execute(delete(orm.documents).where(_D.number == number))
        self.connection.execute(delete(orm.document_journal).where(_J.number == number))
        return keys

    def journal(self, lines: Iterable[JournalLine]) -> None:
        rows = [{"document_id": line.document_id, "number": line.number, "territory_code": line.territory,
                 "category": line.category, "type": line.type, "event": line.event.value, "at": line.at,
                 "actor": line.actor, "description": line.description[:500], "sha256": line.sha256}
                for line in lines]
        if rows:
            self.connection.execute(insert(orm.document_journal), rows)

    def search_journal(self, query: JournalQuery) -> list[JournalLine]:
        conditions = [_J.number == query.number]
        for column, value in ((_J.category, query.category), (_J.type, query.type),
                              (_J.event, query.event.value if query.event else None)):
            if value is not None:
                conditions.append(column == value)
        if query.since is not None:
            conditions.append(_J.at >= query.since)
        if query.until is not None:
            conditions.append(_J.at <= query.until)
        rows = self.connection.execute(select(orm.document_journal).where(and_(*conditions))
                                       .order_by(_J.at.desc(), _J.id.desc()).limit(query.limit))
        return [JournalLine(r.document_id, r.number, r.territory_code, r.category, r.type, JournalEvent(r.event),
                            r.at, r.actor, r.description, r.sha256, r.id) for r in rows]

    def count(self) -> int:
        return self.connection.execute(select(func.count()).select_from(orm.documents)).scalar_one()

    def lock_storage_key(self, key: str) -> bool:
        query = select(_D.id).where(_D.storage_key == key)
        if self.postgres:  # SQLite: the write transaction (BEGIN IMMEDIATE) already holds the whole file
            query = query.with_for_update()
        return self.connection.execute(query).first() is not None

    def storage_keys(self, after: str | None, limit: int) -> list[str]:
        query = select(_D.storage_key).order_by(_D.storage_key).limit(limit)
        if after is not None:
            query = query.where(_D.storage_key > after)
        return list(self.connection.execute(query).scalars())

    def profile(self, counter: str) -> Profile | None:
        value = self.connection.execute(select(orm.document_profiles.c.profile)
                                        .where(orm.document_profiles.c.counter_code == counter)).scalar()
        return Profile(value) if value else None

    def set_profile(self, counter: str, profile: Profile) -> None:
        table = orm.document_profiles
        changed = self.connection.execute(update(table).where(table.c.counter_code == counter)
                                          .values(profile=profile.value)).rowcount
        if not changed:
            self.connection.execute(insert(table).values(counter_code=counter, profile=profile.value))


def _columns(document: Document) -> dict[str, Any]:
    metadata = document.metadata
    return {"number": document.number, "territory_code": document.territory, "category": metadata.category,
            "type": metadata.type, "relevance": metadata.relevance, "valid_until": metadata.valid_until,
            "label": document.label, "media_type": document.media_type, "size": document.size,
            "sha256": document.sha256, "storage_key": document.storage_key, "state": document.state.value,
            "created_at": document.created_at, "created_by": document.created_by, "changed_at": document.changed_at,
            "changed_by": document.changed_by, "last_event": document.last_event.value,
            "quarantined_at": document.quarantined_at}


def _document(row: Any) -> Document:
    return Document(row.id, row.number, row.territory_code,
                    Metadata(row.category, row.type, row.relevance, row.valid_until), row.label, row.media_type,
                    row.size, row.sha256, row.storage_key, DocumentState(row.state), row.created_at, row.created_by,
                    row.changed_at, row.changed_by, JournalEvent(row.last_event), row.quarantined_at)

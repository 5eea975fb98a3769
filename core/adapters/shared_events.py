"""Shared management's storage: a territory's own event types, and the events of applications."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from core.domain.shared_management import EventType, Feature, SharedEvent, ValueType
from core.service_layer import unit_of_work as port

from . import orm

_TYPES, _EVENTS = orm.event_types.c, orm.shared_events.c


class SqlSharedEvents(port.SharedEvents):
    def __init__(self, connection: Connection, postgres: bool):
        self.connection = connection
        self.postgres = postgres

    # -- territorial types ----------------------------------------------------------------------------

    def add_type(self, event_type: EventType, at: datetime, by: str) -> None:
        self.connection.execute(insert(orm.event_types).values(
            territory_code=event_type.territory, code=event_type.code, label=event_type.label,
            description_sne=event_type.description_sne, description_pgp=event_type.description_pgp,
            published=event_type.published, usable_conditional=event_type.usable_for_conditional_allocations,
            usable_search=event_type.usable_in_case_search, valid_from=event_type.valid_from,
            valid_until=event_type.valid_until, features=[_feature_document(f) for f in event_type.features],
            created_at=at, created_by=by))

    def types(self, territory: str) -> list[EventType]:
        rows = self.connection.execute(select(orm.event_types).where(_TYPES.territory_code == territory)
                                       .order_by(_TYPES.code))
        return [_event_type(row) for row in rows]

    def end_type(self, territory: str, code: str, valid_until: date) -> None:
        self.connection.execute(update(orm.event_types)
                                .where(_TYPES.territory_code == territory, _TYPES.code == code)
                                .values(valid_until=valid_until))

    # -- events -------------------------------------------------------------------------------------

    def add(self, event: SharedEvent) -> SharedEvent:
        values = _event_values(event)
        event_id = self.connection.execute(insert(orm.shared_events).values(**values)
                                           .returning(_EVENTS.id)).scalar_one()
        return SharedEvent(**{**event.__dict__, "id": event_id})

    def get(self, event_id: int, *, for_update: bool = False) -> SharedEvent | None:
        query = select(orm.shared_events).where(_EVENTS.id == event_id)
        if for_update and self.postgres:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return _event(row) if row else None

    def of_application(self, number: str) -> list[SharedEvent]:
        rows = self.connection.execute(select(orm.shared_events).where(_EVENTS.number == number).order_by(_EVENTS.id))
        return [_event(row) for row in rows]

    def of_types(self, territory: str, type_codes: tuple[str, ...]) -> list[SharedEvent]:
        rows = self.connection.execute(select(orm.shared_events)
                                       .where(_EVENTS.territory_code == territory, _EVENTS.type_code.in_(type_codes))
                                       .order_by(_EVENTS.id))
        return [_event(row) for row in rows]

    def save(self, event: SharedEvent) -> None:
        self.connection.execute(update(orm.shared_events).where(_EVENTS.id == event.id).values(**_event_values(event)))

    def delete(self, event_id: int) -> None:
        self.connection.execute(delete(orm.shared_events).where(_EVENTS.id == event_id))


def _feature_document(feature: Feature) -> dict[str, Any]:
    return {"code": feature.code, "label": feature.label, "value_type": feature.value_type.value,
            "required": feature.required, "description": feature.description,
            "choices": [list(choice) for choice in feature.choices]}


def _event_type(row: Any) -> EventType:
    features = tuple(Feature(f["code"], f["label"], ValueType(f["value_type"]), f["required"], f["description"],
                             tuple(tuple(choice) for choice in f["choices"])) for f in row.features)
    return EventType(row.code, row.label, row.description_sne, row.description_pgp, regulatory=False,
                     published=row.published, usable_for_conditional_allocations=row.usable_conditional,
                     usable_in_case_search=row.usable_search, features=features, territory=row.territory_code,
                     valid_from=row.valid_from, valid_until=row.valid_until)


def _event_values(event: SharedEvent) -> dict[str, Any]:
    return {"number": event.number, "territory_code": event.territory, "type_code": event.type_code,
            "occurred_on": event.occurred_on, "comment": event.comment,
            "feature_values": [list(pair) for pair in event.values], "created_at": event.created_at,
            "created_by": event.created_by, "changed_at": event.changed_at, "changed_by": event.changed_by}


def _event(row: Any) -> SharedEvent:
    return SharedEvent(row.id, row.number, row.territory_code, row.type_code, row.occurred_on, row.created_at,
                       row.created_by, row.comment, tuple(tuple(pair) for pair in row.feature_values),
                       row.changed_at, row.changed_by)

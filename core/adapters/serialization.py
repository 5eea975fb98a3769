"""Model instances to JSON documents and back, for the ``form`` and ``cancellation`` columns, and
documents to JSON text for every JSON column (:func:`json_text`).

Keys are the English attribute names (the storage is ours; the wire is the codec's business).
Empty values are left out, so documents stay small and a field added later reads as its default.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

import orjson

from core.domain.vocabulary import is_model, wire_fields

T = TypeVar("T")


def json_text(value: Any) -> str:
    """``value`` as JSON text, dates and instants in ISO form: what the JSON columns store and the
    registration's statements take as parameters.

    orjson, not the standard library's json: a registration encodes its form and its rows in a
    tenth of the time (2 against 20 µs for a full household's form; the standard encoder also
    called back into Python for every date). Its text differs only in spacing and in writing
    non-ASCII characters as themselves, and reads back the same."""
    return orjson.dumps(value, default=_iso, option=orjson.OPT_NON_STR_KEYS).decode()


def _iso(value: Any) -> str:
    if isinstance(value, (date, datetime)):  # subclasses orjson leaves to us
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_document(instance: Any) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for wire_field in wire_fields(type(instance)):
        value = getattr(instance, wire_field.attribute)
        if value is None or value == []:
            continue
        document[wire_field.attribute] = [_dump(v) for v in value] if wire_field.is_list else _dump(value)
    return document


def from_document(model: type[T], document: dict[str, Any]) -> T:
    values = {}
    for wire_field in wire_fields(model):
        if wire_field.attribute not in document:
            continue
        raw = document[wire_field.attribute]
        kind = wire_field.element_type
        values[wire_field.attribute] = [_load(kind, v) for v in raw] if wire_field.is_list else _load(kind, raw)
    return model(**values)


def _dump(value: Any) -> Any:
    if is_model(type(value)):
        return to_document(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _load(kind: Any, raw: Any) -> Any:
    if raw is None:
        return None
    if is_model(kind):
        return from_document(kind, raw)
    if kind is datetime:
        return datetime.fromisoformat(raw)
    if kind is date:
        return date.fromisoformat(raw)
    return raw

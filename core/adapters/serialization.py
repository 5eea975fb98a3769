"""Model instances to JSON documents and back, for the ``form`` and ``cancellation`` columns, and
documents to JSON text for every JSON column (:func:`json_text`).

Keys are the English attribute names (the storage is ours; the wire is the codec's business).
Empty values are left out, so documents stay small and a field added later reads as its default.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any, Callable, TypeVar

import orjson

from core.domain.vocabulary import compiled, is_model, wire_fields

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
    """``instance`` (a model of the vocabulary) as a JSON document: its non-empty fields by attribute
    name, nested models as documents, dates and instants in ISO form."""
    return _dumper(type(instance))(instance)


@cache
def _dumper(model: type) -> Callable[[Any], dict[str, Any]]:
    """A function writing one ``model`` as a document, written for that class when first asked:
    one statement per field, its kind settled once. Asking each field of each instance what it held
    (the vocabulary walked on every form) took four times as long: 42 against 11 µs for a full
    household's form, which every registration stores (docs/BENCHMARKS.md, "Eleventh pass")."""
    names: dict[str, Any] = {"dumper_of": _dumper, "iso": _iso_date}
    lines = ["def dump(instance):", "    document = {}"]
    for index, wire_field in enumerate(wire_fields(model)):
        kind, attribute = wire_field.element_type, wire_field.attribute
        if is_model(kind):
            names[f"kind{index}"] = kind
            one = f"dumper_of(kind{index})"
        elif kind in (date, datetime):
            one = "iso"
        else:
            one = None
        lines.append(f"    value = instance.{attribute}")
        if wire_field.is_list:
            lines.append("    if value is not None and value != []:")
            if one is None:
                lines.append(f"        document[{attribute!r}] = list(value)")
            else:
                lines.append(f"        one = {one}")
                lines.append(f"        document[{attribute!r}] = [None if item is None else one(item)"
                             " for item in value]")
        else:
            lines.append("    if value is not None:")
            lines.append(f"        document[{attribute!r}] = " + (f"{one}(value)" if one else "value"))
    lines.append("    return document")
    return compiled(lines, names, f"document of {model.__name__}")


def _iso_date(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def from_document(model: type[T], document: dict[str, Any]) -> T:
    values = {}
    for wire_field in wire_fields(model):
        if wire_field.attribute not in document:
            continue
        raw = document[wire_field.attribute]
        kind = wire_field.element_type
        values[wire_field.attribute] = [_load(kind, v) for v in raw] if wire_field.is_list else _load(kind, raw)
    return model(**values)


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

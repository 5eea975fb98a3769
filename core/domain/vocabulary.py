"""The one mapping between the SNE's French wire names and our English Python names.

Every field of the application model declares its wire element with :func:`wire`. Everything that
speaks the wire (the XML codec, anomaly properties, docs/VOCABULARY.md) reads the names from this
metadata, so a French term is written exactly once, next to the English field it names.

Field order in a dataclass is the order of the XSD sequence, which is what lets a codec walk the
model and produce schema-valid XML without a second description of the format.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Iterator, Protocol


class CodeChecker(Protocol):
    """Anything that says whether a wire code is known: a CodeList, or a pattern such as INSEE."""

    @classmethod
    def has(cls, code: str | None) -> bool: ...


class InseeCommune:
    """INSEE commune codes: five digits, or 2A/2B followed by three digits for Corsica."""

    label = "code commune INSEE"
    _pattern = re.compile(r"(?:\d{5}|2[AB]\d{3})")

    @classmethod
    def has(cls, code: str | None) -> bool:
        return code is not None and cls._pattern.fullmatch(code) is not None


@dataclass(frozen=True)
class Wire:
    """How one Python field appears on the wire."""

    name: str
    codes: type | None = None  # set: a ``<name code="…"/>`` element checked against this list
    item: str | None = None  # set: a wrapper element ``<name>`` holding repeated ``<item>``
    repeated: bool = False  # true: the element itself repeats, with no wrapper
    required: bool = False  # written even when empty: a list's wrapper, or a code element without code


def wire(
    name: str,
    *,
    codes: type | None = None,
    item: str | None = None,
    repeated: bool = False,
    required: bool = False,
) -> Any:
    """Declare a model field and its wire name; lists default to empty, others to None."""
    metadata = {"wire": Wire(name, codes, item, repeated, required)}
    if item is not None or repeated:
        return field(default_factory=list, metadata=metadata)
    return field(default=None, metadata=metadata)


@dataclass(frozen=True)
class WireField:
    """A dataclass field with its wire description and resolved Python type."""

    attribute: str
    wire: Wire
    type: Any
    is_list: bool = False
    element_type: Any = None  # one value's type: the list item, or the non-None member of an optional

    @classmethod
    def of(cls, attribute: str, wire: Wire, annotation: Any) -> "WireField":
        is_list = typing.get_origin(annotation) is list
        element = typing.get_args(annotation)[0] if is_list else annotation
        if typing.get_origin(element) in (typing.Union, _UnionType):
            element = next(arg for arg in typing.get_args(element) if arg is not type(None))
        return cls(attribute, wire, annotation, is_list, element)


_UnionType = type(int | None)


@cache
def wire_fields(model: type) -> tuple[WireField, ...]:
    """The wire fields of a model class, in XSD order."""
    hints = typing.get_type_hints(model)
    return tuple(
        WireField.of(f.name, f.metadata["wire"], hints[f.name])
        for f in dataclasses.fields(model)
        if "wire" in f.metadata
    )


@cache
def is_model(value_type: Any) -> bool:
    return isinstance(value_type, type) and dataclasses.is_dataclass(value_type)


@cache
def wire_path(model: type, python_path: str) -> str:
    """Translate ``applicant.birth_date`` into ``demandeur.dateNaissance``.

    List indexes (``co_applicants[1].surname``) are kept, as ``listeCotitulaire.cotitulaire[1].nom``,
    so an anomaly can name the exact occurrence; a whole list is named by its wrapper element.
    """
    parts: list[str] = []
    current: Any = model
    steps = python_path.split(".")
    for position, step in enumerate(steps):
        name, _, index = step.partition("[")
        by_attribute = {f.attribute: f for f in wire_fields(current)}
        if name not in by_attribute:
            raise KeyError(f"{current.__name__} has no wire field {name!r}")
        wire_field = by_attribute[name]
        whole_list = not index and position == len(steps) - 1
        if wire_field.wire.item and whole_list:
            parts.append(wire_field.wire.name)
        elif wire_field.wire.item:
            parts.append(wire_field.wire.name)
            parts.append(wire_field.wire.item + (f"[{index}" if index else ""))
        else:
            parts.append(wire_field.wire.name + (f"[{index}" if index else ""))
        current = wire_field.element_type
    return ".".join(parts)


@dataclass(frozen=True)
class CodedValue:
    """One code found in a model instance, with where it was found."""

    python_path: str
    value: str
    codes: type


def unknown_codes(instance: Any) -> list[CodedValue]:
    """Every code of a model instance that is not in its published list, depth first, with where it
    was found.

    Only the fields that may hold a code are visited (:func:`code_carriers`): a form has about 140
    fields and a few dozen codes, and this runs for every file. Nearly every code is known, so a
    code's path is spelled out only once it is found unknown; until then the walk keeps the steps
    that lead to it."""
    found: list[CodedValue] = []
    _code_walk(type(instance))(instance, [], found)
    return found


Step = tuple[str, int | None]  # an attribute, and the index in its list when it is one


@cache
def _code_walk(model: type) -> Any:
    """``walk(instance, steps, found)`` for one ``model``, written for that class as the codec's
    readers are (core.wire.codec): the walk over a form runs for every file, and a generic one,
    asking each field what it holds, cost two to three times as much (docs/BENCHMARKS.md,
    "Seventeenth pass")."""
    lines = ["def walk(instance, steps, found):", "    pass"]
    names: dict[str, Any] = {"CodedValue": CodedValue, "spelled": _spelled, "walk_of": _code_walk}
    for index, wire_field in enumerate(code_carriers(model)):
        codes = wire_field.wire.codes
        if codes is not None:
            names[f"codes{index}"], names[f"has{index}"] = codes, codes.has
            visit = [f"if item is not None and item != '' and not has{index}(item):",  # an empty element: no code
                     f"    found.append(CodedValue(spelled([*steps, step]), item, codes{index}))"]
        else:
            visit = ["if item is not None:", "    steps.append(step)", "    walk_of(type(item))(item, steps, found)",
                     "    steps.pop()"]
        lines += _each_value(wire_field, visit)
    return compiled(lines, names, f"code walk {model.__name__}")


def _each_value(wire_field: WireField, visit: list[str]) -> list[str]:
    """Lines running ``visit`` on each value of ``wire_field`` as ``item``, with its ``step``."""
    attribute = wire_field.attribute
    if wire_field.is_list:
        return [f"    for position, item in enumerate(instance.{attribute}):",
                f"        step = ({attribute!r}, position)", *(" " * 8 + line for line in visit)]
    return [f"    item, step = instance.{attribute}, ({attribute!r}, None)", *(" " * 4 + line for line in visit)]


def compiled(lines: list[str], names: dict[str, Any], label: str) -> Any:
    """The function that ``lines`` define (the first is its ``def``), with ``names`` as its globals;
    ``label`` names its source in tracebacks and profiles. For the functions written per model class
    (the codec's readers and writers, the stored form's writer, the walks here), which read each
    field straight from its attribute instead of asking every field of every instance what it holds."""
    exec(compile("\n".join(lines), f"<{label}>", "exec"), names)
    return names[lines[0][len("def "):lines[0].index("(")]]


def _spelled(steps: list[Step]) -> str:
    """``household.dependants[1].relationship``: what :func:`wire_path` translates."""
    return ".".join(attribute if index is None else f"{attribute}[{index}]" for attribute, index in steps)


@cache
def code_carriers(model: type) -> tuple[WireField, ...]:
    """The fields of ``model`` that hold a code, or a model that holds one, in XSD order."""
    return tuple(f for f in wire_fields(model)
                 if f.wire.codes is not None or (is_model(f.element_type) and code_carriers(f.element_type)))


@cache
def text_carriers(model: type) -> tuple[WireField, ...]:
    """The fields of ``model`` that hold text or a model (not numbers, booleans or dates), in XSD order:
    those a walk over a form's texts visits (core.domain.validation.normalized)."""
    return tuple(f for f in wire_fields(model) if f.element_type is str or is_model(f.element_type))


def lists_over(bound: int, instance: Any) -> list[str]:
    """The Python path of every list of a model instance longer than ``bound``, depth first.

    As with :func:`unknown_codes`, a path is spelled out only for a list found too long (nearly
    never: the codec reads no list beyond its bound); until then the walk keeps its steps."""
    found: list[str] = []
    _list_walk(type(instance))(bound, instance, [], found)
    return found


@cache
def _list_walk(model: type) -> Any:
    """``walk(bound, instance, steps, found)`` for one ``model``, written for it (:func:`_code_walk`)."""
    lines = ["def walk(bound, instance, steps, found):", "    pass"]
    names: dict[str, Any] = {"spelled": _spelled, "walk_of": _list_walk}
    for wire_field in list_carriers(model):
        attribute = wire_field.attribute
        if wire_field.is_list:
            lines += [f"    if instance.{attribute} is not None and len(instance.{attribute}) > bound:",
                      f"        found.append(spelled([*steps, ({attribute!r}, None)]))"]
            if not is_model(wire_field.element_type):
                continue
            lines += [f"    for position, item in enumerate(instance.{attribute} or ()):",
                      f"        step = ({attribute!r}, position)"]
            indent = " " * 8
        else:
            lines.append(f"    item, step = instance.{attribute}, ({attribute!r}, None)")
            indent = " " * 4
        lines += [indent + "if item is not None:", indent + "    steps.append(step)",
                  indent + "    walk_of(type(item))(bound, item, steps, found)", indent + "    steps.pop()"]
    return compiled(lines, names, f"list walk {model.__name__}")


@cache
def list_carriers(model: type) -> tuple[WireField, ...]:
    """The fields of ``model`` that are lists or models holding one, in XSD order: those a check of
    list bounds visits."""
    return tuple(f for f in wire_fields(model)
                 if f.is_list or (is_model(f.element_type) and list_carriers(f.element_type)))


def vocabulary(model: type, python_prefix: str = "", wire_prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """Rows (python path, wire path, code list) describing a model, for docs/VOCABULARY.md."""
    for wire_field in wire_fields(model):
        python = f"{python_prefix}{wire_field.attribute}"
        element = wire_field.wire.name
        if wire_field.wire.item:
            element = f"{element}/{wire_field.wire.item}"
        wire_name = f"{wire_prefix}{element}"
        suffix = "[]" if wire_field.is_list else ""
        codes = wire_field.wire.codes
        yield python + suffix, wire_name, codes.__name__ if codes else ""
        if is_model(wire_field.element_type):
            yield from vocabulary(wire_field.element_type, python + suffix + ".", wire_name + "/")


class RegistryNames:
    """Wire names of what the register manages itself, around the household's form.

    They sit in ``demandeLogement`` beside the form's elements; the codec and anomaly properties
    use these constants rather than spelling the French names again.
    """

    NUMBER = "numUnique"
    COUNTER = "numGuichet"
    ASSOCIATED_NUMBER = "numUniqueAssocie"
    FILING_DATE = "dateCreationDemande"
    FORCE_DUPLICATE = "forcerDoublon"
    RENEWAL = "renouvellement"
    RENEWAL_DATE = "renouvellement.dateRenouvellement"
    CANCELLATION = "radiation"
    VERSION = "incrementFichier"
    DOCUMENTS_CHANGED_ON = "dateDerniereModificationPiece"
    ANOMALIES = "listeAnomalie"
    DUPLICATES = "listeDoublons"

"""The SNE interface file (``interfaceNuu``) to the domain model and back.

Household content is read and written from the model's vocabulary (:mod:`core.domain.vocabulary`)
by a reader and a writer generated for each model class when this module is imported (one
statement per field, its kind and tag settled once, rather than a generic walk asking each field
what it is on every element of every file); the blocks the register manages around it are mapped here, in the
order of the ``demandeLogement`` sequence, which is the one place that order is written down.

Answers use the prefix ``ns2`` for the SNE namespace, as the real SNE does: existing clients find
the file in the raw response by looking for ``:interfaceNuu`` three characters after ``<``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from itertools import islice
from typing import Any, Callable

from lxml import etree

from core.domain.application import Application, Cancellation
from core.domain.errors import TOO_MANY_VALUES, Anomaly, reported
from core.domain.form import ApplicationForm, DaloInformation
from core.domain.validation import MAX_REPEATED
from core.domain.vocabulary import RegistryNames, compiled, is_model, wire_fields

NS = "http://nuu.application.i2/"
PREFIX = "ns2"
VERSIONS = ("02.00", "02.01")
ONLY_IN_0201 = {"informationTraitement", "notifSms", "notifEvt"}
MAX_ITEMS = MAX_REPEATED  # the most items the reader takes from any list of a file (docs/REGISTER.md)


_QUALIFIED: dict[str, str] = {}


def q(name: str) -> str:
    """``name`` in the file's namespace (Clark notation), built once per name: the writer asks for
    the same few hundred names on every file."""
    qualified = _QUALIFIED.get(name)
    if qualified is None:
        qualified = _QUALIFIED[name] = f"{{{NS}}}{name}"
    return qualified


@dataclass
class InterfaceFile:
    """One ``interfaceNuu`` file, read or to be written."""

    version: str
    file_type: str
    counter: str
    form: ApplicationForm
    file_date: datetime | None = None
    number: str | None = None
    associated_number: str | None = None
    filing_date: date | None = None
    force_duplicate: bool | None = None
    renewal_date: date | None = None
    has_renewal: bool = False
    cancellation: Cancellation | None = None
    documents_changed_on: date | None = None
    increment: str | None = None
    anomalies: list[Anomaly] = field(default_factory=list)
    duplicates: list[Application] = field(default_factory=list)
    altered: dict[str, Any] | None = None  # what a change altered (core.domain.changes): modifie marks
    over_bound: Anomaly | None = None  # read: the first list longer than MAX_ITEMS (the file is refused)

    @classmethod
    def of(cls, application: Application, *, version: str, file_type: str, file_date: datetime, counter: str,
           altered: dict[str, Any] | None = None) -> "InterfaceFile":
        """The application as the register holds it (its blocks and the household's form), in a file
        the hub sends ``counter``: an answer, or a DIS file."""
        return cls(
            version=version, file_type=file_type, file_date=file_date, counter=counter, form=application.form,
            number=str(application.number),
            associated_number=str(application.associated_number) if application.associated_number else None,
            filing_date=application.filing_date,
            has_renewal=application.renewal.last_renewed_on is not None,
            renewal_date=application.renewal.last_renewed_on,
            cancellation=application.cancellation,
            documents_changed_on=application.documents_changed_on,
            increment=str(application.version),
            altered=altered,
        )


# -- the plan of each model class ---------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """What reading and writing one wire field needs, worked out once per model class (from its
    vocabulary) instead of on every element of every file."""

    attribute: str
    name: str
    item: str | None  # a wrapped list: the item's name
    item_tag: str | None
    repeated: bool
    required: bool
    coded: bool
    only_in_0201: bool
    kind: Any  # one value's type: a model class, bool, int, date, datetime or str
    nested: bool  # kind is a model class


@cache
def _plan(model: type) -> tuple[_Field, ...]:
    return tuple(
        _Field(f.attribute, f.wire.name, f.wire.item, q(f.wire.item) if f.wire.item else None,
               f.wire.repeated, f.wire.required, f.wire.codes is not None, f.wire.name in ONLY_IN_0201,
               f.element_type, is_model(f.element_type))
        for f in wire_fields(model))


# -- reading ------------------------------------------------------------------------------------


def read_file(root: etree._Element) -> InterfaceFile:
    """An ``interfaceNuu`` element already validated against its XSD, as domain objects.

    No list is read beyond :data:`MAX_ITEMS` items: the first list over its bound is named in
    ``over_bound`` (the file is then refused without being judged) and every list comes back cut to
    its bound, so that a hostile file costs no more to read, and to answer, than a full one.
    """
    reader = _Reader()
    header = root.find(q("entete"))
    request = root.find(q("demande"))
    demand = request.find(q("demandeLogement"))
    children = _children(demand)
    form = reader.model(ApplicationForm, demand, "")
    dalo = request.find(q("informationDalo"))
    if dalo is not None:
        form.dalo = reader.model(DaloInformation, dalo, "informationDalo.")
    renewal = _first(children, RegistryNames.RENEWAL)
    cancellation = _first(children, RegistryNames.CANCELLATION)
    return InterfaceFile(
        version=root.get("versionInterface"),
        file_type=_text(header.find(q("typeFichier"))),
        file_date=parse_datetime(_text(header.find(q("dateFichier")))),
        counter=_text(_first(children, RegistryNames.COUNTER)),
        form=form,
        number=_optional_text(_first(children, RegistryNames.NUMBER)),
        associated_number=_optional_text(_first(children, RegistryNames.ASSOCIATED_NUMBER)),
        filing_date=_date_of(_first(children, RegistryNames.FILING_DATE)),
        force_duplicate=_boolean_of(_first(children, RegistryNames.FORCE_DUPLICATE)),
        has_renewal=renewal is not None,
        renewal_date=_date_of(renewal.find(q("dateRenouvellement"))) if renewal is not None else None,
        cancellation=(reader.model(Cancellation, cancellation, RegistryNames.CANCELLATION + ".")
                      if cancellation is not None else None),
        documents_changed_on=_date_of(_first(children, RegistryNames.DOCUMENTS_CHANGED_ON)),
        increment=_optional_text(_first(children, RegistryNames.VERSION)),
        over_bound=reader.over_bound,
    )


@dataclass
class _Reader:
    """Model instances from their elements, field by field, as the vocabulary names them.

    Lists are read up to :data:`MAX_ITEMS` items; ``over_bound`` keeps the anomaly of the first
    list found longer (its wire path, like validation's), and only that one.
    """

    over_bound: Anomaly | None = None

    def model(self, model: type, element: etree._Element, path: str) -> Any:
        return _reader(model)(self, element, path)

    def items(self, plan: _Field, items: list, list_path: str, item_path: str) -> list:
        if len(items) > MAX_ITEMS and self.over_bound is None:
            self.over_bound = Anomaly(TOO_MANY_VALUES, f"Au plus {MAX_ITEMS} éléments dans cette liste : le fichier "
                                                       "en porte davantage, il n'est pas lu au-delà", list_path)
        if plan.coded:  # the code attribute is optional even on required elements
            return [item.get("code", "") for item in items[:MAX_ITEMS]]
        if plan.nested:
            return [self.model(plan.kind, item, f"{item_path}[{index}].")
                    for index, item in enumerate(items[:MAX_ITEMS])]
        read = _VALUE_READERS.get(plan.kind, _string)
        return [read(item) for item in items[:MAX_ITEMS]]


def _string(element: etree._Element) -> str:
    return element.text or ""


_VALUE_READERS = {  # one value of a plain (not coded, not nested) element, by its type
    str: _string,
    bool: lambda element: (element.text or "").strip() in ("true", "1"),
    int: lambda element: int((element.text or "").strip()),
    date: lambda element: _date(element.text or ""),
    datetime: lambda element: parse_datetime(element.text or ""),
}


@cache
def _reader(model: type) -> Callable:
    """A function reading one ``model`` from its element, written for that class.

    One pass over the element's children puts each one the class reads in its field's slot,
    found by its qualified tag: the first of a single element, the first ``MAX_ITEMS`` + 1 of a
    repeated one (enough to tell a list over its bound). Children of other namespaces, comments and
    elements the class does not read are passed over. Then one statement per field, in the XSD's
    order (so that the first list found over its bound is the first in that order), reads its
    slot knowing its kind. Paths are built only for lists and nested models, the only ones whose
    anomalies name them. (A dictionary of every child by name, then a look-up of every field,
    took a fifth more of the reading.)"""
    plans = _plan(model)
    names = {"model": model, "MAX_ITEMS": MAX_ITEMS, "islice": islice, "reader_of": _reader,
             "SLOTS": {q(plan.name): index for index, plan in enumerate(plans)},
             "REPEATED": frozenset(index for index, plan in enumerate(plans) if plan.repeated and plan.item is None)}
    lines = ["def read(reader, element, path):",
             f"    slots = [None] * {len(plans)}",
             "    slot_of = SLOTS.get",
             "    for child in element:",
             "        index = slot_of(child.tag)",
             "        if index is None:",
             "            continue",
             "        if index in REPEATED:",
             "            found = slots[index]",
             "            if found is None:",
             "                slots[index] = [child]",
             "            elif len(found) <= MAX_ITEMS:",
             "                found.append(child)",
             "        elif slots[index] is None:",
             "            slots[index] = child",
             "    values = {}"]
    for index, plan in enumerate(plans):
        names[f"plan{index}"] = plan
        lines.append(f"    found = slots[{index}]")
        lines.append("    if found is not None:")
        target = f"        values[{plan.attribute!r}] = "
        if plan.item is not None:
            lines.append(f"        items = list(islice(found.iterchildren({plan.item_tag!r}), MAX_ITEMS + 1))")
            lines.append(target + f"reader.items(plan{index}, items, path + {plan.name!r}, "
                                  f"path + {plan.name + '.' + plan.item!r})")
        elif plan.repeated:
            lines.append(target + f"reader.items(plan{index}, found, path + {plan.name!r}, path + {plan.name!r})")
        elif plan.coded:  # the code attribute is optional even on required elements
            lines.append(target + 'found.get("code", "")')
        elif plan.nested:
            names[f"kind{index}"] = plan.kind
            lines.append(target + f"reader_of(kind{index})(reader, found, path + {plan.name + '.'!r})")
        else:
            names[f"value{index}"] = _VALUE_READERS.get(plan.kind, _string)
            lines.append(target + f"value{index}(found)")
    lines.append("    return model(**values)")
    return compiled(lines, names, f"codec read {model.__name__}")


def _children(element: etree._Element) -> dict[str, list]:
    """The element's children in the file's namespace, by name; at most one more than MAX_ITEMS of
    each (enough to tell a list over its bound; the XSD already refused repeated single elements).
    For ``demandeLogement``'s own elements, beside the form's."""
    found: dict[str, list] = {}
    for child in element.iterchildren(tag=_ANY_IN_NS):  # elements only: no comment, no other namespace
        same = found.setdefault(child.tag[_NS_LENGTH:], [])
        if len(same) <= MAX_ITEMS:
            same.append(child)
    return found


_ANY_IN_NS = f"{{{NS}}}*"
_NS_LENGTH = len(NS) + 2


def _first(children: dict[str, list], name: str):
    found = children.get(name)
    return found[0] if found else None


def _text(element) -> str:
    return (element.text or "").strip() if element is not None else ""


def _optional_text(element) -> str | None:
    """The text of an optional element: None when absent, "" when present and empty."""
    return _text(element) if element is not None else None


def _date_of(element) -> date | None:
    return _date(element.text or "") if element is not None else None


def _boolean_of(element) -> bool | None:
    return (element.text or "").strip() in ("true", "1") if element is not None else None


_DATE = re.compile(r"\s*(-?\d{4,}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?\s*")
_FRACTION = re.compile(r"\.(\d+)")


def _date(text: str) -> date:
    """xs:date, whose optional time zone says nothing about the calendar day we keep."""
    match = _DATE.fullmatch(text)
    return date.fromisoformat(match.group(1)) if match else date.fromisoformat(text.strip())


def parse_datetime(text: str) -> datetime | None:
    """xs:dateTime, with any number of fraction digits (Python keeps six) and 24:00:00 (next midnight).

    Years Python cannot hold (five digits, negative) raise ValueError.
    """
    if not text:
        return None
    text = text.strip().replace("Z", "+00:00")
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    if "T24:00:00" in text:
        midnight = datetime.fromisoformat(text.replace("T24:00:00", "T00:00:00"))
        return midnight + timedelta(days=1)
    return datetime.fromisoformat(text)



# -- writing ------------------------------------------------------------------------------------
#
# Files are written as text into a list of strings joined once, element by element, by writers
# generated per model class like the readers. Building them as lxml elements and serialising the tree
# cost two and a half times as much: an element object for every value of the household. The text is
# what lxml's serialiser wrote for the same tree: names with the ``ns2`` prefix, an element without
# content closed as ``<x/>`` (an empty text as ``<x></x>``), texts and attributes escaped as libxml2
# escapes them, and a string that XML cannot carry refused with lxml's ValueError.

_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"
_MARKED = f' {PREFIX}:modifie="true"'  # a global attribute of the schema, hence qualified
_NOT_XML = "\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"  # the characters XML 1.0 cannot carry (surrogates: at encoding)
_TEXT_TO_ESCAPE = re.compile(f"[&<>\r{_NOT_XML}]")
_ATTRIBUTE_TO_ESCAPE = re.compile(f"[&<>\"\r\n\t{_NOT_XML}]")
_CANNOT_CARRY = re.compile(f"[{_NOT_XML}]")
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;",
                           "\t": "&#9;"})
_TEXT_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def _escaped(text: str, to_escape: re.Pattern = _TEXT_TO_ESCAPE, entities: dict = _TEXT_ENTITIES) -> str:
    if to_escape.search(text) is None:  # nearly every value
        return text
    if _CANNOT_CARRY.search(text) is not None:
        raise ValueError("All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters")
    return text.translate(entities)


def _attribute(text: str) -> str:
    return _escaped(text, _ATTRIBUTE_TO_ESCAPE, _ENTITIES)


def _name(name: str) -> str:
    return f"{PREFIX}:{name}"


def _open(out: list[str], name: str, marked: Any = False) -> int:
    """Start element ``name`` (prefixed); its position, for :func:`_close`."""
    out.append(f"<{name}{_MARKED}" if marked else f"<{name}")
    return len(out) - 1


def _close(out: list[str], start: int, name: str) -> None:
    """End the element started at ``start``: ``<x/>`` if nothing was written into it."""
    if len(out) == start + 1:
        out[start] += "/>"
    else:
        out[start] += ">"
        out.append(f"</{name}>")


def _leaf(out: list[str], name: str, value: Any) -> None:
    if value is not None:
        tag = _name(name)
        out.append(f"<{tag}>{_escaped(_lexical(value))}</{tag}>")


def _lexical(value: Any) -> str:
    if value.__class__ is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def write_file(file: InterfaceFile) -> bytes:
    """The bytes of an ``interfaceNuu`` file, schema-valid for ``file.version``."""
    root = _name("interfaceNuu")
    out = [_DECLARATION, f'<{root} xmlns:{PREFIX}="{NS}" versionInterface="{_attribute(file.version)}">']
    header = _open(out, _name("entete"))
    _leaf(out, "typeFichier", file.file_type)
    _leaf(out, "dateFichier", file.file_date)
    _close(out, header, _name("entete"))
    request = _open(out, _name("demande"))
    altered = file.altered or {}
    form_changes = altered.get("form") if isinstance(altered.get("form"), dict) else {}
    if file.form.dalo is not None:
        _nested(out, _name("informationDalo"), file.form.dalo, file.version, form_changes.get("dalo"))
    demand_name = _name("demandeLogement")
    demand = _open(out, demand_name, any(key != "dalo" for key in form_changes) or altered.get("form") is True
                   or "cancellation" in altered or "renewal" in altered)
    form = file.form
    _leaf(out, RegistryNames.COUNTER, file.counter)
    _leaf(out, RegistryNames.NUMBER, file.number)
    _leaf(out, RegistryNames.ASSOCIATED_NUMBER, file.associated_number)
    _writer(ApplicationForm, _FORM_BEFORE_FILING)(form, out, file.version, form_changes)
    _leaf(out, RegistryNames.FILING_DATE, file.filing_date)
    _leaf(out, RegistryNames.FORCE_DUPLICATE, file.force_duplicate)
    _writer(ApplicationForm, _FORM_AFTER_FILING)(form, out, file.version, form_changes)
    if file.has_renewal:
        renewal = _open(out, _name(RegistryNames.RENEWAL), altered.get("renewal"))
        _leaf(out, "dateRenouvellement", file.renewal_date)
        _close(out, renewal, _name(RegistryNames.RENEWAL))
    if file.cancellation is not None:
        _nested(out, _name(RegistryNames.CANCELLATION), file.cancellation, file.version, altered.get("cancellation"))
    if file.anomalies:
        _anomalies(out, file.anomalies)
    if file.duplicates:
        _duplicates(out, file.duplicates)
    _leaf(out, RegistryNames.DOCUMENTS_CHANGED_ON, file.documents_changed_on)
    _leaf(out, RegistryNames.VERSION, file.increment)
    _close(out, demand, demand_name)
    _close(out, request, _name("demande"))
    out.append(f"</{root}>")
    return "".join(out).encode("utf-8")


# The form's fields on either side of dateCreationDemande and forcerDoublon, in the XSD's order.
_FORM_BEFORE_FILING = ("internal_reference",)
_FORM_AFTER_FILING = ("online_renewal", "details", "processing", "housing_sought", "motives", "association",
                      "household", "disabilities")


def write_model(instance: Any, out: list[str], version: str, changes: Any = None) -> None:
    """Write ``instance``'s fields into the element open at the end of ``out``; ``changes`` (a
    core.domain.changes tree) marks the elements of the fields it names ``modifie``."""
    _writer(type(instance))(instance, out, version, changes)


def _nested(out: list[str], name: str, instance: Any, version: str, changes: Any) -> None:
    """Element ``name`` (prefixed) holding ``instance``'s fields, marked if ``changes`` says so."""
    start = _open(out, name, changes)
    write_model(instance, out, version, changes)
    _close(out, start, name)


@cache
def _writer(model: type, attributes: tuple[str, ...] | None = None) -> Callable:
    """A function writing ``model``'s fields (or those ``attributes`` name, in that order) into
    ``out``, written for that class: one block per field, knowing its kind, its tag and whether
    02.00 has it (the generic walk asked each field on every file). A field whose value is absent
    (None, or an empty list without a required wrapper) writes nothing; a list's items are
    marked with the changes of their index, a list changed as a whole marks its wrapper."""
    plans = _plan(model)
    if attributes is not None:
        by_attribute = {plan.attribute: plan for plan in plans}
        plans = tuple(by_attribute[attribute] for attribute in attributes)
    names = {"MARKED": _MARKED, "write_model": write_model, "_lexical": _lexical, "_escaped": _escaped,
             "_attribute": _attribute, "_close": _close, "_item_changes": _item_changes}
    lines = ["def write(instance, out, version, changes=None):",
             "    inner = changes if isinstance(changes, dict) else None"]
    for index, plan in enumerate(plans):
        names[f"name{index}"] = _name(plan.name)
        body = [f"value = instance.{plan.attribute}",
                f"changed = inner.get({plan.attribute!r}) if inner else None"]
        if plan.item is not None:
            names[f"item_name{index}"] = _name(plan.item)
            body += [("if True:" if plan.required else "if value:"),
                     "    wrapper = len(out)",
                     f"    out.append('<' + name{index} + MARKED if changed else '<' + name{index})",
                     "    for position, item in enumerate(value):",
                     *_value_lines(plan, "item", f"item_name{index}", "_item_changes(changed, position)",
                                   "        "),
                     f"    _close(out, wrapper, name{index})"]
        elif plan.repeated:
            body += ["for position, item in enumerate(value):",
                     *_value_lines(plan, "item", f"name{index}",
                                   "changed if changed is True else _item_changes(changed, position)", "    ")]
        else:
            body += [("if True:" if plan.required and plan.coded else "if value is not None:"),
                     *_value_lines(plan, "value", f"name{index}", "changed", "    ")]
        if plan.only_in_0201:
            body = ["if version != '02.00':", *("    " + line for line in body)]
        lines += ["    " + line for line in body]
    return compiled(lines, names, f"codec write {model.__name__}")


def _value_lines(plan: _Field, value: str, name: str, changes: str, indent: str) -> list[str]:
    """Source writing one value: its element with its ``modifie`` mark, then its code, fields or text."""
    lines = [f"child_changes = {changes}",
             f"start_tag = '<' + {name} + MARKED if child_changes else '<' + {name}"]
    if plan.coded:
        lines += [f"out.append(start_tag + ' code=\"' + _attribute({value}) + '\"/>' if {value} else start_tag + '/>')"]
    elif plan.nested:
        lines += ["start = len(out)",
                  "out.append(start_tag)",
                  f"write_model({value}, out, version, child_changes)",
                  f"_close(out, start, {name})"]
    else:
        lines += [f"out.append(start_tag + '>' + _escaped({value} if {value}.__class__ is str else _lexical({value})) "
                  f"+ '</' + {name} + '>')"]
    return [indent + line for line in lines]


def _item_changes(changes: Any, index: int) -> Any:
    """The changes of a list's item: a list changed as a whole marks its wrapper, not each item."""
    return changes.get(str(index)) if isinstance(changes, dict) else None


def _anomalies(out: list[str], anomalies: list[Anomaly]) -> None:
    """``listeAnomalie``: code, property and message of each problem, as the SNE reports them; at
    most :data:`core.domain.errors.MAX_REPORTED`, the last one saying how many more there were."""
    name = _name(RegistryNames.ANOMALIES)
    start = _open(out, name)
    for anomaly in reported(anomalies):
        entry = f'<{PREFIX}:anomalie code="{_attribute(anomaly.code[:10])}"'
        if anomaly.property:
            entry += f' propriete="{_attribute(anomaly.property[:255])}"'
        out.append(entry + ">")
        for complement, value in anomaly.complements:
            out.append(f'<{PREFIX}:complement nom="{_attribute(complement[:100])}">{_escaped(value)}'
                       f'</{PREFIX}:complement>')
        out.append(f"<{PREFIX}:message>{_escaped(anomaly.message[:512])}</{PREFIX}:message></{PREFIX}:anomalie>")
    _close(out, start, name)


def write_duplicates(applications: list[Application]) -> bytes:
    """getDoublons' ``listeDoublons`` document (the Doublon schema), one entry per application."""
    out = [_DECLARATION]
    _duplicates(out, applications, declared=False)
    return "".join(out).encode("utf-8")


def _duplicates(out: list[str], applications: list[Application], declared: bool = True) -> None:
    """``listeDoublons``: the probable duplicates, identified as the Doublon schema says; ``declared``:
    inside a file whose root declares the namespace."""
    name = _name(RegistryNames.DUPLICATES)
    start = _open(out, name if declared else f'{name} xmlns:{PREFIX}="{NS}"')
    for application in applications:
        entry = _open(out, _name("doublon"))
        _leaf(out, "numUnique", str(application.number))
        household = application.form.household
        applicant = household.applicant
        person = _open(out, _name("demandeur"))
        _identity(out, applicant)
        _nested(out, _name("adressePostale"), applicant.postal_address, "02.01", None)
        if household.dwelling_address is not None:
            _nested(out, _name("adresseLogement"), household.dwelling_address, "02.01", None)
        _close(out, person, _name("demandeur"))
        if household.co_applicants:
            partners = _open(out, _name("listeCotitulaire"))
            for partner in household.co_applicants:
                partner_start = _open(out, _name("cotitulaire"))
                _identity(out, partner)
                _close(out, partner_start, _name("cotitulaire"))
            _close(out, partners, _name("listeCotitulaire"))
        locations = _open(out, _name("listeLocalisationSouhaitee"))
        for location in application.form.housing_sought.wished_locations:
            wished = _open(out, _name("localisationSouhaitee"))
            out.append(f'<{PREFIX}:commune code="{_attribute(location.commune)}"/>')
            _leaf(out, "quartier", location.district)
            _close(out, wished, _name("localisationSouhaitee"))
        _close(out, locations, _name("listeLocalisationSouhaitee"))
        _close(out, entry, _name("doublon"))
    _close(out, start, name)


def _identity(out: list[str], person: Any) -> None:
    civility = f"<{PREFIX}:civilite"
    out.append(f'{civility} code="{_attribute(person.civility)}"/>' if person.civility else civility + "/>")
    _leaf(out, "nom", person.surname)
    _leaf(out, "nomPatronymique", person.birth_name)
    _leaf(out, "prenom", person.first_name)
    _leaf(out, "dateNaissance", person.birth_date)


def _generate(model: type) -> None:
    """The reader and writer of ``model`` and of every model it holds."""
    _reader(model)
    _writer(model)
    for plan in _plan(model):
        if plan.nested:
            _generate(plan.kind)


for _model in (ApplicationForm, DaloInformation, Cancellation):
    _generate(_model)
_writer(ApplicationForm, _FORM_BEFORE_FILING)
_writer(ApplicationForm, _FORM_AFTER_FILING)

"""The SQL of the multi-criteria search: a page after a key, and a bounded count, in the SNE's order.

Each criterion is answered by one table whose indexes hold it within territory and state, followed
by the SNE's order (first wished commune, filing date, number), and by a second index that holds a
filing window as one range:

=====================================  ==============================================================
criterion                              table (its criterion columns)
=====================================  ==============================================================
``numUnique``, dates, cancellation     ``applications`` (number; filing, renewal, cancellation dates;
motive, allocation commune, nothing    cancellation motive; allocation commune; nothing)
a person (surname, first name, date)   ``application_people`` (surname, first name, birth date)
``communeSouhaitee``                   ``application_communes`` (commune)
association name, motive, indicators,  ``application_terms`` (kind, value)
document categories
=====================================  ==============================================================

The side tables carry the application's territory, state and sort columns, so a search on one of
them reads its index alone. Several criteria join their tables on the key of the order itself
(first wished commune, filing date, number): PostgreSQL then reads whichever index suits the values
asked, in order, and merges or probes the others by key, all of them index-only; a criterion that
excludes (an indicator asked false) is a probe of the key in the terms' index. The key of the
previous page (``(a, b, c) > (x, y, z)``, row values on SQLite and PostgreSQL alike) and the filing
window are stated on every table, so that whichever is read first starts at the key. Without
``etatDemande``, active and cancelled applications are two branches, each in order and limited,
merged by a final sort of at most twice ``limit`` rows: deleted ones are never read.

A filing window is a range of no index in the SNE's order, but within one first wished commune it
is one: the order goes on by filing date. On PostgreSQL, a search with a filing window walks the
first wished communes of its driving index in order (a loose index scan: one descent per commune,
by a recursive query) and reads, for each commune, the window's range in the SNE's order after the
key, at most a page of it (``LATERAL``). The planner then sorts commune by commune (an incremental
sort) and stops the walk with the page: a page costs the communes walked and its own rows, whatever
the window's size and however deep. Read by filing date and sorted instead, a six-month window of
a big town cost every match of the window on every page. SQLite has no ``LATERAL``: it keeps the
plain shape, which gives the same rows.

Statements are built once per shape of the criteria (which are given, the states, whether a key
is) with the values as parameters, and kept: building and compiling one of these statements in
SQLAlchemy costs a few milliseconds of Python, as much as PostgreSQL takes to run it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, select, true, tuple_, union_all

from core.domain.codes import ApplicationState
from core.domain.identity import name_key
from core.domain.search import ASSOCIATION, Period, SearchCriteria, SortKey, TermFilter

from . import orm

APPLICATIONS, PEOPLE, COMMUNES, TERMS = (orm.applications, orm.application_people, orm.application_communes,
                                         orm.application_terms)


Statement = tuple[Select, dict[str, Any]]  # a kept statement and the values of its parameters
KEPT = 512  # statements kept: shapes that counters actually use are far fewer
_kept: dict[tuple, Select] = {}


def search_query(criteria: SearchCriteria, territory: str, after: SortKey | None, limit: int,
                 lateral: bool = False) -> Statement:
    """The first ``limit`` matches after ``after``, as (first wished commune, filing date, number)
    rows in the SNE's order. ``lateral`` (PostgreSQL): a filing window
    is read first wished commune by first wished commune."""
    return _statement(_search, criteria, territory, after, limit, lateral)


def count_query(criteria: SearchCriteria, territory: str, after: SortKey | None, limit: int,
                lateral: bool = False) -> Statement:
    """How many matches follow ``after``, counted up to ``limit`` per state searched."""
    return _statement(_count, criteria, territory, after, limit, lateral)


def _statement(build: Any, criteria: SearchCriteria, territory: str, after: SortKey | None, limit: int,
               lateral: bool) -> Statement:
    shape, template, values = _parameters(criteria, territory, after)
    key = (build.__name__, limit, lateral, shape)
    statement = _kept.get(key)
    if statement is None:  # threads may build one shape twice; each reads its own statement
        statement = build(*template, limit, lateral)
        if len(_kept) >= KEPT:
            _kept.clear()
        _kept[key] = statement
    return statement, values


# The criteria compared with a column as they are; the form's are stated by ``criteria.terms``.
VALUED = ("number", "cancellation_motive", "wished_commune", "allocation_commune", "surname", "first_name",
          "birth_date")
NAMES = ("surname", "first_name")  # compared by their keys
PERIODS = ("filed", "renewed", "cancelled")


def _parameters(criteria: SearchCriteria, territory: str, after: SortKey | None) -> tuple[tuple, tuple, dict]:
    """The shape of a search (what its statement depends on), the criteria to build it from, with
    parameters in place of values, and the values of those parameters."""
    values: dict[str, Any] = {"territory": territory}

    def parameter(name: str, value: Any) -> Any:
        values[name] = value
        return bindparam(name)

    given = [name for name in VALUED if getattr(criteria, name)]
    template = SearchCriteria(state=criteria.state, **{
        name: parameter(name, name_key(getattr(criteria, name)) if name in NAMES else getattr(criteria, name))
        for name in given})
    periods = []
    for name in PERIODS:
        period = getattr(criteria, name)
        ends = {end: parameter(f"{name}_{end}", getattr(period, end)) for end in ("start", "end")
                if getattr(period, end) is not None}
        periods.append(tuple(ends))
        template = replace(template, **{name: Period(**ends)})
    terms = criteria.terms
    template_terms = TermFilter(
        tuple((kind, parameter(f"term_{index}", value)) for index, (kind, value) in enumerate(terms.required)),
        terms.excluded,
        None if terms.association_key is None else parameter("association", _containing(terms.association_key)))
    keyed = None if after is None else tuple(parameter(f"after_{index}", value) for index, value in enumerate(after))
    shape = (criteria.states, tuple(given), tuple(periods), tuple(kind for kind, _ in terms.required), terms.excluded,
             terms.association_key is not None, after is not None)
    return shape, (template, template_terms, bindparam("territory"), keyed), values


def _containing(key: str) -> str:
    """The LIKE pattern of a value that contains ``key`` (escaped with ``/``)."""
    return "%" + key.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def _search(criteria: SearchCriteria, terms: TermFilter, territory: Any, after: Any, limit: int,
            lateral: bool) -> Select:
    branches = _branches(criteria, terms, territory, after, limit, lateral)
    ordered = [query.order_by(*order).limit(limit) for query, order, _ in branches]
    if len(ordered) == 1:
        return ordered[0]
    merged = union_all(*(select(*part.c).select_from(part) for part in (q.subquery() for q in ordered))).subquery()
    return select(*merged.c).order_by(*merged.c).limit(limit)


def _count(criteria: SearchCriteria, terms: TermFilter, territory: Any, after: Any, limit: int,
           lateral: bool) -> Select:
    branches = _branches(criteria, terms, territory, after, limit, lateral)
    # Only a DISTINCT needs its order, to stream its duplicates away instead of hashing every match.
    bounded = [(query.order_by(*order) if distinct else query).limit(limit) for query, order, distinct in branches]
    parts = [select(*part.c).select_from(part) for part in (q.subquery() for q in bounded)]
    counted = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    return select(func.count()).select_from(counted)


Branch = tuple[Select, tuple[ColumnElement, ...], bool]  # the query, its order, whether it is DISTINCT


def _branches(criteria: SearchCriteria, terms: TermFilter, territory: Any, after: Any, limit: int,
              lateral: bool) -> list[Branch]:
    """``criteria`` and ``terms`` hold parameters in place of their values: None where not given."""
    if lateral and not criteria.filed.is_open and criteria.number is None:  # a number is one row anyway
        return [_by_first_commune(criteria, terms, territory, state, after, limit) for state in criteria.states]
    return [_branch(criteria, terms, territory, state, after) for state in criteria.states]


def _by_first_commune(criteria: SearchCriteria, terms: TermFilter, territory: Any, state: ApplicationState,
                      after: Any, limit: int) -> Branch:
    """The branch of ``state`` read first wished commune by first wished commune (PostgreSQL): the
    communes of the driving index from the key's, in order, and for each at most ``limit`` of its
    matches in the SNE's order (commune fixed, the indexes go on by filing date: the window is one
    range of each). Outer rows come commune by commune, so sorting them needs one commune's rows at
    a time and the page's limit stops the walk. Two adults of one household are one row already
    within a commune; distinct communes never share a key."""
    parts = _parts(criteria, terms)
    query, order, _ = _branch(criteria, terms, territory, state, after, parts)
    communes = _first_communes(parts[0], territory, state, after)
    in_commune = [table.c.first_wished_commune == communes.c.commune for table, _ in parts]
    ordered = query.where(*in_commune).order_by(*order[1:]).limit(limit).lateral(f"in_commune_{state.value}")
    walk = select(communes.c.commune, ordered.c[1], ordered.c[2]).select_from(communes).join(ordered, true())
    return walk, (communes.c.commune, ordered.c[1], ordered.c[2]), False


def _first_communes(driver: tuple[Any, list[ColumnElement]], territory: Any, state: ApplicationState,
                    after: Any) -> Any:
    """The first wished communes of the driving table's rows for its criterion, from the key's, in
    order: a recursive query that descends its index once per commune (a loose index scan). Its
    criterion on the applications table itself (dates, a motive) would make each step scan, so
    there the territory's communes are walked; a commune without a match costs one descent more."""
    table, own = driver
    where = [] if table is APPLICATIONS else own

    def first_from(bound: Any, inclusive: bool) -> Select:
        commune = table.c.first_wished_commune
        conditions = [*where, table.c.territory_code == territory, table.c.state == state.value]
        if bound is not None:
            conditions.append(commune >= bound if inclusive else commune > bound)
        return select(func.min(commune)).where(*conditions)

    start = first_from(after[0] if after else None, True).cte(f"communes_{state.value}", recursive=True)
    start = start.union_all(select(first_from(start.c[0], False).scalar_subquery()).where(start.c[0].is_not(None)))
    return (select(start.c[0].label("commune")).where(start.c[0].is_not(None)).order_by(start.c[0])
            .subquery(f"first_communes_{state.value}"))


def _branch(criteria: SearchCriteria, terms: TermFilter, territory: Any, state: ApplicationState,
            after: Any, parts: list[tuple[Any, list[ColumnElement]]] | None = None) -> Branch:
    parts = parts or _parts(criteria, terms)
    first = parts[0][0]
    order = _key(first)
    conditions: list[ColumnElement] = []
    joined = first
    for table, own in parts:
        key = _key(table)
        conditions += [*own, table.c.territory_code == territory, table.c.state == state.value,
                       *_within(table.c.filing_date, criteria.filed)]
        if after is not None:  # on every table, so that whichever the planner reads first starts at the key
            conditions.append(tuple_(*key) > tuple_(*after))
        if table is not first:
            joined = joined.join(table, and_(*(column == mine for column, mine in zip(key, order))))
    for kind, value in terms.excluded:  # a point lookup of the key in the terms' index
        other = TERMS.alias()
        conditions.append(~exists().where(other.c.kind == kind, other.c.value == value,
                                          other.c.territory_code == territory, other.c.state == state.value,
                                          *(column == mine for column, mine in zip(_key(other), order))))
    query = select(*order).select_from(joined).where(*conditions)
    distinct = any(table is PEOPLE for table, _ in parts)  # two adults of one household may both match
    return (query.distinct() if distinct else query), order, distinct


def _key(table: Any) -> tuple[ColumnElement, ...]:
    return table.c.first_wished_commune, table.c.filing_date, table.c.number


def _parts(criteria: SearchCriteria, terms: TermFilter) -> list[tuple[Any, list[ColumnElement]]]:
    """The tables a search reads, each with its criteria, to be joined on the key of the SNE's order."""
    parts = []
    own = _application_conditions(criteria)
    if criteria.number is not None:
        own.append(APPLICATIONS.c.number == criteria.number)
    person = _person_conditions(criteria)
    if person:
        parts.append((PEOPLE, person))
    if criteria.wished_commune is not None:
        parts.append((COMMUNES, [COMMUNES.c.commune == criteria.wished_commune]))
    for kind, value in terms.required:
        table = TERMS.alias()
        parts.append((table, [table.c.kind == kind, table.c.value == value]))
    if terms.association_key is not None:
        table = TERMS.alias()
        parts.append((table, _association(table, terms.association_key)))
    if own or not parts:
        parts.insert(0, (APPLICATIONS, own))
    return parts


def _person_conditions(criteria: SearchCriteria) -> list[ColumnElement]:
    """Names are given by their keys (:data:`NAMES`)."""
    conditions = []
    if criteria.surname is not None:
        conditions.append(PEOPLE.c.surname_key == criteria.surname)
    if criteria.first_name is not None:
        conditions.append(PEOPLE.c.first_name_key == criteria.first_name)
    if criteria.birth_date is not None:
        conditions.append(PEOPLE.c.birth_date == criteria.birth_date)
    return conditions


def _application_conditions(criteria: SearchCriteria) -> list[ColumnElement]:
    """The criteria on the application's own columns (the filing date is every driver's)."""
    apps = APPLICATIONS.c
    conditions = [*_within(apps.last_renewed_on, criteria.renewed), *_within(apps.cancelled_on, criteria.cancelled)]
    if criteria.cancellation_motive is not None:
        conditions.append(apps.cancellation_motive == criteria.cancellation_motive)
    if criteria.allocation_commune is not None:
        conditions.append(apps.allocation_commune == criteria.allocation_commune)
    return conditions


def _within(column: ColumnElement, period: Period) -> list[ColumnElement]:
    conditions = []
    if period.start is not None:
        conditions.append(column >= period.start)
    if period.end is not None:
        conditions.append(column <= period.end)
    return conditions


def _association(terms: Any, pattern: Any) -> list[ColumnElement]:
    """An association whose name key matches ``pattern`` (:func:`_containing`); associations are
    few, so reading all of the kind's index entries and filtering them costs little."""
    return [terms.c.kind == ASSOCIATION, terms.c.value.like(pattern, escape="/")]

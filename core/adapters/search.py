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
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select, tuple_, union_all

from core.domain.codes import ApplicationState
from core.domain.identity import name_key
from core.domain.search import ASSOCIATION, Period, SearchCriteria, SortKey, TermFilter

from . import orm

APPLICATIONS, PEOPLE, COMMUNES, TERMS = (orm.applications, orm.application_people, orm.application_communes,
                                         orm.application_terms)


def search_query(criteria: SearchCriteria, territory: str, after: SortKey | None, limit: int) -> Select:
    """The first ``limit`` matches after ``after``, as (first wished commune, filing date, number)
    rows in the SNE's order."""
    branches = _branches(criteria, territory, after)
    ordered = [query.order_by(*order).limit(limit) for query, order, _ in branches]
    if len(ordered) == 1:
        return ordered[0]
    merged = union_all(*(select(*part.c).select_from(part) for part in (q.subquery() for q in ordered))).subquery()
    return select(*merged.c).order_by(*merged.c).limit(limit)


def count_query(criteria: SearchCriteria, territory: str, after: SortKey | None, limit: int) -> Select:
    """How many matches follow ``after``, counted up to ``limit`` per state searched."""
    branches = _branches(criteria, territory, after)
    # Only a DISTINCT needs its order, to stream its duplicates away instead of hashing every match.
    bounded = [(query.order_by(*order) if distinct else query).limit(limit) for query, order, distinct in branches]
    parts = [select(*part.c).select_from(part) for part in (q.subquery() for q in bounded)]
    counted = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    return select(func.count()).select_from(counted)


Branch = tuple[Select, tuple[ColumnElement, ...], bool]  # the query, its order, whether it is DISTINCT


def _branches(criteria: SearchCriteria, territory: str, after: SortKey | None) -> list[Branch]:
    terms = criteria.terms
    return [_branch(criteria, terms, territory, state, after) for state in criteria.states]


def _branch(criteria: SearchCriteria, terms: TermFilter, territory: str, state: ApplicationState,
            after: SortKey | None) -> Branch:
    parts = _parts(criteria, terms)
    first = parts[0][0]
    order = _key(first)
    conditions: list[ColumnElement] = []
    for table, own in parts:
        key = _key(table)
        conditions += [*own, table.c.territory_code == territory, table.c.state == state.value,
                       *_within(table.c.filing_date, criteria.filed)]
        if after is not None:  # on every table, so that whichever the planner reads first starts at the key
            conditions.append(tuple_(*key) > tuple_(*after))
        if table is not first:
            conditions += [column == mine for column, mine in zip(key, order)]
    for kind, value in terms.excluded:  # a point lookup of the key in the terms' index
        other = TERMS.alias()
        conditions.append(~exists().where(other.c.kind == kind, other.c.value == value,
                                          other.c.territory_code == territory, other.c.state == state.value,
                                          *(column == mine for column, mine in zip(_key(other), order))))
    query = select(*order).select_from(*(table for table, _ in parts)).where(*conditions)
    distinct = any(table is PEOPLE for table, _ in parts)  # two adults of one household may both match
    return (query.distinct() if distinct else query), order, distinct


def _key(table: Any) -> tuple[ColumnElement, ...]:
    return table.c.first_wished_commune, table.c.filing_date, table.c.number


def _parts(criteria: SearchCriteria, terms: TermFilter) -> list[tuple[Any, list[ColumnElement]]]:
    """The tables a search reads, each with its criteria, to be joined on the key of the SNE's order."""
    parts = []
    own = _application_conditions(criteria)
    if criteria.number:
        own.append(APPLICATIONS.c.number == criteria.number)
    person = _person_conditions(criteria)
    if person:
        parts.append((PEOPLE, person))
    if criteria.wished_commune:
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
    conditions = []
    if criteria.surname:
        conditions.append(PEOPLE.c.surname_key == name_key(criteria.surname))
    if criteria.first_name:
        conditions.append(PEOPLE.c.first_name_key == name_key(criteria.first_name))
    if criteria.birth_date:
        conditions.append(PEOPLE.c.birth_date == criteria.birth_date)
    return conditions


def _application_conditions(criteria: SearchCriteria) -> list[ColumnElement]:
    """The criteria on the application's own columns (the filing date is every driver's)."""
    apps = APPLICATIONS.c
    conditions = [*_within(apps.last_renewed_on, criteria.renewed), *_within(apps.cancelled_on, criteria.cancelled)]
    if criteria.cancellation_motive:
        conditions.append(apps.cancellation_motive == criteria.cancellation_motive)
    if criteria.allocation_commune:
        conditions.append(apps.allocation_commune == criteria.allocation_commune)
    return conditions


def _within(column: ColumnElement, period: Period) -> list[ColumnElement]:
    conditions = []
    if period.start is not None:
        conditions.append(column >= period.start)
    if period.end is not None:
        conditions.append(column <= period.end)
    return conditions


def _association(terms: Any, key: str) -> list[ColumnElement]:
    """An association whose name key contains ``key``; associations are few, so reading all of the
    kind's index entries and filtering them costs little."""
    return [terms.c.kind == ASSOCIATION, terms.c.value.contains(key, autoescape=True)]

"""Searches on real databases (SQLite and PostgreSQL): every criterion, the SNE's order, paging by key.

The register is played through the use cases from ``support.registers`` (households of five
territories, yearly renewals, cancellations of every motive), plus what moves an application in or
out of a search after its registration: a changed form, a reactivation, a deletion, the register's
own indicators. Each search is compared with the reference: every application of the territory,
filtered in Python by the criteria's definitions and sorted in the SNE's order, which is what the
register answered when it read every match and paged in Python. Pages are read seven at a time,
so that every result is read across several keys.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select, text

from core.adapters import orm, schema
from core.adapters.database import make_engine
from core.adapters.repository import SqlUnitOfWork
from core.demo import household_form
from core.domain.application import Application, Cancellation, NoAnswer
from core.domain.codes import ApplicationState
from core.domain.form import Association, ProcessingInformation
from core.domain.identity import PersonKey, name_key
from core.domain.numbers import RegistrationNumber
from core.domain.search import PAGE_SIZE, Period, SearchCriteria
from core.service_layer import services
from support import registers
from tests.conftest import POSTGRES_SERVER, drop_number_sequences

ROOT = Path(__file__).resolve().parents[3]
SIZE = 90  # filings of the played register: 54 in 057
FILINGS = list(registers.filings(SIZE))
MAIN = registers.MAIN.territory.code
ACTIVE, CANCELLED = ApplicationState.ACTIVE, ApplicationState.CANCELLED
NOW = registers.REFERENCE_DAY
STEP = 7  # matches per page read


def _main(index: int) -> registers.Filing:
    return [entry for entry in FILINGS if entry.area is registers.MAIN][index]


def _people(entry: registers.Filing) -> list:
    return entry.form.people


IN_MAIN = [entry for entry in FILINGS if entry.area is registers.MAIN]
SOMEONE = _people(_main(4))[0]
PARTNER = next(person for entry in IN_MAIN for person in _people(entry)[1:])
ALLOCATED = next(entry for entry in IN_MAIN if entry.cancellation and entry.cancellation.motive == "RADATT")
ABANDONED = next(entry for entry in IN_MAIN if entry.cancellation and entry.cancellation.motive != "RADATT")
FLAGGED = [_main(10 + index) for index in range(3)]  # their forms, as associations with indicators (_change)
MARTINS = [("Martin", "Lucie", date(1990, 5, 17), ("57463",), ("Martin", "Paul", date(1988, 2, 3))),
           ("Martin", "Ahmed", date(1975, 7, 1), ("57751", "57463"), None)]
CASES = {  # name: criteria (in territory 057, as DEMOB searches)
    "everything": SearchCriteria(),
    "active": SearchCriteria(state=ACTIVE),
    "cancelled": SearchCriteria(state=CANCELLED),
    "number": SearchCriteria(number=str(_main(3).number)),
    "number of another territory": SearchCriteria(number=str(FILINGS[2].number)),
    "number and its commune": SearchCriteria(number=str(_main(3).number),
                                             wished_commune=_main(3).form.wished_communes[-1]),
    "number and someone else": SearchCriteria(number=str(_main(3).number), surname=SOMEONE.surname),
    "wished commune (any rank)": SearchCriteria(wished_commune="57672"),
    "wished commune, active": SearchCriteria(wished_commune="57463", state=ACTIVE),
    "filed in one year": SearchCriteria(filed=Period(date(2023, 1, 1), date(2023, 12, 31))),
    "filed since": SearchCriteria(filed=Period(start=date(2025, 6, 1)), state=ACTIVE),
    "commune, active, filed in two years": SearchCriteria(wished_commune="57463", state=ACTIVE,
                                                          filed=Period(date(2023, 1, 1), date(2024, 12, 31))),
    "the same with a motive": SearchCriteria(wished_commune="57463", state=ACTIVE, request_motive="13",
                                             filed=Period(date(2023, 1, 1), date(2024, 12, 31))),
    "renewed in a year": SearchCriteria(renewed=Period(date(2025, 1, 1), date(2025, 12, 31))),
    "renewed until": SearchCriteria(renewed=Period(end=date(2024, 6, 30))),
    "cancelled in two years": SearchCriteria(cancelled=Period(date(2024, 1, 1), date(2025, 12, 31))),
    "cancellation motive": SearchCriteria(cancellation_motive="RADATT"),
    "allocation commune": SearchCriteria(allocation_commune=ALLOCATED.cancellation.allocation_commune,
                                         state=CANCELLED),
    "motive": SearchCriteria(request_motive="09"),
    "motive, active": SearchCriteria(request_motive="13", state=ACTIVE),
    "motive of a changed form": SearchCriteria(request_motive="16"),
    "motive of no one": SearchCriteria(request_motive="22"),
    "indicator true": SearchCriteria(abnormally_long_wait=True),
    "indicator false, active": SearchCriteria(abnormally_long_wait=False, state=ACTIVE),
    "both indicators": SearchCriteria(abnormally_long_wait=True, multiple_conditional_allocations=False),
    "association": SearchCriteria(association_name="amis du quartier"),
    "association, empty key": SearchCriteria(association_name=" - "),
    "association and motive": SearchCriteria(association_name="entraide",
                                             request_motive=FLAGGED[1].form.motives.motives[0]),
    "documents": SearchCriteria(document_categories=("IDD",)),
    "surname": SearchCriteria(surname=SOMEONE.surname),
    "surname, written otherwise": SearchCriteria(surname=SOMEONE.surname.upper().replace(" ", "-") + " "),
    "surname of several households": SearchCriteria(surname="Martin"),
    "first name": SearchCriteria(first_name=SOMEONE.first_name),
    "birth date": SearchCriteria(birth_date=SOMEONE.birth_date),
    "surname and birth date": SearchCriteria(surname=SOMEONE.surname, birth_date=SOMEONE.birth_date),
    "partner, first name and birth date": SearchCriteria(first_name=PARTNER.first_name,
                                                         birth_date=PARTNER.birth_date),
    "person of no one": SearchCriteria(surname=SOMEONE.surname, first_name=PARTNER.first_name),
    "person and commune": SearchCriteria(surname="Martin", wished_commune="57751"),
    "person and cancellation": SearchCriteria(first_name=_people(ABANDONED)[0].first_name,
                                              cancellation_motive=ABANDONED.cancellation.motive),
    "commune and indicator": SearchCriteria(wished_commune=FLAGGED[1].form.wished_communes[-1],
                                            multiple_conditional_allocations=True),
    # A filing window with each other kind of criterion (PostgreSQL walks the first wished communes)
    "surname, filed in a month": SearchCriteria(surname="Martin", filed=Period(NOW.date() - timedelta(days=30),
                                                                               NOW.date())),
    "birth date, filed since": SearchCriteria(birth_date=SOMEONE.birth_date, filed=Period(start=date(2021, 1, 1))),
    "number, filed until": SearchCriteria(number=str(_main(3).number), filed=Period(end=NOW.date())),
    "renewed and filed": SearchCriteria(renewed=Period(date(2025, 1, 1), date(2025, 12, 31)),
                                        filed=Period(date(2021, 1, 1), date(2024, 12, 31))),
    "indicator false, filed since": SearchCriteria(abnormally_long_wait=False, filed=Period(start=date(2023, 1, 1))),
    "association, filed until": SearchCriteria(association_name="entraide", filed=Period(end=NOW.date())),
    "cancelled, filed in two years": SearchCriteria(state=CANCELLED, filed=Period(date(2022, 1, 1),
                                                                                  date(2023, 12, 31))),
}
EMPTY = {"number of another territory", "number and someone else", "motive of no one", "documents",
         "person of no one"}


# -- the register ---------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def played(request, tmp_path_factory):
    """The register of SIZE filings played through the use cases, then changed; its engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('search') / 'register.db'}"
        engine = make_engine(url)
        schema.upgrade(engine)
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {', '.join(t.name for t in orm.metadata.sorted_tables)} "
                                    "RESTART IDENTITY CASCADE"))
            drop_number_sequences(connection)
    unit_of_work = lambda readonly=False: SqlUnitOfWork(engine, readonly=readonly)  # noqa: E731
    registers.reference_data(unit_of_work)
    for entry in FILINGS:
        registers.play(unit_of_work, entry)
    _change(unit_of_work)
    yield engine
    engine.dispose()


def _change(unit_of_work) -> None:
    """What moves applications between searches after their registration."""
    moved = _main(5)  # a changed form: other communes, other motives
    form = replace(moved.form, motives=replace(moved.form.motives, motives=["16"]))
    form.housing_sought = replace(form.housing_sought, wished_locations=form.housing_sought.wished_locations[::-1])
    services.update(unit_of_work(), moved.number, form, moved.counter.code, NOW)
    unreachable = next(entry for entry in FILINGS[::-1] if entry.area is registers.MAIN and entry.cancellation is None)
    services.cancel(unit_of_work(), unreachable.number,
                    Cancellation(NOW.date(), "RADCON", no_answer=NoAnswer(date(2026, 8, 1))),
                    unreachable.counter.code, NOW)
    services.reactivate(unit_of_work(), unreachable.number, unreachable.counter.code, NOW + timedelta(days=1))
    registered_today = services.register(unit_of_work(), household_form("Supprimé", "Zoé", date(1999, 9, 9)),
                                         NOW.date(), "DEMOB", NOW)
    services.delete(unit_of_work(), registered_today.number, "DEMOB", NOW)
    for surname, first_name, born, communes, partner in MARTINS:  # a surname shared by households and couples
        services.register(unit_of_work(), household_form(surname, first_name, born, communes=communes,
                                                         co_applicant=partner), NOW.date(), "DEMOC", NOW)
    with unit_of_work() as work:  # the register's own indicators (no use case computes them yet)
        for index, (long_wait, many) in enumerate([(True, False), (True, True), (False, True)]):
            number = RegistrationNumber.issue(MAIN, NOW.date(), 900_000 + index, "DEMOB")
            form = replace(FLAGGED[index].form, household=None,
                           association=Association(name=["Les Amis du Quartier-Nord", "Entraide Sud", None][index]))
            application = Application.register(number, MAIN, form, NOW.date(), registers.MAIN.landlord, NOW)
            application.form = replace(application.form, processing=ProcessingInformation(long_wait, many))
            work.applications.add(application)
        work.commit()


def everything(engine) -> list[Application]:
    with SqlUnitOfWork(engine, readonly=True) as work:
        numbers = work.connection.scalars(select(orm.applications.c.number)).all()
        return [work.applications.get(RegistrationNumber.parse(number)) for number in numbers]


def reference(applications: list[Application], criteria: SearchCriteria) -> list[str]:
    """What the register answered when it filtered every match in Python: the criteria's definitions."""
    def person_matches(application: Application) -> bool:
        keys = [PersonKey.of(p.surname, p.birth_name, p.first_name, p.birth_date) for p in application.form.people]
        return any(key is not None
                   and (not criteria.surname or name_key(criteria.surname) in key.surnames)
                   and (not criteria.first_name or name_key(criteria.first_name) == key.first_name)
                   and (not criteria.birth_date or criteria.birth_date == key.birth_date) for key in keys)

    def matches(application: Application) -> bool:
        cancellation = application.cancellation
        return (application.territory == MAIN and application.state is not ApplicationState.DELETED
                and (not criteria.number or str(application.number) == criteria.number)
                and (criteria.state is None or application.state is criteria.state)
                and criteria.filed.contains(application.filing_date)
                and criteria.renewed.contains(application.renewal.last_renewed_on)
                and criteria.cancelled.contains(cancellation.date if cancellation else None)
                and (not criteria.cancellation_motive
                     or (cancellation is not None and cancellation.motive == criteria.cancellation_motive))
                and (not criteria.allocation_commune
                     or (cancellation is not None and cancellation.allocation_commune == criteria.allocation_commune))
                and (not criteria.wished_commune or criteria.wished_commune in application.form.wished_communes)
                and (not (criteria.surname or criteria.first_name or criteria.birth_date) or person_matches(application))
                and criteria.matches_form(application.form))

    found = sorted((a for a in applications if matches(a)),
                   key=lambda a: ((a.form.wished_communes or [""])[0], a.filing_date, str(a.number)))
    return [str(application.number) for application in found]


# -- every criterion, page after page -------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_each_search_answers_what_filtering_every_application_answered(played, name):
    criteria = CASES[name]
    expected = reference(everything(played), criteria)
    read, after = [], None
    with SqlUnitOfWork(played, readonly=True) as work:
        while True:
            page = work.applications.search(criteria, MAIN, after, STEP)
            read += [key[2] for key in page]
            if len(page) < STEP:
                break
            after = page[-1]
        counted = work.applications.count(criteria, MAIN, None, 1000)
        bounded = work.applications.count(criteria, MAIN, None, 3)
    assert read == expected
    assert (counted, bounded) == (len(expected), min(len(expected), 3))


def test_the_cases_are_not_empty_where_they_should_not_be(played):
    """A catalogue of empty results would prove nothing: only the cases meant to be empty are, and
    many span several pages."""
    applications = everything(played)
    sizes = {name: len(reference(applications, criteria)) for name, criteria in CASES.items()}
    assert {name for name, size in sizes.items() if size == 0} == EMPTY
    assert sum(size > STEP for size in sizes.values()) >= 10


def test_the_service_pages_by_the_last_number_received(played):
    applications = everything(played)
    expected = reference(applications, SearchCriteria(state=ACTIVE))
    unit_of_work = lambda: SqlUnitOfWork(played, readonly=True)  # noqa: E731
    first = services.search(unit_of_work(), SearchCriteria(state=ACTIVE), "DEMOB")
    assert first.numbers == expected[:PAGE_SIZE] and not first.has_more
    after = services.search(unit_of_work(), SearchCriteria(state=ACTIVE, after=expected[10]), "DEMOB")
    assert after.numbers == expected[11:]


def test_paging_resumes_after_a_number_that_no_longer_matches(played):
    """The last number received may have been cancelled since: the next page starts after its place."""
    criteria = SearchCriteria(state=ACTIVE, wished_commune="57463")
    with SqlUnitOfWork(played, readonly=True) as work:
        first = work.applications.search(criteria, MAIN, None, STEP)
    gone = first[-1]
    entry = next(entry for entry in FILINGS if str(entry.number) == gone[2])
    services.cancel(SqlUnitOfWork(played), entry.number, Cancellation(NOW.date(), "RADABA"), entry.counter.code,
                    NOW + timedelta(days=2))
    with SqlUnitOfWork(played, readonly=True) as work:
        resumed = work.applications.search(criteria, MAIN, work.applications.sort_key(gone[2]), STEP)
    expected = reference(everything(played), criteria)
    assert gone[2] not in expected
    assert [key[2] for key in resumed] == expected[STEP - 1:2 * STEP - 1]


# -- what a search reads --------------------------------------------------------------------------


@contextmanager
def statements(engine):
    """The statements run on ``engine`` meanwhile, with the rows each returned (PostgreSQL counts
    them; SQLite says -1)."""
    seen: list[tuple[str, int]] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, cursor.rowcount))

    event.listen(engine, "after_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", record)


SEARCHED_TABLES = ("applications", "application_people", "application_communes", "application_terms")
KEY_OF_A_NUMBER = re.compile(r"FROM applications\s+WHERE applications\.number = (\?|%\(number_1\)s(::VARCHAR)?)$")


def searching(seen: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The statements of a search itself: not the acting counter's lookup, the key of the number
    received, nor the planner settings."""
    return [(sql, rows) for sql, rows in seen
            if "FROM counters" not in sql and not KEY_OF_A_NUMBER.search(sql) and "set_config" not in sql]


READS = [  # (criteria, the only table its statements read): its index answers alone
    (SearchCriteria(wished_commune="57463", state=ACTIVE), "application_communes"),
    (SearchCriteria(wished_commune="57463", filed=Period(date(2023, 1, 1), date(2024, 12, 31))),
     "application_communes"),
    (SearchCriteria(request_motive="13"), "application_terms"),
    (SearchCriteria(surname="Martin"), "application_people"),
    (SearchCriteria(surname=SOMEONE.surname, birth_date=SOMEONE.birth_date), "application_people"),
]


@pytest.mark.parametrize("criteria, table", READS)
def test_a_search_by_commune_motive_or_person_reads_that_index_alone(played, criteria, table):
    """Before, these searches read every match's row of ``applications`` (331 MB at 200,000, the
    forms in it) and decoded the form of each for a motive."""
    with statements(played) as seen:
        services.search(SqlUnitOfWork(played, readonly=True), criteria, "DEMOB")
    ran = searching(seen)
    assert ran
    tables = {name for sql, _ in ran for name in SEARCHED_TABLES if re.search(rf"\b{name}\b", sql)}
    assert tables == {table}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # psycopg counts the rows returned
def test_a_page_deep_in_a_result_reads_no_match_before_it(uow, now):
    """Before, a search read every match's key and paged in Python: the 52nd page of a commune cost
    all 26,000 keys. Now the statement starts at the key and stops after the page (and the count
    after it stops at COUNT_LIMIT)."""
    registers.reference_data(uow)
    with uow() as work:
        for index in range(PAGE_SIZE + 20):
            entry = registers.filing(index * len(registers.CYCLE), 10 * (PAGE_SIZE + 20))
            work.applications.add(registers.application_of(entry))
        work.commit()
    with uow(readonly=True) as work:
        keys = work.applications.search(SearchCriteria(), MAIN, None, PAGE_SIZE + 20)
    with statements(uow().engine) as seen:
        result = services.search(uow(readonly=True), SearchCriteria(after=keys[PAGE_SIZE + 9][2]), "DEMOB")
    assert result.numbers == [key[2] for key in keys[PAGE_SIZE + 10:]]
    assert sum(rows for _, rows in searching(seen)) == 10


# -- the benchmark's register ----------------------------------------------------------------------


def register_rows(engine) -> dict[str, list[tuple]]:
    """Every row of the searched tables, without the row ids that only number them, in a stable order."""
    found = {}
    with engine.connect() as connection:
        for name in SEARCHED_TABLES:
            table = orm.metadata.tables[name]
            columns = [column for column in table.columns if column.name not in ("id", "application_id")]
            found[name] = sorted(tuple(repr(value) for value in row)
                                 for row in connection.execute(select(*columns)))
    with SqlUnitOfWork(engine, readonly=True) as work:
        sequences = sorted((area.territory.code, work.sequences.last(area.territory.code)) for area in registers.AREAS)
    return {**found, "sequences": sequences}


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # COPY is PostgreSQL's
def test_the_bulk_load_writes_what_the_use_cases_write(database_url, engine, uow):
    """bench/search.py builds its million applications by COPY: the rows must be those the use cases
    write for the same filings (journal and outbox aside, which no search reads)."""
    size = 60
    registers.bulk_load(database_url, size, processes=1, log=lambda line: None, validate_every=1)
    loaded = register_rows(engine)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(t.name for t in orm.metadata.sorted_tables)} "
                                "RESTART IDENTITY CASCADE"))
        drop_number_sequences(connection)
    registers.reference_data(uow)
    for entry in registers.filings(size):
        registers.play(uow, entry)
    played = register_rows(engine)
    assert loaded["applications"] and loaded["application_terms"]
    assert loaded == played


@pytest.mark.slow
def test_the_search_benchmark_runs_on_a_tiny_register(postgres_url):
    """bench/search.py as its users run it, on 300 applications: it builds the register, times every
    search in process and the main ones over SOAP, reports them, and drops the database it made."""
    name = f"sne_hub_test_bench_{uuid.uuid4().hex[:12]}"
    command = [sys.executable, str(ROOT / "bench" / "search.py"), "--size", "300", "--database", name,
               "--postgres-url", POSTGRES_SERVER, "--runs", "1", "--repeat", "2", "--soap-repeat", "1", "--drop",
               "--markdown"]
    finished = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                              text=True, timeout=600)  # a few seconds here; the bound only stops a hang
    assert finished.returncode == 0, finished.stderr[-3000:]
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in finished.stdout.splitlines()
            if line.startswith("| ")}
    assert set(rows) >= {"wished commune + active", "the same + a motive", "the whole territory (no criterion)"}
    assert rows["wished commune + active"][7] != "—"  # timed over SOAP too
    engine = make_engine(POSTGRES_SERVER)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first() \
                is None
    finally:
        engine.dispose()

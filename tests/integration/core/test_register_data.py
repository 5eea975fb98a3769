"""The register's indicators and its retention purge, on SQLite and PostgreSQL: the daily jobs, the
prefects' delays, and what is left of an application once purged."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from core import demo
from core.adapters import orm
from core.adapters.database import make_engine
from core.domain.application import Cancellation
from core.domain.calendar import PARIS
from core.domain.dispatch import Channel, Filter
from core.domain.errors import InvalidPrefectDelay
from core.domain.events import EventKind
from core.domain.indicators import PrefectDelay
from core.domain.search import SearchCriteria
from core.domain.shared_management import EventInput
from core.service_layer import dispatching, indicators, retention, services, shared_management
from core.service_layer.retention import NO_DOCUMENTS
from core.wire.codec import NS
from core.wire.dispatch import addressed, stored_file

N = f"{{{NS}}}"
FILED = datetime(2024, 1, 15, 10, 0, tzinfo=PARIS)
LATER = datetime(2026, 1, 20, 10, 0, tzinfo=PARIS)


@pytest.fixture
def register_of(uow):
    services.add_territory(uow(), demo.TERRITORY)
    for counter in demo.COUNTERS:
        services.add_counter(uow(), counter)
    return uow


def filed(uow, index: int, when: datetime = FILED):
    form = demo.household_form(f"Famille{chr(ord('A') + index)}", "Alex", date(1980, 1, 1 + index))
    return services.register(uow(), form, when.date(), "DEMOC", when)


def stored(uow, number):
    with uow(readonly=True) as work:
        return work.applications.get(number)


def journal_kinds(uow, number) -> list[str]:
    with uow(readonly=True) as work:
        return [entry.kind for entry in work.events.history(str(number))]


def count(uow, table, **where) -> int:
    table = orm.metadata.tables[table]
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with uow(readonly=True) as work:
        return work.connection.execute(query).scalar_one()


# -- indicators ---------------------------------------------------------------------------------


def test_a_wait_that_reached_the_prefect_delay_is_flagged_journaled_and_searchable(register_of):
    old = filed(register_of, 1)  # 24 months on 2026-01-15
    recent = filed(register_of, 2, datetime(2025, 6, 1, 10, 0, tzinfo=PARIS))
    indicators.set_prefect_delay(register_of(), PrefectDelay("57", 24), LATER)
    report = indicators.run(register_of, LATER.date(), LATER)
    assert (report.examined, report.changed, report.computed, report.long_wait) == (2, 1, 1, 1)
    flagged, quiet = stored(register_of, old.number), stored(register_of, recent.number)
    assert flagged.form.processing.abnormally_long_wait is True
    assert flagged.form.processing.multiple_conditional_allocations is False
    assert flagged.form.processing.computed_at == LATER
    assert flagged.version == 2 and journal_kinds(register_of, old.number)[-1] == EventKind.INDICATORS_CHANGED
    assert count(register_of, "outbox", topic=EventKind.INDICATORS_CHANGED.value) == 1  # dispatched as a MOD
    assert quiet.form.processing.abnormally_long_wait is False and quiet.version == 1  # dated silently
    found = services.search(register_of(), SearchCriteria(abnormally_long_wait=True), "DEMOB")
    assert found.numbers == [str(old.number)]
    again = indicators.run(register_of, LATER.date(), LATER)
    assert (again.changed, again.computed) == (0, 0)  # idempotent


def test_unsetting_the_delay_clears_the_flag_on_the_next_run(register_of):
    old = filed(register_of, 3)
    indicators.set_prefect_delay(register_of(), PrefectDelay("57", 12), LATER)
    indicators.run(register_of, LATER.date(), LATER)
    indicators.clear_prefect_delay(register_of(), "57")
    report = indicators.run(register_of, LATER.date(), LATER)
    assert report.changed == 1
    application = stored(register_of, old.number)
    assert application.form.processing.abnormally_long_wait is False and application.version == 3


def test_without_a_delay_nobody_is_flagged(register_of):
    old = filed(register_of, 4)
    report = indicators.run(register_of, LATER.date(), LATER)
    assert (report.computed, report.changed, report.long_wait) == (1, 0, 0)
    assert stored(register_of, old.number).form.processing.abnormally_long_wait is False


def test_a_counter_cannot_set_the_indicators(register_of):
    old = filed(register_of, 5)
    indicators.run(register_of, LATER.date(), LATER)
    form = demo.household_form("FamilleF", "Alex", date(1980, 1, 6))
    form.processing = indicators.indicators.block((True, True), LATER)
    services.update(register_of(), old.number, form, "DEMOB", LATER)
    processing = stored(register_of, old.number).form.processing
    assert (processing.abnormally_long_wait, processing.multiple_conditional_allocations) == (False, False)


def test_a_delay_needs_a_covered_departement(register_of):
    with pytest.raises(InvalidPrefectDelay):
        indicators.set_prefect_delay(register_of(), PrefectDelay("13", 24), LATER)
    with pytest.raises(InvalidPrefectDelay):
        indicators.clear_prefect_delay(register_of(), "57")
    indicators.set_prefect_delay(register_of(), PrefectDelay("57", 24), LATER)
    indicators.set_prefect_delay(register_of(), PrefectDelay("57", 36), LATER)
    assert indicators.prefect_delays(register_of()) == ({"57": 36}, {"57"})


def test_the_conditional_allocation_flag_comes_from_the_decisions_port(register_of):
    application = filed(register_of, 6)

    class Decisions:
        def unsuccessful_conditional(self, uow, numbers):
            return {str(application.number)} & set(numbers)

    report = indicators.run(register_of, LATER.date(), LATER, Decisions())
    assert report.changed == 1
    assert stored(register_of, application.number).form.processing.multiple_conditional_allocations is True
    found = services.search(register_of(), SearchCriteria(multiple_conditional_allocations=True), "DEMOB")
    assert found.numbers == [str(application.number)]


def test_a_conditional_allocation_that_went_to_another_household_is_flagged_from_the_cal_events(register_of):
    ranked, housed, bystander = filed(register_of, 9), filed(register_of, 10), filed(register_of, 11)
    cal = date(2024, 6, 3)

    def record(number, event):  # CAL decisions and leases are recorded by the landlord
        shared_management.add_event(register_of(), number, event, "DEMOB", LATER)

    record(ranked.number, EventInput("DECISCAL", cal, None, (("DATECAL", cal.isoformat()), ("DECISION", "ATTRANG"),
                                                              ("RANG", "2"), ("LOGEMENT", "Metz-Borny 12B"))))
    record(housed.number, EventInput("DECISCAL", cal, None, (("DATECAL", cal.isoformat()), ("DECISION", "ATT"),
                                                             ("LOGEMENT", "Metz-Borny 12B"))))
    report = indicators.run(register_of, LATER.date(), LATER)
    assert report.changed == 0  # no lease yet: the ranked household may still get it
    record(housed.number, EventInput("SIGNBAIL", date(2024, 6, 20), None, (("LOGEMENT", "metz-borny 12b"),)))
    report = indicators.run(register_of, LATER.date(), LATER)
    assert report.changed == 1
    flags = {application.number: stored(register_of, application.number).form.processing.multiple_conditional_allocations
             for application in (ranked, housed, bystander)}
    assert flags == {ranked.number: True, housed.number: False, bystander.number: False}
    found = services.search(register_of(), SearchCriteria(multiple_conditional_allocations=True), "DEMOB")
    assert found.numbers == [str(ranked.number)]


# -- retention ----------------------------------------------------------------------------------


class RecordedDocuments:
    """The documents port as the purge calls it (the register stores no document yet)."""

    def __init__(self):
        self.purged: list[str] = []

    def purge(self, uow, number: str) -> int:
        self.purged.append(number)
        return 2


def cancelled(uow, index: int, on: date):
    application = filed(uow, index)
    when = datetime(on.year, on.month, on.day, 11, 0, tzinfo=PARIS)
    services.cancel(uow(), application.number, Cancellation(on, "RADABA"), "DEMOC", when)
    return application


def test_an_application_is_kept_one_year_after_its_cancellation_then_purged(register_of):
    application = cancelled(register_of, 7, date(2024, 2, 29))
    active = filed(register_of, 8)
    for number in (application.number, active.number):
        shared_management.add_event(register_of(), number, EventInput("DEMPIECE", date(2024, 2, 1), "Relance",
                                                                  (("PIECES", "Avis d'impôt 2023"),)),
                                    "DEMOC", datetime(2024, 3, 1, 9, 0, tzinfo=PARIS))
    documents = RecordedDocuments()
    kept = retention.run(register_of, date(2025, 2, 28), LATER, documents=documents)
    assert kept.purged == 0 and stored(register_of, application.number) is not None
    report = retention.run(register_of, date(2025, 3, 1), LATER, documents=documents)
    assert (report.purged, report.documents) == (1, 2) and documents.purged == [str(application.number)]
    assert stored(register_of, application.number) is None
    assert stored(register_of, active.number) is not None
    number = str(application.number)
    assert count(register_of, "outbox", number=number) == 0
    assert count(register_of, "shared_events", number=number) == 0  # its events and their comments went
    assert count(register_of, "shared_events", number=str(active.number)) == 1
    for index_table in ("application_people", "application_communes", "application_terms"):  # no key cascades
        assert count(register_of, index_table) == count(register_of, index_table, number=str(active.number)) > 0
    kinds = journal_kinds(register_of, application.number)
    assert kinds == [EventKind.REGISTERED, EventKind.CANCELLED, EventKind.SHARED_EVENT_ADDED,
                     EventKind.PURGED]  # the journal stays
    with register_of(readonly=True) as work:
        details = work.events.history(number)[-1].details
    assert details == {"version": 2, "cancelled_on": "2024-02-29", "motive": "RADABA"}
    assert retention.run(register_of, date(2025, 3, 2), LATER, documents).purged == 0  # nothing left to do
    assert services.search(register_of(), SearchCriteria(), "DEMOB").numbers == [str(active.number)]


def test_a_purged_application_keeps_its_number_taken(register_of):
    application = cancelled(register_of, 9, date(2024, 3, 1))
    retention.run(register_of, date(2025, 3, 2), LATER, NO_DOCUMENTS)
    newer = filed(register_of, 10, LATER)
    assert newer.number.sequence > application.number.sequence


# -- the operators' commands ----------------------------------------------------------------------


def test_operators_set_delays_and_run_the_jobs_from_the_command_line(database_url):
    environment = {**os.environ, "SNE_HUB_DATABASE_URL": database_url, "SNE_HUB_LOG_LEVEL": "WARNING"}

    def sne_hub(*args, ok=True):
        result = subprocess.run([str(Path(sys.executable).parent / "sne-hub"), *args], capture_output=True,
                                text=True, env=environment)
        assert (result.returncode == 0) is ok, result.stdout + result.stderr
        return result

    sne_hub("db", "upgrade")
    sne_hub("demo", "seed")
    assert "57  not set: no application flagged" in sne_hub("delays", "list").stdout
    assert "NUU197" in sne_hub("delays", "set", "13", "24", ok=False).stderr
    sne_hub("delays", "set", "57", "1")
    assert "57  1 months" in sne_hub("delays", "list").stdout
    run = sne_hub("indicators", "run", "--date", "2099-01-01")
    assert "indicateurs changés" in run.stdout and "indicators 2099-01-01" in run.stderr  # the progress bar
    assert "0 indicateurs changés" in sne_hub("indicators", "run", "--date", "2099-01-01").stdout
    engine = make_engine(database_url)
    with engine.connect() as connection:
        number = connection.execute(select(orm.applications.c.number).limit(1)).scalar_one()
    engine.dispose()
    assert "indicators:      long wait yes, conditional allocation no" in sne_hub("applications", "show", number).stdout
    assert "0 demandes à effacer" in sne_hub("retention", "run", "--dry-run").stdout
    purge = sne_hub("retention", "run")
    assert "0 demandes radiées depuis plus d'un an effacées" in purge.stdout and "retention" in purge.stderr
    sne_hub("delays", "unset", "57")


# -- what other counters receive ------------------------------------------------------------------


def test_an_indicator_change_is_dispatched_as_a_mod_and_a_purge_erases_the_dispatched_files(register_of):
    dispatching.subscribe(register_of(), "DEMOE", Channel.PULL, Filter(), FILED)
    application = filed(register_of, 11)
    indicators.set_prefect_delay(register_of(), PrefectDelay("57", 24), LATER)
    indicators.run(register_of, LATER.date(), LATER)
    dispatching.fan_out(register_of(), LATER, stored_file)
    items = dispatching.pull(register_of(readonly=True), "DEMOE", 0).items
    assert [(item.kind, item.version) for item in items] == [("CRE", 1), ("MOD", 2)]
    block = etree.fromstring(addressed(items[1].file, "DEMOE")).find(f".//{N}informationTraitement")
    assert block.get(f"{N}modifie") == "true"  # new as a whole: the block is marked
    assert block.findtext(f"{N}estDelaiAnormalementLong") == "true"
    services.cancel(register_of(), application.number, Cancellation(LATER.date(), "RADABA"), "DEMOC", LATER)
    dispatching.fan_out(register_of(), LATER, stored_file)
    retention.run(register_of, date(2027, 1, 21), LATER, NO_DOCUMENTS)
    erased = dispatching.pull(register_of(readonly=True), "DEMOE", 0).items
    assert [item.kind for item in erased] == ["CRE", "MOD", "RAD"]
    assert all(item.file is None for item in erased)  # the deliveries stay, naming a number and nothing else

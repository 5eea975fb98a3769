"""Several processes on one register: what the locks of the data layer promise, proven for real.

The hub runs as several processes (SOAP workers, the mail channel, the renewal clock) on one
database. Its correctness under concurrency rests on a few mechanisms that no single-process test
exercises: the number sequence row locked by ``UPDATE ... RETURNING``, row locks taken by
``get(for_update=True)`` plus the version check of ``save``, PostgreSQL's advisory locks, and on
SQLite ``BEGIN IMMEDIATE`` with a busy timeout. These tests start real OS processes with the
``spawn`` start method (no state inherited from pytest: each worker builds its own engine with
:func:`make_engine` and its own :class:`SqlUnitOfWork`, as a deployed process would), release them
together through a barrier, and then check the database, never the timing.

Workers are module-level functions so that ``spawn`` can import them by name. They never raise:
they report what they did (or their traceback) through a queue, and the parent asserts.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections import Counter as Tally
from datetime import date, datetime, time, timedelta
from time import sleep
from typing import Any, Callable

import pytest
from sqlalchemy import select

from core.adapters import orm
from core.adapters.database import PING_AFTER_IDLE_SECONDS, make_engine
from core.adapters.repository import SqlUnitOfWork, count_rows
from core.demo import COUNTERS, TERRITORY, household_form
from core.domain.application import (
    NOT_RENEWED_CANCELLATION_MONTHS_AFTER,
    NOT_RENEWED_REACTIVATION_MONTHS_AFTER,
    RENEWAL_OPENS_MONTHS_BEFORE,
)
from core.domain.calendar import PARIS, add_months, anniversary
from core.domain.codes import ApplicationState, CancellationMotive
from core.domain.events import EventKind
from core.domain.numbers import RegistrationNumber
from core.domain.renewal import FIRST_NOTICE_MONTHS_BEFORE, SECOND_NOTICE_MONTHS_BEFORE
from core.service_layer import renewal_clock, services

from .notices import notices_leave

pytestmark = pytest.mark.slow

SPAWN = multiprocessing.get_context("spawn")
BARRIER_TIMEOUT = 60  # seconds; only reached if another worker died before the start line
RESULT_TIMEOUT = 300  # seconds; a hung worker (a deadlock) fails the test instead of hanging it
COUNTER_CODES = tuple(counter.code for counter in COUNTERS)  # DEMOB, DEMOC, DEMOE, all in 057

REGISTERED = EventKind.REGISTERED.value
RENEWED = EventKind.RENEWED.value
NOTICE = EventKind.RENEWAL_NOTICE.value
CANCELLED = EventKind.CANCELLED.value


# -- workers (run in spawned processes) ----------------------------------------------------------


def _worker(job: Callable[..., Any], url: str, name: str, barrier, results, args: tuple) -> None:
    """Build this process's own engine, wait for every other worker, run ``job``, report back."""
    engine = None
    try:
        engine = make_engine(url)
        engine.connect().close()  # connection set-up (and SQLite's PRAGMAs) before the start line
        unit_of_work = lambda: SqlUnitOfWork(engine)  # noqa: E731
        barrier.wait(BARRIER_TIMEOUT)
        results.put((name, "ok", job(unit_of_work, *args)))
    except BaseException:  # noqa: BLE001 - the parent must hear of anything, even a broken barrier
        barrier.abort()  # the others stop waiting for this one at the start line
        results.put((name, "crashed", traceback.format_exc()))
    finally:
        if engine is not None:
            engine.dispose()


def _describe(error: Exception) -> str:
    """The class and first line of an error (SQLAlchemy's messages run to pages of SQL)."""
    first_line = (str(error).splitlines() or [""])[0]
    return f"{error.__class__.__name__}: {first_line[:300]}"


def _register_many(unit_of_work, proc: int, count: int, now: datetime) -> dict[str, Any]:
    """Register ``count`` households of this worker's own, each at one of the territory's counters.

    Surname, first name and birth date differ from every other worker's, so that no registration
    is refused as a duplicate. A failure is noted and the worker goes on, so that all are counted.
    """
    numbers, failures = [], []
    for i in range(count):
        form = household_form(f"P{proc}N{i}", f"Prenom{proc}x{i}", date(1950, 1, 1) + timedelta(days=proc * 5000 + i))
        try:
            application = services.register(unit_of_work(), form, now.date(), COUNTER_CODES[(proc + i) % 3], now)
        except Exception as error:  # noqa: BLE001 - reported and asserted on by the parent
            failures.append(f"{proc}/{i}: {_describe(error)}")
        else:
            numbers.append(str(application.number))
    return {"numbers": numbers, "failures": failures}


def _register_same_households(unit_of_work, count: int, now: datetime) -> dict[str, Any]:
    """Try to register the same ``count`` households as every other worker, in the same order."""
    accepted, refused = {}, {}
    for i in range(count):
        form = household_form(f"Commun{i}", "Sacha", date(1970, 1, 1) + timedelta(days=i))
        try:
            application = services.register(unit_of_work(), form, now.date(), COUNTER_CODES[i % 3], now)
        except Exception as error:  # noqa: BLE001 - reported and asserted on by the parent
            refused[i] = _describe(error)
        else:
            accepted[i] = str(application.number)
    return {"accepted": accepted, "refused": refused}


def _renew_many(unit_of_work, numbers: list[str], now: datetime, start, first_done, first_count: int
                ) -> dict[str, Any]:
    """Once ``start`` is set, renew each application at its registering counter, in the given order.

    ``first_done`` is set after the first ``first_count`` renewals. Reports which were accepted.
    """
    if not start.wait(BARRIER_TIMEOUT):
        raise RuntimeError("the clock never signalled the start of the renewals")
    accepted, refused = [], []
    for index, text in enumerate(numbers):
        number = RegistrationNumber.parse(text)
        try:
            services.renew(unit_of_work(), number, number.counter, now)
        except Exception as error:  # noqa: BLE001 - reported and asserted on by the parent
            refused.append(f"{text}: {_describe(error)}")
        else:
            accepted.append(text)
        if index + 1 == first_count:
            first_done.set()
    first_done.set()
    return {"accepted": accepted, "refused": refused}


def _run_clock(unit_of_work, today: date, now: datetime, pause_after: int, paused, resume) -> dict[str, int]:
    """The daily job for ``today``, pausing once, between two applications, after ``pause_after``.

    The pause (outside any transaction) is what guarantees that both orders happen in every run,
    whatever the speed of each process: the applications handled before it were reached by the
    clock before the counter started renewing; the counter's first renewals commit during it, for
    applications the clock has already listed as pending but not yet reached. After it, both run
    freely.
    """
    handled = 0

    def progress(done: int) -> None:
        nonlocal handled
        handled += done
        if handled == pause_after:
            paused.set()
            if not resume.wait(BARRIER_TIMEOUT):
                raise RuntimeError("the counter never renewed its first applications")

    report = renewal_clock.run(unit_of_work, today, now, progress=progress)
    return {"examined": report.examined, "first_notices": report.first_notices,
            "second_notices": report.second_notices, "cancelled": report.cancelled}


def _race(url: str, jobs: dict[str, tuple[Callable[..., Any], tuple]]) -> dict[str, Any]:
    """Start one spawned process per job, release them together, return each one's result by name."""
    barrier = SPAWN.Barrier(len(jobs))
    results = SPAWN.Queue()
    processes = [SPAWN.Process(target=_worker, args=(job, url, name, barrier, results, args), name=name)
                 for name, (job, args) in jobs.items()]
    for process in processes:
        process.start()
    reports: dict[str, Any] = {}
    crashes: list[str] = []
    finished: set[str] = set()
    try:
        for _ in processes:  # drain the queue before joining, or a worker blocks on a full pipe
            name, status, payload = results.get(timeout=RESULT_TIMEOUT)
            finished.add(name)
            if status == "ok":
                reports[name] = payload
            else:
                crashes.append(f"worker {name} crashed:\n{payload}")
    except queue.Empty:
        crashes.append(f"workers {sorted(set(jobs) - finished)} did not finish in {RESULT_TIMEOUT}s")
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.terminate()
                process.join()
    assert not crashes, "\n".join(crashes)
    assert all(process.exitcode == 0 for process in processes), [p.exitcode for p in processes]
    return reports


# -- helpers of the parent ----------------------------------------------------------------------


def _at(day: date) -> datetime:
    """Mid-morning in Paris on ``day``: the ``now`` of every use case called for that day."""
    return datetime.combine(day, time(10), tzinfo=PARIS)


def _seed_reference_data(uow) -> None:
    """The demo territory and counters, without the demo households: sequences start at 1."""
    services.add_territory(uow(), TERRITORY)
    for counter in COUNTERS:
        services.add_counter(uow(), counter)


def _register_sequentially(uow, count: int, now: datetime) -> list[str]:
    """``count`` households filed and registered on ``now``, in this order (their sequence order)."""
    return [
        str(services.register(uow(), household_form(f"Foyer{i}", "Alix", date(1980, 1, 1) + timedelta(days=i)),
                              now.date(), COUNTER_CODES[i % 3], now).number)
        for i in range(count)
    ]


def _applications(uow) -> dict[str, dict[str, Any]]:
    with uow(readonly=True) as unit:
        rows = unit.connection.execute(select(orm.applications)).mappings()
        return {row["number"]: {k: v for k, v in row.items() if k not in ("form", "id")} for row in rows}


def _journal(uow) -> list[dict[str, Any]]:
    with uow(readonly=True) as unit:
        rows = unit.connection.execute(select(orm.journal).order_by(orm.journal.c.id)).mappings()
        return [dict(row) for row in rows]


def _outbox_tally(uow) -> Tally:
    with uow(readonly=True) as unit:
        rows = unit.connection.execute(select(orm.outbox.c.number, orm.outbox.c.topic))
        return Tally((number, topic) for number, topic in rows)


def _by_number(journal: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in journal:
        grouped.setdefault(entry["number"], []).append(entry)
    return grouped


def _kinds(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["kind"] for entry in entries]


def _assert_registrations(uow, reports: dict[str, Any], total: int, now: datetime) -> None:
    failures = [failure for report in reports.values() for failure in report["failures"]]
    assert not failures, f"{len(failures)} registrations refused, e.g. {failures[:5]}"
    numbers = [number for report in reports.values() for number in report["numbers"]]
    assert len(numbers) == total
    assert len(set(numbers)) == total, "two processes were handed the same number"
    prefix = f"{TERRITORY.code}{now:%m%y}"
    assert all(number.startswith(prefix) for number in numbers)
    sequences = sorted(RegistrationNumber.parse(number).sequence for number in numbers)
    assert sequences == list(range(1, total + 1)), "the sequence skipped or repeated a value"

    with uow(readonly=True) as unit:
        connection = unit.connection
        assert count_rows(connection, "applications") == total
        stored = set(connection.scalars(select(orm.applications.c.number)))
        last_value = unit.sequences.last(TERRITORY.code)
        journal = connection.execute(select(orm.journal.c.number, orm.journal.c.kind)).all()
        outbox = connection.execute(select(orm.outbox.c.number, orm.outbox.c.topic)).all()
        people = count_rows(connection, "application_people")
    assert stored == set(numbers), "a number handed to a counter is not the one stored"
    assert last_value == total
    assert Tally(kind for _, kind in journal) == {REGISTERED: total}
    assert {number for number, _ in journal} == stored, "one journal line per application"
    assert Tally(topic for _, topic in outbox) == {REGISTERED: total}
    assert {number for number, _ in outbox} == stored, "one outbox message per application"
    assert people == total, "each application indexes its one adult for the duplicate check"


# -- registrations ------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_four_processes_register_2000_distinct_numbers_on_postgresql(database_url, uow, now):
    """Four processes registering in one territory at once share one sequence without repeat.

    The registration number certifies seniority and must never repeat. On PostgreSQL each
    territory draws from a native sequence, outside any lock; when no registration fails after its
    draw (as here) the numbers are also gapless, and every committed number comes with its
    application, journal line and outbox message.
    """
    _seed_reference_data(uow)
    per_process, processes = 500, 4
    reports = _race(database_url, {
        f"registrar-{proc}": (_register_many, (proc, per_process, now)) for proc in range(processes)
    })
    _assert_registrations(uow, reports, per_process * processes, now)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_four_processes_register_400_distinct_numbers_on_sqlite(database_url, uow, now):
    """The same on the embedded default: several hub processes on one SQLite file stay correct.

    SQLite has no row locks: ``BEGIN IMMEDIATE`` takes the write lock before the sequence is
    read, and the busy timeout makes the others wait instead of failing with "database is locked".
    """
    _seed_reference_data(uow)
    per_process, processes = 100, 4
    reports = _race(database_url, {
        f"registrar-{proc}": (_register_many, (proc, per_process, now)) for proc in range(processes)
    })
    _assert_registrations(uow, reports, per_process * processes, now)


def test_processes_registering_the_same_households_register_each_once(database_url, uow, now):
    """Four counters sending the same households at once: each is registered once, never twice.

    The duplicate check reads, then the registration writes: two transactions could both find no
    duplicate and both insert. PostgreSQL serialises them with an advisory lock per identity taken
    before the check (``lock_identities``), SQLite with ``BEGIN IMMEDIATE``. Each worker tries the
    same households in the same order, so that all four reach each one together.
    """
    _seed_reference_data(uow)
    households, processes = 25, 4
    reports = _race(database_url, {
        f"registrar-{proc}": (_register_same_households, (households, now)) for proc in range(processes)
    })
    for index in range(households):
        winners = [report["accepted"][index] for report in reports.values() if index in report["accepted"]]
        losers = [report["refused"][index] for report in reports.values() if index in report["refused"]]
        assert len(winners) == 1, f"household {index} registered {len(winners)} times: {winners}"
        assert len(losers) == processes - 1
        assert all(loser.startswith("DuplicateSuspected") for loser in losers), losers
    winners = [number for report in reports.values() for number in report["accepted"].values()]
    assert len(set(winners)) == households
    with uow(readonly=True) as unit:
        assert count_rows(unit.connection, "applications") == households
        assert count_rows(unit.connection, "journal") == households
        last_value = unit.sequences.last(TERRITORY.code)
    assert last_value == households, "a refused registration consumed a number"


# -- the renewal clock racing with counters -----------------------------------------------------

APPLICATIONS = 200  # registered in sequence order, which is also the clock's order (same due date)
CLOCK_PAUSE_AFTER = 50  # the clock handles these first applications before any renewal
COUNTER_HEAD_START = 10  # the counter renews its first ones (the clock's last) while the clock waits


def _clock_and_counter(url: str, day: date, numbers: list[str], to_renew: list[str]
                       ) -> tuple[dict[str, int], dict[str, Any]]:
    """Race the clock for ``day`` against a counter renewing ``to_renew``; ``numbers`` is the clock's order.

    While the clock pauses, the counter renews the last applications the clock will reach. Then it
    renews from where the clock stands, in the clock's order: the two walk the list side by side
    (the counter renews every other application, the clock handles each, a notice or cancellation
    for one, a bare look at the other) and keep meeting on the same rows. The renewals of the
    applications the clock already handled come last.
    """
    position = {number: index for index, number in enumerate(numbers)}
    head_start = _counter_head_start(to_renew)
    rest = [number for number in to_renew if number not in head_start]
    order = (head_start
             + [number for number in rest if position[number] >= CLOCK_PAUSE_AFTER]
             + [number for number in rest if position[number] < CLOCK_PAUSE_AFTER])
    paused, resumed = SPAWN.Event(), SPAWN.Event()
    reports = _race(url, {
        "clock": (_run_clock, (day, _at(day), CLOCK_PAUSE_AFTER, paused, resumed)),
        "counter": (_renew_many, (order, _at(day), paused, resumed, COUNTER_HEAD_START)),
    })
    return reports["clock"], reports["counter"]


def _counter_head_start(to_renew: list[str]) -> list[str]:
    return list(reversed(to_renew))[:COUNTER_HEAD_START]


def _forced_orders(numbers: list[str], to_renew: list[str]) -> tuple[set[str], set[str]]:
    """Renewed applications the clock surely reached first, and those the counter surely renewed first."""
    clock_first = set(numbers[:CLOCK_PAUSE_AFTER]) & set(to_renew)
    counter_first = set(_counter_head_start(to_renew))
    assert clock_first and counter_first and not clock_first & counter_first
    return clock_first, counter_first


def test_renewal_clock_racing_with_renewals_loses_nothing(database_url, uow, now):
    """The clock sending first notices while a counter renews half of the same applications.

    On the first-notice day every application is due a notice and open for renewal. Whatever the
    interleaving, a renewal must survive (the clock must not write back the application it loaded
    before the renewal committed, with the old due date), a notice must be sent to every
    application not renewed, each change must be journalled and queued once, and running the clock
    again for the same day must do nothing.
    """
    _seed_reference_data(uow)
    numbers = _register_sequentially(uow, APPLICATIONS, now)  # filed today: due in a year
    due = anniversary(now.date(), 1)
    notice_day = add_months(due, -FIRST_NOTICE_MONTHS_BEFORE)
    assert add_months(due, -RENEWAL_OPENS_MONTHS_BEFORE) <= notice_day < add_months(due, -SECOND_NOTICE_MONTHS_BEFORE)
    renewed_due = anniversary(now.date(), 2)
    to_renew = numbers[::2]  # every other one, so renewed and untouched applications are neighbours
    journal_before = len(_journal(uow))

    clock_first, counter_first = _forced_orders(numbers, to_renew)

    clock, renewals = _clock_and_counter(database_url, notice_day, numbers, to_renew)
    assert not renewals["refused"], renewals["refused"][:5]
    assert sorted(renewals["accepted"]) == sorted(to_renew)
    assert clock["examined"] == APPLICATIONS, "the clock listed its work before any renewal"
    assert clock["second_notices"] == 0 and clock["cancelled"] == 0

    applications = _applications(uow)
    journal = _journal(uow)[journal_before:]
    history = _by_number(journal)
    assert Tally(_kinds(journal)) == {RENEWED: len(to_renew), NOTICE: clock["first_notices"]}
    for number in numbers:
        application, entries = applications[number], history.get(number, [])
        if number in to_renew:
            assert application["state"] == ApplicationState.ACTIVE.value, number
            assert application["version"] == 2, f"{number}: one renewal, one new version"
            assert application["last_renewed_on"] == notice_day, number
            assert application["next_due"] == renewed_due, f"{number}: the renewal was overwritten"
            assert application["notice_requested_on"] is None, f"{number}: a notice for the old due date survived"
            assert _kinds(entries) in ([RENEWED], [NOTICE, RENEWED]), f"{number}: {_kinds(entries)}"
            if number in clock_first:
                assert _kinds(entries) == [NOTICE, RENEWED], f"{number}: the clock's notice is lost"
            if number in counter_first:
                assert _kinds(entries) == [RENEWED], f"{number}: notice sent after the renewal"
            renewal = entries[-1]["details"]
            assert renewal["version"] == 2 and renewal["next_due"] == renewed_due.isoformat()
            assert renewal["reactivated"] is False
        else:
            assert application["version"] == 1, f"{number}: a notice is not a new version"
            assert application["next_due"] == due and application["last_renewed_on"] is None, number
            assert application["notice_requested_on"] == notice_day, f"{number}: no notice recorded"
            assert application["notice_sent_on"] is None, f"{number}: requested is not sent"
            assert application["second_notice_requested_on"] is None, number
            assert _kinds(entries) == [NOTICE], f"{number}: {_kinds(entries)}"
            assert entries[0]["details"]["notice"] == "first" and entries[0]["details"]["due"] == due.isoformat()
    noticed_then_renewed = sum(1 for number in to_renew if _kinds(history[number])[0] == NOTICE)
    assert clock["first_notices"] == APPLICATIONS - len(to_renew) + noticed_then_renewed
    outbox = _outbox_tally(uow)
    assert outbox == Tally((entry["number"], entry["kind"]) for entry in _journal(uow)), \
        "every journal line has its outbox message and no other message was queued"

    again = renewal_clock.run(uow, notice_day, _at(notice_day))
    assert (again.first_notices, again.second_notices, again.cancelled) == (0, 0, 0)
    assert _applications(uow) == applications, "running the clock twice for a day changed applications"
    assert len(_journal(uow)) == journal_before + len(journal), "running the clock twice journalled again"


def test_renewal_clock_cancellations_racing_with_late_renewals_lose_nothing(database_url, uow, now):
    """The clock cancelling unrenewed applications (RADREN) while a counter renews half of them late.

    Both notices left in time (the channels took them), so a few days after the cancellation date (one month after the
    due date) the clock cancels every application still not renewed, as of that date. A counter
    renewing late at the same moment either gets there first (a plain late renewal) or second, and
    then, by the domain's rule, its renewal reactivates the application cancelled for non-renewal
    (it is within six months of the due date). Either way the renewal must be accepted and end active with the new due date; no
    application may end cancelled after a renewal was accepted, nor renewed and cancelled at once.
    """
    _seed_reference_data(uow)
    numbers = _register_sequentially(uow, APPLICATIONS, now)
    due = anniversary(now.date(), 1)
    renewed_due = anniversary(now.date(), 2)
    first_notice_day = add_months(due, -FIRST_NOTICE_MONTHS_BEFORE)
    second_notice_day = add_months(due, -SECOND_NOTICE_MONTHS_BEFORE)
    assert renewal_clock.run(uow, first_notice_day, _at(first_notice_day)).first_notices == APPLICATIONS
    notices_leave(uow, _at(first_notice_day))
    assert renewal_clock.run(uow, second_notice_day, _at(second_notice_day)).second_notices == APPLICATIONS
    notices_leave(uow, _at(second_notice_day))
    cancellation_day = add_months(due, NOT_RENEWED_CANCELLATION_MONTHS_AFTER)
    race_day = cancellation_day + timedelta(days=5)  # the clock catches up; the cancellation keeps its date
    assert race_day <= add_months(due, NOT_RENEWED_REACTIVATION_MONTHS_AFTER)
    to_renew = numbers[::2]
    journal_before = len(_journal(uow))

    clock_first, counter_first = _forced_orders(numbers, to_renew)

    clock, renewals = _clock_and_counter(database_url, race_day, numbers, to_renew)
    assert not renewals["refused"], renewals["refused"][:5]
    assert sorted(renewals["accepted"]) == sorted(to_renew)
    assert clock["examined"] == APPLICATIONS, "the clock listed its work before any renewal"
    assert clock["first_notices"] == 0 and clock["second_notices"] == 0

    applications = _applications(uow)
    journal = _journal(uow)[journal_before:]
    history = _by_number(journal)
    assert Tally(_kinds(journal)) == {RENEWED: len(to_renew), CANCELLED: clock["cancelled"]}
    reactivated = 0
    for number in numbers:
        application, entries = applications[number], history.get(number, [])
        if number in to_renew:
            assert application["state"] == ApplicationState.ACTIVE.value, f"{number}: accepted renewal lost"
            assert application["cancellation_motive"] is None and application["cancelled_on"] is None, number
            assert application["next_due"] == renewed_due, number
            assert application["last_renewed_on"] == race_day, number
            assert application["notice_sent_on"] is None and application["second_notice_sent_on"] is None, number
            if number in clock_first:
                assert _kinds(entries) == [CANCELLED, RENEWED], f"{number}: {_kinds(entries)}"
            if number in counter_first:
                assert _kinds(entries) == [RENEWED], f"{number}: {_kinds(entries)}"
            if _kinds(entries) == [RENEWED]:  # the counter came first
                assert application["version"] == 2, number
                assert entries[0]["details"]["reactivated"] is False, number
            else:  # the clock came first: the late renewal reactivated the application
                assert _kinds(entries) == [CANCELLED, RENEWED], f"{number}: {_kinds(entries)}"
                assert entries[0]["details"]["motive"] == CancellationMotive.NOT_RENEWED.value, number
                assert application["version"] == 3, f"{number}: cancellation and renewal, two versions"
                assert entries[1]["details"] == {"version": 3, "next_due": renewed_due.isoformat(),
                                                 "reactivated": True}, number
                reactivated += 1
        else:
            assert application["state"] == ApplicationState.CANCELLED.value, f"{number}: not cancelled"
            assert application["cancellation_motive"] == CancellationMotive.NOT_RENEWED.value, number
            assert application["cancelled_on"] == cancellation_day, number
            assert application["version"] == 2 and application["next_due"] == due, number
            assert _kinds(entries) == [CANCELLED], f"{number}: {_kinds(entries)}"
            assert entries[0]["details"] == {"version": 2, "motive": CancellationMotive.NOT_RENEWED.value,
                                             "date": cancellation_day.isoformat()}, number
    assert clock["cancelled"] == APPLICATIONS - len(to_renew) + reactivated
    assert _outbox_tally(uow) == Tally((entry["number"], entry["kind"]) for entry in _journal(uow)
                                       if EventKind(entry["kind"]).queued)

    again = renewal_clock.run(uow, race_day, _at(race_day))
    assert (again.first_notices, again.second_notices, again.cancelled) == (0, 0, 0)
    assert _applications(uow) == applications, "running the clock twice for a day changed applications"
    assert len(_journal(uow)) == journal_before + len(journal), "running the clock twice journalled again"


def test_a_connection_the_server_dropped_while_idle_is_replaced(postgres_url):
    """The pool pings only connections idle for a while (core/adapters/database.py): one the server
    closed between two requests (a restart, an idle timeout) is replaced, the request does not fail."""
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with make_engine(postgres_url).connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        sleep(PING_AFTER_IDLE_SECONDS * 1.5)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != pid
    finally:
        engine.dispose()


def test_sqlite_writers_of_one_process_take_turns_and_give_them_back(tmp_path):
    """Threads of one process queue for SQLite's write lock on their engine's lock: every turn is
    given back, after a commit, a rollback, or a transaction that failed, and no writer is refused."""
    import threading

    engine = make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE written (thread INTEGER, n INTEGER)")
    with pytest.raises(RuntimeError), engine.begin() as connection:  # rolled back: its turn comes back
        connection.exec_driver_sql("INSERT INTO written VALUES (-1, -1)")
        raise RuntimeError("the use case refused")
    with pytest.raises(Exception), engine.begin() as connection:  # a failing statement: the same
        connection.exec_driver_sql("INSERT INTO missing VALUES (1)")
    failures: list[BaseException] = []

    def write(thread: int) -> None:
        try:
            for n in range(25):
                with engine.begin() as connection:
                    connection.exec_driver_sql("INSERT INTO written VALUES (?, ?)", (thread, n))
        except BaseException as error:  # noqa: BLE001 - reported to the test
            failures.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT thread, count(*) FROM written GROUP BY thread").all()
    assert sorted(rows) == [(thread, 25) for thread in range(8)]
    with engine.connect() as connection:  # nobody holds a turn now: a writer goes straight in
        assert connection.connection.dbapi_connection.writers.threads.acquire(blocking=False)
        connection.connection.dbapi_connection.writers.threads.release()
    engine.dispose()


def _write_without_busy_handler(url: str, process: int, count: int, barrier, results) -> None:
    """Increment a shared row ``count`` times, with SQLite's busy handler off: a writer that met
    another in SQLite instead of in the writer queue would be refused at once ("database is locked")."""
    from sqlalchemy import event

    engine = None
    try:
        engine = make_engine(url)
        event.listen(engine, "connect", lambda dbapi_connection, _record: dbapi_connection.execute(
            "PRAGMA busy_timeout=0"))
        engine.connect().close()
        barrier.wait(BARRIER_TIMEOUT)
        for n in range(count):
            with engine.begin() as connection:
                connection.exec_driver_sql("UPDATE shared SET n = n + 1")
                connection.exec_driver_sql("INSERT INTO written VALUES (?, ?)", (process, n))
        results.put((process, "ok", None))
    except BaseException:  # noqa: BLE001 - reported to the parent
        barrier.abort()
        results.put((process, "crashed", traceback.format_exc()))
    finally:
        if engine is not None:
            engine.dispose()


def test_sqlite_writers_of_several_processes_queue_on_the_lock_file(tmp_path):
    """Two processes writing one SQLite file take turns on the lock file next to it, never in
    SQLite's busy handler: with that handler off, not one of their transactions is refused."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE shared (n INTEGER)")
        connection.exec_driver_sql("INSERT INTO shared VALUES (0)")
        connection.exec_driver_sql("CREATE TABLE written (process INTEGER, n INTEGER)")
    count, barrier, results = 300, SPAWN.Barrier(2), SPAWN.Queue()
    workers = [SPAWN.Process(target=_write_without_busy_handler, args=(url, process, count, barrier, results))
               for process in range(2)]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=RESULT_TIMEOUT) for _ in workers]
    for worker in workers:
        worker.join()
    assert [status for _, status, _ in reports] == ["ok", "ok"], reports
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT n FROM shared").scalar_one() == 2 * count
        assert connection.exec_driver_sql("SELECT count(*) FROM written").scalar_one() == 2 * count
    assert (tmp_path / "shared.db.writers").exists()
    engine.dispose()

"""Registrations per second through core/, on SQLite and on PostgreSQL, against a plain-insert baseline.

What one registration is: ``core.service_layer.services.register`` with a complete household form
from ``core.demo.household_form`` (applicant, co-applicant, two children, resources, housing,
motives), each time for different people so that the duplicate check passes. The service opens its
unit of work, reads the counter and the territory, validates the form, locks and searches the
identities, takes the territory's next sequence number, inserts the application, its indexed
people and communes, the journal and the outbox rows, and commits.

The baseline, measured in the same run and the same database: the same forms serialised with
``core.adapters.serialization.to_document`` and inserted as one JSON row each in a plain table
(created here with SQLAlchemy Core), one transaction per insert, on the same engine (so SQLite's
``BEGIN IMMEDIATE`` applies to both). The ratio core/baseline says how much of the database's raw
single-row write rate the register keeps.

Every measurement runs in freshly spawned processes (one, then ``--processes`` of them), which build
their forms, open their connection and do a few untimed warm-up writes before a barrier; the clock
starts at the barrier. Throughput is registrations over the wall time from the first process leaving
the barrier to the last one finishing; latency is per call; CPU per write is the writer processes'
CPU time (``process_time``) over the writes, and on PostgreSQL their server processes' (``/proc``),
which say what a write costs whatever the neighbours take of the cores; peak memory is each process's
``ru_maxrss`` (the largest of the processes when there are several). Each measurement is repeated
``--runs`` times and reported as the median with the min and max; within a run, core and baseline
are measured back to back, and the ratio is taken run by run. Each database is created once and
grows over the runs (every registration is kept). Nothing is asserted: it is a measurement, not a
test.

    .venv/bin/python bench/registrations.py --help
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `.venv/bin/python bench/registrations.py` from anywhere

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import queue  # noqa: E402
import resource  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import uuid  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

# The coordinating process imports only the standard library. SQLAlchemy, psycopg and core are
# imported by the spawned processes that use them: a spawned child's ru_maxrss starts at its
# parent's resident size at the time of the spawn (Linux keeps the high-water mark across fork and
# exec), so a lean parent is what makes each worker's getrusage peak its own.

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_COUNT = 500  # per measurement: the default benchmark takes ~45 s on an idle 2-core machine, 1.5 min busy
WARMUP = 5  # untimed writes per process before the barrier (connection, statement caches)
BARRIER_TIMEOUT_S = 300

CORE, BASELINE = "core", "baseline"
COUNTER_CODES = ("DEMOB", "DEMOC", "DEMOE")  # core.demo.COUNTERS, in the demo territory 057
FIRST_NAMES = ("Claire", "Thanh", "Jérôme", "Aïcha", "Nathalie", "Karim", "Sophie", "Lucas", "Fatou",
               "Hélène", "Yann", "Chloé", "Mehdi", "Élodie", "Paul", "Inès")
PARTNER_FIRST_NAMES = ("Minh", "Julien", "Sarah", "Omar", "Marc", "Léa", "Hugo", "Amina")
BASELINE_TABLE = "bench_baseline_registrations"


# -- the workload (runs in the spawned processes) -------------------------------------------------


def baseline_table(metadata: Any = None) -> Any:
    """The plain table of the baseline: an id and the form as JSON (JSONB on PostgreSQL, as core's)."""
    from sqlalchemy import Column, MetaData, Table

    from core.adapters.orm import Document, Identifier

    return Table(
        BASELINE_TABLE,
        metadata if metadata is not None else MetaData(),
        Column("id", Identifier, primary_key=True, autoincrement=True),
        Column("document", Document, nullable=False),
    )


def _letters(index: int) -> str:
    """A distinct, name-like suffix for every index: 0 -> 'a', 25 -> 'z', 26 -> 'ba'..."""
    letters = ""
    while True:
        index, digit = divmod(index, 26)
        letters = chr(ord("a") + digit) + letters
        if index == 0:
            return letters


def person_form(index: int) -> Any:
    """The demo's full household (couple, two children), for people nobody else in the benchmark has."""
    from core import demo

    surname = f"Martin-{_letters(index).capitalize()}"
    birth_date = date(1940, 1, 1) + timedelta(days=index % 20_000)  # 1940..1994: spreads the identity locks
    partner_birth_date = birth_date - timedelta(days=400)
    return demo.household_form(
        surname,
        FIRST_NAMES[index % len(FIRST_NAMES)],
        birth_date,
        co_applicant=(surname, PARTNER_FIRST_NAMES[index % len(PARTNER_FIRST_NAMES)], partner_birth_date),
    )


HOUSEHOLDS = ("small", "full", "large")
LARGE_COMMUNES = 30  # wished communes of the large household: the most the register reads (NUU105 beyond)


def household_form(size: str, index: int) -> Any:
    """A household of ``size`` for people nobody else in the benchmark has, as counters send them.

    small: one applicant alone, one wished commune, no phone nor e-mail (3.2 KB as a CRE file);
    full: the household of issue 9, the applicant with a birth name, a co-holder, three dependants,
    resources (the co-holder's too), current housing and six wished communes (5.4 KB); large: the
    full one wishing for ``LARGE_COMMUNES`` communes of Moselle (7.4 KB).
    """
    from dataclasses import replace

    from core import demo
    from core.domain import codes
    from core.domain.form import Dependant, WishedLocation

    if size == "small":
        form = demo.household_form(f"Martin-{_letters(index).capitalize()}", FIRST_NAMES[index % len(FIRST_NAMES)],
                                   date(1940, 1, 1) + timedelta(days=index % 20_000), communes=(demo.METZ,),
                                   email=None, mobile=None)
        household = replace(form.household, dependants=[],
                            current_housing=replace(form.household.current_housing, occupants=1))
        return replace(form, household=household)
    form = person_form(index)
    applicant = replace(form.household.applicant, birth_name=f"Durand-{_letters(index).capitalize()}")
    third = Dependant(applicant.surname, "Noé", date(2021, 5, 14), codes.Sex.MALE.value, codes.Kinship.CHILD.value)
    household = replace(form.household, applicant=applicant, dependants=[*form.household.dependants, third],
                        current_housing=replace(form.household.current_housing, occupants=5))
    partner = form.household.co_applicants[0]
    partner = replace(partner,
                      professional_situation=replace(applicant.professional_situation, profession="Magasinier",
                                                     main_employer="Logistique Woippy"),
                      tax_income=applicant.tax_income, resources_received=applicant.resources_received)
    household = replace(household, co_applicants=[partner])
    communes = (demo.METZ, demo.THIONVILLE, demo.MONTIGNY, demo.WOIPPY, "57606", "57227")  # ..., Sarreguemines, Forbach
    if size == "large":
        communes += tuple(f"57{number:03d}" for number in range(1, LARGE_COMMUNES - len(communes) + 1))
    housing_sought = replace(form.housing_sought, wished_locations=[WishedLocation(code) for code in communes])
    return replace(form, household=household, housing_sought=housing_sought)


def core_writer() -> Any:
    from core.adapters.repository import SqlUnitOfWork
    from core.domain.calendar import PARIS
    from core.service_layer import services

    def register_one(engine: Any, form: Any, counter_code: str) -> None:
        now = datetime.now(PARIS)
        services.register(SqlUnitOfWork(engine), form, now.date(), counter_code, now)

    return register_one


def baseline_writer() -> Any:
    from sqlalchemy import insert

    from core.adapters.serialization import to_document

    statement = insert(baseline_table())

    def insert_one(engine: Any, form: Any, counter_code: str) -> None:
        with engine.begin() as connection:  # one transaction per insert, like the service
            connection.execute(statement.values(document=to_document(form)))

    return insert_one


WRITERS = {CORE: core_writer, BASELINE: baseline_writer}


def worker(writer: str, url: str, first_index: int, count: int, counter_code: str,
           barrier: Any, results: Any) -> None:
    """Warm up, wait for the others, write ``count`` forms, report timings and peak memory."""
    engine = None
    try:
        from core.adapters.database import make_engine

        write = WRITERS[writer]()
        engine = make_engine(url)
        forms = [person_form(first_index + i) for i in range(WARMUP + count)]
        for form in forms[:WARMUP]:
            write(engine, form, counter_code)
        backend = backend_pid(engine)
        barrier.wait(BARRIER_TIMEOUT_S)
        latencies = []
        cpu_before, backend_before = time.process_time(), process_cpu_s(backend)
        started = time.perf_counter()  # CLOCK_MONOTONIC: comparable between processes on Linux
        for form in forms[WARMUP:]:
            before = time.perf_counter()
            write(engine, form, counter_code)
            latencies.append(time.perf_counter() - before)
        finished = time.perf_counter()
        cpu = (time.process_time() - cpu_before, process_cpu_s(backend) - backend_before)
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        results.put(("ok", started, finished, latencies, peak_kib, cpu))
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which stops the benchmark
        barrier.abort()
        results.put(("error", f"{error.__class__.__name__}: {error}\n{traceback.format_exc()}"))
    finally:
        if engine is not None:
            engine.dispose()


def backend_pid(engine: Any) -> int | None:
    """The PostgreSQL server process of the engine's one pooled connection (a writer uses one)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


def process_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process on this machine (0 for None), from /proc."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- measurements (in the coordinating process) ---------------------------------------------------


@dataclass
class Sample:
    """One measurement: ``count`` writes, by one process or shared between several."""

    count: int
    wall_s: float
    latencies_s: list[float]
    peak_rss_kib: int  # the largest of the processes
    cpu_s: float = 0.0  # the writer processes' CPU, summed
    server_cpu_s: float = 0.0  # their PostgreSQL server processes' CPU, summed (0 on SQLite)

    def cpu_ms_per_write(self, server: bool = False) -> float:
        return (self.server_cpu_s if server else self.cpu_s) * 1000 / self.count

    @property
    def throughput(self) -> float:
        return self.count / self.wall_s

    def percentile_ms(self, p: float) -> float:
        return percentile(self.latencies_s, p) * 1000


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class IndexAllocator:
    """Hands out disjoint ranges of people, so no registration of the whole benchmark is a duplicate."""

    def __init__(self) -> None:
        self.next = 0

    def take(self, size: int) -> int:
        first, self.next = self.next, self.next + size
        return first


def measure(context: Any, writer: str, url: str, count: int, processes: int, people: IndexAllocator) -> Sample:
    shares = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
    barrier = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(
            target=worker,
            args=(writer, url, people.take(WARMUP + share), share, COUNTER_CODES[i % len(COUNTER_CODES)],
                  barrier, results),
            daemon=True,
        )
        for i, share in enumerate(shares)
    ]
    for process in workers:
        process.start()
    reports = []
    try:
        while len(reports) < processes:
            try:
                report = results.get(timeout=5)
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in workers):
                    raise RuntimeError(f"a {writer} worker died: exit codes {[p.exitcode for p in workers]}")
                continue
            if report[0] == "error":
                raise RuntimeError(f"a {writer} worker failed on {url.split(':', 1)[0]}: {report[1]}")
            reports.append(report)
    finally:
        for process in workers:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
    started = min(r[1] for r in reports)
    finished = max(r[2] for r in reports)
    latencies = [latency for r in reports for latency in r[3]]
    return Sample(count, finished - started, latencies, max(r[4] for r in reports),
                  sum(r[5][0] for r in reports), sum(r[5][1] for r in reports))


# -- the databases (prepared and dropped by a spawned helper process) ------------------------------


def prepare(url: str) -> None:
    """Migrate, add the demo territory and its counters, create the baseline table."""
    from sqlalchemy import MetaData

    from core import demo
    from core.adapters import schema
    from core.adapters.database import make_engine
    from core.adapters.repository import SqlUnitOfWork
    from core.service_layer import services

    engine = make_engine(url)
    try:
        schema.upgrade(engine)
        services.add_territory(SqlUnitOfWork(engine), demo.TERRITORY)
        for counter in demo.COUNTERS:
            services.add_counter(SqlUnitOfWork(engine), counter)
        metadata = MetaData()
        baseline_table(metadata)
        metadata.create_all(engine)
    finally:
        engine.dispose()


def _server_statement(server_url: str, statement: str) -> None:
    from sqlalchemy import text

    from core.adapters.database import make_engine

    server = make_engine(server_url)
    try:
        with server.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(statement))
    finally:
        server.dispose()


def create_postgres_database(server_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    _server_statement(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(server_url: str, name: str) -> None:
    _server_statement(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def software_facts(server_url: str | None) -> dict[str, str]:
    """Library versions, and the PostgreSQL server's version and durability settings when asked."""
    import psycopg
    import sqlalchemy
    from sqlalchemy import text

    from core.adapters.database import make_engine

    facts = {"sqlalchemy": sqlalchemy.__version__, "psycopg": psycopg.__version__}
    if server_url is not None:
        from sqlalchemy.engine import make_url

        host = make_url(server_url).host
        local = host in (None, "127.0.0.1", "localhost", "::1")
        facts["host"] = f"{host or 'a Unix socket'}{', on this machine' if local else ''}"
        engine = make_engine(server_url)
        try:
            with engine.connect() as connection:
                for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers"):
                    facts[name] = connection.execute(text(f"SHOW {name}")).scalar_one()
        finally:
            engine.dispose()
    return facts


class SqliteDatabase:
    name = "SQLite"

    def __init__(self, admin: ProcessPoolExecutor):
        self.admin = admin

    def __enter__(self) -> str:
        self._directory = tempfile.TemporaryDirectory(prefix="sne-hub-bench-")
        url = f"sqlite:///{Path(self._directory.name) / 'register.db'}"
        self.admin.submit(prepare, url).result()
        return url

    def __exit__(self, *exc_info: object) -> None:
        self._directory.cleanup()


class PostgresDatabase:
    name = "PostgreSQL"

    def __init__(self, admin: ProcessPoolExecutor, server_url: str):
        self.admin = admin
        self.server_url = server_url
        self.database = f"sne_hub_bench_{uuid.uuid4().hex[:12]}"

    def __enter__(self) -> str:
        url = self.admin.submit(create_postgres_database, self.server_url, self.database).result()
        try:
            self.admin.submit(prepare, url).result()
        except BaseException:
            self.__exit__()
            raise
        return url

    def __exit__(self, *exc_info: object) -> None:
        self.admin.submit(drop_postgres_database, self.server_url, self.database).result()


# -- the machine ----------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def sqlite_description() -> str:
    """The SQLite library and the settings ``core.adapters.database`` gives it (shared with bench/soap.py)."""
    return (f"{sqlite3.sqlite_version} (WAL, synchronous=NORMAL, BEGIN IMMEDIATE), "
            f"file under {tempfile.gettempdir()}")


def machine(software: dict[str, str]) -> list[tuple[str, str]]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    facts = [
        ("CPU", f"{cpu_model()}, {os.cpu_count()} cores ({usable} usable by this process)"),
        ("RAM", ram_gib()),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}, "
                   f"SQLAlchemy {software['sqlalchemy']}, psycopg {software['psycopg']}"),
        ("SQLite", sqlite_description()),
    ]
    if "server_version" in software:
        facts.append(("PostgreSQL", f"{software['server_version']} at {software['host']} "
                                    f"(fsync={software['fsync']}, synchronous_commit={software['synchronous_commit']}, "
                                    f"shared_buffers={software['shared_buffers']})"))
    else:
        facts.append(("PostgreSQL", "not measured"))
    return facts


# -- reporting ------------------------------------------------------------------------------------


@dataclass
class Row:
    database: str
    processes: int
    writer: str
    samples: list[Sample] = field(default_factory=list)


def spread(values: list[float], digits: int = 0, suffix: str = "") -> str:
    """``median (min–max)``."""
    def fmt(value: float) -> str:
        return f"{value:,.{digits}f}{suffix}"
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def latency_digits(values: list[float]) -> int:
    return 1 if statistics.median(values) >= 1 else 2


HEADERS = ("database", "processes", "writer", "registrations/s", "core/baseline", "p50 ms", "p95 ms",
           "p99 ms", "CPU ms/write", "PostgreSQL CPU ms/write", "peak RSS MiB")


def cells(row: Row, baseline: Row | None) -> list[str]:
    ratio = "—"
    if row.writer == CORE and baseline is not None:
        pairs = [c.throughput / b.throughput for c, b in zip(row.samples, baseline.samples)]
        ratio = spread(pairs, 2)
    latencies = []
    for p in (50, 95, 99):
        values = [s.percentile_ms(p) for s in row.samples]
        latencies.append(spread(values, latency_digits(values)))
    return [
        row.database,
        str(row.processes),
        row.writer,
        spread([s.throughput for s in row.samples]),
        ratio,
        *latencies,
        spread([s.cpu_ms_per_write() for s in row.samples], 2),
        spread([s.cpu_ms_per_write(server=True) for s in row.samples], 2) if row.database == "PostgreSQL" else "—",
        spread([s.peak_rss_kib / 1024 for s in row.samples], 1),
    ]


def table(rows: list[Row]) -> list[list[str]]:
    baselines = {(r.database, r.processes): r for r in rows if r.writer == BASELINE}
    return [cells(r, baselines.get((r.database, r.processes))) for r in rows]


def plain_table(lines: list[list[str]]) -> str:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(HEADERS)]
    out = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(out)


def markdown_table(lines: list[list[str]]) -> str:
    right = {"processes", "registrations/s", "core/baseline", "p50 ms", "p95 ms", "p99 ms", "CPU ms/write",
             "PostgreSQL CPU ms/write", "peak RSS MiB"}
    out = ["| " + " | ".join(HEADERS) + " |",
           "|" + "|".join("---:" if h in right else "---" for h in HEADERS) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- main -----------------------------------------------------------------------------------------


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/registrations.py",
        description="Registrations per second through core.service_layer.services.register (full household "
                    "form, distinct people), on SQLite and PostgreSQL, single-process and concurrent, against a "
                    "baseline of one plain JSON insert per registration in the same database. Each measurement "
                    "is repeated and reported as median (min–max). Progress goes to stderr, results to stdout.",
    )
    parser.add_argument("--count", type=positive, default=DEFAULT_COUNT,
                        help=f"registrations per measurement, split between the processes when concurrent "
                             f"(default: {DEFAULT_COUNT})")
    parser.add_argument("--runs", type=positive, default=3, help="repetitions of each measurement (default: 3)")
    parser.add_argument("--processes", type=positive, default=4,
                        help="writer processes of the concurrent measurements; 1 skips them (default: 4)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="measure one database only")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="PostgreSQL server; a throwaway database is created on it and dropped at the end "
                             f"(default: {DEFAULT_POSTGRES_URL})")
    parser.add_argument("--markdown", action="store_true",
                        help="print the machine and the results as Markdown, for docs/BENCHMARKS.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    context = multiprocessing.get_context("spawn")
    backends = ["sqlite", "postgresql"] if arguments.only is None else [arguments.only]
    process_counts = [1] + ([arguments.processes] if arguments.processes > 1 else [])

    with ProcessPoolExecutor(max_workers=1, mp_context=context) as admin:
        software = admin.submit(software_facts, None).result()
        if "postgresql" in backends:
            try:
                software = admin.submit(software_facts, arguments.postgres_url).result()
            except Exception as error:  # noqa: BLE001 - the server is down or refuses us
                message = f"PostgreSQL unreachable at {arguments.postgres_url}: {error.__class__.__name__}: {error}"
                if arguments.only == "postgresql":
                    log(message)
                    return 2
                log(message + " (skipping PostgreSQL)")
                backends.remove("postgresql")

        log(f"{arguments.runs} runs x {arguments.count} registrations per measurement, "
            f"{' and '.join(map(str, process_counts))} process(es), {WARMUP} untimed warm-up writes per process")
        started = time.perf_counter()
        rows: list[Row] = []
        for backend in backends:
            if backend == "sqlite":
                database = SqliteDatabase(admin)
            else:
                database = PostgresDatabase(admin, arguments.postgres_url)
            backend_rows = {(p, w): Row(database.name, p, w) for p in process_counts for w in (CORE, BASELINE)}
            people = IndexAllocator()
            with database as url:
                for run in range(1, arguments.runs + 1):
                    for processes in process_counts:
                        for writer in (CORE, BASELINE):
                            sample = measure(context, writer, url, arguments.count, processes, people)
                            backend_rows[(processes, writer)].samples.append(sample)
                            log(f"{database.name:<10} run {run}/{arguments.runs}  {processes} process(es)  "
                                f"{writer:<8} {sample.throughput:8.1f}/s  p50 {sample.percentile_ms(50):6.2f} ms  "
                                f"p99 {sample.percentile_ms(99):7.2f} ms  "
                                f"CPU {sample.cpu_ms_per_write():.2f}+{sample.cpu_ms_per_write(True):.2f} ms  "
                                f"peak RSS {sample.peak_rss_kib / 1024:.1f} MiB")
            rows += backend_rows.values()
        elapsed = time.perf_counter() - started

    lines = table(rows)
    facts = machine(software)
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    settings = (f"{arguments.runs} runs of {arguments.count} registrations per measurement "
                f"(split between the processes when concurrent); median (min–max) of the runs")
    note = (f"core/baseline: core registrations per second over baseline inserts per second, run by run. "
            f"Peak RSS: ru_maxrss of each writer process (the largest when several); the coordinating "
            f"process, whose size at spawn time is the floor of that figure, peaked at {floor:.1f} MiB.")
    if arguments.markdown:
        print("\n".join(f"- {name}: {value}" for name, value in facts))
        print()
        print(markdown_table(lines))
        print()
        print(f"{settings}; the benchmark took {elapsed:.0f} s. {note}")
    else:
        print("Machine")
        print("\n".join(f"  {name:<11} {value}" for name, value in facts))
        print()
        print(settings)
        print()
        print(plain_table(lines))
        print()
        print(note)
        print(f"The benchmark took {elapsed:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

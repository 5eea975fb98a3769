"""Search at scale: rechercheDemandeMulticritere on a register of a million applications, on PostgreSQL.

The register: ``support.registers`` plays out a million filings over five years in five territories
(six in ten in 057, Moselle: 600,000 applications), households with one to six wished communes of
their territory, one to three request motives, yearly renewals, 15 % cancelled. They are loaded by
COPY, built with the domain methods the use cases call and turned into rows by the repository's own
row builders (``tests/integration/core/test_search.py`` proves, on a smaller register, that the rows
equal those the use cases write). The database is kept between runs: ``sne_bench_search`` on the
server, with a marker table (``bench_search_register``: size, seed, reference day, schema revision);
a run reuses it when the marker matches and rebuilds it otherwise (``--rebuild`` forces it). A build
of the million took 399 s on two shared cores (docs/BENCHMARKS.md); it needs about 4 GB of disk.

What is timed: each search kind of the table below as counter DEMOB (057) asks it, through
``core.service_layer.services.search`` in this process (criteria read from the same XML a counter
sends, by ``core.wire.search.read_criteria``), then over SOAP (HTTPS, client certificate, keep-alive,
MTOM as libsne sends it) through the hub's own server (``hub.server.make_server``) in a spawned
process, for a subset. Each search is timed on its first page and, when it has more than two pages,
on a page deep in it (the 41st, after 20,000 matches, or its last page): the deep page is reached by
sending the last number of the page before it, as a counter does. Every run times every search
``--repeat`` times, interleaved; percentiles are per run, and the report gives the median of the
runs. Nothing is asserted: it is a measurement, not a test (tests/integration/core/test_search.py
runs it on a tiny register so that it keeps working).

The same script measures the code before a change: export the older tree, copy this file into it,
and run it there with ``--reuse-only`` (the older code reads the same tables); ``--indexes 0006``
puts the indexes of the older schema back for that run, ``--indexes head`` the current ones after.

    .venv/bin/python bench/search.py --help
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `.venv/bin/python bench/search.py` from anywhere

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import ssl  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from dataclasses import dataclass, field, replace  # noqa: E402
from datetime import datetime  # noqa: E402
from typing import Any  # noqa: E402

from bench.registrations import (  # noqa: E402 - standard library only at import time
    DEFAULT_POSTGRES_URL,
    cpu_model,
    create_postgres_database,
    drop_postgres_database,
    log,
    percentile,
    positive,
    ram_gib,
    software_facts,
)

DEFAULT_DATABASE = "sne_bench_search"
DEFAULT_SIZE = 1_000_000
MARKER = "bench_search_register"
COUNTER = "DEMOB"  # a landlord of 057, the register's largest territory
DEEP_PAGE = 41
HUB_MAIL = "hub@sne-hub.example.org"
NS = "http://nuu.application.i2/"
NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SERVICE_PATH = "/services/RechercheDemandeImplService/"
REQUEST_TIMEOUT_S = 300
INDEXES_OF_0006 = [  # what migration 0007 replaced: for measuring the older code as it ran
    ("ix_applications_filing_date", "applications", ["filing_date"]),
    ("ix_applications_last_renewed_on", "applications", ["last_renewed_on"]),
    ("ix_applications_cancelled_on", "applications", ["cancelled_on"]),
    ("ix_applications_allocation_commune", "applications", ["allocation_commune"]),
    ("ix_application_communes_commune", "application_communes", ["commune"]),
]
ORDER = ["first_wished_commune", "filing_date", "number"]
INDEXES_OF_0007 = [  # what it created instead (core/migrations/versions/0007_search_at_scale.py)
    ("ix_applications_filing_order", "applications",
     ["territory_code", "state", "filing_date", "first_wished_commune", "number"]),
    ("ix_applications_renewal_order", "applications", ["territory_code", "state", "last_renewed_on", *ORDER]),
    ("ix_applications_cancellation_order", "applications", ["territory_code", "state", "cancelled_on", *ORDER]),
    ("ix_applications_cancellation_motive_order", "applications",
     ["territory_code", "state", "cancellation_motive", *ORDER]),
    ("ix_applications_allocation_order", "applications", ["territory_code", "state", "allocation_commune", *ORDER]),
    ("ix_application_people_surname_order", "application_people",
     ["surname_key", "territory_code", "state", *ORDER, "first_name_key"]),
    ("ix_application_people_first_name_order", "application_people",
     ["first_name_key", "territory_code", "state", *ORDER]),
    ("ix_application_communes_search_order", "application_communes", ["commune", "territory_code", "state", *ORDER]),
    ("ix_application_communes_filing_order", "application_communes",
     ["commune", "territory_code", "state", "filing_date", "first_wished_commune", "number"]),
    ("ix_application_terms_search_order", "application_terms", ["kind", "value", "territory_code", "state", *ORDER]),
    ("ix_application_terms_filing_order", "application_terms",
     ["kind", "value", "territory_code", "state", "filing_date", "first_wished_commune", "number"]),
]


# -- the searches ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A search kind: its criteria as counters write them (``demandeMulticritere``, in schema order)."""

    name: str
    criteria: tuple[tuple[str, Any], ...]
    soap: bool = False

    def xml(self, after: str | None = None) -> bytes:
        def element(name: str, value: Any) -> str:
            if isinstance(value, tuple):
                return f"<{name}>{''.join(element(n, v) for n, v in value)}</{name}>"
            return f"<{name}>{value}</{name}>"

        listed = f"<listeDemandes><numUnique>{after}</numUnique></listeDemandes>" if after else ""
        return (f'<interfaceNuu xmlns="{NS}" versionInterface="02.00"><entete><typeFichier>RECH</typeFichier>'
                f"<dateFichier>{datetime.now().astimezone().isoformat()}</dateFichier>"
                f"<codeGuichet>{COUNTER}</codeGuichet></entete><operation><demandeMulticritere>"
                f"{''.join(element(n, v) for n, v in self.criteria)}</demandeMulticritere></operation>{listed}"
                "</interfaceNuu>").encode()


def cases(sample: dict[str, str]) -> list[Case]:
    """The search kinds, with a person and a number taken from the register (``sample``)."""
    person = (("nom", sample["surname"]), ("dateNaissance", sample["birth_date"]))
    commune_window = (("etatDemande", "A"), ("dateDepotDebut", "2024-01-01"), ("dateDepotFin", "2024-06-30"))
    return [
        Case("surname + birth date", (("personneRecherchee", person),), soap=True),
        Case("number", (("numUnique", sample["number"]),), soap=True),
        Case("wished commune + active", (("etatDemande", "A"), ("communeSouhaitee", "57463")), soap=True),
        Case("filed in one month", (("dateDepotDebut", "2024-03-01"), ("dateDepotFin", "2024-03-31")), soap=True),
        Case("commune + active + six-month filing window", commune_window[:1] + commune_window[1:]
             + (("communeSouhaitee", "57672"),), soap=True),
        Case("the same + a motive", commune_window + (("motifDemande", "13"), ("communeSouhaitee", "57672")),
             soap=True),
        Case("the whole territory (no criterion)", ()),
        Case("active", (("etatDemande", "A"),)),
        Case("wished commune, any state", (("communeSouhaitee", "57751"),)),
        Case("surname alone (the commonest)", (("personneRecherchee", (("nom", "Martin"),)),)),
        Case("first name + birth date", (("personneRecherchee", (("prenom", sample["first_name"]),
                                                                 ("dateNaissance", sample["birth_date"]))),)),
        Case("motive + active", (("etatDemande", "A"), ("motifDemande", "01"))),
        Case("filed in one day", (("dateDepotDebut", "2023-10-02"), ("dateDepotFin", "2023-10-02"))),
        Case("filed in one year", (("dateDepotDebut", "2023-01-01"), ("dateDepotFin", "2023-12-31"))),
        Case("commune + one-year filing window", (("dateDepotDebut", "2023-01-01"), ("dateDepotFin", "2023-12-31"),
                                                  ("communeSouhaitee", "57463"))),
        Case("filed since a date + active", (("etatDemande", "A"), ("dateDepotDebut", "2026-06-01"))),
        Case("renewed in one month", (("dateRenouvellementDebut", "2025-05-01"),
                                      ("dateRenouvellementFin", "2025-05-31"))),
        Case("cancelled in one month", (("etatDemande", "R"), ("dateRadiationDebut", "2025-09-01"),
                                        ("dateRadiationFin", "2025-09-30"))),
        Case("cancellation motive", (("motifRadiation", "RADIRR"),)),
        Case("allocation commune", (("etatDemande", "R"), ("communeAttribution", "57480"))),
        Case("abnormally long wait", (("estDelaiAnormalementLong", "true"),)),
        Case("association name", (("association", (("nom", "Entraide"),)),)),
        Case("supporting document category", (("piecesJustificatives", (("codeCategorie", "IDD"),)),)),
    ]


def sample_of(url: str) -> dict[str, str]:
    """A number, and an applicant's name and birth date, of active applications of 057 (stable between runs)."""
    from sqlalchemy import text

    from core.adapters.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            number = connection.execute(text(
                "SELECT number FROM applications WHERE territory_code = '057' AND state = 'active' "
                "AND id > (SELECT max(id) / 3 FROM applications) ORDER BY id LIMIT 1")).scalar_one()
            surname, first_name, birth_date = connection.execute(text(
                "SELECT p.surname_key, p.first_name_key, p.birth_date FROM application_people p "
                "JOIN applications a ON a.id = p.application_id WHERE a.number = :number "
                "ORDER BY p.id LIMIT 1"), {"number": number}).one()
    finally:
        engine.dispose()
    return {"number": number, "surname": surname, "first_name": first_name, "birth_date": birth_date.isoformat()}


# -- the register: built once, kept with a marker -------------------------------------------------


def expected_marker(size: int) -> dict[str, Any]:
    from core.adapters import schema
    from core.adapters.database import make_engine
    from support import registers

    engine = make_engine("sqlite://")
    try:
        revision = schema.head_revision(engine)
    finally:
        engine.dispose()
    return {"size": size, "seed": registers.SEED, "reference": registers.REFERENCE_DAY.isoformat(),
            "revision": revision}


def read_marker(server_url: str, name: str) -> dict[str, Any] | None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from core.adapters.database import make_engine

    server = make_engine(server_url)
    try:
        with server.connect() as connection:
            if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                      {"name": name}).first():
                return None
    finally:
        server.dispose()
    engine = make_engine(make_url(server_url).set(database=name).render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            if connection.execute(text("SELECT to_regclass(:marker)"), {"marker": MARKER}).scalar() is None:
                return {}
            row = connection.execute(text(f"SELECT size, seed, reference, revision, build_seconds FROM {MARKER}"))
            found = row.mappings().first()
            return dict(found) if found else {}
    finally:
        engine.dispose()


def build(server_url: str, name: str, size: int, processes: int) -> float:
    """Drop, create, migrate, bulk-load, mark. Returns the build's duration in seconds."""
    from sqlalchemy import text

    from core.adapters import schema
    from core.adapters.database import make_engine
    from support import registers

    started = time.monotonic()
    drop_postgres_database(server_url, name)
    url = create_postgres_database(server_url, name)
    engine = make_engine(url)
    try:
        schema.upgrade(engine)
        registers.bulk_load(url, size, processes=processes, log=log)
        marker = expected_marker(size)
        seconds = time.monotonic() - started
        with engine.begin() as connection:
            connection.execute(text(f"CREATE TABLE {MARKER} (size integer, seed bigint, reference text, "
                                    "revision text, build_seconds real, built_at timestamptz DEFAULT now())"))
            connection.execute(text(f"INSERT INTO {MARKER} (size, seed, reference, revision, build_seconds) "
                                    "VALUES (:size, :seed, :reference, :revision, :seconds)"),
                               {**marker, "seconds": seconds})
    finally:
        engine.dispose()
    return seconds


def switch_indexes(url: str, revision: str) -> None:
    """Give the register the search indexes of ``revision``: "0006" (before migration 0007) or "head"
    (the same table contents; only the indexes differ, so that the older code runs as it ran)."""
    from sqlalchemy import text

    from core.adapters.database import make_engine

    drop, create = (INDEXES_OF_0007, INDEXES_OF_0006) if revision == "0006" else (INDEXES_OF_0006, INDEXES_OF_0007)
    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("SET maintenance_work_mem = '512MB'"))
            for name, _, _ in drop:
                connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
            for name, table, columns in create:
                connection.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})"))
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()


# -- timing in process ----------------------------------------------------------------------------


@dataclass
class Timings:
    """Latencies (seconds) of one search on one page, run by run."""

    runs: list[list[float]] = field(default_factory=list)

    def percentile_ms(self, p: float) -> float:
        """The median over the runs of each run's percentile."""
        return statistics.median(percentile(run, p) for run in self.runs if run) * 1000


@dataclass
class Measured:
    case: Case
    matches: str = "?"
    page_listed: int = 0
    following: str = ""
    deep_page: int | None = None
    deep_after: str | None = None
    core_first: Timings = field(default_factory=Timings)
    core_deep: Timings = field(default_factory=Timings)
    soap_first: Timings = field(default_factory=Timings)
    soap_deep: Timings = field(default_factory=Timings)


class InProcess:
    """The search use case as the channels call it, on its own engine."""

    def __init__(self, url: str):
        from core.adapters.database import make_engine
        from core.adapters.repository import SqlUnitOfWork
        from core.service_layer import services
        from core.wire.codec import q
        from core.wire.search import read_criteria
        from core.wire.xml import parse

        self.engine = make_engine(url)
        self.unit_of_work = lambda: SqlUnitOfWork(self.engine, readonly=True)
        self.search_service, self.read_criteria, self.parse, self.q = services.search, read_criteria, parse, q

    def criteria(self, case: Case, after: str | None = None) -> Any:
        root = self.parse(case.xml())
        criteria = self.read_criteria(root.find(f"{self.q('operation')}/{self.q('demandeMulticritere')}"), [])
        return replace(criteria, after=after)

    def search(self, criteria: Any) -> Any:
        return self.search_service(self.unit_of_work(), criteria, COUNTER)

    def describe(self, measured: Measured) -> None:
        """What the search finds, and the number after which its deep page starts (paging to it)."""
        criteria = self.criteria(measured.case)
        first = self.search(criteria)
        measured.page_listed = len(first.numbers)
        measured.matches = self.count(criteria, first)
        measured.following = _following(first)
        after, result, page = None, first, 1
        while result.has_more and page < DEEP_PAGE:
            after = result.numbers[-1]
            result = self.search(replace(criteria, after=after))
            page += 1
        if page > 2:
            measured.deep_page, measured.deep_after = page, after

    def count(self, criteria: Any, first: Any) -> str:
        """Every match, counted for the report (not timed): by the repository, or the older result's total."""
        total = getattr(first, "total", None)
        if total is not None:
            return f"{total:,}"
        from core.adapters.repository import SqlUnitOfWork

        with SqlUnitOfWork(self.engine, readonly=True) as work:
            territory = work.counters.get(COUNTER).territory
            return f"{work.applications.count(criteria, territory, None, 10 ** 9):,}"

    def time(self, criteria: Any) -> float:
        started = time.perf_counter()
        self.search(criteria)
        return time.perf_counter() - started

    def explain(self, criteria: Any) -> list[str]:
        """EXPLAIN (ANALYZE, BUFFERS) of each statement the search runs on the register's tables."""
        from sqlalchemy import event

        seen: list[tuple[str, Any]] = []

        def record(connection, cursor, statement, parameters, context, executemany) -> None:
            if "FROM counters" not in statement:
                seen.append((statement, parameters))

        event.listen(self.engine, "before_cursor_execute", record)
        try:
            self.search(criteria)
        finally:
            event.remove(self.engine, "before_cursor_execute", record)
        plans = []
        with self.engine.connect() as connection:
            for statement, parameters in seen:
                rows = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters)
                plans.append("\n".join(row[0] for row in rows))
        return plans


def _following(result: Any) -> str:
    if not result.has_more:
        return "0"
    if hasattr(result, "following"):
        return f"more than {result.following:,}" if result.following_exceeds else f"{result.following:,}"
    return f"{result.total - result.skipped - len(result.numbers):,}"


# -- timing over SOAP -----------------------------------------------------------------------------


def serve(url: str, pki_directory: str, port: int, ready: Any, stop: Any) -> None:
    """The hub's SOAP server, as production makes it, until ``stop``."""
    try:
        import logging

        logging.basicConfig(level=logging.WARNING)
        from core.adapters.database import make_engine
        from hub.config import Settings
        from hub.server import make_server

        directory = Path(pki_directory)
        settings = Settings(host="127.0.0.1", https_port=port, server_certificate=directory / "server-cert.pem",
                            server_key=directory / "server-key.pem", client_authority=directory / "ca.pem")
        engine = make_engine(url)
        server = make_server(settings, engine)
        server.prepare()
        thread = threading.Thread(target=server.serve, daemon=True)
        thread.start()
        ready.put(("ok", server.bind_addr[1]))
        stop.wait()
        server.stop()
        thread.join(timeout=10)
        engine.dispose()
    except BaseException as error:  # noqa: BLE001 - reported to the parent
        ready.put(("error", f"{error.__class__.__name__}: {error}\n{traceback.format_exc()}"))


def write_pki(url: str, directory: str) -> None:
    """The demo PKI, and DEMOB's certificate registered in the register (one more row per run)."""
    from certificates import write_demo_pki
    from certificates.reading import registration
    from core import demo
    from core.adapters.database import make_engine
    from core.adapters.repository import SqlUnitOfWork
    from core.service_layer import services

    described = write_demo_pki(Path(directory), [(c.code, c.name, c.mailbox) for c in demo.COUNTERS], HUB_MAIL)
    engine = make_engine(url)
    try:
        certificate = Path(described["counters"][COUNTER]["cert"]).read_bytes()
        services.register_certificate(SqlUnitOfWork(engine), registration(COUNTER, certificate))
    finally:
        engine.dispose()


class SoapSearches:
    """One keep-alive HTTPS connection of DEMOB to the hub, calling rechercheDemandeMulticritere."""

    def __init__(self, port: int, pki_directory: str):
        import http.client

        directory = Path(pki_directory)
        context = ssl.create_default_context(cafile=str(directory / "ca.pem"))
        context.load_cert_chain(str(directory / COUNTER / "cert.pem"), str(directory / COUNTER / "key.pem"))
        self.connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=REQUEST_TIMEOUT_S)

    def call(self, case: Case, after: str | None = None) -> list[str]:
        """The numbers of the answer's page (the answer checked: HTTP 200, no anomaly but RECH-SUITE)."""
        from lxml import etree

        from conformance_tests.profiles.server.wire import mtom_request, read_reply

        body, content_type = mtom_request("rechercheDemandeMulticritere", "fichierXmlParametres", [
            ("nomFichier", "RECH.xml"), ("fichierXml", case.xml(after)), ("nomCertificat", f"{COUNTER}.pem")],
            libsne=True)
        self.connection.request("POST", SERVICE_PATH, body=body, headers={"Content-Type": content_type})
        response = self.connection.getresponse()
        data = response.read()
        reply = read_reply(response.status, response.getheader("Content-Type") or "", data)
        if response.status != 200:
            raise RuntimeError(f"{case.name}: HTTP {response.status}: {data[:500]!r}")
        answer = etree.fromstring(reply.field("fichierXmlRetour"))
        codes = [a.get("code") for a in answer.iter(f"{{{NS}}}anomalie")]
        if set(codes) - {"RECH-SUITE"}:
            raise RuntimeError(f"{case.name}: anomalies {codes}")
        return [n.text for n in answer.iter(f"{{{NS}}}numUnique") if n.getparent().tag == f"{{{NS}}}listeDemandes"]

    def time(self, case: Case, after: str | None = None) -> float:
        started = time.perf_counter()
        self.call(case, after)
        return time.perf_counter() - started

    def close(self) -> None:
        self.connection.close()


# -- the run --------------------------------------------------------------------------------------


def measure(url: str, arguments: argparse.Namespace) -> list[Measured]:
    searches = InProcess(url)
    selected = [case for case in cases(sample_of(url)) if not arguments.only or case.name in arguments.only]
    measured = [Measured(case) for case in selected]
    for entry in measured:
        searches.describe(entry)
        log(f"{entry.case.name}: {entry.matches} matches, deep page {entry.deep_page or '-'}")
    for run in range(arguments.runs):
        firsts = {id(entry): [] for entry in measured}
        deeps = {id(entry): [] for entry in measured}
        criteria = [(entry, searches.criteria(entry.case), searches.criteria(entry.case, entry.deep_after))
                    for entry in measured]
        for entry, first, deep in criteria:  # warm up: statement caches, the pages read
            searches.time(first)
            if entry.deep_page:
                searches.time(deep)
        for _ in range(arguments.repeat):
            for entry, first, deep in criteria:
                firsts[id(entry)].append(searches.time(first))
                if entry.deep_page:
                    deeps[id(entry)].append(searches.time(deep))
        for entry in measured:
            entry.core_first.runs.append(firsts[id(entry)])
            entry.core_deep.runs.append(deeps[id(entry)])
        log(f"run {run + 1} of {arguments.runs} in process done")
    if arguments.explain:
        for entry, first, deep in criteria:
            for page, chosen in (("first page", first), (f"page {entry.deep_page}", deep)):
                if page == "first page" or entry.deep_page:
                    for plan in searches.explain(chosen):
                        print(f"\n### {entry.case.name}, {page}\n{plan}")
    searches.engine.dispose()
    if arguments.soap_repeat:
        measure_soap(url, measured, arguments)
    return measured


def measure_soap(url: str, measured: list[Measured], arguments: argparse.Namespace) -> None:
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="sne-bench-search-") as directory:
        write_pki(url, directory)
        ready, stop = context.Queue(), context.Event()
        server = context.Process(target=serve, args=(url, directory, 0, ready, stop), daemon=True)
        server.start()
        try:
            status, detail = ready.get(timeout=120)
            if status != "ok":
                raise RuntimeError(f"the hub did not start: {detail}")
            client = SoapSearches(detail, directory)
            chosen = [entry for entry in measured if entry.case.soap or arguments.soap_all]
            for entry in chosen:  # warm up, and check the answers against the use case's
                if len(client.call(entry.case)) != entry.page_listed:
                    raise RuntimeError(f"{entry.case.name}: the SOAP answer lists another page")
                if entry.deep_page:
                    client.call(entry.case, entry.deep_after)
            for run in range(arguments.runs):
                firsts = {id(entry): [] for entry in chosen}
                deeps = {id(entry): [] for entry in chosen}
                for _ in range(arguments.soap_repeat):
                    for entry in chosen:
                        firsts[id(entry)].append(client.time(entry.case))
                        if entry.deep_page:
                            deeps[id(entry)].append(client.time(entry.case, entry.deep_after))
                for entry in chosen:
                    entry.soap_first.runs.append(firsts[id(entry)])
                    entry.soap_deep.runs.append(deeps[id(entry)])
                log(f"run {run + 1} of {arguments.runs} over SOAP done")
            client.close()
        finally:
            stop.set()
            server.join(timeout=30)
            if server.is_alive():
                server.terminate()


# -- the report -----------------------------------------------------------------------------------


def triple(timings: Timings) -> str:
    if not timings.runs or not any(timings.runs):
        return "—"
    values = [timings.percentile_ms(p) for p in (50, 95, 99)]
    return " / ".join(f"{value:.1f}" if value < 100 else f"{value:.0f}" for value in values)


def ratio(numerator: Timings, denominator: Timings) -> str:
    if not any(numerator.runs) or not any(denominator.runs):
        return "—"
    return f"{numerator.percentile_ms(95) / denominator.percentile_ms(95):.2f}"


def as_json(measured: list[Measured]) -> list[dict[str, Any]]:
    return [{"case": entry.case.name, "matches": entry.matches, "following": entry.following,
             "deep_page": entry.deep_page,
             **{f"{where}_{page}_p{p}": getattr(entry, f"{where}_{page}").percentile_ms(p)
                for where in ("core", "soap") for page in ("first", "deep") for p in (50, 95, 99)
                if any(getattr(entry, f"{where}_{page}").runs)}} for entry in measured]


def report(measured: list[Measured], arguments: argparse.Namespace, facts: list[tuple[str, str]]) -> None:
    before = {row["case"]: row for row in json.loads(Path(arguments.compare).read_text())} if arguments.compare else {}
    headers = ["search", "matches", "after page 1", "core page 1 p50/p95/p99 ms", "deep page",
               "core deep p50/p95/p99 ms", "deep/first p95", "SOAP page 1 p50/p95/p99 ms", "SOAP deep p50/p95/p99 ms",
               "SOAP/core p95"]
    if before:
        headers += ["before: core page 1 p95", "before: core deep p95", "before/after p95 (page 1, deep)"]
    rows = []
    for entry in measured:
        row = [entry.case.name, entry.matches, entry.following, triple(entry.core_first),
               str(entry.deep_page or "—"), triple(entry.core_deep), ratio(entry.core_deep, entry.core_first),
               triple(entry.soap_first), triple(entry.soap_deep), ratio(entry.soap_first, entry.core_first)]
        if before:
            old = before.get(entry.case.name, {})
            first_old, deep_old = old.get("core_first_p95"), old.get("core_deep_p95")
            first_new = entry.core_first.percentile_ms(95)
            deep_new = entry.core_deep.percentile_ms(95) if any(entry.core_deep.runs) else None
            row += [f"{first_old:.0f}" if first_old else "—", f"{deep_old:.0f}" if deep_old else "—",
                    f"{first_old / first_new:.0f}×, " if first_old else "—, "]
            row[-1] += f"{deep_old / deep_new:.0f}×" if deep_old and deep_new else "—"
        rows.append(row)
    if arguments.markdown:
        for name, value in facts:
            print(f"- {name}: {value}")
        print()
        print("| " + " | ".join(headers) + " |")
        print("|" + "---|" * len(headers))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    for name, value in facts:
        print(f"{name}: {value}")
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    for row in [headers, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))


def machine_facts(url: str, arguments: argparse.Namespace, marker: dict[str, Any]) -> list[tuple[str, str]]:
    software = software_facts(arguments.postgres_url)
    from sqlalchemy import text

    from core.adapters.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            size = connection.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar()
            counted = dict(connection.execute(text(
                "SELECT territory_code, count(*) FROM applications GROUP BY territory_code")).all())
    finally:
        engine.dispose()
    one, five, _ = os.getloadavg()
    return [
        ("register", f"{sum(counted.values()):,} applications ({counted.get('057', 0):,} in 057, where DEMOB "
                     f"searches), database {size}, built in {marker.get('build_seconds') or 0:.0f} s"),
        ("machine", f"{cpu_model()}, {os.cpu_count()} cores, {ram_gib()}, {platform.system()} {platform.release()}, "
                    f"load average {one:.2f} / {five:.2f} at the end"),
        ("software", f"Python {platform.python_version()}, SQLAlchemy {software['sqlalchemy']}, psycopg "
                     f"{software['psycopg']}, PostgreSQL {software['server_version']} "
                     f"(shared_buffers={software['shared_buffers']})"),
        ("protocol", f"{arguments.runs} runs; each run times every search {arguments.repeat} times in process and "
                     f"{arguments.soap_repeat} times over SOAP, interleaved; percentiles per run, median of runs"),
    ]


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/search.py",
        description="Times rechercheDemandeMulticritere on a register of a million applications on PostgreSQL "
                    "(built once by bulk load, kept between runs): each search kind's first page and a deep page, "
                    "in process through the use case, and over SOAP through the hub's server.")
    parser.add_argument("--size", type=positive, default=DEFAULT_SIZE, help="applications in the register")
    parser.add_argument("--postgres-url", default=os.environ.get("SNE_HUB_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
                        help="the PostgreSQL server (any database of it)")
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="the register's database, kept between runs")
    parser.add_argument("--processes", type=positive, default=2, help="processes building the register")
    parser.add_argument("--rebuild", action="store_true", help="build the register even if one is there")
    parser.add_argument("--reuse-only", action="store_true",
                        help="measure the register that is there whatever its marker (older code), never build")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--indexes", choices=("head", "0006"),
                        help="first give the register the search indexes of this schema revision")
    parser.add_argument("--runs", type=positive, default=3)
    parser.add_argument("--repeat", type=positive, default=30, help="timings of each search per run, in process")
    parser.add_argument("--soap-repeat", type=int, default=20, help="timings of each search per run over SOAP (0: none)")
    parser.add_argument("--soap-all", action="store_true", help="every search over SOAP, not only the main ones")
    parser.add_argument("--only", action="append", help="a search kind by name (repeatable)")
    parser.add_argument("--explain", action="store_true", help="print the plans of each search's statements")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--compare", help="figures of an earlier run (--json) to compare with")
    parser.add_argument("--markdown", action="store_true", help="print the report as Markdown")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    from sqlalchemy.engine import make_url

    url = make_url(arguments.postgres_url).set(database=arguments.database).render_as_string(hide_password=False)
    marker = read_marker(arguments.postgres_url, arguments.database)
    try:
        if arguments.reuse_only:
            if not marker:
                log(f"no register in {arguments.database} to reuse")
                return 2
        elif arguments.rebuild or not marker or {k: marker.get(k) for k in ("size", "seed", "reference", "revision")} \
                != expected_marker(arguments.size):
            log(f"building a register of {arguments.size:,} applications in {arguments.database}")
            build(arguments.postgres_url, arguments.database, arguments.size, arguments.processes)
            marker = read_marker(arguments.postgres_url, arguments.database)
        else:
            log(f"reusing the register of {marker['size']:,} applications in {arguments.database}")
        if arguments.indexes:
            switch_indexes(url, arguments.indexes)
        measured = measure(url, arguments)
        if arguments.json:
            Path(arguments.json).write_text(json.dumps(as_json(measured), indent=1))
        report(measured, arguments, machine_facts(url, arguments, marker))
    finally:
        if arguments.drop:
            drop_postgres_database(arguments.postgres_url, arguments.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())

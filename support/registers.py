"""Realistic registers for the search benchmark and its tests: who files what, where, when, and then.

A register is a list of :class:`Filing`: a household's form (applicant, sometimes a partner,
one to six wished communes of its territory with the big towns wished most, one to three request
motives; a few associations), the counter that registers it, the filing date, and what happens to
the application afterwards: a renewal every year before it falls due, and for some a cancellation
(allocation, abandonment, inadmissibility, unreachable applicant). :func:`filing` computes the
``index``-th filing of a register of ``size`` from the index alone, so that processes can build
slices of one register independently and the same register comes out every time.

Five territories share the register (057 has six filings in ten, 054, 055, 067 and 088 one each):
a territory's sequence holds 999,999 numbers, and the SNE's largest départements hold a few hundred
thousand applications. Registrations are spread evenly over the five years before the reference
day, in index order, so the ``index``-th filing of a territory gets its ``sequence``-th number, as
the register would give it. No two adults share a first name and a birth date (a bijection of the
person's index), so the duplicate check never refuses a filing and names repeat as they do in life.

Two ways to build the same register:

- :func:`play` runs each filing through the register's use cases (``services.register``, ``renew``,
  ``cancel``): what a register built by counters holds.
- :func:`application_of` runs it through the same domain methods those use cases call
  (``normalized``, ``validate_form``, ``Application.register``, ``renew``, ``cancel``), and
  :func:`rows_of` turns the application into table rows with the repository's own row builders
  (``core.adapters.rows``): what :func:`bulk_load` copies into PostgreSQL, a million applications in
  minutes. The two give equal rows (``tests/integration/core/test_search.py`` compares them); the
  bulk load writes neither journal nor outbox, which no search reads.
"""

from __future__ import annotations

import json
import random
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import Any, Callable, Iterable, Iterator

from core import demo
from core.adapters import orm
from core.adapters.rows import application_columns, commune_rows, people_rows, search_columns, term_rows
from core.adapters.serialization import to_document
from core.domain import codes
from core.domain.application import Allocation, AllocationAddress, Application, Cancellation, NoAnswer
from core.domain.calendar import PARIS, add_months, anniversary
from core.domain.codes import CounterType
from core.domain.form import Address, ApplicationForm, Association, HousingSought, Motives, WishedLocation
from core.domain.numbers import RegistrationNumber
from core.domain.referential import Counter, Territory
from core.domain.validation import check_codes, normalized, validate_form
from core.service_layer import services
from core.service_layer.unit_of_work import UnitOfWork

REFERENCE_DAY = datetime(2026, 11, 30, 18, 0, tzinfo=PARIS)  # the register as it stands that evening
YEARS = 5
SEED = 20261130

# -- territories, counters, communes ----------------------------------------------------------------

# 30 communes of Moselle, the big towns first: the first wished commune is drawn with these weights.
MOSELLE = (
    ("57463", 30), ("57672", 12), ("57480", 7), ("57751", 6), ("57227", 5), ("57631", 5), ("57757", 4),
    ("57306", 4), ("57160", 3), ("57606", 3), ("57630", 3), ("57206", 3), ("57221", 3), ("57283", 2),
    ("57447", 2), ("57491", 2), ("57660", 2), ("57058", 2), ("57663", 2), ("57019", 2), ("57591", 2),
    ("57089", 1), ("57240", 1), ("57433", 1), ("57012", 1), ("57683", 1), ("57097", 1), ("57209", 1),
    ("57336", 1), ("57332", 1),
)


@dataclass(frozen=True)
class Area:
    """A territory of the register, its counters (landlord first) and its communes with their weights."""

    territory: Territory
    counters: tuple[Counter, ...]
    communes: tuple[tuple[str, int], ...]

    @property
    def landlord(self) -> Counter:
        return self.counters[0]


def _area(code: str, name: str, departement: str) -> Area:
    counters = tuple(Counter(f"{kind}G{code}", f"{label} {name}", counter_type, code)
                     for kind, label, counter_type in (("B", "Bailleur", CounterType.LANDLORD),
                                                       ("C", "Commune", CounterType.MUNICIPALITY),
                                                       ("E", "EPCI", CounterType.INTERMUNICIPAL_BODY)))
    communes = tuple((f"{departement}{100 + 13 * rank:03d}", weight) for rank, (_, weight) in enumerate(MOSELLE))
    return Area(Territory(code, name, frozenset({departement})), counters, communes)


AREAS = (
    Area(demo.TERRITORY, demo.COUNTERS, MOSELLE),
    _area("054", "Meurthe-et-Moselle", "54"),
    _area("055", "Meuse", "55"),
    _area("067", "Bas-Rhin", "67"),
    _area("088", "Vosges", "88"),
)
MAIN = AREAS[0]
CYCLE = (0, 0, 1, 0, 2, 0, 3, 0, 4, 0)  # the area of each filing, by index modulo 10: 057 six times in ten


def area_of(index: int) -> tuple[Area, int]:
    """The area of the ``index``-th filing, and its sequence number within the area."""
    whole, rest = divmod(index, len(CYCLE))
    slot = CYCLE[rest]
    before = CYCLE[:rest].count(slot)
    return AREAS[slot], whole * CYCLE.count(slot) + before + 1


def reference_data(unit_of_work: Callable[[], UnitOfWork]) -> None:
    """The territories and counters of the register, through the use cases."""
    for area in AREAS:
        services.add_territory(unit_of_work(), area.territory)
        for counter in area.counters:
            services.add_counter(unit_of_work(), counter)


# -- people ---------------------------------------------------------------------------------------

COMMON_SURNAMES = (
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
    "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard",
    "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Faure", "André", "Mercier",
    "Nguyen", "Schmitt", "Klein", "Weber", "Meyer", "Lefèvre-Dupont", "N'Diaye", "Da Silva", "Ben Ali", "Haddad",
)
SYLLABLES = ("ba", "ber", "cha", "del", "fa", "gan", "hou", "jac", "kor", "lan", "mar", "nel", "pon", "quer",
             "ros", "sai", "tel", "val", "wag", "zim")
SURNAMES = COMMON_SURNAMES + tuple(
    (a + b + c).capitalize() for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES[:12] if a != b)[:15_000]
SURNAME_WEIGHTS = tuple(accumulate(1 / (rank + 60) for rank in range(len(SURNAMES))))  # Martin: 0.3 % of people
FIRST_NAMES = (
    "Marie", "Jean", "Nathalie", "Pierre", "Isabelle", "Michel", "Sylvie", "Philippe", "Catherine", "Alain",
    "Claire", "Nicolas", "Sophie", "Christophe", "Sandrine", "Stéphane", "Céline", "David", "Julie", "Thomas",
    "Aurélie", "Julien", "Camille", "Kevin", "Laura", "Mehdi", "Inès", "Karim", "Fatima", "Mohamed", "Aïcha",
    "Yann", "Chloé", "Lucas", "Léa", "Hugo", "Emma", "Louis", "Manon", "Nathan", "Sarah", "Enzo", "Lina",
    "Thanh", "Minh", "Jérôme", "Hélène", "Élodie", "Amina", "Omar", "Fatou", "Mamadou", "Paul", "Anne",
    "François", "Valérie", "Laurent", "Patricia", "Éric", "Christine", "Olivier", "Nadia", "Rachid", "Samira",
    "Yasmine", "Bilal", "Océane", "Mathis", "Jade", "Noah", "Zoé", "Adam", "Alice", "Gabriel", "Louise",
    "Raphaël", "Ambre", "Arthur", "Anna", "Jules", "Rose", "Maël", "Mila", "Sacha", "Lou", "Théo", "Nina",
    "Ethan", "Eva", "Tom", "Lola", "Axel", "Clara", "Victor", "Romane", "Léo", "Agathe", "Timéo", "Margaux",
)
OLDEST_ADULT, YOUNGEST_ADULT = date(1940, 1, 1), date(2003, 11, 30)  # of age on the first filing day
BIRTH_DAYS = (YOUNGEST_ADULT - OLDEST_ADULT).days + 1
IDENTITIES = BIRTH_DAYS * len(FIRST_NAMES)  # (first name, birth date) pairs: one person each
SCRAMBLE = 1_000_003  # a prime that divides no IDENTITIES: person -> identity is one-to-one

MOTIVES = (("13", 20), ("09", 14), ("01", 10), ("19", 9), ("11", 8), ("12", 7), ("03", 5), ("08", 5), ("07", 4),
           ("21", 4), ("17", 4), ("06", 3), ("10", 2), ("04", 2), ("02", 1), ("05", 1), ("14", 1), ("15", 1))
CANCELLED_SHARE = 0.15
COUPLE_SHARE = 0.4
ASSOCIATION_SHARE = 0.002
ASSOCIATION_NAMES = ("Les Amis du Quartier-Nord", "Entraide Sud", "Solidarité Logement", "Habitat et Humanisme",
                     "Foyer des Jeunes Travailleurs", "Relais Familles")


if not all(unicodedata.is_normalized("NFC", text) for text in (*SURNAMES, *FIRST_NAMES, *ASSOCIATION_NAMES)):
    raise AssertionError("the generated names are stored as sent: they must be in NFC already")


def identity(person: int) -> tuple[str, date]:
    """The first name and birth date of the ``person``-th adult: no two adults share both."""
    if person >= IDENTITIES:
        raise ValueError(f"at most {IDENTITIES} adults")
    scrambled = (person * SCRAMBLE) % IDENTITIES
    day, name = divmod(scrambled, len(FIRST_NAMES))
    return FIRST_NAMES[name], OLDEST_ADULT + timedelta(days=day)


# -- filings --------------------------------------------------------------------------------------


@dataclass
class Filing:
    """One application's life: registered at ``registered_at``, renewed at each of ``renewals``, and
    cancelled by ``cancelled_by`` at ``cancelled_at`` when ``cancellation`` is set."""

    index: int
    area: Area
    sequence: int
    counter: Counter
    form: ApplicationForm
    filed_on: date
    registered_at: datetime
    renewals: list[datetime] = field(default_factory=list)
    cancellation: Cancellation | None = None
    cancelled_by: Counter | None = None
    cancelled_at: datetime | None = None

    @property
    def number(self) -> RegistrationNumber:
        return RegistrationNumber.issue(self.area.territory.code, self.registered_at.date(), self.sequence,
                                        self.counter.code)


def filing(index: int, size: int, reference: datetime = REFERENCE_DAY, seed: int = SEED) -> Filing:
    """The ``index``-th filing of a register of ``size`` standing at ``reference``."""
    draw = random.Random(seed * 10_000_019 + index)
    area, sequence = area_of(index)
    start = reference - timedelta(days=365 * YEARS + 1)
    step = (reference - start - timedelta(hours=1)) / size
    registered_at = _office_hours(start + step * (index + draw.random() * 0.9))
    filed_on = max(registered_at.date() - timedelta(days=draw.randrange(21)), start.date())
    counter = draw.choice(area.counters)
    form = _form(draw, index, size, area)
    entry = Filing(index, area, sequence, counter, form, filed_on, registered_at)
    cancelled_at = None
    if draw.random() < CANCELLED_SHARE:
        cancelled_at = _office_hours(registered_at + (reference - registered_at) * draw.uniform(0.05, 0.999))
        if cancelled_at <= registered_at or cancelled_at > reference:
            cancelled_at = None
    end = cancelled_at or reference
    years = 1
    while True:
        due = anniversary(filed_on, years)
        renewed_at = datetime.combine(due - timedelta(days=draw.randrange(1, 80)), time(10, 30), PARIS)
        if renewed_at >= end or renewed_at <= registered_at:
            break
        entry.renewals.append(renewed_at)
        years += 1
    if cancelled_at is not None:
        entry.cancelled_at = cancelled_at
        entry.cancellation, entry.cancelled_by = _cancellation(draw, entry, cancelled_at.date())
    return entry


def _office_hours(moment: datetime) -> datetime:
    """The same day between 8:00 and 18:00, where the moment falls in proportion."""
    local = moment.astimezone(PARIS)
    seconds = (local - local.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    return datetime.combine(local.date(), time(8), PARIS) + timedelta(seconds=int(seconds * 10 / 24))


def _form(draw: random.Random, index: int, size: int, area: Area) -> ApplicationForm:
    communes = _communes(draw, area)
    motives = _distinct(draw, MOTIVES, draw.choice((1, 1, 2, 2, 2, 3)))
    if draw.random() < ASSOCIATION_SHARE:
        name = draw.choice(ASSOCIATION_NAMES)
        return ApplicationForm(
            internal_reference=f"ASSO-{index}",
            housing_sought=HousingSought(category=codes.SoughtHousingCategory.FLAT.value,
                                         housing_types=[codes.HousingType.T2.value],
                                         wished_locations=[WishedLocation(commune) for commune in communes]),
            motives=Motives(motives=motives),
            association=Association(name=name, email=f"association{index}@example.org",
                                    postal_address=Address(abroad=False, street_number="3", street="rue Haute",
                                                           postal_code="57000", commune=communes[0])),
        )
    first_name, birth_date = identity(index)
    surname = draw.choices(SURNAMES, cum_weights=SURNAME_WEIGHTS)[0]
    partner = None
    birth_name = None
    if draw.random() < COUPLE_SHARE:
        partner_first_name, partner_birth_date = identity(size + index)
        partner_surname = surname if draw.random() < 0.6 else draw.choices(SURNAMES, cum_weights=SURNAME_WEIGHTS)[0]
        partner = (partner_surname, partner_first_name, partner_birth_date)
        if draw.random() < 0.5:
            birth_name = draw.choices(SURNAMES, cum_weights=SURNAME_WEIGHTS)[0]
    mobile = f"06{index % 100_000_000:08d}" if draw.random() < 0.8 else None
    form = demo.household_form(surname, first_name, birth_date, communes=tuple(communes), co_applicant=partner,
                               birth_name=birth_name, email=f"demandeur{index}@example.org", mobile=mobile,
                               online=draw.random() < 0.3)
    return replace(form, internal_reference=f"REF-{index}", motives=Motives(motives=motives))


def _communes(draw: random.Random, area: Area) -> list[str]:
    count = draw.choice((1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6))
    return _distinct(draw, area.communes, count)


def _distinct(draw: random.Random, weighted: tuple[tuple[str, int], ...], count: int) -> list[str]:
    chosen: list[str] = []
    values, weights = zip(*weighted)
    while len(chosen) < count:
        value = draw.choices(values, weights)[0]
        if value not in chosen:
            chosen.append(value)
    return chosen


def _cancellation(draw: random.Random, entry: Filing, day: date) -> tuple[Cancellation, Counter]:
    roll = draw.random()
    if roll < 0.5:
        commune = entry.form.wished_communes[0]
        allocation = Allocation(lease_signed_on=day, already_housed_by_landlord="NON", collective_agreement="AUCUN",
                                reservation_quota=draw.choice(("COLTER", "COLACT", "PPRIOR", "AUCUN")),
                                address=AllocationAddress(street="rue des Lilas", postal_code="57000", commune=commune))
        return Cancellation(day, "RADATT", allocation=allocation), entry.area.landlord
    counter = draw.choice(entry.area.counters)
    letter = add_months(day, -3)
    if roll < 0.6 and letter >= entry.filed_on:
        return Cancellation(day, "RADCON", no_answer=NoAnswer(letter)), counter
    if roll < 0.7:
        return Cancellation(day, "RADIRR", inadmissibility_reason="IRRRES"), counter
    return Cancellation(day, "RADABA"), counter


def filings(size: int, first: int = 0, last: int | None = None, **options: Any) -> Iterator[Filing]:
    for index in range(first, size if last is None else last):
        yield filing(index, size, **options)


# -- building a register --------------------------------------------------------------------------


def play(unit_of_work: Callable[..., UnitOfWork], entry: Filing) -> Application:
    """The filing through the register's use cases, as counters would send it."""
    application = services.register(unit_of_work(), entry.form, entry.filed_on, entry.counter.code,
                                    entry.registered_at)
    if application.number != entry.number:
        raise AssertionError(f"filing {entry.index}: numbered {application.number}, expected {entry.number}")
    for renewed_at in entry.renewals:
        application = services.renew(unit_of_work(), application.number, entry.counter.code, renewed_at)
    if entry.cancellation is not None:
        application = services.cancel(unit_of_work(), application.number, entry.cancellation,
                                      entry.cancelled_by.code, entry.cancelled_at)
    return application


def application_of(entry: Filing, validate: bool = True) -> Application:
    """The application the use cases would hold after ``play``, built with the domain methods they
    call (``validate``: Unicode normalisation and the form's content rules too, which every generated
    form passes unchanged: they cost half of the rest)."""
    territory = entry.area.territory
    form = entry.form  # its texts come from NFC pools (below): normalized() would return it unchanged
    if validate:
        form = normalized(form)
        validate_form(form, territory, entry.registered_at.date())
    application = Application.register(entry.number, territory.code, form, entry.filed_on, entry.counter,
                                       entry.registered_at)
    for renewed_at in entry.renewals:
        application.renew(entry.counter, renewed_at, renewed_at.date())
    if entry.cancellation is not None:
        if check_codes(entry.cancellation):
            raise AssertionError(f"filing {entry.index}: unknown codes in its cancellation")
        application.cancel(entry.cancellation, entry.cancelled_by, entry.cancelled_at)
    return application


@dataclass
class Rows:
    """The rows of some applications, table by table, in the tables' column order."""

    tables: dict[str, list[tuple]] = field(default_factory=lambda: {name: [] for name in LOADED})

    def add(self, row_id: int, application: Application) -> None:
        columns = application_columns(application)
        searched = search_columns(columns)
        values = {**columns, "id": row_id, "form": json.dumps(to_document(application.form), ensure_ascii=False),
                  "cancellation": json.dumps(columns["cancellation"]) if columns["cancellation"] else None}
        self.tables["applications"].append(tuple(values[name] for name in COPIED["applications"]))
        form = application.form
        for table, rows in (("application_people", people_rows(form)), ("application_communes", commune_rows(form)),
                            ("application_terms", term_rows(form))):
            self.tables[table] += [tuple({"application_id": row_id, **row, **searched}[name]
                                         for name in COPIED[table]) for row in rows]


LOADED = ("applications", "application_people", "application_communes", "application_terms")
COPIED = {name: [column.name for column in orm.metadata.tables[name].columns
                 if not (name == "application_people" and column.name == "id")] for name in LOADED}


def rows_of(entries: Iterable[tuple[int, Filing]]) -> Rows:
    """The rows of (row id, filing) pairs, as the repository writes them."""
    rows = Rows()
    for row_id, entry in entries:
        rows.add(row_id, application_of(entry))
    return rows


# -- bulk loading into PostgreSQL -----------------------------------------------------------------

CHUNK = 5_000  # filings per COPY transaction


def copy_rows(connection: Any, rows: Rows) -> None:
    """COPY the rows into their tables on a psycopg connection, in the caller's transaction."""
    with connection.cursor() as cursor:
        for table in LOADED:
            if rows.tables[table]:
                with cursor.copy(f"COPY {table} ({', '.join(COPIED[table])}) FROM STDIN") as copy:
                    for row in rows.tables[table]:
                        copy.write_row(row)


def load_slice(url: str, size: int, first: int, last: int, validate_every: int = 1, **options: Any) -> int:
    """Load filings ``first`` to ``last`` (excluded) of a register of ``size``, with row ids
    ``index + 1``, in one transaction; foreign keys are not checked (the rows refer to their own
    applications by construction). Returns how many applications were loaded."""
    import psycopg
    from sqlalchemy.engine import make_url

    rows = Rows()
    for index in range(first, last):
        entry = filing(index, size, **options)
        rows.add(index + 1, application_of(entry, validate=index % validate_every == 0))
    parameters = make_url(url).translate_connect_args(username="user", database="dbname")
    with psycopg.connect(**parameters) as connection:
        connection.execute("SET session_replication_role = replica")
        copy_rows(connection, rows)
    return last - first


def last_sequences(size: int) -> dict[str, int]:
    """The last number sequence of each territory once a register of ``size`` is loaded."""
    whole, rest = divmod(size, len(CYCLE))
    return {area.territory.code: whole * CYCLE.count(slot) + CYCLE[:rest].count(slot)
            for slot, area in enumerate(AREAS)}


def search_indexes() -> list[Any]:
    """The secondary indexes of the loaded tables (dropped during a bulk load, built after it)."""
    return [index for name in LOADED for index in orm.metadata.tables[name].indexes]


def bulk_load(url: str, size: int, processes: int = 2, log: Callable[[str], None] = print,
              validate_every: int = 50, **options: Any) -> None:
    """Build a register of ``size`` filings in the empty, migrated PostgreSQL database at ``url``:
    reference data through the use cases, applications by COPY from ``processes`` spawned workers
    (secondary indexes dropped meanwhile, then built as the migrations define them), the territories'
    number sequences and the id sequences set past the loaded rows, then VACUUM ANALYZE (which
    index-only scans need). One filing in ``validate_every`` is validated as the use cases would;
    they are all generated valid (the tests play filings through the use cases, which validate)."""
    import multiprocessing
    import time as clock
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from sqlalchemy import text
    from sqlalchemy.schema import DropIndex

    from core.adapters.database import make_engine
    from core.adapters.repository import SqlUnitOfWork

    engine = make_engine(url)
    try:
        reference_data(lambda readonly=False: SqlUnitOfWork(engine, readonly=readonly))
        with engine.begin() as connection:
            for index in search_indexes():
                connection.execute(DropIndex(index, if_exists=True))
        started, loaded = clock.monotonic(), 0
        slices = [(first, min(first + CHUNK, size)) for first in range(0, size, CHUNK)]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(processes, mp_context=context) as pool:
            pending = [pool.submit(load_slice, url, size, first, last, validate_every, **options)
                       for first, last in slices]
            for done in as_completed(pending):
                loaded += done.result()
                if loaded % (20 * CHUNK) == 0 or loaded == size:
                    log(f"loaded {loaded} of {size} applications in {clock.monotonic() - started:.0f} s")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("SET maintenance_work_mem = '512MB'"))
            for index in search_indexes():
                index.create(connection)
            log(f"indexes built in {clock.monotonic() - started:.0f} s")
            for territory, last in last_sequences(size).items():
                if last:
                    connection.execute(text("SELECT setval(:name, :last)"),
                                       {"name": f"number_sequence_{territory.lower()}", "last": last})
            for table in ("applications", "application_people"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"))
            connection.execute(text("VACUUM ANALYZE"))
            log(f"vacuumed and analysed in {clock.monotonic() - started:.0f} s")
    finally:
        engine.dispose()


def demo_register(url: str, certificates: dict[str, bytes], applications: int = 0,
                  log: Callable[[str], None] = print) -> None:
    """Migrate the empty database at ``url`` and give it the demo territory and counters, each with
    its certificate (``certificates``: PEM by counter code), as the benchmarks' own servers use it.
    With ``applications``, the reference data come with a register of that many (:func:`bulk_load`,
    whose reference data hold the demo's)."""
    from certificates.reading import registration
    from core.adapters import schema
    from core.adapters.database import make_engine
    from core.adapters.repository import SqlUnitOfWork

    engine = make_engine(url)
    try:
        schema.upgrade(engine)
        if applications:
            bulk_load(url, applications, log=log)
        else:
            services.add_territory(SqlUnitOfWork(engine), demo.TERRITORY)
            for counter in demo.COUNTERS:
                services.add_counter(SqlUnitOfWork(engine), counter)
        for code, certificate in certificates.items():
            services.register_certificate(SqlUnitOfWork(engine), registration(code, certificate))
    finally:
        engine.dispose()

"""The register's use cases on real databases (SQLite and PostgreSQL): what is stored, and what is not."""

from datetime import date, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError

from core import demo
from core.adapters import orm
from core.adapters.repository import SqlUnitOfWork
from core.adapters.rows import application_from_snapshot
from core.domain.application import Allocation, AllocationAddress, Cancellation
from core.domain.calendar import PARIS
from core.domain.codes import ApplicationState, CounterType
from core.domain.errors import (
    ApplicationNotFound,
    DuplicateSuspected,
    InvalidAssociation,
    InvalidContent,
    InvalidDate,
    NotAllowed,
    OutsideTerritory,
    ReferenceDataConflict,
    SequenceExhausted,
    UnknownCounter,
    UnknownTerritory,
)
from core.domain.numbers import RegistrationNumber
from core.domain.referential import Counter, CounterCertificate, Territory
from core.service_layer import services

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)
TODAY = NOW.date()


@pytest.fixture
def register_of(uow):
    """A register with the demo territory 057 and counters DEMOB (landlord), DEMOC, DEMOE, plus 054."""
    services.add_territory(uow(), demo.TERRITORY)
    for counter in demo.COUNTERS:
        services.add_counter(uow(), counter)
    services.add_territory(uow(), Territory("054", "Meurthe-et-Moselle", frozenset({"54"})))
    services.add_counter(uow(), Counter("NANCY", "Nancy", CounterType.MUNICIPALITY, "054"))
    services.add_counter(uow(), Counter("GESTM", "Gestion 057", CounterType.TERRITORIAL_MANAGER, "057"))
    return uow


def register(uow, form=None, counter="DEMOC", **options):
    return services.register(uow(), form or demo.household_form(), TODAY, counter, NOW, **options)


def rows(uow, table):
    with uow(readonly=True) as work:
        return work.connection.execute(select(orm.metadata.tables[table])).mappings().all()


# -- reference data -----------------------------------------------------------------------------


def test_territory_codes_and_areas_are_unique(register_of):
    with pytest.raises(ReferenceDataConflict):
        services.add_territory(register_of(), Territory("057", "Encore", frozenset({"88"})))
    with pytest.raises(ReferenceDataConflict) as refused:
        services.add_territory(register_of(), Territory("088", "Vosges", frozenset({"88", "57"})))
    assert "57 (057)" in refused.value.message
    with register_of(readonly=True) as work:
        assert work.territories.get("088") is None


def test_counters_need_a_known_territory_and_a_free_code(register_of):
    with pytest.raises(UnknownTerritory):
        services.add_counter(register_of(), Counter("XXXXX", "X", CounterType.STATE, "088"))
    with pytest.raises(ReferenceDataConflict):
        services.add_counter(register_of(), Counter("DEMOB", "Doublon", CounterType.STATE, "057"))


def test_reference_data_round_trips(register_of):
    with register_of(readonly=True) as work:
        assert work.territories.get("057") == demo.TERRITORY
        assert work.counters.get("DEMOB") == demo.COUNTERS[0]
        assert [c.code for c in work.counters.list("057")] == ["DEMOB", "DEMOC", "DEMOE", "GESTM"]


def test_expiring_certificates_are_the_unrevoked_ones_ending_in_the_window(register_of):
    def certificate(digit, counter, days):
        return CounterCertificate(digit * 64, counter, f"CN={digit}", NOW - timedelta(days=400),
                                  NOW + timedelta(days=days))

    for record in (certificate("1", "DEMOB", 30), certificate("2", "DEMOC", 5), certificate("3", "DEMOB", 31),
                   certificate("4", "DEMOC", -1), certificate("5", "NANCY", 10), certificate("6", "NANCY", 0)):
        services.register_certificate(register_of(), record)
    services.revoke_certificate(register_of(), "5" * 64, NOW)
    soon = services.expiring_certificates(register_of(readonly=True), NOW, NOW + timedelta(days=30))
    assert [record.fingerprint[0] for record in soon] == ["6", "2", "1"]  # soonest first, bounds included
    assert soon[1] == certificate("2", "DEMOC", 5)


# -- registration -------------------------------------------------------------------------------


def test_registration_allocates_numbers_in_sequence_per_territory(register_of):
    first = register(register_of)
    second = register(register_of, demo.household_form("Autre", "Personne", date(1990, 1, 1)), counter="DEMOB")
    elsewhere = services.register(register_of(), demo.household_form("Lorrain", "Paul", date(1970, 3, 3),
                                                                      communes=("54395",)), TODAY, "NANCY", NOW)
    assert str(first.number) == "0571126000001DEMOC"
    assert str(second.number) == "0571126000002DEMOB"
    assert str(elsewhere.number) == "0541126000001NANCY"


def test_a_registered_application_is_stored_whole(register_of):
    form = demo.household_form(co_applicant=("Nguyen", "Minh", date(1977, 6, 30)))
    application = register(register_of, form)
    with register_of(readonly=True) as work:
        stored = work.applications.get(application.number)
    assert stored.form == form
    assert stored.filing_date == TODAY and stored.version == 1 and stored.state is ApplicationState.ACTIVE
    assert stored.registered_at == NOW and stored.registered_by == "DEMOC"
    assert stored.renewal.next_due == date(2027, 11, 30)


def test_registration_journals_and_queues_one_event(register_of):
    application = register(register_of)
    [journal] = rows(register_of, "journal")
    [message] = rows(register_of, "outbox")
    assert (journal["kind"], journal["actor"], journal["number"]) == ("application.registered", "DEMOC",
                                                                      str(application.number))
    assert message["topic"] == "application.registered" and message["delivered_at"] is None
    with register_of(readonly=True) as work:
        stored = work.applications.get(application.number)
    snapshot = application_from_snapshot(message["payload"]["change"]["application"])
    assert snapshot.form == stored.form and snapshot.number == stored.number and snapshot.version == 1


def test_a_refused_registration_leaves_no_trace(register_of):
    form = demo.household_form()
    form.household.applicant.civility = "9"
    with pytest.raises(InvalidContent):
        register(register_of, form)
    assert rows(register_of, "applications") == [] and rows(register_of, "journal") == []
    assert rows(register_of, "outbox") == []
    with register_of(readonly=True) as work:
        assert (work.sequences.last("057"), work.sequences.last("054")) == (0, 0)


@pytest.mark.parametrize("filed", [TODAY + timedelta(days=1), TODAY - timedelta(days=32)])
def test_filing_date_outside_the_month_is_refused(register_of, filed):
    with pytest.raises(InvalidDate):
        services.register(register_of(), demo.household_form(), filed, "DEMOC", NOW)


def test_unknown_or_inactive_counters_cannot_register(register_of):
    with pytest.raises(UnknownCounter):
        register(register_of, counter="NOONE")
    with register_of() as work:
        work.connection.execute(update(orm.counters).where(orm.counters.c.code == "DEMOE").values(active=False))
        work.commit()
    with pytest.raises(UnknownCounter):
        register(register_of, counter="DEMOE")


def test_territorial_manager_does_not_register(register_of):
    with pytest.raises(NotAllowed):
        register(register_of, counter="GESTM")


def test_first_wished_commune_outside_the_territory_is_refused(register_of):
    with pytest.raises(InvalidContent) as refused:
        register(register_of, demo.household_form(communes=("54395",)))
    assert refused.value.anomalies[0].code == OutsideTerritory.code


def test_a_territory_taken_over_continues_its_numbering(register_of):
    services.add_territory(register_of(), Territory("088", "Vosges", frozenset({"88"})), last_issued=41_000)
    services.add_counter(register_of(), Counter("EPINA", "Epinal", CounterType.MUNICIPALITY, "088"))
    application = services.register(register_of(), demo.household_form(communes=("88160",)), TODAY, "EPINA", NOW)
    assert str(application.number) == "0881126041001EPINA"


def test_exhausted_sequence_is_an_error_not_a_wrap(register_of):
    services.add_territory(register_of(), Territory("088", "Vosges", frozenset({"88"})), last_issued=999_998)
    services.add_counter(register_of(), Counter("EPINA", "Epinal", CounterType.MUNICIPALITY, "088"))
    last = services.register(register_of(), demo.household_form(communes=("88160",)), TODAY, "EPINA", NOW)
    assert last.number.sequence == 999_999
    with pytest.raises(SequenceExhausted) as refused:
        services.register(register_of(), demo.household_form("Trop", "Tard", date(1991, 1, 1), communes=("88160",)),
                          TODAY, "EPINA", NOW)
    assert refused.value.code == "NUU190"
    assert len(rows(register_of, "applications")) == 1
    with register_of(readonly=True) as work:
        assert work.sequences.last("088") == 999_999


# -- duplicates ---------------------------------------------------------------------------------


def test_a_probable_duplicate_is_refused_with_its_candidates(register_of):
    original = register(register_of)
    with pytest.raises(DuplicateSuspected) as refused:
        register(register_of, demo.household_form("MARTIN", "claire"), counter="DEMOB")
    assert [c.number for c in refused.value.candidates] == [str(original.number)]
    assert refused.value.anomalies[0].complements == (("numUnique", str(original.number)),)
    assert len(rows(register_of, "applications")) == 1


def test_birth_name_and_co_applicants_are_compared(register_of):
    couple = register(register_of, demo.household_form("Durand", "Claire", co_applicant=("Nguyen", "Minh",
                                                                                        date(1977, 6, 30))))
    with pytest.raises(DuplicateSuspected):  # she files alone under her birth name
        register(register_of, demo.household_form("Legrand", "Claire", birth_name="Durand"))
    with pytest.raises(DuplicateSuspected) as refused:  # he files alone
        register(register_of, demo.household_form("Nguyen", "Minh", date(1977, 6, 30)))
    assert refused.value.candidates[0].number == str(couple.number)
    assert refused.value.candidates[0].person_role == "co_applicant"


def test_forcing_a_duplicate_registers_it_and_journals_the_override(register_of):
    original = register(register_of)
    forced = register(register_of, demo.household_form(), counter="DEMOB", force_duplicate=True)
    with register_of(readonly=True) as work:
        [entry] = work.events.history(str(forced.number))
    assert entry.details["forced_duplicates"] == [str(original.number)]


def test_cancelled_and_other_territories_applications_are_not_duplicates(register_of):
    original = register(register_of)
    services.cancel(register_of(), original.number, Cancellation(TODAY, "RADABA"), "DEMOC", NOW)
    register(register_of)  # same person again: the old application is no longer active
    services.register(register_of(), demo.household_form(communes=("54395",)), TODAY, "NANCY", NOW)


def test_find_duplicates_without_registering(register_of):
    original = register(register_of)
    found = services.find_duplicates(register_of(readonly=True), demo.household_form(), "DEMOE")
    assert [c.number for c in found] == [str(original.number)]
    assert services.find_duplicates(register_of(readonly=True), demo.household_form(), "NANCY") == []


def test_a_namesake_is_no_duplicate_and_no_refusal_leaves_a_gap(register_of):
    """The number may be drawn with the duplicates' read when it finds no one. A namesake found by
    that read but set aside (his first name goes with another birth date) draws it apart; a refused
    duplicate draws none."""
    register(register_of, demo.household_form("Martin", "Minh", date(1985, 4, 12)))
    couple = register(register_of, demo.household_form("Martin", "Claire", date(1985, 4, 12),
                                                       co_applicant=("Nguyen", "Minh", date(1977, 6, 30))))
    with pytest.raises(DuplicateSuspected):
        register(register_of, demo.household_form("Nguyen", "Minh", date(1977, 6, 30)), counter="DEMOB")
    alone = register(register_of, demo.household_form("Seul", "Jean", date(1960, 2, 2)))
    assert (couple.number.sequence, alone.number.sequence) == (2, 3)


@pytest.mark.parametrize("commit", [True, False])
def test_a_registration_within_a_channel_s_transaction_commits_with_it(register_of, engine, commit):
    """The mail channel runs a file's use case inside its own transaction (``within``): the
    registration neither begins nor commits it."""
    with engine.connect() as connection:
        outer = connection.begin()
        application = services.register(SqlUnitOfWork(engine, within=connection), demo.household_form(), TODAY,
                                        "DEMOC", NOW)
        outer.commit() if commit else outer.rollback()
    with register_of(readonly=True) as work:
        assert (work.applications.get(application.number) is not None) is commit
    assert len(rows(register_of, "outbox")) == commit


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_registration_failing_in_its_last_round_trip_commits_nothing(register_of, engine):
    """The insert and the COMMIT travel together: when the insert fails, the COMMIT does not run,
    nothing is stored, and the connection serves the next registration."""
    register(register_of)
    with engine.begin() as connection:  # the next draw gives the first number again: a unique violation
        connection.execute(text("SELECT setval('number_sequence_057', 1, false)"))
    with pytest.raises(psycopg.errors.UniqueViolation):
        register(register_of, demo.household_form("Autre", "Personne", date(1990, 1, 1)))
    assert len(rows(register_of, "applications")) == len(rows(register_of, "outbox")) == 1
    assert len(rows(register_of, "application_people")) == 1
    assert register(register_of, demo.household_form("Autre", "Personne", date(1990, 1, 1))).number.sequence == 2


def _registration_statements(connection) -> list[str]:
    return sorted(connection.scalars(text("SELECT name FROM pg_prepared_statements "
                                          "WHERE name LIKE 'sne_hub_registration_%'")))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_registrations_prepare_their_statements_again_after_psycopg_deallocated_them(register_of, engine):
    """psycopg deallocates every statement of the session when it rolls back a transaction after
    preparing statements of its own; the registration's are then prepared again."""
    register(register_of)
    with engine.connect() as connection:  # the registration's connection: the pool's only one
        assert len(_registration_statements(connection)) == 4
        for _ in range(6):  # psycopg prepares this one at its sixth run
            connection.execute(text("SELECT name FROM counters WHERE code = :code"), {"code": "DEMOC"})
        connection.rollback()
        assert _registration_statements(connection) == []
    register(register_of, demo.household_form("Autre", "Personne", date(1990, 1, 1)))
    with engine.connect() as connection:
        assert len(_registration_statements(connection)) == 4


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_registrations_keep_their_statements_through_a_rollback_that_kept_them(register_of, engine):
    """A rollback forgets on the connection's record that it holds the statements (psycopg may have
    deallocated them); when it did not, they are found in the session, not prepared twice."""
    engine.dispose()  # a new connection, on which psycopg prepares nothing of its own
    register(register_of)
    with pytest.raises(DuplicateSuspected):
        register(register_of, counter="DEMOB")
    with engine.connect() as connection:
        assert len(_registration_statements(connection)) == 4
    register(register_of, demo.household_form("Autre", "Personne", date(1990, 1, 1)))
    with engine.connect() as connection:
        assert len(_registration_statements(connection)) == 4


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_the_server_dropped_fails_one_registration_and_is_replaced(register_of, engine, database_url):
    """A connection back in use within the second is not pinged (core.adapters.database): when the
    server dropped it, the registration that meets it fails, stores nothing, and the pool replaces it."""
    register(register_of)
    with engine.connect() as connection:  # the registration's connection: the pool's only one
        pid = connection.scalar(text("SELECT pg_backend_pid()"))
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    other = demo.household_form("Autre", "Personne", date(1990, 1, 1))
    with pytest.raises((psycopg.OperationalError, OperationalError)):  # raw, or from the rollback
        register(register_of, other)
    assert register(register_of, other).number.sequence == 2
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT pg_backend_pid()")) != pid


NAMESAKES = 300  # Claire Martin, born on as many days: more than a few index pages of one first name


def test_the_identity_check_reads_the_identity_index_among_namesakes(register_of, engine):
    """Every registration looks its people up among the active applications of the territory. With
    hundreds of namesakes, the look-up must descend the five-column identity index, not scan every
    Claire or every Martin of the territory in a name index. SQLite keeps no statistics by itself:
    the plan must hold without them; PostgreSQL plans once autovacuum has analysed the tables."""
    from core.adapters import registration
    from core.service_layer.services import _person_keys

    for day in range(NAMESAKES):
        register(register_of, demo.household_form(birth_date=date(1950, 1, 1) + timedelta(days=day)))
    keys = _person_keys(demo.household_form(birth_date=date(1950, 1, 1) + timedelta(days=7)))
    birth_dates = sorted({key.birth_date for key in keys})
    first_names = sorted({key.first_name for key in keys})
    surnames = sorted({surname for key in keys for surname in key.surnames})
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE application_people"))
            plan = connection.exec_driver_sql("EXPLAIN " + registration.CANDIDATES_OR_NUMBER, {
                "birth_dates": registration.array_literal(birth_dates), "code": "DEMOB",
                "first_names": registration.array_literal(first_names),
                "surnames": registration.array_literal(surnames), "sequence": "number_sequence_057", "draw": True})
        else:
            sql = registration.IDENTITIES.format(birth_dates=registration._in(birth_dates),
                                                 first_names=registration._in(first_names),
                                                 surnames=registration._in(surnames), code="?")
            plan = connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + sql,
                (*[d.isoformat() for d in birth_dates], *first_names, *surnames, "DEMOB"))
        lines = [str(row[-1]) for row in plan]
    assert any("ix_application_people_identity" in line for line in lines), lines
    if engine.dialect.name == "sqlite":  # every column of it, equality on each
        assert any("birth_date=? AND first_name_key=? AND surname_key=? AND territory_code=? AND state=?" in line
                   for line in lines), lines
    with pytest.raises(DuplicateSuspected):  # and the check still finds the one namesake born that day
        register(register_of, demo.household_form(birth_date=date(1950, 1, 1) + timedelta(days=7)), counter="DEMOB")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # plan caching is PostgreSQL's
def test_a_registration_plans_its_statements_once_per_connection(register_of, engine):
    """PostgreSQL plans a prepared statement anew at each run while it deems that cheaper, which it
    does forever for the duplicates' search and the insert: a registration asks for generic plans,
    for its own transaction only (the searches keep plans made for their values)."""
    runs = 9
    for day in range(runs):
        register(register_of, demo.household_form(birth_date=date(1950, 1, 1) + timedelta(days=day)))
    with engine.begin() as connection:  # registrations one after the other: the pool's one connection
        plans = {name: (generic, custom) for name, generic, custom in connection.execute(text(
            "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE name IN ('sne_hub_registration_candidates', 'sne_hub_registration_insert')"))}
        mode = connection.scalar(text("SHOW plan_cache_mode"))
    assert plans == {"sne_hub_registration_candidates": (runs, 0), "sne_hub_registration_insert": (runs, 0)}, plans
    assert mode == "auto"


# -- creation after separation ------------------------------------------------------------------


def test_creation_after_separation(register_of):
    couple = register(register_of, demo.household_form(co_applicant=("Nguyen", "Minh", date(1977, 6, 30))))
    alone = register(register_of, demo.household_form("Nguyen", "Minh", date(1977, 6, 30)), counter="DEMOB",
                     associated_number=couple.number)
    assert alone.associated_number == couple.number
    assert alone.filing_date == couple.filing_date and alone.renewal.next_due == couple.renewal.next_due
    with register_of(readonly=True) as work:
        assert work.applications.get(alone.number).associated_number == couple.number


def test_creation_after_separation_needs_a_member_of_the_couple(register_of):
    couple = register(register_of, demo.household_form(co_applicant=("Nguyen", "Minh", date(1977, 6, 30))))
    with pytest.raises(InvalidAssociation):
        register(register_of, demo.household_form("Inconnu", "Paul", date(1960, 1, 1)),
                 associated_number=couple.number)
    with pytest.raises(InvalidAssociation):
        register(register_of, demo.household_form("Nguyen", "Minh", date(1977, 6, 30)),
                 associated_number=RegistrationNumber.parse("0571126999999DEMOC"))


PARTNER = ("Nguyen", "Minh", date(1977, 6, 30))


@pytest.mark.parametrize("new_household, why", [
    (dict(co_applicant=PARTNER), "the same couple again: a clone of the application with its seniority"),
    (dict(surname="Martin", co_applicant=("NGUYEN", "Minh", date(1977, 6, 30))), "the same couple, spelt otherwise"),
])
def test_a_separation_leaves_someone_behind(register_of, new_household, why):
    couple = register(register_of, demo.household_form(co_applicant=PARTNER))
    with pytest.raises(InvalidAssociation, match="au moins un"):
        register(register_of, demo.household_form(**new_household), counter="DEMOB", associated_number=couple.number)


def test_a_single_applicant_cannot_separate(register_of):
    single = register(register_of, demo.household_form())
    with pytest.raises(InvalidAssociation, match="qu'un adulte"):
        register(register_of, demo.household_form(), counter="DEMOB", associated_number=single.number)


def test_the_main_applicant_may_be_the_one_who_leaves(register_of):
    couple = register(register_of, demo.household_form(co_applicant=PARTNER))
    leaving = register(register_of, demo.household_form(), counter="DEMOB", associated_number=couple.number)
    assert leaving.associated_number == couple.number


# -- changes ------------------------------------------------------------------------------------


def test_update_replaces_the_household_part_and_the_last_write_wins(register_of):
    application = register(register_of)
    changed = demo.household_form(email="nouvelle@example.org")
    updated = services.update(register_of(), application.number, changed, "DEMOB", NOW)
    assert updated.version == 2
    services.update(register_of(), application.number, demo.household_form(), "DEMOE", NOW)
    with register_of(readonly=True) as work:
        stored = work.applications.get(application.number)
    assert stored.version == 3 and stored.last_changed_by == "DEMOE"
    assert stored.form.household.applicant.email != "nouvelle@example.org"


def test_a_changed_identity_is_checked_for_duplicates(register_of):
    register(register_of)
    other = register(register_of, demo.household_form("Autre", "Personne", date(1990, 1, 1)))
    with pytest.raises(DuplicateSuspected):
        services.update(register_of(), other.number, demo.household_form(), "DEMOC", NOW)


def test_counters_of_another_territory_neither_read_nor_change(register_of):
    application = register(register_of)
    with pytest.raises(OutsideTerritory):
        services.get(register_of(readonly=True), application.number, "NANCY")
    with pytest.raises(OutsideTerritory):
        services.update(register_of(), application.number, demo.household_form(), "NANCY", NOW)


def test_unknown_number(register_of):
    with pytest.raises(ApplicationNotFound):
        services.get(register_of(readonly=True), RegistrationNumber.parse("0571126000099DEMOC"), "DEMOC")


def test_renew_and_cancel_are_stored(register_of):
    application = register(register_of)
    renewal_day = datetime(2027, 9, 15, 9, tzinfo=PARIS)
    services.renew(register_of(), application.number, "DEMOE", renewal_day)
    cancel_day = datetime(2027, 10, 1, 9, tzinfo=PARIS)
    services.cancel(register_of(), application.number,
                    Cancellation(date(2027, 10, 1), "RADABA"), "DEMOC", cancel_day)
    with register_of(readonly=True) as work:
        stored = work.applications.get(application.number)
        kinds = [entry.kind for entry in work.events.history(str(application.number))]
    assert stored.renewal.last_renewed_on == date(2027, 9, 15) and stored.renewal.next_due == date(2028, 11, 30)
    assert stored.state is ApplicationState.CANCELLED and stored.cancellation.motive == "RADABA"
    assert kinds == ["application.registered", "application.renewed", "application.cancelled"]


def test_allocation_is_stored_with_its_commune(register_of):
    application = register(register_of)
    allocation = Cancellation(TODAY, "RADATT", allocation=Allocation(
        lease_signed_on=TODAY, already_housed_by_landlord="NON", collective_agreement="AUCUN",
        reservation_quota="COLTER", address=AllocationAddress(street="rue Haute", postal_code="57000",
                                                              commune="57463")))
    services.cancel(register_of(), application.number, allocation, "DEMOB", NOW)
    [row] = rows(register_of, "applications")
    assert (row["state"], row["cancellation_motive"], row["allocation_commune"]) == ("cancelled", "RADATT", "57463")


def test_unknown_codes_in_a_cancellation_are_anomalies(register_of):
    application = register(register_of)
    allocation = Cancellation(TODAY, "RADATT", allocation=Allocation(
        lease_signed_on=TODAY, already_housed_by_landlord="PEUT", collective_agreement="AUCUN",
        reservation_quota="AUCUN", address=AllocationAddress(commune="57463")))
    with pytest.raises(InvalidContent) as refused:
        services.cancel(register_of(), application.number, allocation, "DEMOB", NOW)
    assert refused.value.anomalies[0].property == "radiation.attributionLogement.dejaLogeParcBailleur"


def test_deletion_erases_the_household_and_keeps_the_number(register_of):
    application = register(register_of)
    services.delete(register_of(), application.number, "DEMOC", NOW + timedelta(hours=2))
    [row] = rows(register_of, "applications")
    assert row["state"] == "deleted" and row["form"] == {}
    assert rows(register_of, "application_people") == [] and rows(register_of, "application_communes") == []
    again = register(register_of)  # the person is no longer a duplicate, and gets a new number
    assert again.number.sequence == 2


# -- journal and outbox -------------------------------------------------------------------------


def test_the_journal_is_append_only(register_of, engine):
    register(register_of)
    with pytest.raises(Exception, match="append-only"):
        with engine.begin() as connection:
            connection.execute(text("UPDATE journal SET actor = 'X'"))
    with pytest.raises(Exception, match="append-only"):
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM journal"))
    assert len(rows(register_of, "journal")) == 1


def test_events_rolled_back_are_never_queued(register_of):
    application = register(register_of)
    with register_of() as work:
        loaded = work.applications.get(application.number, for_update=True)
        loaded.update(demo.household_form(), work.counters.get("DEMOC"), NOW)
        work.applications.save(loaded, 1)
        work.events.append(loaded.events)
        work.rollback()
    assert len(rows(register_of, "outbox")) == 1
    with register_of(readonly=True) as work:
        assert work.applications.get(application.number).version == 1


def test_outbox_messages_are_claimed_once_and_marked_done(register_of):
    for index in range(3):
        register(register_of, demo.household_form(f"Nom{index}", "Test", date(1980, 1, 1 + index)))
    with register_of() as work:
        taken = work.events.claim(["application.registered"], limit=2)
        work.events.done([m.id for m in taken], NOW)
        work.commit()
    with register_of() as work:
        remaining = work.events.claim(["application.registered"], limit=10)
    assert len(taken) == 2 and len(remaining) == 1
    assert remaining[0].id not in {m.id for m in taken}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite serialises writers anyway
def test_concurrent_consumers_never_claim_the_same_message(register_of):
    """Two hub processes claiming at once get disjoint messages (FOR UPDATE SKIP LOCKED)."""
    for index in range(4):
        register(register_of, demo.household_form(f"Nom{index}", "Test", date(1980, 1, 1 + index)))
    with register_of() as first, register_of() as second:
        mine = first.events.claim(["application.registered"], limit=2)
        theirs = second.events.claim(["application.registered"], limit=10)
    assert len(mine) == 2 and len(theirs) == 2
    assert {m.id for m in mine}.isdisjoint({m.id for m in theirs})


def test_a_registration_stores_its_rows_as_the_repositories_store_them(register_of):
    """The registration's DBAPI path (core.adapters.registration) writes the same rows, in the same
    types, as the repositories' SQLAlchemy statements do for the same application and events."""
    from dataclasses import replace

    registered = register(register_of)
    copy = replace(registered, number=RegistrationNumber.issue("057", TODAY, 999_999, "DEMOC"))
    copy.events = [replace(event, number=str(copy.number)) for event in registered.events]
    with register_of() as work:
        work.applications.add(copy)
        work.events.append(copy.events)
        work.commit()

    def by_number(table, ignored):
        found = {}
        for row in rows(register_of, table):
            number = row["number"] if "number" in row else None
            found.setdefault(number, []).append({k: v for k, v in row.items() if k not in ignored})
        return found

    ids = {"id", "application_id", "number", "payload"}
    for table in ("applications", "application_people", "application_communes", "application_terms", "journal",
                  "outbox"):
        stored = by_number(table, ids)
        assert stored[str(registered.number)] == stored[str(copy.number)], table
    with register_of(readonly=True) as work:
        assert work.applications.get(registered.number) == registered
        [entry] = work.events.history(str(registered.number))
        assert entry.at == NOW and entry.at.tzinfo is not None

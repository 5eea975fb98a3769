"""Alembic migrations build exactly the schema the code expects, and undo it, on both databases."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from core.adapters import schema
from core.adapters.database import make_engine
from core.adapters.orm import metadata
from core.domain.identity import name_key


def test_migrated_schema_matches_the_code(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    assert differences == []
    assert schema.current_revision(engine) == schema.head_revision(engine)


ORDER = ("first_wished_commune", "filing_date", "number")


def test_the_indexes_counters_search_with_exist(engine):
    """Each criterion has an index within territory and state that ends in the SNE's order (or, for
    date windows, starts the range there), so that searches read pages without sorting the result."""
    indexed = {
        (table, tuple(index["column_names"]))
        for table in ("applications", "application_people", "application_communes", "application_terms")
        for index in inspect(engine).get_indexes(table)
    }
    assert ("applications", ("state", "next_due")) in indexed
    assert ("applications", ("territory_code", "state", *ORDER)) in indexed
    assert ("applications", ("territory_code", "state", "filing_date", "first_wished_commune", "number")) in indexed
    for criterion in ("last_renewed_on", "cancelled_on", "cancellation_motive", "allocation_commune"):
        assert ("applications", ("territory_code", "state", criterion, *ORDER)) in indexed
    assert ("application_communes", ("commune", "territory_code", "state", *ORDER)) in indexed
    assert ("application_communes", ("commune", "territory_code", "state", "filing_date", "first_wished_commune",
                                     "number")) in indexed
    assert ("application_people", ("birth_date", "first_name_key", "surname_key", "territory_code", "state")) in indexed
    assert ("application_people", ("surname_key", "territory_code", "state", *ORDER, "first_name_key")) in indexed
    assert ("application_people", ("first_name_key", "territory_code", "state", *ORDER)) in indexed
    assert ("application_terms", ("kind", "value", "territory_code", "state", *ORDER)) in indexed
    assert ("application_terms", ("kind", "value", "territory_code", "state", "filing_date", "first_wished_commune",
                                  "number")) in indexed


def test_downgrade_then_upgrade(engine):
    schema.downgrade(engine, "base")
    assert "applications" not in inspect(engine).get_table_names()
    schema.upgrade(engine)
    assert "applications" in inspect(engine).get_table_names()


def test_notices_recorded_as_sent_before_0005_become_requested_ones(engine):
    """Before 0005 the clock wrote a notice's date when it only queued it: the migration says so, and
    the notice channels send those notices for real (their outbox messages were never consumed).
    Changes made before dispatching existed are not dispatched."""
    schema.downgrade(engine, "base")
    schema.upgrade(engine, "0004")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO territories (code, name) VALUES ('057', 'Moselle')"))
        connection.execute(text(
            "INSERT INTO applications (number, territory_code, state, version, filing_date, registered_at, "
            "registered_by, last_changed_at, last_changed_by, next_due, notice_sent_on, online, form) VALUES "
            "('0571125000001DEMOB', '057', 'active', 1, '2025-11-30', '2025-11-30 10:00:00+00', 'DEMOB', "
            "'2025-11-30 10:00:00+00', 'DEMOB', '2026-11-30', '2026-09-30', false, '{}')"))
        for topic in ("application.registered", "notice.renewal"):
            connection.execute(text("INSERT INTO outbox (created_at, topic, number, payload) VALUES "
                                    "('2025-11-30 10:00:00+00', :topic, '0571125000001DEMOB', '{}')"), {"topic": topic})
    schema.upgrade(engine)
    with engine.connect() as connection:
        row = connection.execute(text("SELECT notice_requested_on, notice_sent_on FROM applications")).one()
        waiting = connection.execute(text("SELECT topic FROM outbox WHERE delivered_at IS NULL")).scalars().all()
    assert (str(row[0]), row[1]) == ("2026-09-30", None)
    assert waiting == ["notice.renewal"]  # the notice goes now; the old change is not dispatched


def test_0006_computes_every_name_key_again_as_a_skeleton(engine):
    """Keys indexed before 0006 kept only ASCII letters: Cyrillic ``а`` vanished from ``Mаrtin``, so
    it never met Martin. After 0006 both index as the same skeleton."""
    schema.downgrade(engine, "base")
    schema.upgrade(engine, "0005")
    form = ('{"household": {"applicant": {"surname": "M\u0430rtin", "first_name": "Claire", "birth_date": '
            '"1985-04-12"}, "co_applicants": [{"surname": "Nguyen", "birth_name": "Tr\u0430n", "first_name": '
            '"Minh", "birth_date": "1977-06-30"}]}}')
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO territories (code, name) VALUES ('057', 'Moselle')"))
        connection.execute(text(
            "INSERT INTO applications (number, territory_code, state, version, filing_date, registered_at, "
            "registered_by, last_changed_at, last_changed_by, next_due, online, form) VALUES "
            "('0571125000001DEMOB', '057', 'active', 1, '2025-11-30', '2025-11-30 10:00:00+00', 'DEMOB', "
            "'2025-11-30 10:00:00+00', 'DEMOB', '2026-11-30', false, :form)"), {"form": form})
        connection.execute(text(
            "INSERT INTO application_people (application_id, role, surname_key, first_name_key, birth_date) "
            "SELECT id, 'applicant', 'MRTIN', 'CLAIRE', '1985-04-12' FROM applications"))
    schema.upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT role, surname_key, first_name_key FROM application_people "
                                       "ORDER BY role, surname_key")).all()
    assert [tuple(row) for row in rows] == [
        ("applicant", name_key("Martin"), "CLAIRE"),
        ("co_applicant", name_key("Nguyen"), name_key("Minh")),
        ("co_applicant", name_key("Tran"), name_key("Minh")),
    ]


def test_0007_copies_the_search_columns_and_indexes_the_terms_of_existing_applications(engine):
    """Side rows written before 0007 get their application's territory, state and sort columns, and
    the request motives and association names of stored forms become terms, so that the searches
    that now read only those tables find the applications registered before."""
    schema.downgrade(engine, "base")
    schema.upgrade(engine, "0006")
    household = ('{"housing_sought": {"wished_locations": [{"commune": "57463"}, {"commune": "57751"}]}, '
                 '"motives": {"motives": ["13", "19"]}, "household": {"applicant": {"surname": "Martin", '
                 '"first_name": "Claire", "birth_date": "1985-04-12"}}}')
    association = ('{"housing_sought": {"wished_locations": [{"commune": "57672"}]}, "motives": {"motives": ["01"]}, '
                   '"association": {"name": "Les Amis du Quartier-Nord"}}')
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO territories (code, name) VALUES ('057', 'Moselle')"))
        for number, state, first, form in (("0571125000001DEMOB", "active", "57463", household),
                                           ("0571125000002DEMOB", "cancelled", "57672", association)):
            connection.execute(text(
                "INSERT INTO applications (number, territory_code, state, version, filing_date, registered_at, "
                "registered_by, last_changed_at, last_changed_by, next_due, online, first_wished_commune, form) "
                "VALUES (:number, '057', :state, 1, '2025-11-30', '2025-11-30 10:00:00+00', 'DEMOB', "
                "'2025-11-30 10:00:00+00', 'DEMOB', '2026-11-30', false, :first, :form)"),
                {"number": number, "state": state, "form": form, "first": first})
        connection.execute(text(
            "INSERT INTO application_people (application_id, role, surname_key, first_name_key, birth_date) "
            "SELECT id, 'applicant', 'MARTIN', 'CLAIRE', '1985-04-12' FROM applications WHERE state = 'active'"))
        connection.execute(text(
            "INSERT INTO application_communes (application_id, rank, commune) SELECT id, 0, first_wished_commune "
            "FROM applications"))
    schema.upgrade(engine)
    with engine.connect() as connection:
        people = connection.execute(text("SELECT territory_code, state, first_wished_commune, filing_date, number "
                                         "FROM application_people")).all()
        communes = connection.execute(text("SELECT commune, state, number FROM application_communes "
                                           "ORDER BY number")).all()
        terms = connection.execute(text("SELECT kind, value, state, number FROM application_terms "
                                        "ORDER BY number, kind, value")).all()
    assert [tuple(map(str, row)) for row in people] == [("057", "active", "57463", "2025-11-30", "0571125000001DEMOB")]
    assert [tuple(row) for row in communes] == [("57463", "active", "0571125000001DEMOB"),
                                                ("57672", "cancelled", "0571125000002DEMOB")]
    assert [tuple(row) for row in terms] == [
        ("motive", "13", "active", "0571125000001DEMOB"), ("motive", "19", "active", "0571125000001DEMOB"),
        ("association", name_key("Les Amis du Quartier-Nord"), "cancelled", "0571125000002DEMOB"),
        ("motive", "01", "cancelled", "0571125000002DEMOB")]


def test_a_url_with_a_percent_sign_migrates(database_url, tmp_path):
    """A password with reserved characters is written percent-encoded in the URL (``p%40ss``), and
    so is a path with spaces; Alembic's configuration would read that ``%`` as its own interpolation
    and refuse the URL. The same database, reached through such a URL, migrates."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        url = url.set(database=str(tmp_path / "régistre à 100%.db"))
    else:
        url = url.set(password="p@ss:100%")  # trust authentication: the password is not checked
    assert "%" in url.render_as_string(hide_password=False)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        schema.downgrade(engine, "base")
        schema.upgrade(engine)
        assert schema.current_revision(engine) == schema.head_revision(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_compresses_the_large_values_with_lz4(engine):
    """0013: the forms, the outbox's snapshots and the mails are compressed with lz4 on PostgreSQL;
    downgraded, with PostgreSQL's default again."""
    query = text("SELECT attrelid::regclass::text, attname, attcompression FROM pg_attribute "
                 "WHERE attrelid::regclass::text IN ('applications', 'outbox', 'mail_messages') "
                 "AND attname IN ('form', 'payload', 'raw')")

    def methods():
        with engine.connect() as connection:
            return {(table, column): method for table, column, method in connection.execute(query)}

    assert methods() == {("applications", "form"): "l", ("outbox", "payload"): "l", ("mail_messages", "raw"): "l"}
    schema.downgrade(engine, "0012")
    assert set(methods().values()) == {""}
    schema.upgrade(engine)
    assert set(methods().values()) == {"l"}


def test_0015_leaves_the_index_tables_without_a_foreign_key_and_the_outbox_snapshot_in_its_row(engine):
    """0015: nothing checks an index row against its application as it is inserted (the purge erases
    them itself), and on PostgreSQL the outbox's payload is compressed in its row, not moved out of
    it; downgraded, both as before, on either database."""
    side_tables = ("application_people", "application_communes", "application_terms")

    def referred():
        return {table: [key["referred_table"] for key in inspect(engine).get_foreign_keys(table)]
                for table in side_tables}

    def payload_storage():
        if engine.dialect.name != "postgresql":
            return None
        with engine.connect() as connection:
            return connection.execute(text("SELECT attstorage FROM pg_attribute WHERE attrelid = 'outbox'::regclass "
                                           "AND attname = 'payload'")).scalar_one()

    assert referred() == {table: [] for table in side_tables}
    assert payload_storage() in (None, "m")
    schema.downgrade(engine, "0014")
    assert referred() == {table: ["applications"] for table in side_tables}
    assert payload_storage() in (None, "x")
    schema.upgrade(engine)
    assert referred() == {table: [] for table in side_tables}

"""Alembic migrations build exactly the schema the code expects, and undo it, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from core.adapters import schema
from core.adapters.orm import metadata
from core.domain.identity import name_key


def test_migrated_schema_matches_the_code(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    assert differences == []
    assert schema.current_revision(engine) == schema.head_revision(engine)


def test_the_indexes_counters_search_with_exist(engine):
    indexed = {
        (table, tuple(index["column_names"]))
        for table in ("applications", "application_people", "application_communes")
        for index in inspect(engine).get_indexes(table)
    }
    assert ("applications", ("filing_date",)) in indexed
    assert ("applications", ("state", "next_due")) in indexed
    assert ("applications", ("territory_code", "state", "first_wished_commune", "filing_date", "number")) in indexed
    assert ("application_communes", ("commune",)) in indexed
    assert ("application_people", ("birth_date", "first_name_key", "surname_key")) in indexed


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

"""Alembic migrations build exactly the schema the code expects, and undo it, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from core.adapters import schema
from core.adapters.orm import metadata


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

"""Initial schema: territories, counters, applications and their indexes, journal, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

IDENTIFIER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
INSTANT = sa.DateTime(timezone=True)

# The journal is append-only: the database itself refuses to change or remove a line.
APPEND_ONLY = {
    "postgresql": [
        """CREATE FUNCTION journal_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'the journal is append-only'; END $$""",
        """CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal
           FOR EACH ROW EXECUTE FUNCTION journal_is_append_only()""",
    ],
    "sqlite": [
        """CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
           BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END""",
        """CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
           BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END""",
    ],
}
DROP_APPEND_ONLY = {
    "postgresql": [
        "DROP TRIGGER journal_append_only ON journal",
        "DROP FUNCTION journal_is_append_only()",
        # the territories' number sequences (core.adapters.repository.NativeSequences) go with them
        """DO $$ DECLARE name text; BEGIN
             FOR name IN SELECT sequencename FROM pg_sequences WHERE sequencename LIKE 'number_sequence_%' LOOP
               EXECUTE format('DROP SEQUENCE %I', name);
             END LOOP; END $$""",
    ],
    "sqlite": ["DROP TRIGGER journal_no_update", "DROP TRIGGER journal_no_delete"],
}


def upgrade() -> None:
    op.create_table(
        "territories",
        sa.Column("code", sa.String(3), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_territories"),
    )
    op.create_table(
        "territory_areas",
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("area", sa.String(5), nullable=False),
        sa.Column("territory_code", sa.String(3), nullable=False),
        sa.ForeignKeyConstraint(["territory_code"], ["territories.code"],
                                name="fk_territory_areas_territory_code_territories"),
        sa.PrimaryKeyConstraint("kind", "area", name="pk_territory_areas"),
    )
    op.create_index("ix_territory_areas_territory_code", "territory_areas", ["territory_code"])
    op.create_table(
        "number_sequences",
        sa.Column("territory_code", sa.String(3), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["territory_code"], ["territories.code"],
                                name="fk_number_sequences_territory_code_territories"),
        sa.PrimaryKeyConstraint("territory_code", name="pk_number_sequences"),
    )
    op.create_table(
        "counters",
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("territory_code", sa.String(3), nullable=False),
        sa.Column("mailbox", sa.String(255), nullable=True),
        sa.Column("endpoint", sa.String(500), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["territory_code"], ["territories.code"], name="fk_counters_territory_code_territories"),
        sa.PrimaryKeyConstraint("code", name="pk_counters"),
    )
    op.create_index("ix_counters_territory_code", "counters", ["territory_code"])
    op.create_table(
        "applications",
        sa.Column("id", IDENTIFIER, autoincrement=True, nullable=False),
        sa.Column("number", sa.String(18), nullable=False),
        sa.Column("territory_code", sa.String(3), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("filing_date", sa.Date(), nullable=False),
        sa.Column("registered_at", INSTANT, nullable=False),
        sa.Column("registered_by", sa.String(10), nullable=False),
        sa.Column("last_changed_at", INSTANT, nullable=False),
        sa.Column("last_changed_by", sa.String(10), nullable=False),
        sa.Column("next_due", sa.Date(), nullable=False),
        sa.Column("last_renewed_on", sa.Date(), nullable=True),
        sa.Column("notice_sent_on", sa.Date(), nullable=True),
        sa.Column("second_notice_sent_on", sa.Date(), nullable=True),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("cancellation_motive", sa.String(6), nullable=True),
        sa.Column("allocation_commune", sa.String(5), nullable=True),
        sa.Column("associated_number", sa.String(18), nullable=True),
        sa.Column("first_wished_commune", sa.String(5), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("form", DOCUMENT, nullable=False),
        sa.Column("cancellation", DOCUMENT, nullable=True),
        sa.ForeignKeyConstraint(["territory_code"], ["territories.code"],
                                name="fk_applications_territory_code_territories"),
        sa.PrimaryKeyConstraint("id", name="pk_applications"),
        sa.UniqueConstraint("number", name="uq_applications_number"),
    )
    op.create_index("ix_applications_filing_date", "applications", ["filing_date"])
    op.create_index("ix_applications_last_renewed_on", "applications", ["last_renewed_on"])
    op.create_index("ix_applications_cancelled_on", "applications", ["cancelled_on"])
    op.create_index("ix_applications_allocation_commune", "applications", ["allocation_commune"])
    op.create_index("ix_applications_state_next_due", "applications", ["state", "next_due"])
    op.create_index("ix_applications_search_order", "applications",
                    ["territory_code", "state", "first_wished_commune", "filing_date", "number"])
    op.create_table(
        "application_people",
        sa.Column("id", IDENTIFIER, autoincrement=True, nullable=False),
        sa.Column("application_id", IDENTIFIER, nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("surname_key", sa.String(80), nullable=False),
        sa.Column("first_name_key", sa.String(80), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"], ondelete="CASCADE",
                                name="fk_application_people_application_id_applications"),
        sa.PrimaryKeyConstraint("id", name="pk_application_people"),
    )
    op.create_index("ix_application_people_application_id", "application_people", ["application_id"])
    op.create_index("ix_application_people_birth_date_first_name_key_surname_key", "application_people",
                    ["birth_date", "first_name_key", "surname_key"])
    op.create_table(
        "application_communes",
        sa.Column("application_id", IDENTIFIER, nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("commune", sa.String(5), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"], ondelete="CASCADE",
                                name="fk_application_communes_application_id_applications"),
        sa.PrimaryKeyConstraint("application_id", "rank", name="pk_application_communes"),
    )
    op.create_index("ix_application_communes_commune", "application_communes", ["commune"])
    op.create_table(
        "journal",
        sa.Column("id", IDENTIFIER, autoincrement=True, nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("actor", sa.String(10), nullable=False),
        sa.Column("number", sa.String(18), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("details", DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_journal"),
    )
    op.create_index("ix_journal_number", "journal", ["number"])
    op.create_table(
        "outbox",
        sa.Column("id", IDENTIFIER, autoincrement=True, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("topic", sa.String(60), nullable=False),
        sa.Column("number", sa.String(18), nullable=False),
        sa.Column("payload", DOCUMENT, nullable=False),
        sa.Column("delivered_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_delivered_at_topic_id", "outbox", ["delivered_at", "topic", "id"])
    for statement in APPEND_ONLY.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_APPEND_ONLY.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    for table in ("outbox", "journal", "application_communes", "application_people", "applications", "counters",
                  "number_sequences", "territory_areas", "territories"):
        op.drop_table(table)

"""Supporting documents: their descriptions, their journal and the counters' document profiles, and
the date each application's documents last changed (``dateDerniereModificationPiece``).

The documents' bytes are not in the database: they are sealed in the document store
(``SNE_HUB_DOCUMENT_STORE``), by random keys. No application has documents yet: the new column is
empty, and no search term is added.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

IDENTIFIER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as table:
        table.add_column(sa.Column("documents_changed_on", sa.Date))
    op.create_table(
        "documents",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("number", sa.String(18), nullable=False),
        sa.Column("territory_code", sa.String(3), nullable=False),
        sa.Column("category", sa.String(6), nullable=False),
        sa.Column("type", sa.String(6), nullable=False),
        sa.Column("relevance", sa.String(2), nullable=False),
        sa.Column("valid_until", sa.Date),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("media_type", sa.String(20), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(32), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("created_by", sa.String(10), nullable=False),
        sa.Column("changed_at", INSTANT, nullable=False),
        sa.Column("changed_by", sa.String(10), nullable=False),
        sa.Column("last_event", sa.String(3), nullable=False),
        sa.Column("quarantined_at", INSTANT),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.UniqueConstraint("storage_key", name="uq_documents_storage_key"),
    )
    op.create_index("ix_documents_number_state_type", "documents", ["number", "state", "type"])
    op.create_table(
        "document_journal",
        sa.Column("id", IDENTIFIER, primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.String(32), nullable=False),
        sa.Column("number", sa.String(18), nullable=False),
        sa.Column("territory_code", sa.String(3), nullable=False),
        sa.Column("category", sa.String(6), nullable=False),
        sa.Column("type", sa.String(6), nullable=False),
        sa.Column("event", sa.String(3), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("actor", sa.String(10), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_document_journal"),
    )
    op.create_index("ix_document_journal_number_at", "document_journal", ["number", "at"])
    op.create_table(
        "document_profiles",
        sa.Column("counter_code", sa.String(5), nullable=False),
        sa.Column("profile", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("counter_code", name="pk_document_profiles"),
        sa.ForeignKeyConstraint(["counter_code"], ["counters.code"], name="fk_document_profiles_counter_code_counters"),
    )


def downgrade() -> None:
    op.drop_table("document_profiles")
    op.drop_index("ix_document_journal_number_at", "document_journal")
    op.drop_table("document_journal")
    op.drop_index("ix_documents_number_state_type", "documents")
    op.drop_table("documents")
    with op.batch_alter_table("applications") as table:
        table.drop_column("documents_changed_on")

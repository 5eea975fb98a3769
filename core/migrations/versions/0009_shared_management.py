"""Shared management: a territory's own event types, and the events recorded on applications.

The decree's national event types are constants of the code, not rows. Events keep their
application's number and territory (not a foreign key: an application erased by SUP leaves its
events to the retention rules, and the journal keeps what happened).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

IDENTIFIER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "event_types",
        sa.Column("territory_code", sa.String(3), nullable=False),
        sa.Column("code", sa.String(10), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("description_sne", sa.String(500), nullable=False),
        sa.Column("description_pgp", sa.String(500), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("usable_conditional", sa.Boolean(), nullable=False),
        sa.Column("usable_search", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("features", DOCUMENT, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("created_by", sa.String(10), nullable=False),
        sa.ForeignKeyConstraint(["territory_code"], ["territories.code"],
                                name="fk_event_types_territory_code_territories"),
        sa.PrimaryKeyConstraint("territory_code", "code", name="pk_event_types"),
    )
    op.create_table(
        "shared_events",
        sa.Column("id", IDENTIFIER, autoincrement=True, nullable=False),
        sa.Column("number", sa.String(18), nullable=False),
        sa.Column("territory_code", sa.String(3), nullable=False),
        sa.Column("type_code", sa.String(10), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("comment", sa.String(500), nullable=True),
        sa.Column("feature_values", DOCUMENT, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("created_by", sa.String(10), nullable=False),
        sa.Column("changed_at", INSTANT, nullable=True),
        sa.Column("changed_by", sa.String(10), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_shared_events"),
    )
    op.create_index("ix_shared_events_number_id", "shared_events", ["number", "id"])


def downgrade() -> None:
    op.drop_index("ix_shared_events_number_id", table_name="shared_events")
    op.drop_table("shared_events")
    op.drop_table("event_types")

"""When an application's DALO status became active, for getNouveauxDaloDepuisLe.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as table:
        table.add_column(sa.Column("dalo_active_since", sa.DateTime(timezone=True), nullable=True))
        table.create_index("ix_applications_dalo_active_since", ["dalo_active_since"])


def downgrade() -> None:
    with op.batch_alter_table("applications") as table:
        table.drop_index("ix_applications_dalo_active_since")
        table.drop_column("dalo_active_since")

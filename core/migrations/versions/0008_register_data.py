"""The data the register owns: the prefects' delays per département, the register's indicators as
columns (so the daily job finds what to recompute without reading forms), and an index for the
retention purge (cancelled applications by cancellation date).

Existing applications get NULL indicators: the register never computed them (counters' values
were never taken), and the first daily run computes them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "prefect_delays",
        sa.Column("departement", sa.String(3), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("set_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("departement"),
    )
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("long_wait", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("conditional_allocation", sa.Boolean(), nullable=True))
    op.create_index("ix_applications_retention", "applications", ["state", "cancelled_on"])


def downgrade() -> None:
    op.drop_index("ix_applications_retention", table_name="applications")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("conditional_allocation")
        batch.drop_column("long_wait")
    op.drop_table("prefect_delays")

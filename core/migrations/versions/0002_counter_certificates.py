"""Counter certificates: what authenticates a counter on the SOAP and mail channels.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "counter_certificates",
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("counter_code", sa.String(5), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("not_before", INSTANT, nullable=False),
        sa.Column("not_after", INSTANT, nullable=False),
        sa.Column("revoked_at", INSTANT, nullable=True),
        sa.ForeignKeyConstraint(["counter_code"], ["counters.code"], name="fk_counter_certificates_counter_code_counters"),
        sa.PrimaryKeyConstraint("fingerprint", name="pk_counter_certificates"),
    )
    op.create_index("ix_counter_certificates_counter_code", "counter_certificates", ["counter_code"])


def downgrade() -> None:
    op.drop_table("counter_certificates")

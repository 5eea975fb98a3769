"""The signed mail channel: messages received (with their quarantine) and replies to send.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

IDENTIFIER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mail_messages",
        sa.Column("id", IDENTIFIER, autoincrement=True, nullable=False),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.Column("message_id", sa.String(998), nullable=True),
        sa.Column("sender", sa.String(320), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("counter_code", sa.String(5), nullable=True),
        sa.Column("reason_code", sa.String(20), nullable=True),
        sa.Column("reason", sa.String(1000), nullable=True),
        sa.Column("reply_id", IDENTIFIER, nullable=True),
        sa.Column("processed_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_mail_messages"),
    )
    op.create_index("ix_mail_messages_status", "mail_messages", ["status"])
    op.create_index("ix_mail_messages_digest", "mail_messages", ["digest"])
    op.create_index("ix_mail_messages_message_id", "mail_messages", ["message_id"])
    op.create_table(
        "mail_outbox",
        sa.Column("id", IDENTIFIER, autoincrement=True, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", INSTANT, nullable=False),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.Column("sent_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_mail_outbox"),
    )
    op.create_index("ix_mail_outbox_status_next_attempt_at", "mail_outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("mail_outbox")
    op.drop_table("mail_messages")

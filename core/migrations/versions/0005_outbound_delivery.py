"""Outbound delivery: dispatching (EPCIs, subscriptions, changes, stream items), renewal notices
that count only once they left, and counter certificates kept whole (to encrypt mail to them).

Notices requested before this revision were recorded as sent while they were only queued in the
outbox: their date moves to ``notice_requested_on`` and the notice channels now send them for real.
Changes of applications made before it are not dispatched (dispatching did not exist; their outbox
messages carry no snapshot to build a DIS file from): their messages are marked consumed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

IDENTIFIER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("applications") as table:
        table.add_column(sa.Column("notice_requested_on", sa.Date(), nullable=True))
        table.add_column(sa.Column("second_notice_requested_on", sa.Date(), nullable=True))
    op.execute("UPDATE applications SET notice_requested_on = notice_sent_on, "
               "second_notice_requested_on = second_notice_sent_on, "
               "notice_sent_on = NULL, second_notice_sent_on = NULL")
    with op.batch_alter_table("counter_certificates") as table:
        table.add_column(sa.Column("certificate", sa.LargeBinary(), nullable=True))
    op.execute("UPDATE outbox SET delivered_at = CURRENT_TIMESTAMP "
               "WHERE delivered_at IS NULL AND topic LIKE 'application.%'")

    op.create_table(
        "epcis",
        sa.Column("code", sa.String(9), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("territory_code", sa.String(3), nullable=False),
        sa.ForeignKeyConstraint(["territory_code"], ["territories.code"], name="fk_epcis_territory_code_territories"),
        sa.PrimaryKeyConstraint("code", name="pk_epcis"),
    )
    op.create_index("ix_epcis_territory_code", "epcis", ["territory_code"])
    op.create_table(
        "epci_communes",
        sa.Column("epci_code", sa.String(9), nullable=False),
        sa.Column("commune", sa.String(5), nullable=False),
        sa.ForeignKeyConstraint(["epci_code"], ["epcis.code"], name="fk_epci_communes_epci_code_epcis",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("epci_code", "commune", name="pk_epci_communes"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", IDENTIFIER, autoincrement=True, nullable=False),
        sa.Column("counter_code", sa.String(5), nullable=False),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("filter", DOCUMENT, nullable=False),
        sa.Column("mtom", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("disabled_at", INSTANT, nullable=True),
        sa.Column("disabled_reason", sa.String(500), nullable=True),
        sa.Column("failing_since", INSTANT, nullable=True),
        sa.Column("last_success_at", INSTANT, nullable=True),
        sa.Column("last_attempt_at", INSTANT, nullable=True),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", INSTANT, nullable=True),
        sa.Column("daily_sent_on", sa.Date(), nullable=True),
        sa.Column("leased_until", INSTANT, nullable=True),
        sa.Column("lease_owner", sa.String(40), nullable=True),
        sa.ForeignKeyConstraint(["counter_code"], ["counters.code"], name="fk_subscriptions_counter_code_counters"),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
    )
    op.create_index("ix_subscriptions_counter_code", "subscriptions", ["counter_code"])
    op.create_table(
        "dispatch_changes",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("number", sa.String(18), nullable=False),
        sa.Column("territory_code", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(4), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(10), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("before", DOCUMENT, nullable=True),
        sa.Column("after", DOCUMENT, nullable=False),
        sa.Column("file", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dispatch_changes"),
    )
    op.create_index("ix_dispatch_changes_number", "dispatch_changes", ["number"])
    op.create_index("ix_dispatch_changes_territory_code_at", "dispatch_changes", ["territory_code", "at"])
    op.create_table(
        "dispatch_items",
        sa.Column("id", IDENTIFIER, autoincrement=True, nullable=False),
        sa.Column("subscription_id", IDENTIFIER, nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("change_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("batch", sa.String(40), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("delivered_at", INSTANT, nullable=True),
        sa.Column("error", sa.String(1000), nullable=True),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"],
                                name="fk_dispatch_items_subscription_id_subscriptions", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["change_id"], ["dispatch_changes.id"],
                                name="fk_dispatch_items_change_id_dispatch_changes"),
        sa.PrimaryKeyConstraint("id", name="pk_dispatch_items"),
        sa.UniqueConstraint("subscription_id", "sequence", name="uq_dispatch_items_subscription_id_sequence"),
    )
    op.create_index("ix_dispatch_items_change_id", "dispatch_items", ["change_id"])
    op.create_index("ix_dispatch_items_batch", "dispatch_items", ["batch"])
    op.create_index("ix_dispatch_items_subscription_id_status_sequence", "dispatch_items",
                    ["subscription_id", "status", "sequence"])

    op.create_table(
        "notices",
        sa.Column("id", IDENTIFIER, autoincrement=True, nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(18), nullable=False),
        sa.Column("territory_code", sa.String(3), nullable=False),
        sa.Column("second", sa.Boolean(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("requested_at", INSTANT, nullable=False),
        sa.Column("recipient", DOCUMENT, nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("sent_at", INSTANT, nullable=True),
        sa.Column("sent_channel", sa.String(20), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
        sa.UniqueConstraint("outbox_id", name="uq_notices_outbox_id"),
    )
    op.create_index("ix_notices_number", "notices", ["number"])
    op.create_index("ix_notices_status", "notices", ["status"])
    op.create_table(
        "notice_sends",
        sa.Column("id", IDENTIFIER, autoincrement=True, nullable=False),
        sa.Column("notice_id", IDENTIFIER, nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", INSTANT, nullable=False),
        sa.Column("leased_until", INSTANT, nullable=True),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.Column("sent_at", INSTANT, nullable=True),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name="fk_notice_sends_notice_id_notices",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_notice_sends"),
    )
    op.create_index("ix_notice_sends_notice_id", "notice_sends", ["notice_id"])
    op.create_index("ix_notice_sends_channel_status_next_attempt_at", "notice_sends",
                    ["channel", "status", "next_attempt_at"])
    op.create_table(
        "letter_batches",
        sa.Column("id", IDENTIFIER, autoincrement=True, nullable=False),
        sa.Column("territory_code", sa.String(3), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("closed_at", INSTANT, nullable=False),
        sa.Column("letters", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("exported_at", INSTANT, nullable=True),
        sa.Column("export_path", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_letter_batches"),
    )


def downgrade() -> None:
    op.drop_table("letter_batches")
    op.drop_table("notice_sends")
    op.drop_table("notices")
    op.drop_table("dispatch_items")
    op.drop_table("dispatch_changes")
    op.drop_table("subscriptions")
    op.drop_table("epci_communes")
    op.drop_table("epcis")
    with op.batch_alter_table("counter_certificates") as table:
        table.drop_column("certificate")
    op.execute("UPDATE applications SET notice_sent_on = notice_requested_on, "
               "second_notice_sent_on = second_notice_requested_on")
    with op.batch_alter_table("applications") as table:
        table.drop_column("second_notice_requested_on")
        table.drop_column("notice_requested_on")

"""The mail channel's rows by age: what its retention erases, found without reading the others.

Settled mails and replies are erased once older than ``SNE_HUB_MAIL_RETENTION_DAYS``
(``async_mail.store.MailStore.purge``, every hour in each mail process). Through these indexes a
purge reads the range of old rows only; without them every purge, even one with nothing to erase,
would read the whole table.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mail_messages_received_at", "mail_messages", ["received_at"])
    op.create_index("ix_mail_outbox_created_at", "mail_outbox", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_mail_outbox_created_at", table_name="mail_outbox")
    op.drop_index("ix_mail_messages_received_at", table_name="mail_messages")

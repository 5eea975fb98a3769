"""Mail leases: which ``sne-hub serve`` process holds a mail being processed, and until when.

Several mail processes may now share one database (and one SMTP port): each leases the mails it
stores or claims and renews its leases while it lives. A mail whose lease ran out (its process
died) is taken by another process; one without a lease (stored before this revision, or let go
at a graceful stop) can be taken at once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

INSTANT = sa.DateTime(timezone=True)

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mail_messages") as table:
        table.add_column(sa.Column("owner", sa.String(32)))
        table.add_column(sa.Column("lease_until", INSTANT))


def downgrade() -> None:
    with op.batch_alter_table("mail_messages") as table:
        table.drop_column("lease_until")
        table.drop_column("owner")

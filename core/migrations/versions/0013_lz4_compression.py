"""PostgreSQL compresses the register's large values with lz4 instead of pglz.

PostgreSQL compresses a row's value above about 2 KB before storing it (TOAST). Every registration
stores a full household's form twice, in its application's row and in the outbox message that
snapshots it (about 3 KB each as ``jsonb``), and every mail its signed message. With pglz,
PostgreSQL's default, compressing one form took 40–75 µs of the server; with lz4, 35–50 µs, for
values about 8 % larger (1.6 against 1.5 KB); lz4 also reads them back faster, as the dispatcher
and the searches do (docs/BENCHMARKS.md, "Tenth pass"). Only values written after the change are
compressed the new way; the others stay as they are, and both read alike.

On SQLite, and on a PostgreSQL without lz4 (before 14, or built without it), nothing changes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Every jsonb and bytea column: PostgreSQL compresses whichever of their values grow past its threshold.
COMPRESSED = {
    "applications": ("form", "cancellation"),
    "outbox": ("payload",),
    "journal": ("details",),
    "dispatch_changes": ("before", "after", "file"),
    "mail_messages": ("raw",),
    "mail_outbox": ("raw",),
    "letter_batches": ("pdf",),
    "notices": ("recipient",),
    "shared_events": ("feature_values",),
    "event_types": ("features",),
    "subscriptions": ("filter",),
    "counter_certificates": ("certificate",),
}


def upgrade() -> None:
    _compress_with("lz4")


def downgrade() -> None:
    _compress_with("DEFAULT")


def _compress_with(method: str) -> None:
    if not _lz4_available():
        return
    for table, columns in COMPRESSED.items():
        changes = ", ".join(f"ALTER COLUMN {column} SET COMPRESSION {method}" for column in columns)
        op.execute(f"ALTER TABLE {table} {changes}")


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    return bool(bind.execute(text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")).scalar())

"""What a registration writes, made cheaper for PostgreSQL: no foreign key checks on the index
rows, and the outbox's snapshot of the form kept in its row.

- The side tables (``application_people``, ``application_communes``, ``application_terms``) lose
  their foreign key to ``applications``. A full household's registration inserts about a dozen
  index rows, and PostgreSQL checked each one against ``applications`` at the end of the statement
  (a lookup with a share lock on the row): 7 % of its work per registration. Only the applications'
  repository writes these rows, in the transaction that writes their application, and its purge
  now erases them itself where ``ON DELETE CASCADE`` did (``core.adapters.orm``'s docstring).
- The outbox's ``payload`` is stored ``MAIN`` on PostgreSQL: compressed and kept in the row. A
  registration's message snapshots the whole application, form included, about 2.2 KB once
  compressed, just over the 2 KB past which PostgreSQL's default moved it to the table's TOAST
  relation: a second heap row and a second index entry for every registration, 3–4 % of its work.
  A row of the outbox now holds up to a page; a larger payload still goes out of line, as before.

docs/BENCHMARKS.md, "Fifteenth pass", has the measurements. On SQLite, the tables are rebuilt
without the keys (Alembic's batch mode); SQLite has no ``STORAGE``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SIDE_TABLES = ("application_people", "application_communes", "application_terms")


def _foreign_key(table: str) -> str:
    return f"fk_{table}_application_id_applications"


def upgrade() -> None:
    for table in SIDE_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_foreign_key(table), type_="foreignkey")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE outbox ALTER COLUMN payload SET STORAGE MAIN")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE outbox ALTER COLUMN payload SET STORAGE EXTENDED")
    for table in SIDE_TABLES:  # index rows whose application is gone would refuse the key: none are left
        op.execute(f"DELETE FROM {table} WHERE application_id NOT IN (SELECT id FROM applications)")
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(_foreign_key(table), "applications", ["application_id"], ["id"],
                                     ondelete="CASCADE")

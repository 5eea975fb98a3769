"""The identity check's index: birth date, first name, surname, territory and state, all five.

Every registration looks for its people among the active applications of its territory
(``core.adapters.registration.IDENTITIES``). The index it was meant to use held the first three
columns only; the people's search indexes (surname or first name, then territory and state) match
three of the query's columns too, and planners without fresh statistics (SQLite never gathers
any by itself; PostgreSQL before autovacuum's first ANALYZE) took the first-name one: a scan of
every active person of the territory with that first name, for each registration. With the five
columns this index matches the whole query: SQLite, which counts the columns an index matches,
takes it without statistics; PostgreSQL takes it once it has statistics of the register (its
autovacuum's ANALYZE), and until then still weighs the indexes by the statistics it has. It
replaces the three-column one, which it serves (same leading columns).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

FORMER = "ix_application_people_birth_date_first_name_key_surname_key"
IDENTITY = "ix_application_people_identity"


def upgrade() -> None:
    op.create_index(IDENTITY, "application_people",
                    ["birth_date", "first_name_key", "surname_key", "territory_code", "state"])
    op.drop_index(FORMER, table_name="application_people")


def downgrade() -> None:
    op.create_index(FORMER, "application_people", ["birth_date", "first_name_key", "surname_key"])
    op.drop_index(IDENTITY, table_name="application_people")

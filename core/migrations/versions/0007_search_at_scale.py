"""Search at scale: every search reads one index in the SNE's order, from the previous page's key.

The side tables (people, wished communes) get a copy of each application's territory, state and
sort columns (first wished commune, filing date, number), and a third one, ``application_terms``,
indexes what the criteria that look into the form ask (request motives, the register's indicators,
an association's name), so that no search decodes a form. The single-column indexes of the date
and cancellation criteria become indexes that carry territory, state and the sort columns too.
Existing rows are filled in batches of applications (the register can hold millions).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from core.adapters.serialization import from_document
from core.domain.form import ApplicationForm
from core.domain.search import index_terms

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BATCH = 1000
IDENTIFIER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SEARCH_COLUMNS = ("territory_code", "state", "first_wished_commune", "filing_date", "number")
SEARCH_ORDER = ["first_wished_commune", "filing_date", "number"]
NOT_NULL = ("territory_code", "state", "filing_date", "number")
TYPES = {"territory_code": sa.String(3), "state": sa.String(10), "first_wished_commune": sa.String(5),
         "filing_date": sa.Date(), "number": sa.String(18)}
APPLICATIONS = sa.table("applications", sa.column("id", sa.BigInteger),
                        sa.column("form", sa.JSON().with_variant(JSONB(), "postgresql")),
                        *(sa.column(name, TYPES[name]) for name in SEARCH_COLUMNS))
TERMS = sa.table("application_terms", sa.column("application_id", sa.BigInteger), sa.column("kind", sa.String),
                 sa.column("value", sa.String), *(sa.column(name, TYPES[name]) for name in SEARCH_COLUMNS))
SIDE_TABLES = ("application_people", "application_communes")

OLD_INDEXES = [
    ("ix_applications_filing_date", "applications", ["filing_date"]),
    ("ix_applications_last_renewed_on", "applications", ["last_renewed_on"]),
    ("ix_applications_cancelled_on", "applications", ["cancelled_on"]),
    ("ix_applications_allocation_commune", "applications", ["allocation_commune"]),
    ("ix_application_communes_commune", "application_communes", ["commune"]),
]
NEW_INDEXES = [
    ("ix_applications_filing_order", "applications",
     ["territory_code", "state", "filing_date", "first_wished_commune", "number"]),
    ("ix_applications_renewal_order", "applications", ["territory_code", "state", "last_renewed_on", *SEARCH_ORDER]),
    ("ix_applications_cancellation_order", "applications", ["territory_code", "state", "cancelled_on", *SEARCH_ORDER]),
    ("ix_applications_cancellation_motive_order", "applications",
     ["territory_code", "state", "cancellation_motive", *SEARCH_ORDER]),
    ("ix_applications_allocation_order", "applications",
     ["territory_code", "state", "allocation_commune", *SEARCH_ORDER]),
    ("ix_application_people_surname_order", "application_people",
     ["surname_key", "territory_code", "state", *SEARCH_ORDER, "first_name_key"]),
    ("ix_application_people_first_name_order", "application_people",
     ["first_name_key", "territory_code", "state", *SEARCH_ORDER]),
    ("ix_application_communes_search_order", "application_communes",
     ["commune", "territory_code", "state", *SEARCH_ORDER]),
    ("ix_application_communes_filing_order", "application_communes",
     ["commune", "territory_code", "state", "filing_date", "first_wished_commune", "number"]),
    ("ix_application_terms_search_order", "application_terms", ["kind", "value", "territory_code", "state",
                                                                *SEARCH_ORDER]),
    ("ix_application_terms_filing_order", "application_terms",
     ["kind", "value", "territory_code", "state", "filing_date", "first_wished_commune", "number"]),
]


def search_columns(nullable: bool = True) -> list[sa.Column]:
    """The copied columns; added nullable to tables that have rows, made NOT NULL once filled."""
    return [sa.Column(name, TYPES[name], nullable=nullable or name not in NOT_NULL) for name in SEARCH_COLUMNS]


def upgrade() -> None:
    for table in SIDE_TABLES:
        with op.batch_alter_table(table) as batch:
            for column in search_columns():
                batch.add_column(column)
    op.create_table(
        "application_terms",
        sa.Column("application_id", IDENTIFIER, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("value", sa.String(80), nullable=False),
        *search_columns(nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"], ondelete="CASCADE",
                                name="fk_application_terms_application_id_applications"),
        sa.PrimaryKeyConstraint("application_id", "kind", "value", name="pk_application_terms"),
    )
    _fill(op.get_bind())
    for table in SIDE_TABLES:
        with op.batch_alter_table(table) as batch:
            for name in NOT_NULL:
                batch.alter_column(name, existing_type=TYPES[name], nullable=False)
    for name, table, _ in OLD_INDEXES:
        op.drop_index(name, table_name=table)
    for name, table, columns in NEW_INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in NEW_INDEXES:
        if table != "application_terms":
            op.drop_index(name, table_name=table)
    op.drop_table("application_terms")
    for table in SIDE_TABLES:
        with op.batch_alter_table(table) as batch:
            for name in SEARCH_COLUMNS:
                batch.drop_column(name)
    for name, table, columns in OLD_INDEXES:
        op.create_index(name, table, columns)


def _fill(connection: sa.Connection) -> None:
    """Copy each application's search columns into its side rows and index its terms, by batches of
    applications in id order."""
    copied = ", ".join(f"{name} = applications.{name}" for name in SEARCH_COLUMNS)
    updates = [sa.text(f"UPDATE {table} SET {copied} FROM applications WHERE applications.id = {table}.application_id "
                       "AND applications.id >= :first AND applications.id <= :last") for table in SIDE_TABLES]
    last = 0
    while True:
        batch = connection.execute(
            sa.select(APPLICATIONS).where(APPLICATIONS.c.id > last).order_by(APPLICATIONS.c.id).limit(BATCH)).all()
        if not batch:
            return
        bounds = {"first": batch[0].id, "last": batch[-1].id}
        for statement in updates:
            connection.execute(statement, bounds)
        terms = [{"application_id": row.id, "kind": kind, "value": value,
                  **{name: getattr(row, name) for name in SEARCH_COLUMNS}}
                 for row in batch for kind, value in index_terms(from_document(ApplicationForm, row.form or {}))]
        if terms:
            connection.execute(TERMS.insert(), terms)
        last = batch[-1].id


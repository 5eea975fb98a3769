"""Duplicate keys of names fold confusable letters (UTS #39 skeletons): ``Martin`` written with a
Cyrillic ``а`` or with ``ɪ`` is the same name. Every indexed person's keys are computed again from
the stored form, in batches (the register can hold millions of people).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from core.domain.identity import PersonKey

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BATCH = 1000
APPLICATIONS = sa.table("applications", sa.column("id", sa.BigInteger),
                        sa.column("form", sa.JSON().with_variant(JSONB(), "postgresql")))
PEOPLE = sa.table("application_people", sa.column("application_id", sa.BigInteger), sa.column("role", sa.String),
                  sa.column("surname_key", sa.String), sa.column("first_name_key", sa.String),
                  sa.column("birth_date", sa.Date))


def upgrade() -> None:
    connection = op.get_bind()
    last = 0
    while True:
        batch = connection.execute(sa.select(APPLICATIONS.c.id, APPLICATIONS.c.form).where(APPLICATIONS.c.id > last)
                                   .order_by(APPLICATIONS.c.id).limit(BATCH)).all()
        if not batch:
            return
        ids = [row.id for row in batch]
        connection.execute(PEOPLE.delete().where(PEOPLE.c.application_id.in_(ids)))
        rows = [person for row in batch for person in _people(row.id, row.form or {})]
        if rows:
            connection.execute(PEOPLE.insert(), rows)
        last = ids[-1]


def downgrade() -> None:
    """The former keys are not kept: skeleton keys stay, and still find every exact match."""


def _people(application_id: int, form: dict) -> list[dict]:
    """The index rows of the applicant and co-applicants, as the repository writes them."""
    household = form.get("household") or {}
    applicant = household.get("applicant")
    adults = ([applicant] if applicant else []) + list(household.get("co_applicants") or [])
    rows = []
    for index, adult in enumerate(adults):
        birth = adult.get("birth_date")
        key = PersonKey.of(adult.get("surname"), adult.get("birth_name"), adult.get("first_name"),
                           date.fromisoformat(birth) if birth else None)
        if key is None:
            continue
        role = "applicant" if index == 0 else "co_applicant"
        rows += [{"application_id": application_id, "role": role, "surname_key": surname,
                  "first_name_key": key.first_name, "birth_date": key.birth_date} for surname in sorted(key.surnames)]
    return rows

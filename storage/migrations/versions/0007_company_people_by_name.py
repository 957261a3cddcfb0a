"""A company's current people in name order from one index (coverage), replacing the
(company_id, merged_into_id) index of 0005, which left PostgreSQL a table lookup per person
and a sort.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CURRENT = "merged_into_id IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_people_company_current",
        "people",
        ["company_id", "display_name", "id"],
        postgresql_where=sa.text(CURRENT),
        sqlite_where=sa.text(CURRENT),
    )
    op.drop_index("ix_people_company_live", table_name="people")


def downgrade() -> None:
    op.create_index("ix_people_company_live", "people", ["company_id", "merged_into_id"])
    op.drop_index("ix_people_company_current", table_name="people")

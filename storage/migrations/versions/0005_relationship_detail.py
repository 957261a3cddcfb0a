"""Relationship detail: the newest events of each pair, for reply times, recent counts and trend;
an index for a company's current people.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = ("recent_ab", "recent_ba", "recent_mtg")


def upgrade() -> None:
    with op.batch_alter_table("relationships", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=True))
    # Existing rows get their lists from `python app.py rebuild`.
    op.create_index("ix_people_company_live", "people", ["company_id", "merged_into_id"])


def downgrade() -> None:
    op.drop_index("ix_people_company_live", table_name="people")
    with op.batch_alter_table("relationships", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)

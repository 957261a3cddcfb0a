"""The pairs of people the last duplicate-people run left for an admin's review.

``GET /api/v1/admin/duplicates`` reads them instead of finding them on each request (half a
minute at 300,000 people: bench/duplicates.py). Empty until the next run (``python app.py
dedupe``, the end of an import, or the scheduler's daily run).

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duplicate_candidates",
        sa.Column("keep_id", sa.Integer(), nullable=False),
        sa.Column("drop_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=8), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("found_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["keep_id"], ["people.id"], name=op.f("fk_duplicate_candidates_keep_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["drop_id"], ["people.id"], name=op.f("fk_duplicate_candidates_drop_id_people")
        ),
        sa.PrimaryKeyConstraint("keep_id", "drop_id", name=op.f("pk_duplicate_candidates")),
    )


def downgrade() -> None:
    op.drop_table("duplicate_candidates")

"""Pair aggregates deleted by a partial rebuild or a purge, kept for a day: API workers take
them out of their in-memory graph at their next refresh instead of building it anew
(relationships.graph).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relationship_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("a_id", sa.Integer(), nullable=False),
        sa.Column("b_id", sa.Integer(), nullable=False),
        sa.Column("deleted_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relationship_deletions")),
    )
    op.create_index(
        op.f("ix_relationship_deletions_deleted_at"), "relationship_deletions", ["deleted_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_relationship_deletions_deleted_at"), table_name="relationship_deletions")
    op.drop_table("relationship_deletions")

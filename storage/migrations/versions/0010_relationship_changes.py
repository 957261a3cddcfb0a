"""When each pair aggregate last changed: API workers refresh their in-memory graph from the
pairs changed since their last read instead of reading every pair (relationships.graph).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows written before this revision keep NULL: every worker reads them in its first full
    # build after the upgrade, and only rows changed later are read incrementally.
    op.add_column(
        "relationships",
        sa.Column("changed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index(op.f("ix_relationships_changed_at"), "relationships", ["changed_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_relationships_changed_at"), table_name="relationships")
    op.drop_column("relationships", "changed_at")

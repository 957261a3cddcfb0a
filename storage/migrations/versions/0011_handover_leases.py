"""Handed-over work is claimed under a lease instead of deleted at claim: a sync worker killed
outright leaves its claims in the store, and the next worker claims them once the lease ran
out (storage.handover, sync.handover).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows waiting at the upgrade keep NULL: unclaimed, as they were.
    op.add_column("handovers", sa.Column("claimed_by", sa.String(length=32), nullable=True))
    op.add_column(
        "handovers",
        sa.Column("claimed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "handovers",
        sa.Column("lease_until", storage.types.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("handovers", "lease_until")
    op.drop_column("handovers", "claimed_at")
    op.drop_column("handovers", "claimed_by")

"""Each colleague's newest email sent to anyone (``colleagues.last_sent_at``): strength reads a
pair's silence against the colleague's own activity (relationships.strength).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "colleagues",
        sa.Column("last_sent_at", storage.types.UTCDateTime(timezone=True), nullable=True),
    )
    # From the pairs already stored: the newest of the colleague's side's last emails.
    op.execute(
        "UPDATE colleagues SET last_sent_at = (SELECT max(t) FROM ("
        " SELECT max(last_ab_at) AS t FROM relationships WHERE a_id = colleagues.person_id"
        " UNION ALL"
        " SELECT max(last_ba_at) AS t FROM relationships WHERE b_id = colleagues.person_id"
        ") AS sides)"
    )


def downgrade() -> None:
    op.drop_column("colleagues", "last_sent_at")

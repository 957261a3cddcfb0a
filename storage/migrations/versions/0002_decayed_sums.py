"""Decayed interaction sums per pair, for O(1) relationship strength.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = ("ab_warm", "ab_history", "ba_warm", "ba_history", "mtg_warm", "mtg_history")


def upgrade() -> None:
    with op.batch_alter_table("relationships", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Float(), nullable=False, server_default="0"))
    # Existing rows get their sums from `python app.py rebuild`.


def downgrade() -> None:
    with op.batch_alter_table("relationships", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.drop_column(name)

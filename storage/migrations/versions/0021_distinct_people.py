"""Pairs of people who are not one: automatic deduplication never merges them.

An admin marks a pair (``POST /api/v1/admin/people/distinct``), and every undone merge marks
its two people (``storage.unmerge.undo_merge``), so the merge is not made again by the next
deduplication pass (``storage.merge.distinct_pairs``). Nothing to fill: no pair was marked
before.

Audit events get an index by kind and time: merges are listed newest first, an undo looks for
the undo of its merge, and a sync pass reads the merges made while it runs, each among every
note, edit and sign-in event the trail holds.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "distinct_people",
        sa.Column("a_id", sa.Integer(), nullable=False),
        sa.Column("b_id", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint("a_id < b_id", name=op.f("ck_distinct_people_ordered")),
        sa.ForeignKeyConstraint(
            ["a_id"], ["people.id"], name=op.f("fk_distinct_people_a_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["b_id"], ["people.id"], name=op.f("fk_distinct_people_b_id_people")
        ),
        sa.PrimaryKeyConstraint("a_id", "b_id", name=op.f("pk_distinct_people")),
    )
    op.create_index("ix_audit_events_action_at", "audit_events", ["action", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_action_at", table_name="audit_events")
    op.drop_table("distinct_people")

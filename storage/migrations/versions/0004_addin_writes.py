"""Add-in writes: notes, follow-ups, private threads, and a person's postal address.

Field provenance needs no table of its own: ``people.provenance`` holds each field's current
source and ``audit_events`` every edit with its old and new value.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("postal_address", sa.Text(), nullable=True))
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["colleagues.id"], name=op.f("fk_notes_author_id_colleagues")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_notes_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notes_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notes_person_id"), ["person_id"], unique=False)
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("colleague_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["colleague_id"], ["colleagues.id"], name=op.f("fk_follow_ups_colleague_id_colleagues")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_follow_ups_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.UniqueConstraint(
            "colleague_id", "person_id", name=op.f("uq_follow_ups_colleague_id_person_id")
        ),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_ups_person_id"), ["person_id"], unique=False)
    op.create_table(
        "private_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("colleague_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["colleague_id"],
            ["colleagues.id"],
            name=op.f("fk_private_threads_colleague_id_colleagues"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_private_threads")),
        sa.UniqueConstraint(
            "colleague_id",
            "conversation_id",
            name=op.f("uq_private_threads_colleague_id_conversation_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("private_threads")
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_ups_person_id"))
    op.drop_table("follow_ups")
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notes_person_id"))
        batch_op.drop_index(batch_op.f("ix_notes_author_id"))
    op.drop_table("notes")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("postal_address")

"""Graph change-notification subscriptions.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "graph_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("resource", sa.String(length=16), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("client_state_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_notification_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_graph_subscriptions_mailbox_id_mailboxes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_graph_subscriptions")),
        sa.UniqueConstraint(
            "mailbox_id", "resource", name=op.f("uq_graph_subscriptions_mailbox_id_resource")
        ),
        sa.UniqueConstraint("subscription_id", name=op.f("uq_graph_subscriptions_subscription_id")),
    )
    with op.batch_alter_table("graph_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_graph_subscriptions_mailbox_id"), ["mailbox_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("graph_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_graph_subscriptions_mailbox_id"))
    op.drop_table("graph_subscriptions")

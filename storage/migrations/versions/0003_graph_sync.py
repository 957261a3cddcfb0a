"""Microsoft Graph sync: the tenant's app registration and per-mailbox options.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "graph_tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("credential_kind", sa.String(length=12), nullable=False),
        sa.Column("credential", sa.Text(), nullable=False),
        sa.Column("thumbprint", sa.String(length=64), nullable=True),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_graph_tenants")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_graph_tenants_tenant_id")),
    )
    op.create_table(
        "graph_mailboxes",
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("all_folders", sa.Boolean(), nullable=False),
        sa.Column("calendar", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"], ["mailboxes.id"], name=op.f("fk_graph_mailboxes_mailbox_id_mailboxes")
        ),
        sa.PrimaryKeyConstraint("mailbox_id", name=op.f("pk_graph_mailboxes")),
    )


def downgrade() -> None:
    op.drop_table("graph_mailboxes")
    op.drop_table("graph_tenants")

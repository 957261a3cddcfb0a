"""Audit actors as long as a colleague's address.

``audit_events.actor`` and ``distinct_people.actor`` hold the acting colleague's address
(``storage.audit.record``), which may be 320 characters (``colleagues.email``); at 120, an
audited write by a colleague with a longer address failed on PostgreSQL. SQLite does not
enforce a VARCHAR's length, so only PostgreSQL's columns change. Nothing to undo on a
downgrade: a longer value would not fit back.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

COLUMNS = (("audit_events", "actor"), ("distinct_people", "actor"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.String(320), existing_nullable=False)


def downgrade() -> None:
    pass

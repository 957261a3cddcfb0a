"""Audit actors as long as a colleague's address.

``audit_events.actor`` and ``distinct_people.actor`` hold the acting colleague's address
(``storage.audit.record``), which may be 320 characters (``colleagues.email``); at 120, an
audited write by a colleague with a longer address failed on PostgreSQL. SQLite does not
enforce a VARCHAR's length, but its schema says the same as the models' (the table is copied
in batch mode). Nothing to undo on a downgrade: a longer value would not fit back.

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
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                existing_type=sa.String(120),
                type_=sa.String(320),
                existing_nullable=False,
            )


def downgrade() -> None:
    pass

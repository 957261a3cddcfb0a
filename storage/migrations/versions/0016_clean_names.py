"""Stored names cleaned as ``sync.normalize.addresses.normalize_name`` now cleans new ones.

Found on the Enron import: 63 people were named with Exchange's quoted-pair backslashes
("David Chandler \\(E-mail\\)") and 35 with the contact-card field Outlook picked the address
from ("Amanda Day (E-mail 2)", "Denise Hicks (Sparks) (Business Fax)"); "KNEBEL,ROBERT
(HP-Vancouver,ex1)" was not turned round because of the comma in its parenthesis. Each such
name is normalised again, unless a colleague set it by hand (provenance ``user``) or the
cleaned name would be empty. Nothing to undo: a downgrade keeps the names.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.migrations.names import clean_names

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# Only names that can change: the rest of the table is not read. '#' escapes, so a backslash
# is a plain character on both engines.
CANDIDATES = sa.text(
    "SELECT id, display_name, provenance FROM people"
    " WHERE display_name LIKE '%(%' OR display_name LIKE '%,%'"
    " OR display_name LIKE '%\\%' ESCAPE '#'"
)


def upgrade() -> None:
    clean_names(op.get_bind(), CANDIDATES)


def downgrade() -> None:
    pass

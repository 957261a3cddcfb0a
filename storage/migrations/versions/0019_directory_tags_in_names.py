"""Stored names cleaned of address books' prefixes, directory tags and stray quotes.

``sync.normalize.addresses.normalize_name`` now drops a directory's bracketed tag ("Hollis,
Amanda [UBS]", which had been stored as "Amanda [UBS] Hollis": 19 people on the Enron
import), an address book's prefix ("NOTES:\"Amr Ibrahim", "ENE:Watson, Kim"), a stray double
quote ("William \"Bill Bojorquez") and a trailing colon. Each stored name that holds a bracket,
a colon or a quote is normalised again, unless a colleague set it by hand or the cleaned name
would be empty. A prefix that an earlier reordering moved inside the name ("Kim ENE:Watson")
is left as it is: only a fresh import recovers it. Nothing to undo: a downgrade keeps the
names.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.migrations.names import clean_names

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# Only names that can change: the rest of the table is not read.
CANDIDATES = sa.text(
    "SELECT id, display_name, provenance FROM people WHERE display_name LIKE '%[%'"
    " OR display_name LIKE '%:%' OR display_name LIKE '%\"%' OR display_name LIKE '''%'"
)


def upgrade() -> None:
    clean_names(op.get_bind(), CANDIDATES)


def downgrade() -> None:
    pass

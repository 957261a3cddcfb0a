"""Exchange X.500 names wrapped in addresses at the firm's domains are the names; a name
that is a DN is no name.

``sync.rules`` now reads an X.500 DN inside an address at one of the firm's domains as the DN
(``sync.normalize.addresses.wrapped_dn``): Exchange's IMCEAEX encapsulation
(``IMCEAEX-_O=ENRON_OU=NA_CN=RECIPIENTS_CN=JCASAS@enron.com``) and the DN with the domain
appended (``/o=enron/ou=na/cn=recipients/cn=jcasas@enron.com``). On the Enron import 20 such
addresses were each a person beside the DN's. For stores made before:

- each such stored address at one of the firm's domains (those of the store's mailboxes: the
  configuration is not at hand here) becomes the DN it wraps. When the DN is not stored, the
  row is renamed in place (kind ``x500``, the colleague record's email with it). When it is,
  the two people are merged (`storage.merge.merge_people`, audited and undoable as every
  merge), the wrapped row's participations and sent mail move to the DN's row (a
  participation the DN already has in the same role is dropped, and the interaction's
  audience counts the person once), and the wrapped row goes. Every person whose pairs change
  is marked in ``stale_aggregates``; the next sync or import run rebuilds them (or
  ``python app.py rebuild``);
- a display name that is itself a DN ("/O=ENRON/OU=NA/cn=Recipients/cn=rsmith25", 11 people
  on Enron) is cleared, as ``normalize_name`` now drops it, unless a colleague set it by hand.

Not redone:
- A DN at another organisation's domain that the parser stored as an X.500 name with its
  domain (``/O=CAISO/...@CAISO.COM`` would be one; the Enron store has none) keeps its
  colleague record.
- The content key (``sync.keys``) of a message stored before, which counted a wrapped address
  as an SMTP recipient. Subjects are not stored for every message, so the key cannot be
  computed again from the store. Such a message read again under another Message-ID would be
  stored a second time. That happens with Enron's regenerated ids; Exchange and Graph keep a
  message's id.

Nothing to undo: a downgrade keeps the store.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.migrations.provenance import set_by_user
from storage.migrations.readdress import Stored, firm_of, mark_stale, readdress
from sync.normalize.addresses import wrapped_dn, x500_dn

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Only rows that can wrap a DN: the rest of the table is not read.
WRAPPED = sa.text(
    "SELECT id, address, person_id FROM email_addresses"
    " WHERE (lower(address) LIKE '%/o=%' OR lower(address) LIKE 'imceaex-%') AND address LIKE '%@%'"
)
DN_NAMES = sa.text(
    "SELECT id, display_name, provenance FROM people WHERE lower(display_name) LIKE '%/o=%'"
)


def upgrade() -> None:
    bind = op.get_bind()
    stale: set[int] = set()
    firm = firm_of(bind)
    for aid, address, pid in bind.execute(WRAPPED).all():
        found = wrapped_dn(str(address).lower())  # as `normalize_email` now stores it
        if found is not None and firm.is_internal(found[1]):
            stale |= readdress(bind, Stored(int(aid), str(address), int(pid)), found[0], "x500")
    mark_stale(bind, stale)
    cleared = [
        {"id": int(pid)}
        for pid, name, provenance in bind.execute(DN_NAMES).all()
        if _is_dn(str(name or "")) and not set_by_user(provenance, "name")
    ]
    if cleared:
        bind.execute(sa.text("UPDATE people SET display_name = '' WHERE id = :id"), cleared)


def _is_dn(name: str) -> bool:
    """Whether a display name is an Exchange DN (what ``normalize_name`` now drops)."""
    return x500_dn(name) is not None


def downgrade() -> None:
    pass

"""Exchange's encapsulations of an outside SMTP address are that address.

``sync.normalize.addresses.normalize_email`` now reads the SMTP address inside Exchange's
IMCEASMTP, Lotus Notes' IMCEANOTES and MS Mail's IMCEAMSNINET encapsulations:
``imceanotes-kristi+2el+2ealbaugh+40us+2eandersen+2ecom+40enron@enron.com`` is
``kristi.l.albaugh@us.andersen.com``. On the Enron import three such addresses at enron.com
had made outside people colleagues, an Andersen auditor among them. For stores made before,
each such stored address becomes the address it holds (`storage.migrations.readdress`: renamed
in place, or merged with the person who has it, audited). A person then left with no address at
the firm's domains loses the colleague record the wrapped one had given them, unless a row
points at it (`storage.merge.settle_colleague`, audited). Everyone whose pairs change is
marked for a rebuild. Mail stored as internal-only because the wrapped address was at the
firm's domain stays so: its subject was never stored, so it cannot become a client
interaction (on Enron, one message each). Nothing to undo: a downgrade keeps the store.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from storage.merge import settle_colleague
from storage.migrations.readdress import Stored, firm_of, mark_stale, readdress
from sync.normalize.addresses import normalize_email

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

ENCAPSULATED = sa.text(
    "SELECT id, address, person_id FROM email_addresses"
    " WHERE lower(address) LIKE 'imcea%' AND kind = 'smtp'"
)


def upgrade() -> None:
    bind = op.get_bind()
    firm = firm_of(bind)
    stale: set[int] = set()
    moved: set[int] = set()
    for aid, address, pid in bind.execute(ENCAPSULATED).all():
        inner = normalize_email(str(address))
        if inner is None or inner == address:
            continue  # a fax number, an MS Mail address: nothing inside to read
        stale |= readdress(bind, Stored(int(aid), str(address), int(pid)), inner, "smtp")
        owner = bind.execute(
            sa.text("SELECT person_id FROM email_addresses WHERE address = :a"), {"a": inner}
        ).scalar_one()
        moved.add(int(owner))
    session = Session(bind=bind)
    for person in sorted(moved):
        settle_colleague(session, person, firm)
    session.flush()
    mark_stale(bind, stale | moved)


def downgrade() -> None:
    pass

"""Rooms are not people, and a person known only by an Exchange X.500 name is a colleague.

Rooms (`sync.normalize.resources`): a person of the firm's own (a colleague, or known only by
X.500 names) whose display name reads as a room ("Conf. Room ECN3125B") leaves every
interaction: their participations go, an interaction the room sent has no sender, each
interaction's audience shrinks by the rooms it listed, the room's colleague record goes
(unless a row points at it: a mailbox, a note, an audit event), and everyone those
interactions name is marked for an aggregate rebuild (``stale_aggregates``), which the next
sync or import run makes (`relationships.aggregate_store.rebuild_stale`; or
``python app.py rebuild``). The room's person stays, with no interaction.

Exchange colleagues (`storage.addressbook`): every other person whose addresses are all X.500
names gets a colleague record under their first name, with its clock (``last_sent_at``) read
from their pairs as migration 0012 reads it. Nothing to undo: a downgrade keeps the store.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from sync.normalize.resources import is_room_name

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

RECIPIENTS = ("to", "cc", "bcc", "attendee")  # storage.interactions.RECIPIENT_ROLES

# People of the firm's own known only by X.500 names, or colleagues: (id, name, colleague id)
FIRMS_OWN = sa.text(
    "SELECT p.id, p.display_name, c.id FROM people p"
    " LEFT JOIN colleagues c ON c.person_id = p.id"
    " WHERE p.merged_into_id IS NULL AND EXISTS"
    " (SELECT 1 FROM email_addresses e WHERE e.person_id = p.id) AND (c.id IS NOT NULL OR"
    " NOT EXISTS (SELECT 1 FROM email_addresses e WHERE e.person_id = p.id"
    " AND e.kind <> 'x500'))"
)
# The colleague's clock as migration 0012 reads it: the newest of their side's last emails.
NEW_COLLEAGUE = sa.text(
    "INSERT INTO colleagues (person_id, email, opted_out, is_admin, created_at, last_sent_at)"
    " SELECT :pid, min(address), false, false, CURRENT_TIMESTAMP, (SELECT max(t) FROM ("
    " SELECT max(last_ab_at) AS t FROM relationships WHERE a_id = :pid"
    " UNION ALL"
    " SELECT max(last_ba_at) AS t FROM relationships WHERE b_id = :pid"
    ") AS sides) FROM email_addresses WHERE person_id = :pid"
)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(FIRMS_OWN).all()
    rooms = [(int(pid), cid) for pid, name, cid in rows if is_room_name(str(name or ""))]
    for pid, cid in rooms:
        _remove_room(bind, pid, cid)
    room_ids = {pid for pid, _ in rooms}
    exchange = [int(pid) for pid, _, cid in rows if cid is None and int(pid) not in room_ids]
    if exchange:
        bind.execute(NEW_COLLEAGUE, [{"pid": pid} for pid in exchange])


def _remove_room(bind: sa.Connection, pid: int, colleague: int | None) -> None:
    addresses = [
        int(a)
        for (a,) in bind.execute(
            sa.text("SELECT id FROM email_addresses WHERE person_id = :pid"), {"pid": pid}
        )
    ]
    listed = sa.text(
        "SELECT interaction_id, address_id, role FROM participants WHERE address_id IN :ids"
    ).bindparams(sa.bindparam("ids", expanding=True))
    audience: dict[int, set[int]] = defaultdict(set)
    touched: set[int] = set()
    for interaction, address, role in bind.execute(listed, {"ids": addresses}):
        touched.add(int(interaction))
        if role in RECIPIENTS:
            audience[int(interaction)].add(int(address))
    if not touched:
        return
    interactions = sorted(touched)
    people = sa.text(
        "SELECT DISTINCT e.person_id FROM participants p JOIN email_addresses e"
        " ON e.id = p.address_id WHERE p.interaction_id IN :ids"
    ).bindparams(sa.bindparam("ids", expanding=True))
    stale = {int(p) for (p,) in bind.execute(people, {"ids": interactions})} | {pid}
    for statement in (
        "DELETE FROM participants WHERE address_id IN :ids",
        "UPDATE interactions SET sender_address_id = NULL WHERE sender_address_id IN :ids",
    ):
        query = sa.text(statement).bindparams(sa.bindparam("ids", expanding=True))
        bind.execute(query, {"ids": addresses})
    if audience:
        bind.execute(
            sa.text("UPDATE interactions SET audience_size = audience_size - :n WHERE id = :id"),
            [{"id": i, "n": len(a)} for i, a in audience.items()],
        )
    known = {int(p) for (p,) in bind.execute(sa.text("SELECT person_id FROM stale_aggregates"))}
    fresh = [{"pid": p} for p in sorted(stale - known)]
    if fresh:
        bind.execute(sa.text("INSERT INTO stale_aggregates (person_id) VALUES (:pid)"), fresh)
    if colleague is not None and not _referenced(bind, colleague):
        bind.execute(sa.text("DELETE FROM colleagues WHERE id = :id"), {"id": colleague})


def _referenced(bind: sa.Connection, colleague: int) -> bool:
    """Whether any row (a mailbox, a note, an audit event...) points at the colleague."""
    inspector = sa.inspect(bind)
    for table in inspector.get_table_names():
        for key in inspector.get_foreign_keys(table):
            if key["referred_table"] != "colleagues":
                continue
            column = key["constrained_columns"][0]
            query = sa.select(sa.literal(1)).select_from(sa.table(table))
            found = bind.execute(query.where(sa.column(column) == colleague).limit(1)).first()
            if found is not None:
                return True
    return False


def downgrade() -> None:
    pass

"""What migrations that give a stored address a new form share (0018, 0020): the row is
renamed, or, when the new form is stored already, the two people are merged and the mail
moves to the stored row."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.merge import merge_people
from sync.normalize.domains import FirmDomains

RECIPIENTS = ("to", "cc", "bcc", "attendee")  # storage.interactions.RECIPIENT_ROLES


@dataclass(frozen=True)
class Stored:
    """An address row as stored: its id, its text and its person."""

    id: int
    address: str
    person: int


def readdress(bind: sa.Connection, old: Stored, new: str, kind: str) -> set[int]:
    """``old`` becomes the address ``new`` of ``kind`` (``smtp`` or ``x500``); returns the
    people whose pairs change (to mark for a rebuild).

    When ``new`` is not stored, the row is renamed in place (with its kind and domain, and the
    colleague record's email with it). When it is, the two people are merged
    (`storage.merge.merge_people`, audited and undoable as every merge), ``old``'s
    participations and sent mail move to the stored row, and ``old`` goes: a participation the
    stored row has in the same role is dropped, and an interaction that named both counts the
    person once in its audience.
    """
    domain = new.rsplit("@", 1)[1] if kind == "smtp" else ""
    found = bind.execute(
        sa.text("SELECT id, person_id FROM email_addresses WHERE address = :new"), {"new": new}
    ).first()
    if found is None:
        bind.execute(
            sa.text(
                "UPDATE email_addresses SET address = :new, kind = :kind, domain = :domain"
                " WHERE id = :id"
            ),
            {"new": new, "kind": kind, "domain": domain, "id": old.id},
        )
        bind.execute(
            sa.text("UPDATE colleagues SET email = :new WHERE email = :old"),
            {"new": new, "old": old.address},
        )
        return set()
    target, owner = int(found[0]), int(found[1])
    if owner != old.person:
        session = Session(bind=bind)
        merge_people(session, owner, old.person, f"{new} is also {old.address}")
        session.flush()
    listed = sa.text(
        "SELECT p.interaction_id, p.role, q.role FROM participants p JOIN participants q"
        " ON q.interaction_id = p.interaction_id AND q.address_id = :new"
        " WHERE p.address_id = :old"
    )
    both = bind.execute(listed, {"old": old.id, "new": target}).all()
    for interaction, role in {(int(i), str(r)) for i, r, other in both if r == other}:
        bind.execute(
            sa.text(
                "DELETE FROM participants WHERE interaction_id = :i AND address_id = :a"
                " AND role = :r"
            ),
            {"i": interaction, "a": old.id, "r": role},
        )
    # The audience counted the two addresses as two people.
    shrunk = sorted({int(i) for i, r, other in both if r in RECIPIENTS and other in RECIPIENTS})
    if shrunk:
        bind.execute(
            sa.text("UPDATE interactions SET audience_size = audience_size - 1 WHERE id = :i"),
            [{"i": i} for i in shrunk],
        )
    for statement in (
        "UPDATE participants SET address_id = :new WHERE address_id = :old",
        "UPDATE interactions SET sender_address_id = :new WHERE sender_address_id = :old",
        "UPDATE colleagues SET email = :dn WHERE email = :address",
        "DELETE FROM email_addresses WHERE id = :old",
    ):
        bind.execute(
            sa.text(statement), {"new": target, "old": old.id, "dn": new, "address": old.address}
        )
    return {owner, old.person} if shrunk or owner != old.person else set()


def firm_of(bind: sa.Connection) -> FirmDomains:
    """The firm's domains as the store shows them (the configuration is not at hand in a
    migration): those of its synced mailboxes, which are at the firm's domains."""
    rows = bind.execute(sa.text("SELECT address FROM mailboxes")).scalars()
    return FirmDomains({str(a).rsplit("@", 1)[1] for a in rows if "@" in str(a)})


def mark_stale(bind: sa.Connection, people: set[int]) -> None:
    """Mark ``people`` for an aggregate rebuild, which the next sync or import run makes
    (`relationships.aggregate_store.rebuild_stale`; or ``python app.py rebuild``)."""
    known = {int(p) for (p,) in bind.execute(sa.text("SELECT person_id FROM stale_aggregates"))}
    fresh = [{"pid": p} for p in sorted(people - known)]
    if fresh:
        bind.execute(sa.text("INSERT INTO stale_aggregates (person_id) VALUES (:pid)"), fresh)

"""Merging two people into one, with an audit event that says how to undo it."""

from __future__ import annotations

from sqlalchemy import delete, literal, select, update
from sqlalchemy.orm import Session

from storage.companies import insert_ignore
from storage.models import (
    AuditEvent,
    Colleague,
    EmailAddress,
    Exclusion,
    Mailbox,
    Person,
    StaleAggregate,
)
from storage.models.base import Base, table_of
from sync.normalize.addresses import is_x500
from sync.normalize.domains import FirmDomains


def merge_people(
    session: Session, keep: int, drop: int, reason: str, actor: str = "system"
) -> None:
    """Move everything of person ``drop`` to ``keep``; ``drop`` stays, marked merged.

    Addresses (and so participations) move, the colleague record moves or folds into keep's,
    missing fields of keep are filled from drop, and the pair aggregates of both are rebuilt
    later: both are marked in ``stale_aggregates`` and ``rebuild_stale`` recomputes them (once
    per run, however many merges touched them). The audit event lists the moved addresses for
    an undo.
    """
    if keep == drop:
        return
    addresses = _move_addresses(session, keep, drop)
    _move_colleague(session, keep, drop)
    _fill_fields(session, keep, drop)
    session.execute(
        insert_ignore(session, StaleAggregate), [{"person_id": keep}, {"person_id": drop}]
    )
    session.add(
        AuditEvent(
            actor=actor,
            action="person.merge",
            target_type="person",
            target_id=str(keep),
            details={"merged": drop, "addresses": addresses, "reason": reason},
        )
    )


def _move_addresses(session: Session, keep: int, drop: int) -> list[str]:
    table = table_of(EmailAddress)
    moved = list(session.scalars(select(table.c.address).where(table.c.person_id == drop)))
    session.execute(update(table).where(table.c.person_id == drop).values(person_id=keep))
    return moved


def _move_colleague(session: Session, keep: int, drop: int) -> None:
    """Drop's colleague record moves to keep, or folds into keep's. The record kept names an
    SMTP address when either had one: a colleague known first by an Exchange X.500 name
    (``storage.addressbook``) takes the address the name turned out to be."""
    table = table_of(Colleague)
    rows = {
        int(person): (int(cid), str(email))
        for person, cid, email in session.execute(
            select(table.c.person_id, table.c.id, table.c.email).where(
                table.c.person_id.in_([keep, drop])
            )
        )
    }
    if drop not in rows:
        return
    if keep not in rows:
        session.execute(update(table).where(table.c.id == rows[drop][0]).values(person_id=keep))
        return
    (old, old_email), (new, new_email) = rows[drop], rows[keep]
    session.execute(
        update(table_of(Mailbox)).where(Mailbox.colleague_id == old).values(colleague_id=new)
    )
    session.execute(
        update(table_of(Exclusion)).where(Exclusion.colleague_id == old).values(colleague_id=new)
    )
    session.execute(delete(table).where(table.c.id == old))
    if is_x500(new_email) and not is_x500(old_email):
        session.execute(update(table).where(table.c.id == new).values(email=old_email))


def settle_colleague(session: Session, person: int, firm: FirmDomains) -> bool:
    """Drop the colleague record of ``person`` when none of their addresses is at the firm's
    domains and one is outside them. The record came from an X.500 name that turned out to
    be an outside address: Exchange gives mail contacts X.500 names too. It may also have come
    from an address at the firm's domain that turned out to wrap an outside one (Lotus Notes'
    IMCEANOTES, migration 0020). Either way the person is a contact, not a colleague.
    The record is kept while any row points at it: a mailbox, an opt-out, a note or an audit
    event. The removal is an audit event (``colleague.settle``, with the record's id and
    address). Returns whether the record went."""
    table = table_of(Colleague)
    row = session.execute(
        select(table.c.id, table.c.email).where(table.c.person_id == person)
    ).first()
    if row is None:
        return False
    addresses = session.scalars(
        select(EmailAddress.address).where(EmailAddress.person_id == person)
    ).all()
    domains = [a.rsplit("@", 1)[1] for a in addresses if "@" in a and not is_x500(a)]
    if not domains or any(firm.is_internal(d) for d in domains):
        return False
    if _referenced(session, int(row.id)):
        return False
    session.execute(delete(table).where(table.c.id == row.id))
    session.add(
        AuditEvent(
            actor="system",
            action="colleague.settle",
            target_type="person",
            target_id=str(person),
            details={
                "colleague": int(row.id),
                "email": str(row.email),
                "reason": f"no address at the firm's domains; one at {domains[0]}",
            },
        )
    )
    return True


def _referenced(session: Session, colleague: int) -> bool:
    """Whether a row of any table points at the colleague record."""
    for foreign in Base.metadata.tables.values():
        for key in foreign.foreign_keys:
            if key.column.table.name == "colleagues":
                query = select(literal(1)).where(key.parent == colleague).limit(1)
                if session.execute(query).first() is not None:
                    return True
    return False


def _fill_fields(session: Session, keep: int, drop: int) -> None:
    table = table_of(Person)
    rows = {
        r.id: r
        for r in session.execute(
            select(table.c.id, table.c.display_name, table.c.company_id).where(
                table.c.id.in_([keep, drop])
            )
        )
    }
    values: dict[str, object] = {}
    if not rows[keep].display_name and rows[drop].display_name:
        values["display_name"] = rows[drop].display_name
    if rows[keep].company_id is None and rows[drop].company_id is not None:
        values["company_id"] = rows[drop].company_id
    if values:
        session.execute(update(table).where(table.c.id == keep).values(**values))
    session.execute(update(table).where(table.c.id == drop).values(merged_into_id=keep))

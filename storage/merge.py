"""Merging two people into one, with an audit event that says how to undo it
(``storage.unmerge``), and the pairs of people never to merge automatically."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.companies import insert_ignore
from storage.models import (
    AuditEvent,
    Colleague,
    DistinctPeople,
    EmailAddress,
    Exclusion,
    Mailbox,
    Person,
    StaleAggregate,
)
from storage.models.base import Base, table_of
from storage.types import utcnow
from sync.normalize.addresses import is_x500
from sync.normalize.domains import FirmDomains

MERGE = "person.merge"  # audit actions: a merge, its undo, a pair marked distinct
UNMERGE = "person.unmerge"
DISTINCT = "person.distinct"


class MergeRefused(ValueError):
    """A merge (or a distinct mark) that is not made; the message says why and what to do."""


class UnknownPerson(MergeRefused):
    """A person id that names no one."""


def merge_people(
    session: Session, keep: int, drop: int, reason: str, actor: str = "system"
) -> AuditEvent | None:
    """Move everything of person ``drop`` to ``keep``; ``drop`` stays, marked merged.

    Addresses (and so participations) move, the colleague record moves or folds into keep's,
    missing fields of keep are filled from drop, and the pair aggregates of both are rebuilt
    later: both are marked in ``stale_aggregates`` and ``rebuild_stale`` recomputes them (once
    per run, however many merges touched them). The audit event (returned; None when
    ``keep == drop``) holds what an undo needs: the moved addresses, keep's fields as they
    were before the merge filled them (``filled``) and what became of drop's colleague record
    (``colleague``: None, ``"moved"`` or ``"folded"``).
    """
    if keep == drop:
        return None
    addresses = _move_addresses(session, keep, drop)
    colleague = _move_colleague(session, keep, drop)
    filled = _fill_fields(session, keep, drop)
    mark_stale(session, [keep, drop])
    event = AuditEvent(
        actor=actor,
        action=MERGE,
        target_type="person",
        target_id=str(keep),
        details={
            "merged": drop,
            "addresses": addresses,
            "reason": reason,
            "filled": filled,
            "colleague": colleague,
        },
    )
    session.add(event)
    return event


def merge_checked(session: Session, keep: int, drop: int, reason: str, actor: str) -> AuditEvent:
    """`merge_people`, as an admin asks for it: two people (else `MergeRefused`), both
    current (`lock_current`), neither a colleague (`MergeRefused`: a colleague's mailboxes,
    opt-outs and sign-ins follow their record, and an undo could not split it again)."""
    if keep == drop:
        raise MergeRefused(f"keep and drop are both person {keep}: name two people")
    lock_current(session, [keep, drop])
    colleagues = session.scalars(
        select(Colleague.person_id).where(Colleague.person_id.in_([keep, drop]))
    ).all()
    if colleagues:
        raise MergeRefused(
            f"person {min(colleagues)} is a colleague: colleagues are not merged here (their"
            " mailboxes, opt-outs and sign-ins follow their record, and an undo could not"
            " split it again)"
        )
    event = merge_people(session, keep, drop, reason, actor)
    assert event is not None  # keep != drop
    return event


def lock_current(session: Session, people: Sequence[int]) -> None:
    """Lock the rows of ``people`` (`lock_people`): `UnknownPerson` when one does not exist,
    `MergeRefused` when one is merged into another already."""
    found = lock_people(session, people)
    for person in people:
        if person not in found:
            raise UnknownPerson(f"no person {person}")
        into = found[person]
        if into is not None:
            raise MergeRefused(
                f"person {person} is merged into person {into}: name person {into} instead"
                " (or undo that merge first)"
            )


def lock_people(session: Session, people: Iterable[int]) -> dict[int, int | None]:
    """Person id -> the id it is merged into, for those of ``people`` that exist; their rows
    stay locked until the transaction ends (PostgreSQL; SQLite has one writer at a time), so
    two requests cannot merge, or undo merges of, the same people at once. Locked in id
    order: two transactions locking the same people cannot deadlock."""
    query = (
        select(Person.id, Person.merged_into_id)
        .where(Person.id.in_(sorted(set(people))))
        .order_by(Person.id)
        .with_for_update()
    )
    return {int(pid): into for pid, into in session.execute(query).tuples()}


def mark_stale(session: Session, people: Iterable[int]) -> None:
    """Mark ``people`` for `relationships.aggregate_store.rebuild_stale`."""
    rows = [{"person_id": person} for person in sorted(set(people))]
    if rows:
        session.execute(insert_ignore(session, StaleAggregate), rows)


def mark_distinct(session: Session, a: int, b: int, actor: str, reason: str) -> tuple[int, int]:
    """Record that people ``a`` and ``b`` are not one (either order); returns the pair as
    stored, smaller id first. Marking a pair again keeps one row, with the latest actor,
    reason and time; each marking is an audit event (``person.distinct``). `MergeRefused`
    when ``a == b``."""
    if a == b:
        raise MergeRefused(f"a and b are both person {a}: name two people")
    low, high = sorted((a, b))
    values = {"actor": actor, "reason": reason, "created_at": utcnow()}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table_of(DistinctPeople)).values(a_id=low, b_id=high, **values)
    session.execute(statement.on_conflict_do_update(index_elements=["a_id", "b_id"], set_=values))
    session.add(
        AuditEvent(
            actor=actor,
            action=DISTINCT,
            target_type="person",
            target_id=str(low),
            details={"a": low, "b": high, "reason": reason},
        )
    )
    return low, high


def distinct_pairs(session: Session) -> set[tuple[int, int]]:
    """Every pair marked distinct (`mark_distinct`), as (smaller id, larger id)."""
    rows = session.execute(select(DistinctPeople.a_id, DistinctPeople.b_id)).tuples()
    return {(int(a), int(b)) for a, b in rows}


def _move_addresses(session: Session, keep: int, drop: int) -> list[str]:
    table = table_of(EmailAddress)
    moved = list(session.scalars(select(table.c.address).where(table.c.person_id == drop)))
    session.execute(update(table).where(table.c.person_id == drop).values(person_id=keep))
    return moved


def _move_colleague(session: Session, keep: int, drop: int) -> str | None:
    """Drop's colleague record moves to keep (``"moved"``), or folds into keep's
    (``"folded"``); None when drop had none. The record kept names an SMTP address when
    either had one: a colleague known first by an Exchange X.500 name
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
        return None
    if keep not in rows:
        session.execute(update(table).where(table.c.id == rows[drop][0]).values(person_id=keep))
        return "moved"
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
    return "folded"


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


def _fill_fields(session: Session, keep: int, drop: int) -> dict[str, Any]:
    """Keep's empty name and company take drop's, and drop is marked merged into keep;
    returns keep's old value of each field filled."""
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
    filled: dict[str, Any] = {}
    if not rows[keep].display_name and rows[drop].display_name:
        values["display_name"] = rows[drop].display_name
        filled["display_name"] = rows[keep].display_name
    if rows[keep].company_id is None and rows[drop].company_id is not None:
        values["company_id"] = rows[drop].company_id
        filled["company_id"] = rows[keep].company_id
    if values:
        session.execute(update(table).where(table.c.id == keep).values(**values))
    session.execute(update(table).where(table.c.id == drop).values(merged_into_id=keep))
    return filled

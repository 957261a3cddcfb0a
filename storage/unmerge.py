"""Undoing a merge (``storage.merge.merge_people``) from its audit event, and which merges can
be undone.

An undo moves back the addresses the merge moved that the survivor still holds (an address
it took since stays), clears the dropped person's ``merged_into_id``, gives the survivor back
the fields the merge filled when they still hold the value the merge put there, marks both
people's pair aggregates stale, marks the pair distinct (automatic deduplication must not
make the merge again: ``storage.merge.distinct_pairs``) and is an audit event
(``person.unmerge``) naming the merge. Notes and follow-ups need nothing: they hang off the
record they were written on, and reads gather the records merged into a person
(``storage.notes.merged_ids``), so each goes back with its record.

Refused (`UndoRefused`, saying why and what to do instead): a merge undone already; one whose
dropped person is no longer merged into the survivor; one whose survivor was merged into a
third person later (that merge is undone first); one that moved or folded a colleague record
(mailboxes, opt-outs and sign-ins follow the record, and one record cannot be told apart
into two; automatic deduplication never merges colleagues). A merge recorded before merges
noted their colleague record and filled fields is undone when the survivor is no colleague,
its fields left as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.addressbook import chunks
from storage.merge import MERGE, UNMERGE, lock_people, mark_distinct, mark_stale
from storage.models import AuditEvent, Colleague, EmailAddress, Person
from storage.models.base import table_of

UNKNOWN = "unknown"  # a merge recorded before merges noted what became of a colleague record
FILLABLE = ("display_name", "company_id")  # the fields `storage.merge.merge_people` fills


class UndoRefused(ValueError):
    """A merge that cannot be undone; the message says why and what to do instead."""


class UnknownMerge(UndoRefused):
    """An audit event id that names no merge."""


@dataclass(frozen=True)
class Merge:
    """A ``person.merge`` audit event, as an undo and a listing read it."""

    event: int
    at: datetime
    actor: str
    keep: int
    drop: int
    addresses: tuple[str, ...]
    reason: str
    filled: Mapping[str, Any]  # keep's fields as they were before the merge filled them
    colleague: str | None  # drop's colleague record: None, "moved", "folded" or UNKNOWN

    @classmethod
    def of(cls, event: AuditEvent) -> Merge:
        details = event.details or {}
        return cls(
            event=event.id,
            at=event.at,
            actor=event.actor,
            keep=int(event.target_id),
            drop=int(details["merged"]),
            addresses=tuple(str(a) for a in details.get("addresses") or ()),
            reason=str(details.get("reason") or ""),
            filled=dict(details.get("filled") or {}),
            colleague=details.get("colleague", UNKNOWN),
        )


@dataclass(frozen=True)
class UndoState:
    undone_by: int | None  # the ``person.unmerge`` event that undid the merge
    refusal: str | None  # why the merge cannot be undone; None when it can


def recent_merges(session: Session, limit: int, offset: int = 0) -> list[Merge]:
    """Merges, newest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.action == MERGE)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [Merge.of(event) for event in session.scalars(query)]


def undo_states(session: Session, merges: Sequence[Merge]) -> dict[int, UndoState]:
    """Merge event id -> whether it was undone, and why it cannot be undone (if so); a few
    queries for all of ``merges``."""
    undone = _undone(session, [m.event for m in merges])
    people = {m.keep for m in merges} | {m.drop for m in merges}
    into = dict(
        session.execute(
            select(Person.id, Person.merged_into_id).where(Person.id.in_(sorted(people)))
        )
        .tuples()
        .all()
    )
    keeps = sorted({m.keep for m in merges})
    colleagues = set(
        session.scalars(select(Colleague.person_id).where(Colleague.person_id.in_(keeps)))
    )
    later = _merges_dropping(session, [keep for keep in keeps if into.get(keep) is not None])
    return {
        m.event: UndoState(
            undone.get(m.event), _refusal(m, undone, into, later, m.keep in colleagues)
        )
        for m in merges
    }


def undo_merge(session: Session, event_id: int, actor: str) -> int:
    """Undo the merge audit event ``event_id`` records (see the module docstring); returns
    the restored person's id. `UnknownMerge` when the event is no merge, `UndoRefused` when
    the merge cannot be undone. Both people's rows are locked first, so two undos, or an undo
    and a merge of the same people, run one after the other."""
    event = session.get(AuditEvent, event_id)
    if event is None or event.action != MERGE:
        raise UnknownMerge(f"no merge has the audit event id {event_id}")
    merge = Merge.of(event)
    lock_people(session, [merge.keep, merge.drop])
    refusal = undo_states(session, [merge])[merge.event].refusal
    if refusal is not None:
        raise UndoRefused(refusal)
    addresses = _move_back(session, merge)
    _restore_fields(session, merge)
    session.execute(update(Person).where(Person.id == merge.drop).values(merged_into_id=None))
    mark_stale(session, [merge.keep, merge.drop])
    mark_distinct(session, merge.keep, merge.drop, actor, f"merge {merge.event} undone")
    session.add(
        AuditEvent(
            actor=actor,
            action=UNMERGE,
            target_type="person",
            target_id=str(merge.drop),
            details={"merge_event": merge.event, "restored": merge.drop, "addresses": addresses},
        )
    )
    return merge.drop


def _refusal(
    m: Merge,
    undone: Mapping[int, int],
    into: Mapping[int, int | None],
    later: Mapping[int, int],
    keep_is_colleague: bool,
) -> str | None:
    if m.event in undone:
        return f"merge {m.event} was undone already (audit event {undone[m.event]})"
    if into.get(m.drop) != m.keep:
        return f"person {m.drop} is no longer merged into person {m.keep}: nothing to undo"
    survivor = into.get(m.keep)
    if survivor is not None:
        return (
            f"person {m.keep} was merged into person {survivor} later (merge"
            f" {later.get(m.keep, '?')}): undo that merge first"
        )
    if m.colleague in ("moved", "folded"):
        where = f"to person {m.keep}" if m.colleague == "moved" else f"into person {m.keep}'s"
        return (
            f"merge {m.event} {m.colleague} person {m.drop}'s colleague record {where}: a"
            " colleague's mailboxes, opt-outs and sign-ins follow that record, so the merge"
            " cannot be undone"
        )
    if m.colleague == UNKNOWN and keep_is_colleague:
        return (
            f"merge {m.event} was recorded before merges noted colleague records, and person"
            f" {m.keep} is a colleague who may hold person {m.drop}'s record: it cannot be undone"
        )
    return None


def _undone(session: Session, merges: Sequence[int]) -> dict[int, int]:
    """Merge event id -> the ``person.unmerge`` event that undid it."""
    if not merges:
        return {}
    named = AuditEvent.details["merge_event"].as_integer()
    query = select(named, AuditEvent.id).where(AuditEvent.action == UNMERGE, named.in_(merges))
    return {int(merge): int(event) for merge, event in session.execute(query).tuples()}


def _merges_dropping(session: Session, people: Sequence[int]) -> dict[int, int]:
    """Person id -> the newest merge event that merged them into someone."""
    if not people:
        return {}
    dropped = AuditEvent.details["merged"].as_integer()
    query = (
        select(dropped, AuditEvent.id)
        .where(AuditEvent.action == MERGE, dropped.in_(people))
        .order_by(AuditEvent.id)
    )
    return {int(person): int(event) for person, event in session.execute(query).tuples()}


def _move_back(session: Session, merge: Merge) -> list[str]:
    """The merge's addresses that the survivor still holds go back; returns them."""
    table = table_of(EmailAddress)
    moved: set[str] = set()
    for part in chunks(sorted(set(merge.addresses))):
        statement = (
            update(table)
            .where(table.c.person_id == merge.keep, table.c.address.in_(part))
            .values(person_id=merge.drop)
            .returning(table.c.address)
        )
        moved.update(session.scalars(statement))
    return [address for address in merge.addresses if address in moved]


def _restore_fields(session: Session, merge: Merge) -> None:
    """Keep's fields the merge filled from drop get their old value back, unless they were
    changed since. The dropped record still holds the value the merge copied: nothing writes
    a merged record (every write follows it to its survivor: ``api.people.survivor``)."""
    filled = {field: old for field, old in merge.filled.items() if field in FILLABLE}
    if not filled:
        return
    table = table_of(Person)
    rows = {
        row.id: row
        for row in session.execute(
            select(table.c.id, table.c.display_name, table.c.company_id).where(
                table.c.id.in_([merge.keep, merge.drop])
            )
        )
    }
    keep, drop = rows[merge.keep], rows[merge.drop]
    values = {
        field: old for field, old in filled.items() if keep._mapping[field] == drop._mapping[field]
    }
    if values:
        session.execute(update(table).where(table.c.id == merge.keep).values(**values))

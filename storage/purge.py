"""Purging stored mail that a new privacy rule covers (``storage.privacy``), to what ingest
would have stored had the rule existed from the start, then recomputing the pair aggregates
those interactions fed (``storage.pairs.recompute_pairs``).

Mail that also reached a colleague the rule does not cover stays: it is their mail too (a
private thread removes the caller's copies, a personal exclusion acts on mail only the
caller's mailboxes hold). Set-based statements in chunks, never one per row; no commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Delete

from storage.addressbook import chunks
from storage.models import (
    Colleague,
    EmailAddress,
    Interaction,
    InteractionKey,
    Mailbox,
    Participant,
    Sighting,
)
from storage.models.base import table_of
from storage.pairs import recompute_pairs


@dataclass
class Purged:
    """What a purge removed: whole interactions, and participants struck from the rest."""

    interactions: int = 0
    participants: int = 0
    sightings: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "interactions": self.interactions,
            "participants": self.participants,
            "sightings": self.sightings,
        }


def purge_private_thread(session: Session, colleague_id: int, conversation_id: str) -> Purged:
    """Remove the colleague's copies of the thread; interactions no mailbox holds any more go."""
    boxes = select(Mailbox.id).where(Mailbox.colleague_id == colleague_id)
    in_thread = select(Interaction.id).where(Interaction.conversation_id == conversation_id)
    mine = Sighting.interaction_id.in_(in_thread) & Sighting.mailbox_id.in_(boxes)
    ids = sorted(set(session.scalars(select(Sighting.interaction_id).where(mine))))
    purged = Purged()
    if not ids:
        return purged
    purged.sightings = count(session, delete(Sighting).where(mine))
    orphans = _unsighted(session, ids)
    pairs = _pairs_of(session, orphans)
    purged.interactions = _delete_interactions(session, orphans)
    recompute_pairs(session, pairs)
    return purged


def matching_addresses(pattern: str) -> ColumnElement[bool]:
    """SQL condition on ``EmailAddress`` for an exclusion pattern (``sync.rules.Exclusions``):
    an address, or ``@domain`` with its subdomains."""
    if not pattern.startswith("@"):
        return EmailAddress.address == pattern
    domain = pattern[1:]
    escaped = domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(EmailAddress.domain == domain, EmailAddress.domain.like(f"%.{escaped}", "\\"))


def purge_exclusion(session: Session, pattern: str, colleague_id: int | None) -> Purged:
    """Strike the excluded addresses from stored interactions (all of them for a firm-wide
    exclusion; for a personal one, those only the colleague's mailboxes hold) and remove the
    interactions left with no external participant, as ingest would have skipped them."""
    excluded = select(EmailAddress.id).where(matching_addresses(pattern))
    touched = select(Participant.interaction_id).where(Participant.address_id.in_(excluded))
    ids = set(session.scalars(touched))
    if colleague_id is not None:
        ids &= _held_only_by(session, ids, colleague_id)
    purged = Purged()
    if not ids:
        return purged
    ordered = sorted(ids)
    pairs = _pairs_of(session, ordered)
    for part in chunks(ordered):
        struck = Participant.interaction_id.in_(part) & Participant.address_id.in_(excluded)
        purged.participants += count(session, delete(Participant).where(struck))
        session.execute(
            update(Interaction)
            .where(Interaction.id.in_(part), Interaction.sender_address_id.in_(excluded))
            .values(sender_address_id=None)
        )
    still_external = _with_externals(session, ordered)
    left_without_externals = [i for i in ordered if i not in still_external]
    purged.sightings = _count_sightings(session, left_without_externals)
    purged.interactions = _delete_interactions(session, left_without_externals)
    recompute_pairs(session, pairs)
    return purged


def _held_only_by(session: Session, ids: set[int], colleague_id: int) -> set[int]:
    """Those of ``ids`` whose every sighting is in a mailbox of the colleague."""
    others = select(Mailbox.id).where(Mailbox.colleague_id != colleague_id)
    mine = select(Mailbox.id).where(Mailbox.colleague_id == colleague_id)
    held: set[int] = set()
    for part in chunks(sorted(ids)):
        shared = select(Sighting.interaction_id).where(
            Sighting.interaction_id.in_(part), Sighting.mailbox_id.in_(others)
        )
        query = select(Sighting.interaction_id).where(
            Sighting.interaction_id.in_(part),
            Sighting.mailbox_id.in_(mine),
            Sighting.interaction_id.not_in(shared),
        )
        held.update(session.scalars(query))
    return held


def _with_externals(session: Session, ids: Sequence[int]) -> set[int]:
    """Those of ``ids`` that still have an external participant: an SMTP address whose person
    is not a colleague (``sync.rules.is_external``, read from the store)."""
    colleague = exists().where(Colleague.person_id == EmailAddress.person_id)
    found: set[int] = set()
    for part in chunks(list(ids)):
        query = (
            select(Participant.interaction_id)
            .join(EmailAddress, EmailAddress.id == Participant.address_id)
            .where(Participant.interaction_id.in_(part), EmailAddress.kind == "smtp", ~colleague)
        )
        found.update(session.scalars(query))
    return found


def _unsighted(session: Session, ids: Sequence[int]) -> list[int]:
    seen: set[int] = set()
    for part in chunks(list(ids)):
        query = select(Sighting.interaction_id).where(Sighting.interaction_id.in_(part))
        seen.update(session.scalars(query))
    return [i for i in ids if i not in seen]


def _pairs_of(session: Session, ids: Sequence[int]) -> set[tuple[int, int]]:
    """The pairs whose aggregates the interactions may have fed (``relationships.aggregates``):
    an email's sender with each other participant, every two people of a meeting."""
    senders: dict[int, set[int]] = {}
    people: dict[int, set[int]] = {}
    p, a = table_of(Participant).c, table_of(EmailAddress).c
    for part in chunks(list(ids)):
        query = (
            select(p.interaction_id, p.role, a.person_id)
            .join(table_of(EmailAddress), a.id == p.address_id)
            .where(p.interaction_id.in_(part))
        )
        for iid, role, pid in session.execute(query).tuples():
            people.setdefault(iid, set()).add(pid)
            if role == "from":
                senders.setdefault(iid, set()).add(pid)
    pairs: set[tuple[int, int]] = set()
    for iid, members in people.items():
        firsts = senders.get(iid, members)  # no sender: a meeting, where everyone pairs up
        pairs.update((min(x, y), max(x, y)) for x in firsts for y in members if x != y)
    return pairs


def _count_sightings(session: Session, ids: Sequence[int]) -> int:
    total = 0
    for part in chunks(list(ids)):
        query = select(func.count()).select_from(Sighting).where(Sighting.interaction_id.in_(part))
        total += session.scalar(query) or 0
    return total


def _delete_interactions(session: Session, ids: Sequence[int]) -> int:
    for part in chunks(list(ids)):
        for table in (Sighting, Participant, InteractionKey):
            session.execute(delete(table).where(table.interaction_id.in_(part)))
        session.execute(delete(Interaction).where(Interaction.id.in_(part)))
    return len(ids)


def count(session: Session, statement: Delete) -> int:
    """Rows a DELETE removed (reliable for DELETE and UPDATE, unlike INSERT)."""
    result = session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]

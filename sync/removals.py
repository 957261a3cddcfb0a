"""Items a source reports gone (Graph's ``@removed``, a cancelled meeting): the inverse of a write.

``remove_items`` runs inside the page's transaction, before the page's new items are written:
1. the folder's sightings of those source ids are deleted;
2. an interaction no mailbox sees any more is deleted with its keys and participants;
3. its people are marked in ``stale_aggregates`` so the engine recomputes their pair
   aggregates once at the end of the run (``relationships.aggregate_store.rebuild_stale``), as
   it does after merges. Only enough people are marked to cover every pair the interaction fed,
   preferring people who own no mailbox: recomputing a mailbox owner touches all of their mail.

Replaying the page is harmless: the sightings are already gone and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.addressbook import chunks
from storage.companies import insert_ignore
from storage.mailboxes import owner_people
from storage.models import (
    EmailAddress,
    Interaction,
    InteractionKey,
    Participant,
    Sighting,
    StaleAggregate,
)
from storage.models.base import table_of


def remove_items(
    session: Session, mailbox_id: int, folder: str, source_ids: Sequence[str]
) -> tuple[int, int]:
    """Forget what ``folder`` of the mailbox saw as ``source_ids``: (sightings, interactions)
    deleted."""
    s = table_of(Sighting)
    found: list[tuple[int, int]] = []
    for part in chunks(sorted(set(source_ids))):
        query = select(s.c.id, s.c.interaction_id).where(
            s.c.mailbox_id == mailbox_id, s.c.folder == folder, s.c.source_item_id.in_(part)
        )
        found.extend(session.execute(query).tuples().all())
    if not found:
        return 0, 0
    for ids in chunks(sorted(sighting for sighting, _ in found)):
        session.execute(delete(s).where(s.c.id.in_(ids)))
    touched = sorted({interaction for _, interaction in found})
    still_seen: set[int] = set()
    for ids in chunks(touched):
        query = select(s.c.interaction_id).where(s.c.interaction_id.in_(ids)).distinct()
        still_seen.update(session.scalars(query))
    orphans = [i for i in touched if i not in still_seen]
    if orphans:
        _mark_stale(session, orphans)
        _delete_interactions(session, orphans)
    return len(found), len(orphans)


def _mark_stale(session: Session, interactions: Sequence[int]) -> None:
    p, a = table_of(Participant).c, table_of(EmailAddress).c
    people: dict[int, set[int]] = {}
    for part in chunks(interactions):
        query = (
            select(p.interaction_id, a.person_id)
            .join(table_of(EmailAddress), a.id == p.address_id)
            .where(p.interaction_id.in_(part))
        )
        for interaction, person in session.execute(query).tuples():
            people.setdefault(interaction, set()).add(person)
    owners = set(owner_people(session))
    stale: set[int] = set()
    for members in people.values():
        stale |= _cover(members, owners)
    if stale:
        rows = [{"person_id": person} for person in sorted(stale)]
        session.execute(insert_ignore(session, StaleAggregate), rows)


def _cover(members: set[int], owners: set[int]) -> set[int]:
    """People whose recomputation covers every pair among ``members``: everyone but one
    mailbox owner (a pair of two people always keeps at least one of them)."""
    among = sorted(members & owners)
    return (members - owners) | set(among[1:])


def _delete_interactions(session: Session, interactions: Sequence[int]) -> None:
    for model in (InteractionKey, Participant):
        table = table_of(model)
        for part in chunks(interactions):
            session.execute(delete(table).where(table.c.interaction_id.in_(part)))
    table = table_of(Interaction)
    for part in chunks(interactions):
        session.execute(delete(table).where(table.c.id.in_(part)))

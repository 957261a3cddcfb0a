"""Recomputing the aggregates of given pairs of people from their stored interactions.

Used after a purge removed interactions (``storage.purge``): only the pairs those interactions
fed can change, so only they are replayed, with the same pure functions ingest uses
(``relationships.aggregates``) and written with the same upsert (``relationships.aggregate_store``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.orm import Session

from relationships.aggregate_store import apply, bump_version, rebuild
from relationships.aggregates import PairDeltas, Role, add_interaction
from relationships.settings import load_weights
from storage.addressbook import chunks
from storage.models import EmailAddress, Interaction, Participant, Relationship

MAX_TARGETED_PEOPLE = 2000  # beyond this many people their pairs are rebuilt wholesale


def recompute_pairs(session: Session, pairs: Iterable[tuple[int, int]]) -> None:
    """Recompute the aggregates of exactly these pairs (a < b) from the stored interactions
    both took part in; a pair with none left loses its row."""
    wanted = set(pairs)
    if not wanted:
        return
    people = sorted({p for pair in wanted for p in pair})
    if len(people) > MAX_TARGETED_PEOPLE:
        rebuild(session, people)  # one pass over their interactions beats thousands of probes
        return
    deltas = PairDeltas(frozenset(people), load_weights(session))
    for kind, at, roles in _shared_interactions(session, people):
        add_interaction(deltas, kind, at, roles)
    deltas.pairs = {key: delta for key, delta in deltas.pairs.items() if key in wanted}
    keys = sorted(wanted)
    for part in chunks(keys):
        session.execute(
            delete(Relationship).where(tuple_(Relationship.a_id, Relationship.b_id).in_(part))
        )
    apply(session, deltas)
    bump_version(session)


def _shared_interactions(
    session: Session, people: Sequence[int]
) -> Iterable[tuple[str, datetime, list[Role]]]:
    """(kind, occurred_at, roles) of every non-cancelled interaction in which at least two of
    ``people`` took part, roles as ``relationships.aggregates.add_interaction`` takes them."""
    members = (
        select(Participant.interaction_id)
        .join(EmailAddress, EmailAddress.id == Participant.address_id)
        .where(EmailAddress.person_id.in_(people))
        .group_by(Participant.interaction_id)
        .having(func.count(func.distinct(EmailAddress.person_id)) >= 2)
    )
    ids = sorted(set(session.scalars(members)))
    for part in chunks(ids):
        query = (
            select(
                Interaction.id,
                Interaction.kind,
                Interaction.occurred_at,
                Participant.role,
                EmailAddress.person_id,
                Participant.response,
            )
            .join(Participant, Participant.interaction_id == Interaction.id)
            .join(EmailAddress, EmailAddress.id == Participant.address_id)
            .where(Interaction.id.in_(part), Interaction.cancelled.is_(False))
            .order_by(Interaction.id)
        )
        grouped: dict[int, tuple[str, datetime, list[Role]]] = {}
        for iid, kind, at, role, pid, response in session.execute(query).tuples():
            grouped.setdefault(iid, (kind, at, []))[2].append((role, pid, response))
        yield from grouped.values()

"""Recomputing the aggregates of given pairs of people from their stored interactions.

Used after a purge removed interactions (``storage.purge``): only the pairs those interactions
fed can change, so only they are replayed, with the same pure functions ingest uses
(``relationships.aggregates``) and written with the same upsert (``relationships.aggregate_store``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Table, and_, func, or_, select
from sqlalchemy.orm import Session

from relationships.aggregate_store import (
    apply,
    delete_pairs,
    newest_sent,
    rebuild,
    settle_clocks,
)
from relationships.aggregates import PairDeltas, Role, add_interaction
from relationships.settings import load_weights
from storage.addressbook import chunks
from storage.models import EmailAddress, Interaction, Participant, Relationship
from storage.models.base import table_of

MAX_TARGETED_PEOPLE = 2000  # beyond this many people their pairs are rebuilt wholesale


def recompute_pairs(session: Session, pairs: Iterable[tuple[int, int]]) -> None:
    """Recompute the aggregates of exactly these pairs (a < b) from the stored interactions
    both took part in; a pair with none left loses its row."""
    wanted = _stored(session, set(pairs))  # removing interactions never creates a pair
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
    table = table_of(Relationship)
    # Each person's newest email in the rows deleted.
    deleted = newest_sent(
        side
        for part in chunks(sorted(wanted))
        for side in delete_pairs(session, _keyed(table, part)).items()
    )
    apply(session, deltas)
    settle_clocks(session, deleted)


def _keyed(table: Table, keys: Sequence[tuple[int, int]]) -> ColumnElement[bool]:
    """Rows whose (a_id, b_id) is one of ``keys``: per first person an equality and an IN list
    of second ones, each a primary-key search (SQLite scans the whole table for a row-value
    ``IN`` list)."""
    seconds: dict[int, list[int]] = {}
    for a, b in keys:
        seconds.setdefault(a, []).append(b)
    return or_(*(and_(table.c.a_id == a, table.c.b_id.in_(bs)) for a, bs in seconds.items()))


def _stored(session: Session, pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Those of ``pairs`` that have an aggregate row. A large audience feeds no pair, so the
    pairs of its people are mostly absent: probing rows by their first person is cheaper than
    listing every pair."""
    firsts = sorted({a for a, _ in pairs})
    table = table_of(Relationship)
    found: set[tuple[int, int]] = set()
    for part in chunks(firsts):
        query = select(table.c.a_id, table.c.b_id).where(table.c.a_id.in_(part))
        found.update(row for row in session.execute(query).tuples() if row in pairs)
    return found


def _shared_interactions(
    session: Session, people: Sequence[int]
) -> Iterable[tuple[str, datetime, list[Role]]]:
    """(kind, occurred_at, roles) of every non-cancelled interaction in which at least two of
    ``people`` took part, roles as ``relationships.aggregates.add_interaction`` takes them."""
    i, p, a = table_of(Interaction).c, table_of(Participant).c, table_of(EmailAddress).c
    addresses = table_of(EmailAddress)
    members = (
        select(p.interaction_id)
        .join(addresses, a.id == p.address_id)
        .where(a.person_id.in_(people))
        .group_by(p.interaction_id)
        .having(func.count(func.distinct(a.person_id)) >= 2)
    )
    ids = sorted(set(session.scalars(members)))
    for part in chunks(ids):
        query = (
            select(i.id, i.kind, i.occurred_at, p.role, a.person_id, p.response)
            .join(table_of(Participant), p.interaction_id == i.id)
            .join(addresses, a.id == p.address_id)
            .where(i.id.in_(part), i.cancelled.is_(False))
            .order_by(i.id)
        )
        grouped: dict[int, tuple[str, datetime, list[Role]]] = {}
        for iid, kind, at, role, pid, response in session.execute(query).tuples():
            grouped.setdefault(iid, (kind, at, []))[2].append((role, pid, response))
        yield from grouped.values()

"""Who knows whom: the firm's colleagues ranked by the strength of their tie to a person.

Scores come from each pair's stored decayed sums (``relationships.strength.stored_score``), so
ranking a person's connectors reads one row per colleague and never their interactions.
Opted-out colleagues never appear. Explanations use counts and dates only: never a subject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import numpy as np
from sqlalchemy import Subquery, select, text, union_all
from sqlalchemy.orm import Session

from relationships.settings import load_weights
from relationships.strength import scores_now
from relationships.ties import PairRow, Tie, tie
from storage.models import Colleague, Person, Relationship
from storage.models.base import table_of


@dataclass(frozen=True)
class Connector:
    colleague_id: int
    person_id: int
    name: str
    email: str
    tie: Tie  # seen from the colleague


SUM_COLUMNS = ("ab_warm", "ab_history", "ba_warm", "ba_history", "mtg_warm", "mtg_history")


def ties_of(person_id: int) -> Subquery:
    """(other person, pair key a, b, the six sums) of every pair touching the person:
    two index lookups (a_id is the primary key's prefix, b_id has its own index)."""
    rel = Relationship
    sums = [getattr(rel, name) for name in SUM_COLUMNS]
    as_a = select(rel.b_id.label("other"), rel.a_id, rel.b_id, *sums).where(rel.a_id == person_id)
    as_b = select(rel.a_id.label("other"), rel.a_id, rel.b_id, *sums).where(rel.b_id == person_id)
    return union_all(as_a, as_b).subquery()


IN_LIST_LIMIT = 500  # above this many candidates, read the whole firm's list instead


def active_colleagues(session: Session, among: Sequence[int] | None = None) -> set[int]:
    """Person ids of the colleagues who have not opted out, all of them (a thousand ints for a
    large firm) or those ``among`` some people (an indexed IN list while it is short)."""
    query = select(Colleague.person_id).where(Colleague.opted_out.is_(False))
    if among is not None and len(among) <= IN_LIST_LIMIT:
        query = query.where(Colleague.person_id.in_(sorted(set(among))))
    return set(session.scalars(query))


def load_pairs(session: Session, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], PairRow]:
    """The pair rows for ``keys`` (a_id, b_id) as plain rows, in one query of primary-key
    lookups: an OR of equalities (SQLite scans the whole table for a row-value ``IN`` list),
    written as text (building it as an expression tree costs more than running it)."""
    if not keys:
        return {}
    pairs = sorted(set(keys))
    match = " OR ".join(f"(a_id = :a{i} AND b_id = :b{i})" for i in range(len(pairs)))
    params = {f"{side}{i}": key[j] for i, key in enumerate(pairs) for j, side in enumerate("ab")}
    table = table_of(Relationship)
    columns = ", ".join(c.name for c in table.c)
    # Only the model's column names and numbered placeholders go into the text; the ids are
    # bound parameters. The columns' types read the values back (datetimes on SQLite).
    query = text(f"SELECT {columns} FROM relationships WHERE {match}")  # noqa: S608
    rows = session.execute(query.columns(*table.c), params)
    return {(r.a_id, r.b_id): cast(PairRow, r) for r in rows}


def connectors(
    session: Session, person_id: int, now: datetime, limit: int | None = None
) -> tuple[int, list[Connector]]:
    """How many colleagues (not opted out) have a tie to ``person_id``, and the strongest
    ``limit`` of them. Every tie is scored at once from its stored sums (NumPy); only the
    listed ones are loaded as rows."""
    # The pairs alone, colleagues kept in Python: joined in SQL, the planners (SQLite without
    # statistics, PostgreSQL with an IN list) walked the colleagues and probed every pair.
    # Plain tuples: NumPy probing Row objects for array attributes costs more than the query.
    ties = [tuple(r) for r in session.execute(select(ties_of(person_id)))]
    colleagues = active_colleagues(session, [int(t[0]) for t in ties]) - {person_id}
    rows = np.array([t for t in ties if t[0] in colleagues], dtype=np.float64).reshape(-1, 9)
    if not len(rows):
        return 0, []
    weights = load_weights(session)
    scores = scores_now(rows[:, 3:], now, weights, from_a=rows[:, 1] == rows[:, 0])
    order = np.lexsort((rows[:, 0], -scores))[: limit or len(rows)]
    chosen = [(int(rows[i, 0]), int(rows[i, 1]), int(rows[i, 2])) for i in order]
    people = {
        pid: (cid, name or email, email)
        for pid, cid, email, name in session.execute(
            select(Colleague.person_id, Colleague.id, Colleague.email, Person.display_name)
            .join(Person, Person.id == Colleague.person_id)
            .where(Colleague.person_id.in_([c[0] for c in chosen]))
        ).tuples()
    }
    pairs = load_pairs(session, [(a, b) for _, a, b in chosen])
    found = []
    for other, a, b in chosen:
        seen = tie(pairs[(a, b)], other, now, weights)
        colleague_id, name, email = people[other]
        found.append(Connector(colleague_id, other, name, email, seen))
    return len(rows), found

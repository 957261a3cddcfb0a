"""Who knows whom: the firm's colleagues ranked by the strength of their tie to a person.

The ranking reads the API worker's in-memory graph (``relationships.graph``: every pair's
score from its stored decayed sums, refreshed within a minute of new mail); the listed ties
are loaded as rows and scored afresh, each in O(1), never from their interactions.
Opted-out colleagues never appear. Explanations use counts and dates only: never a subject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from relationships.graph import Graph
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
    session: Session, graph: Graph, person_id: int, limit: int | None = None
) -> tuple[int, list[Connector]]:
    """How many colleagues (not opted out) have a tie to ``person_id``, and the strongest
    ``limit`` of them, at the graph's moment. The ranking reads the worker's in-memory graph
    (every tie already scored from the colleague's side); only the listed ties are loaded as
    rows and scored afresh for display."""
    now = graph.built_at
    ids, strengths = graph.neighbours(person_id)
    colleagues = np.array(sorted(graph.colleagues - {person_id}), dtype=np.int32)
    mine = np.isin(ids, colleagues)
    ids, strengths = ids[mine], strengths[mine]
    chosen = ids[np.lexsort((ids, -strengths))][: limit or len(ids)].tolist()
    if not chosen:
        return 0, []
    people = {
        pid: (cid, name or email, email)
        for pid, cid, email, name in session.execute(
            select(Colleague.person_id, Colleague.id, Colleague.email, Person.display_name)
            .join(Person, Person.id == Colleague.person_id)
            .where(Colleague.person_id.in_(chosen))
        ).tuples()
    }
    pairs = load_pairs(session, [(min(c, person_id), max(c, person_id)) for c in chosen])
    weights = graph.weights
    found = []
    for other in chosen:
        row = pairs[(min(other, person_id), max(other, person_id))]
        colleague_id, name, email = people[other]
        found.append(Connector(colleague_id, other, name, email, tie(row, other, now, weights)))
    # Scored afresh, a tie between two colleagues reads from the listed one's side.
    found.sort(key=lambda c: (-c.tie.score, c.person_id))
    return len(ids), found

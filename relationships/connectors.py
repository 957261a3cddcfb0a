"""Who knows whom: the firm's colleagues ranked by the strength of their tie to a person.

The ranking reads the API worker's in-memory graph (``relationships.graph``: every pair's
score from its stored decayed sums, refreshed within a minute of new mail); the listed ties
are loaded as rows, with the colleagues' names in the same query
(``relationships.pair_rows``), and scored afresh, each in O(1), never from their
interactions. Opted-out colleagues never appear. Explanations use counts and dates only:
never a subject.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from relationships.graph import Graph
from relationships.pair_rows import load_pairs
from relationships.past import rows_at
from relationships.ties import Tie, tie


@dataclass(frozen=True)
class Connector:
    colleague_id: int
    person_id: int
    name: str
    email: str
    tie: Tie  # seen from the colleague


def connectors(
    session: Session, graph: Graph, person_id: int, limit: int | None = None
) -> tuple[int, list[Connector]]:
    """How many colleagues (not opted out) have a tie to ``person_id``, and the strongest
    ``limit`` of them, at the graph's moment. The ranking reads the worker's in-memory graph
    (every tie already scored from the colleague's side); only the listed ties are loaded as
    rows and scored afresh for display."""
    now = graph.built_at
    ids, strengths = graph.neighbours(person_id)
    mine = graph.is_colleague[ids] & (ids != person_id)
    ids, strengths = ids[mine], strengths[mine]
    chosen = ids[np.lexsort((ids, -strengths))][: limit or len(ids)].tolist()
    if not chosen:
        return 0, []
    loaded, people = load_pairs(session, [(min(c, person_id), max(c, person_id)) for c in chosen])
    pairs = rows_at(loaded, graph)  # a past moment's graph: the rows as they stood then
    weights = graph.weights
    found = []
    for other in chosen:
        row = pairs.get((min(other, person_id), max(other, person_id)))
        who = people[other]
        if row is None or who.colleague_id is None:
            continue  # purged or removed since the graph was built
        email = who.email or ""
        seen = tie(row, other, now, weights, graph.side_clocks(other))
        found.append(Connector(who.colleague_id, other, who.name or email, email, seen))
    # Scored afresh, a tie between two colleagues reads from the listed one's side.
    found.sort(key=lambda c: (-c.tie.score, c.person_id))
    return len(ids), found

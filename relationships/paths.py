"""Warm-introduction paths: requester -> colleague -> contact -> target, at most three hops.

Scored as the product of the edges' strengths with ``HOP_PENALTY`` per hop beyond the first
(reference 2.1-2.3: max-product paths, hop cap 3; the penalty prefers the shorter of two
equally strong routes). One path per distinct first-hop colleague, the best ``MAX_PATHS``
overall. Opted-out colleagues are never a hop. The search reads only the in-memory graph
(``relationships.graph``): no SQL per request but the explanation of the chosen hops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from relationships.graph import Graph, Ids

MAX_PATHS = 5
HOP_PENALTY = 0.8  # each hop after the first multiplies the score by this


@dataclass(frozen=True)
class Path:
    people: tuple[int, ...]  # requester first, target last
    score: float  # in (0, 1]


def find_paths(graph: Graph, source: int, target: int) -> list[Path]:
    """The best path per first-hop colleague (and the direct tie), strongest first.

    Meet in the middle, in array operations: the first hops are the source's neighbours who are
    colleagues; from the target's side, each of its contacts' neighbours is a candidate second
    hop. The cost is deg(source) + the sum of the degrees of the target's contacts, whatever
    the size of the graph (reference 2.1), with no Python loop over neighbours.
    """
    if source == target:
        return []
    blocked = np.array(sorted(graph.opted_out | {source, target}), dtype=np.int64)
    colleagues = np.array(sorted(graph.colleagues), dtype=np.int64)
    ids, first = graph.neighbours(source)
    hop = np.isin(ids, colleagues) & ~np.isin(ids, blocked)
    hops, first = ids[hop], first[hop]
    best = _best_onward(graph, target, hops, blocked)
    found = [Path((source, target), graph.strength(source, target))]
    found = [p for p in found if p.score > 0]
    for colleague, strength in zip(hops.tolist(), first.tolist(), strict=True):
        onward = best.get(colleague)
        if onward is not None:
            rest, value = onward
            found.append(Path((source, colleague, *rest), strength * value))
    found.sort(key=lambda p: (-p.score, len(p.people), p.people))
    return found[:MAX_PATHS]


def _best_onward(
    graph: Graph, target: int, hops: Ids, blocked: npt.NDArray[np.int64]
) -> dict[int, tuple[tuple[int, ...], float]]:
    """For each first-hop colleague that can reach ``target``: the best continuation, straight
    to the target (penalty once) or through one contact (penalty twice)."""
    best: dict[int, tuple[tuple[int, ...], float]] = {}
    contacts, to_target = graph.neighbours(target)
    direct = np.isin(contacts, hops)
    for colleague, value in zip(contacts[direct].tolist(), to_target[direct].tolist(), strict=True):
        best[colleague] = ((target,), value * HOP_PENALTY)
    usable = ~np.isin(contacts, blocked)
    contacts, to_target = contacts[usable], to_target[usable]
    # A second hop is a colleague: a contact inside the firm brings only its colleague ties
    # (graph.peers), not its thousands of clients; one outside brings all of its few ties.
    firm = np.array(sorted(graph.colleagues | graph.opted_out), dtype=np.int64)
    inside = np.isin(contacts, firm)
    parts = [
        graph.edges_of(contacts[~inside].astype(np.int64)),
        graph.peers.edges_of(contacts[inside].astype(np.int64)),
    ]
    owners, seconds, strengths = (np.concatenate([p[i] for p in parts]) for i in range(3))
    # Each edge (contact, second) is a route second -> contact -> target.
    near = np.isin(seconds, hops) & (seconds != owners)
    owners, seconds, strengths = owners[near], seconds[near], strengths[near]
    # The target's contacts are sorted (a node's neighbours are): find each owner's strength.
    into = to_target[np.searchsorted(contacts, owners)]
    values = (strengths * into).astype(np.float64) * HOP_PENALTY**2
    order = np.lexsort((owners, -values))  # strongest first, ties by contact id
    _, first = np.unique(seconds[order], return_index=True)
    for i in order[first].tolist():
        colleague, value = int(seconds[i]), float(values[i])
        if colleague not in best or value > best[colleague][1]:
            best[colleague] = ((int(owners[i]), target), value)
    return best

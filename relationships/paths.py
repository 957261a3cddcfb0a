"""Warm-introduction paths: requester -> colleague -> contact -> target, at most three hops.

Scored as the product of the edges' strengths with ``HOP_PENALTY`` per hop beyond the first
(reference 2.1-2.3: max-product paths, hop cap 3; the penalty prefers the shorter of two
equally strong routes). One path per distinct first-hop colleague, the best ``MAX_PATHS``
overall, leaving out a route through another first-hop colleague whose own path is as good
(`_detours`). Opted-out colleagues are never a hop, nor are the people the caller names in
``avoid``. The search reads only the in-memory graph
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


def find_paths(
    graph: Graph, source: int, target: int, avoid: frozenset[int] = frozenset()
) -> list[Path]:
    """The best path per first-hop colleague (and the direct tie), strongest first; no hop
    through ``avoid`` (the API's namesakes of the two ends: `api.paths`).

    Meet in the middle, in array operations: the first hops are the source's neighbours who are
    colleagues; from the target's side, each of its contacts' neighbours is a candidate second
    hop. The cost is deg(source) + the sum of the degrees of the target's contacts, whatever
    the size of the graph (reference 2.1), with no Python loop over neighbours.
    """
    if source == target:
        return []
    blocked = np.array(sorted(graph.opted_out | avoid | {source, target}), dtype=np.int64)
    colleagues = np.array(sorted(graph.colleagues), dtype=np.int64)
    ids, first = graph.neighbours(source)
    hop = np.isin(ids, colleagues) & ~np.isin(ids, blocked)
    hops, first = ids[hop], first[hop]  # sorted by id, as a node's neighbours are
    onward, middle = _best_onward(graph, target, hops, blocked)
    totals = first.astype(np.float64) * onward
    totals[_detours(hops, middle, totals)] = 0
    chosen = np.flatnonzero(totals > 0)
    if len(chosen) > MAX_PATHS:  # the strongest few, every one equal to the last included
        cut = np.partition(totals[chosen], -MAX_PATHS)[-MAX_PATHS]
        chosen = chosen[totals[chosen] >= cut]
    found = [
        Path((source, int(hops[i]), *_rest(int(middle[i]), target)), float(totals[i]))
        for i in chosen
    ]
    direct = graph.strength(source, target)
    if direct:
        found.append(Path((source, target), direct))
    found.sort(key=lambda p: (-p.score, len(p.people), p.people))
    return found[:MAX_PATHS]


DIRECT = -1  # in `middle`: the colleague knows the target
NONE = -2  # in `middle`: no way on


def _rest(middle: int, target: int) -> tuple[int, ...]:
    return (target,) if middle == DIRECT else (middle, target)


def _detours(
    hops: Ids, middle: npt.NDArray[np.int64], totals: npt.NDArray[np.float64]
) -> npt.NDArray[np.intp]:
    """First hops whose best route runs through another first-hop colleague whose own path
    scores as well or better: that colleague's path with a detour ("ask Julie Ferrara to ask
    Lisa Gillette" for a requester who wrote to Lisa 77 times; found on the Enron import,
    where three of five paths to one person were such). A requester who barely knows the
    middle colleague keeps the warm route through someone who knows them well."""
    through = np.flatnonzero(middle >= 0)
    if len(hops) == 0 or len(through) == 0:
        return through
    at = np.minimum(np.searchsorted(hops, middle[through]), len(hops) - 1)
    own = hops[at] == middle[through]
    rows, at = through[own], at[own]
    detour: npt.NDArray[np.intp] = rows[totals[at] >= totals[rows]]
    return detour


def _best_onward(
    graph: Graph, target: int, hops: Ids, blocked: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """For each first-hop colleague (``hops``, sorted): the value of the best continuation,
    straight to the target (penalty once) or through one contact (penalty twice), and that
    contact (``DIRECT``, or ``NONE`` with value 0 when there is no way on)."""
    value = np.zeros(len(hops))
    middle = np.full(len(hops), NONE, dtype=np.int64)
    contacts, to_target = graph.neighbours(target)
    direct = np.isin(contacts, hops)
    at = np.searchsorted(hops, contacts[direct])
    value[at] = to_target[direct].astype(np.float64) * HOP_PENALTY
    middle[at] = DIRECT
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
    # Each edge (contact, second) is a route second -> contact -> target; a table of flags
    # tells first-hop colleagues in one pass (np.isin would sort every edge).
    is_hop = np.zeros(max(int(seconds.max(initial=0)), int(hops.max(initial=0))) + 1, dtype=bool)
    is_hop[hops] = True
    near = is_hop[seconds] & (seconds != owners)
    owners, seconds, strengths = owners[near], seconds[near], strengths[near]
    # The target's contacts are sorted (a node's neighbours are): find each owner's strength.
    into = to_target[np.searchsorted(contacts, owners)]
    through = (strengths * into).astype(np.float64) * HOP_PENALTY**2
    # Each second hop's best contact: the strongest route, on a tie the lowest contact id.
    at = np.searchsorted(hops, seconds)
    best = np.zeros(len(hops))
    np.maximum.at(best, at, through)
    top = through == best[at]
    via = np.full(len(hops), np.iinfo(np.int64).max)
    np.minimum.at(via, at[top], owners[top].astype(np.int64))
    better = best > value  # on a tie the direct route stays
    value[better] = best[better]
    middle[better] = via[better]
    return value, middle

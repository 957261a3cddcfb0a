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

from relationships.graph import Graph, Ids, Strengths

MAX_PATHS = 5
HOP_PENALTY = 0.8  # each hop after the first multiplies the score by this


@dataclass(frozen=True)
class Path:
    people: tuple[int, ...]  # requester first, target last
    score: float  # in (0, 1]


def find_paths(graph: Graph, source: int, target: int) -> list[Path]:
    if source == target:
        return []
    blocked = graph.opted_out | {source, target}
    into_target = graph.neighbours(target)
    found: list[Path] = []
    direct = graph.strength(source, target)
    if direct:
        found.append(Path((source, target), direct))
    for node, first in zip(*graph.neighbours(source), strict=True):
        colleague = int(node)
        if colleague not in graph.colleagues or colleague in blocked:
            continue
        best = _onward(graph, colleague, target, into_target, blocked)
        if best is not None:
            rest, value = best
            found.append(Path((source, colleague, *rest), float(first) * value))
    found.sort(key=lambda p: (-p.score, len(p.people), p.people))
    return found[:MAX_PATHS]


def _onward(
    graph: Graph,
    colleague: int,
    target: int,
    into_target: tuple[Ids, Strengths],
    blocked: frozenset[int],
) -> tuple[tuple[int, ...], float] | None:
    """The best continuation from ``colleague`` to ``target``: directly (two hops in all) or
    through one contact (three), hop penalties applied; ``None`` when there is none."""
    options: list[tuple[tuple[int, ...], float]] = []
    direct = graph.strength(colleague, target)
    if direct:
        options.append(((target,), direct * HOP_PENALTY))
    around_ids, around_strengths = graph.neighbours(colleague)
    target_ids, target_strengths = into_target
    # Contacts who know both: one sorted-array intersection, no Python loop over neighbours.
    common, at_colleague, at_target = np.intersect1d(
        around_ids, target_ids, assume_unique=True, return_indices=True
    )
    if len(common):
        values = around_strengths[at_colleague] * target_strengths[at_target]
        for i in np.argsort(-values):
            contact = int(common[i])
            if contact not in blocked and contact != colleague:
                options.append(((contact, target), float(values[i]) * HOP_PENALTY**2))
                break
    return max(options, key=lambda option: option[1]) if options else None

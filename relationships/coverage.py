"""Company coverage: how well the firm as a whole knows a company (reference 1.4).

- ``coverage``: noisy-OR of the top ``TOP_TIES`` ties from any colleague to anyone at the
  company, ``100 * (1 - prod(1 - s/100))``: the chance that at least one route works;
- ``breadth``: distinct colleagues and distinct contacts with a tie of medium or better;
- ``best connector``: the strongest single tie; ``single_threaded`` when exactly one colleague
  holds a medium-or-better tie (one departure away from losing the account);
- ``trend``: coverage now minus coverage 90 days ago, from the past scores of the ties that
  are strongest now (each O(1): ``relationships.ties.Tie.trend``).

The ties come from the worker's in-memory graph (``relationships.graph``: every edge already
scored, a company's thousands of people read with a few array operations), never from a scan
of the company's pairs in SQL; only the strongest ties and the listed page of people are
loaded as rows and scored afresh for display.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from relationships.graph import Graph, Ids
from relationships.pair_rows import End, load_pairs
from relationships.past import rows_at
from relationships.ties import Standing, standing, tenths

TOP_TIES = 5  # reference 1.4: the top five routes
MEDIUM = 30.0  # the medium tier's floor (relationships.strength.TIERS)
Ties = tuple[Ids, Ids, "npt.NDArray[np.float64]"]  # contacts, colleagues, scores 0-100
PEOPLE_SQL = (
    "SELECT id FROM people WHERE company_id = {mark} AND merged_into_id IS NULL"
    " ORDER BY display_name, id"
)


@dataclass(frozen=True)
class CompanyTie:
    colleague_person_id: int
    colleague_name: str
    colleague_email: str | None  # `relationships.pair_rows.End.email`
    person_id: int
    tie: Standing


@dataclass(frozen=True)
class Coverage:
    coverage: float
    trend: float
    colleagues: int
    contacts: int
    single_threaded: bool
    best: CompanyTie | None
    people_total: int
    # The page: id, name, address (`relationships.pair_rows.End.email`), title, best tie.
    people: list[tuple[int, str, str | None, str, CompanyTie | None]]


def noisy_or(scores: Sequence[float]) -> float:
    top = sorted(scores, reverse=True)[:TOP_TIES]
    return 100.0 * (1.0 - math.prod(1.0 - s / 100.0 for s in top))


def company_people(session: Session, company_id: int) -> npt.NDArray[np.int64]:
    """Ids of the company's current people by name, straight from the driver (a large company
    has thousands: no row objects), from the index ``ix_people_company_current``."""
    mark = "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(PEOPLE_SQL.format(mark=mark), (company_id,))
        return np.array([r[0] for r in cursor.fetchall()], dtype=np.int64)
    finally:
        cursor.close()


def _ties(graph: Graph, people: npt.NDArray[np.int64]) -> Ties:
    """Every (company person, colleague) edge of the graph: contacts, colleagues, scores; the
    edges of one contact are contiguous."""
    contacts, others, strengths = graph.edges_of(people)
    keep = graph.is_colleague[others]
    return contacts[keep], others[keep], strengths[keep].astype(np.float64) * 100


def best_per_contact(
    contacts: Ids, scores: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The row of each contact's best tie (the first of equals), contacts ordered from the
    best-connected down (equal scores: the earlier row first); linear but for one sort of the
    contacts, not of every tie."""
    if not len(contacts):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    starts = np.flatnonzero(np.r_[True, contacts[1:] != contacts[:-1]])
    best = np.maximum.reduceat(scores, starts)
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(contacts)]))
    at_best = np.flatnonzero(scores == best[group])
    _, first = np.unique(group[at_best], return_index=True)
    rows = at_best[first]
    order = np.lexsort((rows, -best))
    return rows[order], contacts[rows[order]].astype(np.int64)


def strongest(scores: npt.NDArray[np.float64], n: int) -> npt.NDArray[np.int64]:
    """The rows of the ``n`` strongest ties, strongest first (equal scores: earlier first)."""
    if len(scores) > n:
        candidates = np.argpartition(-scores, n - 1)[:n]
        cut = scores[candidates].min()
        candidates = np.flatnonzero(scores >= cut)  # every tie equal to the cut competes
    else:
        candidates = np.arange(len(scores))
    return candidates[np.lexsort((candidates, -scores[candidates]))][:n]


def coverage(
    session: Session,
    graph: Graph,
    company_id: int,
    page: tuple[int, int] = (0, 50),
) -> Coverage:
    """How well the firm knows the company at the graph's moment; ``page`` is (offset, limit)
    of the company's people, best-connected first."""
    by_name = company_people(session, company_id)
    people = np.sort(by_name)  # equal best ties: the lower id first
    contacts, colleagues, scores = _ties(graph, people)
    best_rows, tied = best_per_contact(contacts, scores)
    top_rows = strongest(scores, TOP_TIES)
    offset, limit = page
    # The page: people with a tie, each with the row of their best one, then the rest by name.
    on_page = slice(offset, offset + limit)
    best_of = dict(zip(tied[on_page].tolist(), best_rows[on_page].tolist(), strict=True))
    untied = by_name[~np.isin(by_name, tied)]
    skip = max(0, offset - len(tied))
    rest = untied[skip : skip + limit - len(best_of)].tolist()
    wanted = list(dict.fromkeys([*top_rows.tolist(), *best_of.values()]))  # each tie once
    made, ends = _company_ties(session, graph, (contacts, colleagues), wanted, rest)
    top = [made[i] for i in top_rows.tolist() if i in made]
    # The noisy-OR of the strongest ties, scored afresh from their rows, now and 90 days ago.
    now_scores = [t.tie.score for t in top]
    past = [max(0.0, t.tie.score - t.tie.trend) for t in top]
    strong = scores >= MEDIUM
    breadth = _distinct(colleagues[strong])
    listed = [(pid, ends[pid]) for pid in [*best_of, *rest]]
    return Coverage(
        coverage=round(noisy_or(now_scores), 1),
        trend=tenths(noisy_or(now_scores) - noisy_or(past)),
        colleagues=breadth,
        contacts=_distinct(contacts[strong]),
        single_threaded=breadth == 1,
        best=max(top, key=lambda t: t.tie.score) if top else None,
        people_total=len(people),
        people=[
            (pid, end.name, end.email, end.title or "", made.get(best_of.get(pid, -1)))
            for pid, end in listed
        ],
    )


def _distinct(ids: Ids) -> int:
    """How many distinct ids (a count of flags: no sort)."""
    return int(np.count_nonzero(np.bincount(ids))) if len(ids) else 0


def _company_ties(
    session: Session, graph: Graph, ties: tuple[Ids, Ids], rows: list[int], others: list[int]
) -> tuple[dict[int, CompanyTie], dict[int, End]]:
    """``CompanyTie`` for the given rows of ``ties`` (contacts, colleagues), each scored afresh
    from its pair's row at the graph's moment; the people at both ends and ``others``: one
    query."""
    contacts, colleagues = ties
    keys = [(int(contacts[i]), int(colleagues[i])) for i in rows]
    loaded, ends = load_pairs(session, [(min(key), max(key)) for key in keys], others)
    pairs = rows_at(loaded, graph)  # a past moment's graph: the rows as they stood then
    made: dict[int, CompanyTie] = {}
    for i, (contact, colleague) in zip(rows, keys, strict=True):
        row = pairs.get((min(contact, colleague), max(contact, colleague)))
        if row is None:
            continue  # purged since the graph was built
        seen = standing(row, colleague, graph.built_at, graph.weights, graph.side_clocks(colleague))
        who = ends[colleague]
        made[i] = CompanyTie(colleague, who.name or who.email or "", who.email, contact, seen)
    return made, ends

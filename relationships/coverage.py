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
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relationships.connectors import load_pairs
from relationships.graph import Graph, Ids
from relationships.strength import Weights
from relationships.ties import Tie, tie
from storage.models import Colleague, Person

TOP_TIES = 5  # reference 1.4: the top five routes
MEDIUM = 30.0  # the medium tier's floor (relationships.strength.TIERS)
Ties = tuple[Ids, Ids, "npt.NDArray[np.float64]"]  # contacts, colleagues, scores 0-100
PEOPLE_SQL = "SELECT id FROM people WHERE company_id = {mark} AND merged_into_id IS NULL"


@dataclass(frozen=True)
class CompanyTie:
    colleague_person_id: int
    colleague_name: str
    person_id: int
    tie: Tie


@dataclass(frozen=True)
class Coverage:
    coverage: float
    trend: float
    colleagues: int
    contacts: int
    single_threaded: bool
    best: CompanyTie | None
    people_total: int
    people: list[tuple[int, str, str, CompanyTie | None]]  # the page: id, name, title, best


def noisy_or(scores: Sequence[float]) -> float:
    top = sorted(scores, reverse=True)[:TOP_TIES]
    return 100.0 * (1.0 - math.prod(1.0 - s / 100.0 for s in top))


def company_people(session: Session, company_id: int) -> npt.NDArray[np.int64]:
    """Ids of the company's current people, straight from the driver (a large company has
    thousands: no row objects), from the (company_id, merged_into_id) index alone."""
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
    colleagues = np.array(sorted(graph.colleagues), dtype=np.int32)
    keep = np.isin(others, colleagues)
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
    now = graph.built_at
    people = company_people(session, company_id)
    contacts, colleagues, scores = _ties(graph, people)
    best_rows, tied = best_per_contact(contacts, scores)
    top_rows = strongest(scores, TOP_TIES)
    listed = _page(session, company_id, tied, *page)
    position = {int(c): i for i, c in enumerate(tied[: page[0] + page[1]].tolist())}
    best_of = {pid: int(best_rows[position[pid]]) for pid, _, _ in listed if pid in position}
    wanted = [*top_rows.tolist(), *best_of.values()]
    made = _company_ties(session, (contacts, colleagues), wanted, now, graph.weights)
    top = [made[int(i)] for i in top_rows]
    # The noisy-OR of the strongest ties, scored afresh from their rows, now and 90 days ago.
    now_scores = [t.tie.score for t in top]
    past = [max(0.0, t.tie.score - t.tie.trend) for t in top]
    strong = scores >= MEDIUM
    breadth = len(np.unique(colleagues[strong]))
    return Coverage(
        coverage=round(noisy_or(now_scores), 1),
        trend=round(noisy_or(now_scores) - noisy_or(past), 1),
        colleagues=breadth,
        contacts=len(np.unique(contacts[strong])),
        single_threaded=breadth == 1,
        best=max(top, key=lambda t: t.tie.score) if top else None,
        people_total=len(people),
        people=[
            (pid, name, title or "", made.get(best_of.get(pid, -1))) for pid, name, title in listed
        ],
    )


def _company_ties(
    session: Session,
    ties: tuple[Ids, Ids],
    rows: list[int],
    now: datetime,
    weights: Weights,
) -> dict[int, CompanyTie]:
    """``CompanyTie`` for the given rows of ``ties`` (contacts, colleagues), each scored afresh
    from its pair's row; one query for the rows, one for the colleagues' names."""
    contacts, colleagues = ties
    colleague_ids = sorted({int(colleagues[i]) for i in rows})
    names = dict(
        session.execute(
            select(
                Colleague.person_id,
                func.coalesce(func.nullif(Person.display_name, ""), Colleague.email),
            )
            .join(Person, Person.id == Colleague.person_id)
            .where(Colleague.person_id.in_(colleague_ids))
        )
        .tuples()
        .all()
    )
    pairs = {(int(contacts[i]), int(colleagues[i])) for i in rows}
    found = load_pairs(session, [(min(p), max(p)) for p in pairs])
    made = {}
    for i in rows:
        contact, colleague = int(contacts[i]), int(colleagues[i])
        row = found[(min(contact, colleague), max(contact, colleague))]
        seen = tie(row, colleague, now, weights, detail=False)
        made[i] = CompanyTie(colleague, names.get(colleague, ""), contact, seen)
    return made


def _page(
    session: Session, company_id: int, tied: npt.NDArray[np.int64], offset: int, limit: int
) -> list[tuple[int, str, str | None]]:
    """The people on the page: best-connected first (``tied``), then the rest by name."""
    wanted = tied[offset : offset + limit].tolist()
    found = {
        pid: (pid, name, title)
        for pid, name, title in session.execute(
            select(Person.id, Person.display_name, Person.title).where(Person.id.in_(wanted))
        ).tuples()
    }
    page = [found[pid] for pid in wanted if pid in found]
    missing = limit - len(page)
    if missing <= 0:
        return page
    skip = max(0, offset - len(tied))
    tied_set = set(tied.tolist())
    rest = session.execute(
        select(Person.id, Person.display_name, Person.title)
        .where(Person.company_id == company_id, Person.merged_into_id.is_(None))
        .order_by(Person.display_name, Person.id)
    ).tuples()
    for pid, name, title in rest:
        if pid in tied_set:
            continue
        if skip:
            skip -= 1
            continue
        page.append((pid, name, title))
        if len(page) == limit:
            break
    return page

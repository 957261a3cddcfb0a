"""Company coverage: how well the firm as a whole knows a company (reference 1.4).

- ``coverage``: noisy-OR of the top ``TOP_TIES`` ties from any colleague to anyone at the
  company, ``100 * (1 - prod(1 - s/100))``: the chance that at least one route works;
- ``breadth``: distinct colleagues and distinct contacts with a tie of medium or better;
- ``best connector``: the strongest single tie; ``single_threaded`` when exactly one colleague
  holds a medium-or-better tie (one departure away from losing the account);
- ``trend``: coverage now minus coverage 90 days ago, from the past scores of the ties that
  are strongest now (each O(1): ``relationships.ties.Tie.trend``).

Every tie at the company is scored at once from its stored sums (NumPy); only the best ones
and the listed page of people are loaded as rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ARRAY, ColumnElement, Integer, any_, bindparam, func, select
from sqlalchemy.orm import Session

from relationships.connectors import SUM_COLUMNS, active_colleagues, load_pairs
from relationships.settings import load_weights
from relationships.strength import Weights, scores_now
from relationships.ties import Tie, tie
from storage.models import Colleague, Person, Relationship

TOP_TIES = 5  # reference 1.4: the top five routes
MEDIUM = 30.0  # the medium tier's floor (relationships.strength.TIERS)
TREND_TIES = TOP_TIES  # the ties whose past score is looked at: those the noisy-OR uses


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


def _ties(session: Session, company_id: int) -> npt.NDArray[np.float64]:
    """Every (colleague, company person) pair as rows of (contact, colleague, a, b, six sums):
    one index lookup per side of the pair key, numbers only."""
    rel = Relationship
    people = list(
        session.scalars(
            select(Person.id).where(
                Person.company_id == company_id, Person.merged_into_id.is_(None)
            )
        )
    )
    if not people:
        return np.zeros((0, 10))
    sums = [getattr(rel, name) for name in SUM_COLUMNS]
    postgres = session.get_bind().dialect.name == "postgresql"
    colleagues = active_colleagues(session)
    rows: list[tuple[float, ...]] = []
    # Two plain index lookups (b_id's index, the primary key's a_id prefix), colleagues kept in
    # Python: joins and unions here led PostgreSQL's planner to scan every pair.
    for contact, other in ((rel.b_id, rel.a_id), (rel.a_id, rel.b_id)):
        query = select(contact, other, rel.a_id, rel.b_id, *sums).where(
            _among(contact, people, postgres)
        )
        rows += [tuple(r) for r in session.execute(query) if r[1] in colleagues]
    return np.array(rows, dtype=np.float64).reshape(-1, 10)


def _among(column: Any, ids: list[int], postgres: bool) -> ColumnElement[bool]:
    """``column`` in ``ids``: one array parameter on PostgreSQL (its planner then probes the
    index instead of scanning every pair, as it did for ``IN (subquery)``), else ``IN``."""
    if postgres:
        return column == any_(bindparam("ids", ids, type_=ARRAY(Integer)))  # type: ignore[no-any-return]
    return column.in_(ids)  # type: ignore[no-any-return]


def coverage(
    session: Session, company_id: int, now: datetime, offset: int = 0, limit: int = 50
) -> Coverage:
    ties = _ties(session, company_id)
    weights = load_weights(session)
    scores = scores_now(ties[:, 4:], now, weights, from_a=ties[:, 2] == ties[:, 1])
    order = np.argsort(-scores, kind="stable")
    strong = ties[scores >= MEDIUM]
    colleagues = set(strong[:, 1].astype(int).tolist())
    # Each contact's best tie: the first time it appears in the strongest-first order.
    contacts_in_order = ties[order, 0].astype(int)
    _, first = np.unique(contacts_in_order, return_index=True)
    best_rows = order[np.sort(first)]
    best_index = {int(ties[i, 0]): int(i) for i in best_rows}
    page = _page(session, company_id, [int(ties[i, 0]) for i in best_rows], offset, limit)
    wanted = [int(i) for i in order[:TREND_TIES]] + [
        best_index[p[0]] for p in page if p[0] in best_index
    ]
    made = _company_ties(session, ties, wanted, now, weights)
    top = [made[int(i)] for i in order[:TREND_TIES]]
    past = [max(0.0, t.tie.score - t.tie.trend) for t in top]
    now_scores = [float(s) for s in scores[order[:TOP_TIES]]]
    total = session.scalar(
        select(func.count()).where(Person.company_id == company_id, Person.merged_into_id.is_(None))
    )
    return Coverage(
        coverage=round(noisy_or(now_scores), 1),
        trend=round(noisy_or(now_scores) - noisy_or(past), 1),
        colleagues=len(colleagues),
        contacts=len(set(strong[:, 0].astype(int).tolist())),
        single_threaded=len(colleagues) == 1,
        best=top[0] if top else None,
        people_total=total or 0,
        people=[
            (pid, name, title or "", made.get(best_index.get(pid, -1))) for pid, name, title in page
        ],
    )


def _company_ties(
    session: Session,
    ties: npt.NDArray[np.float64],
    rows: list[int],
    now: datetime,
    weights: Weights,
) -> dict[int, CompanyTie]:
    """``CompanyTie`` for the given rows of ``ties``, with one query for the colleagues' names."""
    colleague_ids = sorted({int(ties[i, 1]) for i in rows})
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
    keys = [(int(ties[i, 2]), int(ties[i, 3])) for i in rows]
    pairs = load_pairs(session, keys)
    made = {}
    for i in rows:
        contact, colleague, a, b = (int(x) for x in ties[i, :4])
        seen = tie(pairs[(a, b)], colleague, now, weights)
        made[i] = CompanyTie(colleague, names.get(colleague, ""), contact, seen)
    return made


def _page(
    session: Session, company_id: int, tied: list[int], offset: int, limit: int
) -> list[tuple[int, str, str | None]]:
    """The people on the page: best-connected first (``tied``), then the rest by name."""
    wanted = tied[offset : offset + limit]
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
    tied_set = set(tied)
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

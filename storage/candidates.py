"""The pairs of people left for an admin's review by the last duplicate-people run.

``sync.dedupe`` replaces them whole after its merges (``save_candidates``), in its own
transaction; ``GET /api/v1/admin/duplicates`` reads them (``stored_candidates``) without a
pair one of whose people was merged since, or that was marked distinct since: an admin's
answer takes a pair off the list at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, exists, func, insert, select
from sqlalchemy.orm import Session, aliased

from storage.duplicates import LIKELY, Duplicate
from storage.models import DistinctPeople, DuplicateCandidate, Person
from storage.models.base import table_of
from storage.types import utcnow

BATCH = 5_000  # rows an insert carries


@dataclass(frozen=True)
class Listed:
    candidates: list[Duplicate]
    total: int
    found_at: datetime | None  # when the run that found them ran; None before any run


def save_candidates(session: Session, found: Sequence[Duplicate]) -> int:
    """Replace the stored pairs with the likely ones of ``found``; returns how many."""
    table = table_of(DuplicateCandidate)
    session.execute(delete(table))
    now = utcnow()
    rows = [
        {
            "keep_id": d.keep,
            "drop_id": d.drop,
            "tier": d.tier,
            "similarity": d.similarity,
            "reason": d.reason,
            "found_at": now,
        }
        for d in found
        if d.tier == LIKELY
    ]
    for start in range(0, len(rows), BATCH):
        session.execute(insert(table), rows[start : start + BATCH])
    return len(rows)


def stored_candidates(session: Session, limit: int, offset: int) -> Listed:
    """A page of the stored pairs still open, most similar names first."""
    c = DuplicateCandidate
    keep, drop = aliased(Person), aliased(Person)
    # keep_id < drop_id: the older record is kept (storage.duplicates), as distinct pairs
    # store the smaller id first.
    marked = exists().where(
        and_(DistinctPeople.a_id == c.keep_id, DistinctPeople.b_id == c.drop_id)
    )
    open_pairs = (
        select(c)
        .join(keep, keep.id == c.keep_id)
        .join(drop, drop.id == c.drop_id)
        .where(keep.merged_into_id.is_(None), drop.merged_into_id.is_(None), ~marked)
    )
    total = session.scalar(select(func.count()).select_from(open_pairs.subquery())) or 0
    page = session.scalars(
        open_pairs.order_by(c.similarity.desc(), c.keep_id, c.drop_id).limit(limit).offset(offset)
    )
    candidates = [Duplicate(r.keep_id, r.drop_id, r.tier, r.similarity, r.reason) for r in page]
    found_at = session.scalar(select(func.max(c.found_at)))
    return Listed(candidates, int(total), found_at)

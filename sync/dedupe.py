"""The duplicate-people job: merge what ``storage.duplicates`` finds the same person.

Run after ``python app.py import``, by ``python app.py dedupe``, and once a day by the
scheduler of a served app or the sync worker (``DEDUPE_EVERY``). One transaction: the merges,
then the merged people's pair aggregates recomputed (``rebuild_stale``), which tells every
API process's graph that pairs changed, then the likely pairs left stored for review
(``storage.candidates``, what ``GET /api/v1/admin/duplicates`` lists). A sync run ingesting
meanwhile follows the merges at its next page (``AddressBook.follow_moves``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from relationships.aggregate_store import rebuild_stale
from storage.candidates import save_candidates
from storage.db import Database
from storage.duplicates import LIKELY, Duplicate, find_duplicates, merge_duplicates

log = logging.getLogger(__name__)

DEDUPE_EVERY = 24 * 3600.0  # seconds; new people arrive with every sync, duplicates slowly
DEDUPE_JOB = "dedupe"


@dataclass(frozen=True)
class DedupeResult:
    merged: list[Duplicate]
    pairs_rebuilt: int
    for_review: int

    def summary(self) -> str:
        return (
            f"duplicate people merged {len(self.merged)} (pairs recomputed"
            f" {self.pairs_rebuilt}); likely duplicates left for an admin {self.for_review}"
        )


def dedupe(db: Database, *, apply: bool = True) -> DedupeResult:
    """Merge the same-tier duplicates (``apply``) and store the likely ones left for an
    admin's review (``storage.candidates``); without ``apply``, change nothing."""
    with db.transaction() as session:
        if not apply:
            found = find_duplicates(session)
            same = [d for d in found if d.tier != LIKELY]
            return DedupeResult(same, 0, len(found) - len(same))
        merged, likely = merge_duplicates(session)
        pairs = rebuild_stale(session)
        left = save_candidates(session, likely)
    if merged:
        log.info("merged %d duplicate people; %d likely left for review", len(merged), left)
    return DedupeResult(merged, pairs, left)

"""Work handed from the API processes to the sync worker through the store (`Handover`).

Data functions: they take a session first and never commit. An API process records what a
Graph notification asks for when it has no scheduler of its own (gunicorn workers); the sync
worker claims the rows (deleting them in its transaction) and queues the work on its
scheduler. Recording is idempotent per (kind, target): a burst is one row.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete
from sqlalchemy.orm import Session

from storage.companies import insert_ignore
from storage.models import Handover, HandoverKind
from storage.types import utcnow


def record(session: Session, work: Iterable[tuple[HandoverKind, int]]) -> int:
    """Add each (kind, target) not already waiting; the number of distinct items given."""
    rows = [
        {"kind": str(kind), "target_id": target, "requested_at": utcnow()}
        for kind, target in sorted(set(work))
    ]
    if rows:
        session.execute(insert_ignore(session, Handover), rows)
    return len(rows)


def claim(session: Session) -> list[tuple[HandoverKind, int]]:
    """Every waiting item, removed: the caller's transaction owns them from here (a rollback
    puts them back)."""
    claimed = session.execute(delete(Handover).returning(Handover.kind, Handover.target_id))
    return sorted((HandoverKind(kind), int(target)) for kind, target in claimed)

"""Work handed from the API processes to the sync worker through the store (`Handover`).

Data functions: they take a session first and never commit. An API process records what a
Graph notification asks for when it has no scheduler of its own (gunicorn workers); a sync
worker claims the rows under a lease and queues the work on its scheduler. A claimed row
stays in the store until its work has run (`finish`), so a worker killed outright (SIGKILL,
out of memory, the machine lost) loses nothing: it stops extending its lease (`extend`), and
once the lease ran out the next worker claims the row again. Recording is idempotent per
(kind, target): a burst is one row, and a request for work already claimed makes the row
claimable again, because the run in progress may already have read past what it asks for.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Handover, HandoverKind
from storage.models.base import table_of
from storage.types import utcnow

Work = tuple[HandoverKind, int]
UNCLAIMED = {"claimed_by": None, "claimed_at": None, "lease_until": None}


def record(session: Session, work: Iterable[Work]) -> int:
    """Add each (kind, target), or make it claimable again when a worker holds it; the number
    of distinct items given."""
    now = utcnow()
    rows = [
        {"kind": str(kind), "target_id": target, "requested_at": now, **UNCLAIMED}
        for kind, target in sorted(set(work))
    ]
    if rows:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        insert = dialect.insert(table_of(Handover))  # Core: no ORM bulk path
        upsert = insert.on_conflict_do_update(
            index_elements=["kind", "target_id"],
            set_={"requested_at": insert.excluded.requested_at, **UNCLAIMED},
        )
        session.execute(upsert, rows)
    return len(rows)


def claim(session: Session, holder: str, lease: float, now: datetime | None = None) -> list[Work]:
    """Every row nobody holds, or whose holder's lease ran out, now held by ``holder`` for
    ``lease`` seconds. One UPDATE: two workers claiming at once never both get a row."""
    now = now or utcnow()
    claimed = session.execute(
        update(Handover)
        .where(or_(Handover.claimed_by.is_(None), Handover.lease_until < now))
        .values(claimed_by=holder, claimed_at=now, lease_until=_until(now, lease))
        .returning(Handover.kind, Handover.target_id)
    )
    return sorted((HandoverKind(kind), int(target)) for kind, target in claimed)


def extend(session: Session, holder: str, lease: float, now: datetime | None = None) -> int:
    """``holder`` is alive: its claims hold ``lease`` more seconds; the number of rows."""
    now = now or utcnow()
    result = session.execute(
        update(Handover)
        .where(Handover.claimed_by == holder)
        .values(lease_until=_until(now, lease))
        .returning(Handover.id)
    )
    return len(result.all())


def finish(session: Session, holder: str, item: Work, started: datetime) -> bool:
    """The work ``item`` asks for ran, from ``started``: its row goes, unless someone asked
    again since (the row is claimable again, or claimed after the run began)."""
    kind, target = item
    result = session.execute(
        delete(Handover)
        .where(
            and_(
                Handover.kind == str(kind),
                Handover.target_id == target,
                Handover.claimed_by == holder,
                Handover.claimed_at <= started,
            )
        )
        .returning(Handover.id)
    )
    return bool(result.all())


def release(session: Session, holder: str) -> int:
    """``holder`` stops: whatever it still holds is claimable at once; the number of rows."""
    result = session.execute(
        update(Handover)
        .where(Handover.claimed_by == holder)
        .values(**UNCLAIMED)
        .returning(Handover.id)
    )
    return len(result.all())


def _until(now: datetime, lease: float) -> datetime:
    return now + timedelta(seconds=lease)

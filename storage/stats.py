"""Counts for ``python app.py stats`` and ``mailboxes``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.mailbox_status import mailbox_states, state_lines
from storage.models import (
    Colleague,
    Company,
    EmailAddress,
    ImportRun,
    Interaction,
    Mailbox,
    Person,
    Relationship,
    Sighting,
)


@dataclass
class StoreStats:
    counts: dict[str, int]
    skipped: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        lines = [f"{name:<28}{value:>12,}" for name, value in self.counts.items()]
        lines.append("skipped items by reason (all runs):")
        lines += [f"  {reason:<26}{n:>12,}" for reason, n in sorted(self.skipped.items())] or [
            "  none"
        ]
        return lines


def _count(session: Session, query: object) -> int:
    return int(session.scalar(query) or 0)  # type: ignore[call-overload]


def store_stats(session: Session) -> StoreStats:
    active = Person.merged_into_id.is_(None)
    counts = {
        "people": _count(session, select(func.count()).select_from(Person).where(active)),
        "colleagues": _count(session, select(func.count()).select_from(Colleague)),
        "email addresses": _count(session, select(func.count()).select_from(EmailAddress)),
        "companies": _count(session, select(func.count()).select_from(Company)),
        "client interactions": _count(
            session, select(func.count()).select_from(Interaction).where(~Interaction.is_internal)
        ),
        "internal-only interactions": _count(
            session, select(func.count()).select_from(Interaction).where(Interaction.is_internal)
        ),
        "sightings": _count(session, select(func.count()).select_from(Sighting)),
        "relationship pairs": _count(session, select(func.count()).select_from(Relationship)),
        "mailboxes": _count(session, select(func.count()).select_from(Mailbox)),
        "import runs": _count(session, select(func.count()).select_from(ImportRun)),
    }
    skipped: Counter[str] = Counter()
    for (run_counts,) in session.execute(select(ImportRun.counts)):
        skipped.update((run_counts or {}).get("skipped", {}))
    return StoreStats(counts, skipped)


def mailbox_lines(session: Session) -> list[str]:
    """What ``GET /api/v1/admin/mailboxes`` shows, one line per mailbox."""
    return state_lines(mailbox_states(session))

"""Per-pair aggregates of people, kept current at ingest and rebuildable from interactions.

Pure part: ``PairDeltas`` turns interactions into additive per-pair changes. Database part:
``apply`` upserts them in one statement per page, and ``rebuild`` recomputes rows from stored
interactions (after a merge of two people, or a change of the rules).

Pairs: an email adds sender -> each recipient (To, Cc, Bcc); a meeting adds every pair of its
organizer and attendees who did not decline. Audiences above the limits below count for identity
(the people are stored) but not for relationships.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations

from relationships import recent
from relationships.strength import (
    DEFAULT,
    LARGE_AUDIENCE,
    LARGE_MEETING,
    Weights,
    email_weight,
    growth,
    meeting_weight,
)

# Kossinets & Watts (Science 2006) kept messages with <= 4 addressees as interpersonal; the
# reference formula (shared/reference/relationship-intel-and-data.md 1.3) zeroes emails with
# more than 20 addressees and meetings with more than 25 attendees (town halls, webinars).
LARGE_EMAIL_AUDIENCE = LARGE_AUDIENCE  # 20; the follow-up term reads the same rule
EMAIL_RECIPIENT_ROLES = frozenset({"to", "cc", "bcc"})
MEETING_ROLES = frozenset({"organizer", "attendee"})

Role = tuple[str, int, str | None]  # (participant role, person id, meeting response)
ROLE_ORDER = ("to", "cc", "bcc")
DECAYED_FIELDS = ("ab_warm", "ab_history", "ba_warm", "ba_history", "mtg_warm", "mtg_history")
RECENT_FIELDS = ("recent_ab", "recent_ba", "recent_mtg")


@dataclass(slots=True)
class PairDelta:
    email_ab: int = 0
    email_ba: int = 0
    meetings: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    last_ab_at: datetime | None = None
    last_ba_at: datetime | None = None
    # Growth-form decayed sums (relationships.strength.EPOCH), warm and history half-lives.
    ab_warm: float = 0.0
    ab_history: float = 0.0
    ba_warm: float = 0.0
    ba_history: float = 0.0
    mtg_warm: float = 0.0
    mtg_history: float = 0.0
    # The newest events per class, packed (relationships.recent); trimmed as they grow.
    recent_ab: list[int] = field(default_factory=list)
    recent_ba: list[int] = field(default_factory=list)
    recent_mtg: list[int] = field(default_factory=list)

    def touch(self, at: datetime) -> None:
        self.first_at = at if self.first_at is None else min(self.first_at, at)
        self.last_at = at if self.last_at is None else max(self.last_at, at)


def _remember(events: list[int], at: datetime, weight: float) -> None:
    events.append(recent.pack(at, weight))
    if len(events) >= 4 * recent.KEEP:  # a rebuild of a long history: keep memory bounded
        events[:] = recent.newest(events)


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None else max(a, b)


class PairDeltas:
    """Accumulates pair changes for one page (or one rebuild)."""

    def __init__(self, only: frozenset[int] | None = None, weights: Weights = DEFAULT) -> None:
        self.weights = weights
        self.pairs: dict[tuple[int, int], PairDelta] = {}
        self._only = only  # when set, keep only pairs touching these people (rebuild)

    def _delta(self, a: int, b: int) -> PairDelta | None:
        if self._only is not None and a not in self._only and b not in self._only:
            return None
        key = (a, b) if a < b else (b, a)
        delta = self.pairs.get(key)
        if delta is None:
            delta = self.pairs[key] = PairDelta()
        return delta

    def add_email(self, sender: int, recipients: Iterable[tuple[int, str]], at: datetime) -> None:
        """``recipients`` are (person id, role) pairs; a person listed twice counts in the
        strongest role (To over Cc over Bcc)."""
        targets: dict[int, str] = {}
        for pid, role in recipients:
            current = targets.get(pid)
            if pid != sender and (
                current is None or ROLE_ORDER.index(role) < ROLE_ORDER.index(current)
            ):
                targets[pid] = role
        if len(targets) > LARGE_EMAIL_AUDIENCE:
            return
        warm, history = (growth(at, h) for h in self.weights.half_lives)
        for recipient, role in targets.items():
            delta = self._delta(sender, recipient)
            if delta is None:
                continue
            delta.touch(at)
            weight = email_weight(role, len(targets), self.weights)
            if sender < recipient:
                delta.email_ab += 1
                delta.last_ab_at = _later(delta.last_ab_at, at)
                delta.ab_warm += weight * warm
                delta.ab_history += weight * history
                _remember(delta.recent_ab, at, weight)
            else:
                delta.email_ba += 1
                delta.last_ba_at = _later(delta.last_ba_at, at)
                delta.ba_warm += weight * warm
                delta.ba_history += weight * history
                _remember(delta.recent_ba, at, weight)

    def add_meeting(self, attendees: Iterable[int], at: datetime) -> None:
        people = sorted(set(attendees))
        if len(people) > LARGE_MEETING:
            return
        weight = meeting_weight(len(people), self.weights)
        warm, history = (growth(at, h) for h in self.weights.half_lives)
        for a, b in combinations(people, 2):
            delta = self._delta(a, b)
            if delta is not None:
                delta.touch(at)
                delta.meetings += 1
                delta.mtg_warm += weight * warm
                delta.mtg_history += weight * history
                _remember(delta.recent_mtg, at, weight)

    def rows(self) -> Sequence[dict[str, object]]:
        return [
            {"a_id": a, "b_id": b, **_fields(delta)} for (a, b), delta in sorted(self.pairs.items())
        ]


def _fields(delta: PairDelta) -> dict[str, object]:
    return {
        "email_ab": delta.email_ab,
        "email_ba": delta.email_ba,
        "meetings": delta.meetings,
        "first_at": delta.first_at,
        "last_at": delta.last_at,
        "last_ab_at": delta.last_ab_at,
        "last_ba_at": delta.last_ba_at,
        **{name: getattr(delta, name) for name in DECAYED_FIELDS},
        **{name: recent.dumps(getattr(delta, name)) for name in RECENT_FIELDS},
    }


def add_interaction(deltas: PairDeltas, kind: str, at: datetime, roles: Sequence[Role]) -> None:
    """Add one interaction given as (role, person id, response) triples."""
    if kind == "meeting":
        people = [pid for role, pid, resp in roles if role in MEETING_ROLES and resp != "declined"]
        deltas.add_meeting(people, at)
        return
    senders = [pid for role, pid, _ in roles if role == "from"]
    if senders:
        recipients = [(pid, role) for role, pid, _ in roles if role in EMAIL_RECIPIENT_ROLES]
        deltas.add_email(senders[0], recipients, at)

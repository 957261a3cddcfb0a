"""Relationship strength of a pair: a transparent, decayed, reciprocity-aware score from 0 to 100.

Shape (shared/reference/relationship-intel-and-data.md section 1.3, with the correction its
addendum measured on Enron): each email or meeting is an event of one class, ``out`` (the
colleague wrote to the person), ``in`` (the person wrote to the colleague) or ``mtg`` (both
attended), weighted by role and audience. Per class and half-life H the events are summed with
exponential decay, ``A_X(H) = sum w * 2^(-age / H)``. Reciprocity is a strong signal but not a
gate: one-way history is common (short backfills, unsynced folders, replies from other
addresses), so the harmonic mean of ``out`` and ``in`` is *added* as a bonus instead of
multiplying the rest by it. Two half-lives mix warmth (90 days) and history (2 years); the rate
saturates to 0-100.

Everything here is a pure function of plain data, so the same code scores a pair from stored
aggregates at query time, replays history in ``bench/strength_eval.py``, and explains itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

EventClass = str  # "out" | "in" | "mtg"
CLASSES: tuple[EventClass, ...] = ("out", "in", "mtg")


@dataclass(frozen=True)
class Weights:
    """Every tunable constant, with its unit and where it came from."""

    # Role of the person on an email. To 1.0 / Cc 0.4 / Bcc 0.2: reference 1.3; being copied is
    # weaker evidence of a tie (4Degrees ignores Cc altogether).
    role: Mapping[str, float] = field(
        default_factory=lambda: {"to": 1.0, "cc": 0.4, "bcc": 0.2, "from": 1.0}
    )
    # Audience dilution: weight / n**alpha for n addressees (reference 1.3: alpha = 1/2);
    # emails with more than `max_email_audience` addressees weigh nothing (Kossinets & Watts
    # keep <= 4; the reference zeroes > 20).
    audience_alpha: float = 0.5
    max_email_audience: int = 20
    # A meeting weighs 3 emails (DotAlign: 3 points per meeting), diluted by attendees;
    # meetings above `max_meeting` attendees (town halls) weigh nothing.
    meeting: float = 3.0
    max_meeting: int = 25
    # Reciprocity bonus: harmonic mean of decayed out and in, added `reciprocity` times.
    # Not a gate: the gated form scored AUC 0.60 on Enron, the summed form 0.86 (reference
    # addendum). 0.5 chosen on the first half of Enron's custodians (docs/strength.md): the
    # bonus costs 0.001 AUC there, where most history is one-way, and keeps a two-way
    # exchange ahead of one-way mail of the same volume.
    reciprocity: float = 0.5
    # Half-lives (days) and their mix: warmth and history (reference 1.3, Nudge, DotAlign).
    # 60 days chosen over the reference's 90 on the first half of Enron's custodians
    # (NDCG@10 0.564 against 0.526; docs/strength.md).
    half_lives: tuple[float, float] = (60.0, 730.0)
    mix: tuple[float, float] = (0.6, 0.4)
    # r0 (events per day) sets the saturation: one reciprocated 1:1 exchange every two weeks
    # in steady state scores about 63 (reference 1.3).
    r0_per_day: float = 1 / 14

    def without(self, component: str) -> Weights:
        """These weights with one component switched off (for the ablation table)."""
        if component == "reciprocity":
            return replace(self, reciprocity=0.0)
        if component == "cc-discount":
            return replace(self, role=dict.fromkeys(self.role, 1.0))
        if component == "audience":
            return replace(self, audience_alpha=0.0, max_email_audience=10**9, max_meeting=10**9)
        if component == "meetings":
            return replace(self, meeting=0.0)
        if component == "warmth":
            return replace(self, mix=(0.0, 1.0))
        if component == "history":
            return replace(self, mix=(1.0, 0.0))
        raise ValueError(f"unknown component {component!r}")


DEFAULT = Weights()
ABLATIONS = ("reciprocity", "cc-discount", "audience", "meetings", "warmth", "history")

# Tiers (reference 1.3): strong >= 60, medium 30-59, weak 10-29, dormant below 10 with history.
TIERS = ((60.0, "strong"), (30.0, "medium"), (10.0, "weak"))
TREND_WINDOW = timedelta(days=90)  # trend: the score now against 90 days ago


@dataclass(frozen=True, slots=True)
class Event:
    """One email or meeting as seen by a pair: its class, the person's role (emails) and the
    audience size (addressees of an email, attendees of a meeting)."""

    at: datetime
    cls: EventClass
    audience: int
    role: str = "to"


def event_weight(event: Event, weights: Weights = DEFAULT) -> float:
    if event.cls == "mtg":
        return meeting_weight(event.audience, weights)
    return email_weight(event.role, event.audience, weights)


def email_weight(role: str, addressees: int, weights: Weights = DEFAULT) -> float:
    """Weight of an email for the pair (sender, one addressee in ``role``)."""
    if addressees > weights.max_email_audience:
        return 0.0
    dilution: float = max(addressees, 1) ** weights.audience_alpha
    return weights.role.get(role, 0.0) / dilution


def meeting_weight(attendees: int, weights: Weights = DEFAULT) -> float:
    """Weight of a meeting for a pair of its ``attendees`` (organizer included)."""
    if attendees > weights.max_meeting or attendees < 2:
        return 0.0
    dilution: float = (attendees - 1) ** weights.audience_alpha
    return weights.meeting / dilution


def decayed_sums(
    events: Iterable[Event], at: datetime, weights: Weights = DEFAULT
) -> dict[tuple[EventClass, float], float]:
    """``A_X(H)`` for every class X and half-life H, over the events before ``at``."""
    sums = {(cls, h): 0.0 for cls in CLASSES for h in weights.half_lives}
    for event in events:
        age_days = (at - event.at).total_seconds() / 86400
        weight = event_weight(event, weights)
        if age_days < 0 or not weight:
            continue
        for h in weights.half_lives:
            sums[(event.cls, h)] += weight * 2 ** (-age_days / h)
    return sums


def rate(sums: Mapping[tuple[EventClass, float], float], weights: Weights = DEFAULT) -> float:
    """Steady-state weighted events per day, mixed over the half-lives."""
    total = 0.0
    for h, share in zip(weights.half_lives, weights.mix, strict=True):
        out, inbound, meetings = (sums[(cls, h)] for cls in CLASSES)
        mutual = 2 * out * inbound / (out + inbound) if out and inbound else 0.0
        total += share * (out + inbound + meetings + weights.reciprocity * mutual) * math.log(2) / h
    return total


# Decayed sums stored per pair use a fixed epoch: an event at t adds w * 2^((t - EPOCH) / H),
# so adding events is plain addition in any order (idempotent rebuilds, out-of-order mail), and
# the decayed sum at `now` is the stored value times 2^(-(now - EPOCH) / H). With H >= 30 days
# the factor stays far inside float range for centuries around the epoch.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def growth(at: datetime, half_life_days: float) -> float:
    return float(2 ** ((at - EPOCH).total_seconds() / 86400 / half_life_days))


@dataclass(frozen=True, slots=True)
class StoredSums:
    """The growth-form sums of one pair as the aggregates keep them, seen from one side:
    ``out`` is what this side wrote, ``inbound`` what the other side wrote."""

    out: tuple[float, float]
    inbound: tuple[float, float]
    meetings: tuple[float, float]

    def at(
        self, now: datetime, weights: Weights = DEFAULT
    ) -> dict[tuple[EventClass, float], float]:
        sums = {}
        for i, h in enumerate(weights.half_lives):
            decay = 1 / growth(now, h)
            sums[("out", h)] = self.out[i] * decay
            sums[("in", h)] = self.inbound[i] * decay
            sums[("mtg", h)] = self.meetings[i] * decay
        return sums


def stored_score(sums: StoredSums, now: datetime, weights: Weights = DEFAULT) -> float:
    """The pair's score at ``now`` from its stored sums: O(1), no interaction is read."""
    return score_from_rate(rate(sums.at(now, weights), weights), weights)


def score_from_rate(value: float, weights: Weights = DEFAULT) -> float:
    return 100.0 * (1.0 - math.exp(-value / weights.r0_per_day))


def score(events: Iterable[Event], at: datetime, weights: Weights = DEFAULT) -> float:
    return score_from_rate(rate(decayed_sums(events, at, weights), weights), weights)


def tier(value: float, has_history: bool) -> str:
    for floor, name in TIERS:
        if value >= floor:
            return name
    return "dormant" if has_history else "none"


def scores_now(
    sums: npt.NDArray[np.float64], now: datetime, weights: Weights
) -> npt.NDArray[np.float64]:
    """``relationships.strength.stored_score`` for many pairs at once; the columns are
    ab_warm, ab_history, ba_warm, ba_history, mtg_warm, mtg_history (the pair's score is the
    same from either side: out and in are symmetric in the formula)."""
    age = (now - EPOCH).total_seconds() / 86400
    total = np.zeros(len(sums))
    for i, (h, share) in enumerate(zip(weights.half_lives, weights.mix, strict=True)):
        decay = 2.0 ** (-age / h)
        out, inbound, meetings = sums[:, i] * decay, sums[:, 2 + i] * decay, sums[:, 4 + i] * decay
        both = out + inbound
        mutual = np.divide(2 * out * inbound, both, out=np.zeros_like(both), where=both > 0)
        total += share * (both + meetings + weights.reciprocity * mutual) * math.log(2) / h
    return np.asarray(100.0 * (1.0 - np.exp(-total / weights.r0_per_day)))

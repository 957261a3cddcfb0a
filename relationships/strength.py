"""Relationship strength of a pair: a transparent, decayed, reciprocity-aware score from 0 to 100.

Shape (shared/reference/relationship-intel-and-data.md section 1.3, with the correction its
addendum measured on Enron): each email or meeting is an event of one class, ``out`` (the
colleague wrote to the person), ``in`` (the person wrote to the colleague) or ``mtg`` (both
attended), weighted by role and audience. Per class and half-life H the events are summed with
exponential decay, ``A_X(H) = sum w * 2^(-age / H)``. Reciprocity is a strong signal but not a
gate: one-way history is common (short backfills, unsynced folders, replies from other
addresses), so the harmonic mean of ``out`` and ``in`` is *added* as a bonus instead of
multiplying the rest by it. Mail the colleague writes weighs more than mail they receive, so a
pair's score depends on the side it is seen from (``StoredSums`` names the sides). Two
half-lives mix warmth (60 days) and history (2 years); a third, short one follows only each
side's newest message (a conversation in flight). Mail a colleague never answered counts a
tenth, and a pair gone quiet long before the colleague's own newest email to anyone counts
less; the rate saturates to 0-100.

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
    # Mail the person sends weighs `inbound` times mail the colleague sends: anyone can write to
    # a partner (cold outreach, notices, newsletters the bulk rules missed); the partner writing
    # is the stronger sign (4Degrees and Connect The Dots ignore one-way inbound mail, reference
    # 1.2). 0.5 chosen on the first half of Enron's custodians (docs/strength.md, "Tuning").
    inbound: float = 0.5
    # Reciprocity bonus: harmonic mean of decayed out and in, added `reciprocity` times.
    # Not a gate: the gated form scored AUC 0.60 on Enron, the summed form 0.86 (reference
    # addendum). 1.0 keeps a two-way exchange ahead of one-way mail of the same volume from
    # either side (3 + 3 emails: 3 + 0.5 * 3 + 1.0 * 3 = 7.5 against 6 one-way); within the
    # noise of 0.5 on the first half of Enron's custodians (docs/strength.md, "Tuning").
    reciprocity: float = 1.0
    # Half-lives (days) and their mix: warmth and history (reference 1.3, Nudge, DotAlign).
    # 60 days chosen over the reference's 90 on the first half of Enron's custodians
    # (NDCG@10 0.564 against 0.526; docs/strength.md).
    half_lives: tuple[float, float] = (60.0, 730.0)
    mix: tuple[float, float] = (0.6, 0.4)
    # Follow-up: the colleague's newest message to the person (any role, at most 20
    # addressees: the pair's stored ``last_ab_at``/``last_ba_at``) adds
    # `follow_up` * ln2 / `follow_up_half_life` events per day, halving every
    # `follow_up_half_life` days: a share of one message at a third, short time scale.
    # Mail the colleague sent in the last weeks is a conversation in flight, and the 60-day
    # sum barely tells 2 days from 30. 0.1 and 30 days chosen on the first half of Enron's
    # custodians (NDCG@10 0.601 -> 0.612; docs/strength.md, "Tuning, second round"): a
    # message sent today alone adds 0.1 * ln2/30 = 0.0023 events per day (3.2 points).
    follow_up: float = 0.1  # share, as in `mix`
    follow_up_half_life: float = 30.0  # days
    # The same for the person's newest message to the colleague (at the same half-life): a
    # message received in the last weeks is a conversation in flight from the other side,
    # whose answer falls in the next weeks. 0.1 chosen on the first half of Enron's
    # custodians (docs/strength.md, "Tuning, fourth round": the requirement held in 43-47 %
    # of the subset trials instead of 40-42 %, failures against recency's AUC 11 % -> 3 %).
    follow_up_received: float = 0.1  # share, as in `mix`
    # Unanswered: a person who wrote `unanswered_after` emails or more to a colleague who
    # never wrote back and never met them is cold outreach, a notice or a newsletter the bulk
    # rules missed, not a relationship (4Degrees and Connect The Dots ignore one-way inbound
    # mail, reference 1.2): the whole rate of that side counts `unanswered` times. The first
    # reply or meeting lifts it. 3 emails and 0.1 chosen on the first half of Enron's
    # custodians (docs/strength.md, "Tuning, sixth round"; the requirement held in 46.5 %
    # of its subset trials instead of 39.5 %, on every bootstrap seed).
    unanswered: float = 0.1  # factor on the rate
    unanswered_after: int = 3  # emails from the other side
    # Quiet: a pair that fell silent long before the colleague's own newest email to anyone
    # (``colleagues.last_sent_at``) has cooled, whatever the decay says: the colleague kept
    # writing, not to this person. The rate counts `quiet_floor + (1 - quiet_floor) /
    # (1 + exp((g - quiet_after) / quiet_width))` times, g the days from the pair's newest
    # event to the colleague's newest email (none for a side that is not a colleague's).
    # Read against the colleague's clock, not the calendar, a mailbox whose sync paused
    # (or a colleague on leave) does not make every one of its pairs look cold. 150 days,
    # 15 days and 0.4 chosen on the first half of Enron's custodians (docs/strength.md,
    # "Tuning, fifth round" and "sixth round").
    quiet_after: float = 150.0  # days
    quiet_width: float = 15.0  # days
    quiet_floor: float = 0.4  # factor, at the longest silences
    # r0 (events per day) sets the saturation: one reciprocated 1:1 exchange every two weeks
    # in steady state scores about 63 (reference 1.3).
    r0_per_day: float = 1 / 14

    def without(self, component: str) -> Weights:
        """These weights with one component switched off (for the ablation table)."""
        changes: dict[str, dict[str, object]] = {
            "reciprocity": {"reciprocity": 0.0},
            "inbound-discount": {"inbound": 1.0},
            "cc-discount": {"role": dict.fromkeys(self.role, 1.0)},
            "audience": {"audience_alpha": 0.0, "max_email_audience": 10**9, "max_meeting": 10**9},
            "meetings": {"meeting": 0.0},
            "warmth": {"mix": (0.0, 1.0)},
            "history": {"mix": (1.0, 0.0)},
            "follow-up": {"follow_up": 0.0},
            "follow-up-received": {"follow_up_received": 0.0},
            "unanswered": {"unanswered": 1.0},
            "quiet": {"quiet_floor": 1.0},
        }
        if component not in changes:
            raise ValueError(f"unknown component {component!r}")
        return replace(self, **changes[component])  # type: ignore[arg-type]


DEFAULT = Weights()
ABLATIONS = (
    "reciprocity",
    "inbound-discount",
    "cc-discount",
    "audience",
    "meetings",
    "warmth",
    "history",
    "follow-up",
    "follow-up-received",
    "unanswered",
    "quiet",
)

# Tiers (reference 1.3): strong >= 60, medium 30-59, weak 10-29, dormant below 10 with history
# ("knew them"). A tie below 10 with contact in the last DORMANT_AFTER is weak, not dormant:
# two emails last week (Enron: Jeff Dasovich and GMSSR's Michael Day, 9.0) are a new tie, and
# "dormant" beside "last contact 2 days ago" reads as a contradiction.
TIERS = ((60.0, "strong"), (30.0, "medium"), (10.0, "weak"))
DORMANT_AFTER = timedelta(days=90)  # the window of the explanation's recent counts
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


def newest_counted(events: Iterable[Event], at: datetime) -> datetime | None:
    """The newest event up to ``at`` that the stored ``last_at`` keeps (emails of at most
    ``LARGE_AUDIENCE`` addressees, meetings of 2 to ``LARGE_MEETING`` attendees)."""
    kept = [
        e.at
        for e in events
        if e.at <= at
        and (2 <= e.audience <= LARGE_MEETING if e.cls == "mtg" else e.audience <= LARGE_AUDIENCE)
    ]
    return max(kept) if kept else None


def days_since_sent(events: Iterable[Event], at: datetime, cls: str = "out") -> float | None:
    """Days from the newest email of class ``cls`` (``out``, or ``in`` for the other side's)
    before ``at`` that counts for the pair (at most ``LARGE_AUDIENCE`` addressees, as ingest
    keeps ``last_ab_at`` and ``last_ba_at``) to ``at``; None if none."""
    ages = [
        (at - e.at).total_seconds() / 86400
        for e in events
        if e.cls == cls and e.at <= at and e.audience <= LARGE_AUDIENCE
    ]
    return min(ages) if ages else None


@dataclass(frozen=True, slots=True)
class Counts:
    """A pair's emails each way and meetings as the stored counters count them (emails of at
    most ``LARGE_AUDIENCE`` addressees, meetings of at most ``LARGE_MEETING`` attendees), seen
    from one side: ``sent`` is what this side wrote."""

    sent: int
    received: int
    met: int

    def flipped(self) -> Counts:
        return Counts(self.received, self.sent, self.met)


def is_unanswered(counts: Counts, weights: Weights = DEFAULT) -> bool:
    """Whether this side never answered the other's mail (`Weights.unanswered`)."""
    return counts.sent == 0 and counts.met == 0 and counts.received >= weights.unanswered_after


def quiet_factor(gap_days: float | None, weights: Weights = DEFAULT) -> float:
    """The factor on the rate of a pair whose newest event came ``gap_days`` before the
    colleague's newest email to anyone (`Weights.quiet_after`); None: no such clock."""
    if gap_days is None:
        return 1.0
    z = min((gap_days - weights.quiet_after) / weights.quiet_width, 700.0)  # exp stays finite
    return weights.quiet_floor + (1 - weights.quiet_floor) / (1 + math.exp(z))


def quiet_gap(newest: datetime | None, clock: datetime | None, at: datetime) -> float | None:
    """Days from a pair's newest event to the colleague's newest email to anyone as it was at
    ``at`` (a clock later than ``at`` reads as ``at``: the colleague's own mail at that time
    is not known, and an active colleague writes every day); None without both."""
    if newest is None or clock is None:
        return None
    return (min(clock, at) - newest).total_seconds() / 86400


def counts_of(events: Iterable[Event], at: datetime) -> Counts:
    """The counters of ``events`` up to ``at``, as ingest keeps them."""
    sent = received = met = 0
    for e in events:
        if e.at > at:
            continue
        if e.cls == "mtg":
            met += 2 <= e.audience <= LARGE_MEETING
        elif e.audience <= LARGE_AUDIENCE:
            sent += e.cls == "out"
            received += e.cls == "in"
    return Counts(sent, received, met)


def follow_up_rate(
    days: float | None, weights: Weights = DEFAULT, share: float | None = None
) -> float:
    """Events per day added by the colleague's newest message ``days`` old (None: they never
    wrote), or by the person's with ``share=weights.follow_up_received``. A message dated
    after the moment scored (a sender's clock ahead) counts as new."""
    if days is None:
        return 0.0
    h = weights.follow_up_half_life
    weight = weights.follow_up if share is None else share
    return float(weight * math.log(2) / h * 2 ** (-max(days, 0.0) / h))


def rate(
    sums: Mapping[tuple[EventClass, float], float],
    weights: Weights = DEFAULT,
    *,
    sent_days: float | None,
    received_days: float | None,
    counts: Counts,
    quiet_days: float | None,
) -> float:
    """Steady-state weighted events per day, mixed over the half-lives, seen from the side
    whose mail is ``out``; ``sent_days`` and ``received_days``: the age of that side's newest
    message and of the other side's (the follow-up terms); ``counts``: the pair's counters
    from that side (`is_unanswered`); ``quiet_days``: `quiet_gap` for a colleague's side."""
    parts = contributions(
        sums,
        weights,
        sent_days=sent_days,
        received_days=received_days,
        counts=counts,
        quiet_days=quiet_days,
    )
    return sum(parts.values())


def contributions(
    sums: Mapping[tuple[EventClass, float], float],
    weights: Weights = DEFAULT,
    *,
    sent_days: float | None,
    received_days: float | None,
    counts: Counts,
    quiet_days: float | None,
) -> dict[str, float]:
    """The rate split by its parts ("out", "in", "mtg", "mutual", "follow_up" and
    "follow_up_in"; warmth and history summed), each times `Weights.unanswered` when this
    side never answered and times `quiet_factor`: the explanation names the largest one as
    the strongest evidence."""
    parts = dict.fromkeys(("out", "in", "mtg", "mutual"), 0.0)
    parts["follow_up"] = follow_up_rate(sent_days, weights)
    parts["follow_up_in"] = follow_up_rate(received_days, weights, weights.follow_up_received)
    for h, share in zip(weights.half_lives, weights.mix, strict=True):
        out, inbound, meetings = (sums[(cls, h)] for cls in CLASSES)
        mutual = 2 * out * inbound / (out + inbound) if out and inbound else 0.0
        per_day = share * math.log(2) / h
        parts["out"] += per_day * out
        parts["in"] += per_day * weights.inbound * inbound
        parts["mtg"] += per_day * meetings
        parts["mutual"] += per_day * weights.reciprocity * mutual
    factor = quiet_factor(quiet_days, weights)
    if is_unanswered(counts, weights):
        factor *= weights.unanswered
    return {name: value * factor for name, value in parts.items()}


# Emails with more addressees count for identity only: no sum, no ``last_ab_at``, no counter
# (relationships.aggregates.LARGE_EMAIL_AUDIENCE, which imports this module); meetings with
# more attendees (town halls, webinars) neither.
LARGE_AUDIENCE = 20
LARGE_MEETING = 25

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
    ``out`` is what this side wrote, ``inbound`` what the other side wrote; ``sent_at`` and
    ``received_at`` are this side's newest message and the other side's (the follow-up
    terms), None if it never wrote; ``counts`` the pair's counters from this side;
    ``newest`` the pair's newest event and ``clock`` this side's newest email to anyone, when
    this side is a colleague's (`quiet_gap`)."""

    out: tuple[float, float]
    inbound: tuple[float, float]
    meetings: tuple[float, float]
    sent_at: datetime | None
    received_at: datetime | None
    counts: Counts
    newest: datetime | None = None
    clock: datetime | None = None

    def sent_days(self, now: datetime) -> float | None:
        return _days(self.sent_at, now)

    def received_days(self, now: datetime) -> float | None:
        return _days(self.received_at, now)

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


def _days(at: datetime | None, now: datetime) -> float | None:
    return None if at is None else (now - at).total_seconds() / 86400


def stored_rate(sums: StoredSums, now: datetime, weights: Weights = DEFAULT) -> dict[str, float]:
    """The parts of the pair's rate at ``now`` from its stored sums (`contributions`)."""
    return contributions(
        sums.at(now, weights),
        weights,
        sent_days=sums.sent_days(now),
        received_days=sums.received_days(now),
        counts=sums.counts,
        quiet_days=quiet_gap(sums.newest, sums.clock, now),
    )


def stored_score(sums: StoredSums, now: datetime, weights: Weights = DEFAULT) -> float:
    """The pair's score at ``now`` from its stored sums: O(1), no interaction is read."""
    return score_from_rate(sum(stored_rate(sums, now, weights).values()), weights)


def score_from_rate(value: float, weights: Weights = DEFAULT) -> float:
    # -expm1(-x), not 1 - exp(-x): the latter is 0 below x = 1.1e-16 (a tie silent for a
    # century), and a tie scored 0 leaves the graph; the two agree to an ulp elsewhere.
    return -100.0 * math.expm1(-value / weights.r0_per_day)


def score(
    events: Iterable[Event],
    at: datetime,
    weights: Weights = DEFAULT,
    clock: datetime | None = None,
) -> float:
    """A replay of the pair's ``events`` up to ``at``, seen from the side whose mail is
    ``out``; ``clock``: that side's newest email to anyone, when it is a colleague's."""
    listed = list(events)
    sums = decayed_sums(listed, at, weights)
    value = rate(
        sums,
        weights,
        sent_days=days_since_sent(listed, at),
        received_days=days_since_sent(listed, at, "in"),
        counts=counts_of(listed, at),
        quiet_days=quiet_gap(newest_counted(listed, at), clock, at),
    )
    return score_from_rate(value, weights)


def tier(value: float, last_contact: datetime | None, now: datetime) -> str:
    """The tier of a score whose pair was last in contact at ``last_contact`` (None: never)."""
    for floor, name in TIERS:
        if value >= floor:
            return name
    if last_contact is None:
        return "none"
    return "weak" if now - last_contact < DORMANT_AFTER else "dormant"


def scores_now(
    sums: npt.NDArray[np.float64],
    now: datetime,
    weights: Weights,
    from_a: npt.NDArray[np.bool_] | None = None,
    clocks: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]:
    """``relationships.strength.stored_score`` for many pairs at once; the columns are
    ab_warm, ab_history, ba_warm, ba_history, mtg_warm, mtg_history, then last_ab_at and
    last_ba_at in days since ``EPOCH`` (NaN when that side never wrote), then the counters
    email_ab, email_ba and meetings, then last_at in days since ``EPOCH``. ``clocks``: the
    scored side's newest email to anyone in days since ``EPOCH``, NaN where it is not a
    colleague's (`quiet_gap`; a clock after ``now`` reads as ``now``). Each row is scored
    from the side of ``a`` (its mail is ``out``) where ``from_a`` is true or missing, else from
    the side of ``b``."""
    age = (now - EPOCH).total_seconds() / 86400
    total = np.zeros(len(sums))
    for i, (h, share) in enumerate(zip(weights.half_lives, weights.mix, strict=True)):
        decay = 2.0 ** (-age / h)
        ab, ba, meetings = sums[:, i] * decay, sums[:, 2 + i] * decay, sums[:, 4 + i] * decay
        out, inbound = _sides(ab, ba, from_a)
        both = out + inbound
        mutual = np.divide(2 * out * inbound, both, out=np.zeros_like(both), where=both > 0)
        per_day = share * math.log(2) / h
        total += per_day * (
            out + weights.inbound * inbound + meetings + weights.reciprocity * mutual
        )
    h = weights.follow_up_half_life
    newest = _sides(sums[:, 6], sums[:, 7], from_a)
    for days, share in zip(newest, (weights.follow_up, weights.follow_up_received), strict=True):
        follow_up = share * math.log(2) / h * 2.0 ** (-np.maximum(age - days, 0.0) / h)
        total += np.where(np.isnan(days), 0.0, follow_up)
    written, received = _sides(sums[:, 8], sums[:, 9], from_a)
    unanswered = (written == 0) & (sums[:, 10] == 0) & (received >= weights.unanswered_after)
    total *= np.where(unanswered, weights.unanswered, 1.0)
    if clocks is not None:
        gap = np.minimum(clocks, age) - sums[:, 11]
        z = np.minimum((gap - weights.quiet_after) / weights.quiet_width, 700.0)
        quiet = weights.quiet_floor + (1 - weights.quiet_floor) / (1 + np.exp(z))
        total *= np.where(np.isnan(gap), 1.0, quiet)
    return np.asarray(-100.0 * np.expm1(-total / weights.r0_per_day))  # as score_from_rate


def _sides(
    ab: npt.NDArray[np.float64], ba: npt.NDArray[np.float64], from_a: npt.NDArray[np.bool_] | None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(this side's column, the other side's) of each row, seen from ``from_a``."""
    if from_a is None:
        return ab, ba
    return np.where(from_a, ab, ba), np.where(from_a, ba, ab)

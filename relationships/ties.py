"""One side's view of a stored pair: score, tier, trend, counts, reply times, strongest part.

Everything comes from the pair's row (its counters, decayed sums and newest events), so a tie
costs O(1) whatever the pair's history: no interaction is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from relationships.recent import (
    RECENT,
    Count,
    Recent,
    RecentEvent,
    count_since,
    loads,
    median,
    newest_before,
    past_class,
)
from relationships.strength import (
    DEFAULT,
    TREND_WINDOW,
    Counts,
    StoredSums,
    Weights,
    growth,
    is_unanswered,
    quiet_factor,
    quiet_gap,
    score_from_rate,
    stored_rate,
    stored_score,
    tier,
)


class PairRow(Protocol):
    """A ``relationships`` row: the ORM object or a plain Core row (cheaper to load)."""

    a_id: int
    b_id: int
    email_ab: int
    email_ba: int
    meetings: int
    first_at: datetime
    last_at: datetime
    last_ab_at: datetime | None
    last_ba_at: datetime | None
    ab_warm: float
    ab_history: float
    ba_warm: float
    ba_history: float
    mtg_warm: float
    mtg_history: float
    recent_ab: str | None
    recent_ba: str | None
    recent_mtg: str | None


@dataclass(frozen=True, slots=True)
class Clocks:
    """A colleague's clock (their newest email to anyone, the quiet factor's) as it stood at
    the moment scored and ``TREND_WINDOW`` before it, the trend's base. None: no clock (not
    a colleague's side, or they had written nothing by then)."""

    now: datetime | None = None
    then: datetime | None = None


NO_CLOCKS = Clocks()


@dataclass(frozen=True)
class Tie:
    """``row`` seen from one of its people (``me``): ``sent`` is what ``me`` wrote."""

    other_id: int
    score: float
    tier: str
    trend: float  # score now minus score TREND_WINDOW ago
    sent: int
    received: int
    meetings: int
    first_at: datetime
    last_at: datetime
    last_sent_at: datetime | None
    last_received_at: datetime | None
    recent_sent: Count  # in the last RECENT
    recent_received: Count
    recent_meetings: Count
    years_sent: Count  # in the last YEARS
    years_received: Count
    years_meetings: Count
    reply_hours: tuple[float | None, float | None]  # typical answer time: mine, theirs
    replies: tuple[int, int]  # answers seen (newest events only): mine, theirs
    strongest: str  # what weighs most: out, in, mtg, mutual (both ways); "" when nothing
    # ``me`` never answered the other's mail nor met them: the score counts
    # ``Weights.unanswered`` times (relationships.strength.is_unanswered)
    unanswered: bool = False
    # Days ``me`` kept writing to others after the pair's newest event, when that weighs on
    # the score (relationships.strength.quiet_factor); None otherwise.
    quiet_days: float | None = None
    # Whether sent, received and meetings are exact; False: estimated, for a pair taken back
    # to an earlier moment (relationships.past.PastPair.counted).
    counted: tuple[bool, bool, bool] = (True, True, True)
    # Whether last_sent_at, last_received_at and last_at are estimates, for a busy pair taken
    # back to an earlier moment (relationships.past.PastPair.estimated).
    estimated: tuple[bool, bool, bool] = (False, False, False)

    def relation(self, from_me: bool = True) -> str:
        """How ``me`` (``from_me=False``: the other) stands to the other: "knows", or "heard
        from" when they never wrote to the other nor met them, and only received their mail
        (a newsletter, cold outreach): no tie to ask an introduction through. The API's
        connectors and path hops say it; the pane offers no introduction on it."""
        wrote = self.sent if from_me else self.received
        return "heard from" if wrote == 0 and self.meetings == 0 else "knows"


@dataclass(frozen=True, slots=True)
class Standing:
    """A tie as a listing of many shows it (``standing``): no counts, no reply times."""

    other_id: int
    score: float
    tier: str
    trend: float  # score now minus score TREND_WINDOW ago
    last_at: datetime
    last_estimated: bool = False  # as Tie.estimated says of last_at


NOT_ESTIMATED = (False, False, False)

# "In the last 2 years" in explanations (issue 3, item 2): the history half-life's span.
YEARS = timedelta(days=730)


def count_after(
    total: int,
    events: list[RecentEvent],
    first_at: datetime,
    moment: datetime,
    *,
    counted: bool = True,
) -> Count:
    """A class's events after ``moment``: its all-time counter when the pair's first contact
    came after ``moment`` (``counted``: whether that counter is exact, not estimated for a row
    taken back to an earlier moment), else what the newest events show (exact while they
    reach back to ``moment`` or number as many as the counter, else "at least"). The decayed
    sums weigh events by role and audience, so no count can be read from them."""
    if first_at >= moment:
        return Count(total, exact=counted, about=not counted)
    found = count_since(events, moment)
    if counted and found.value >= total:  # a lower bound that reaches the counter is exact
        return Count(total, exact=True)
    return found


def side_sums(row: PairRow, me: int, clock: datetime | None = None) -> StoredSums:
    """``row``'s sums seen from ``me``; ``clock``: ``me``'s newest email to anyone when ``me``
    is a colleague (``colleagues.last_sent_at``, the quiet factor)."""
    counts = Counts(row.email_ab, row.email_ba, row.meetings)
    if row.a_id == me:
        out, back = (row.ab_warm, row.ab_history), (row.ba_warm, row.ba_history)
        sent_at, received_at = row.last_ab_at, row.last_ba_at
    else:
        out, back = (row.ba_warm, row.ba_history), (row.ab_warm, row.ab_history)
        sent_at, received_at, counts = row.last_ba_at, row.last_ab_at, counts.flipped()
    meetings = (row.mtg_warm, row.mtg_history)
    return StoredSums(out, back, meetings, sent_at, received_at, counts, row.last_at, clock)


def side_recent(row: PairRow, me: int) -> Recent:
    # A row taken back to an earlier moment says which of its cut lists are whole
    # (``relationships.past.PastPair``); a stored row's lists, against its counters.
    whole = getattr(row, "whole", (None, None, None))
    stored = Recent(
        loads(row.recent_ab, row.email_ab, whole[0]),
        loads(row.recent_ba, row.email_ba, whole[1]),
        loads(row.recent_mtg, row.meetings, whole[2]),
    )
    return stored if row.a_id == me else stored.flipped()


def past_sums(
    sums: StoredSums,
    events: Recent,
    moment: datetime,
    weights: Weights,
    first_at: datetime,
    *,
    clock: datetime | None,
) -> StoredSums:
    """The stored sums without the events after ``moment``: the sums as they were then, each
    side's newest message then (``relationships.recent.newest_before``) and the counters then
    (as ``relationships.past.as_of`` takes them back); ``clock``: the side's clock then
    (`Clocks.then`)."""
    h = weights.half_lives
    sent = past_class(events.sent, sums.out, moment, h)
    received = past_class(events.received, sums.inbound, moment, h)
    met = past_class(events.meetings, sums.meetings, moment, h)
    long = growth(moment, h[1])
    totals = sums.counts
    sent_at = newest_before(events.sent, sums.sent_at, moment, sent.sums[1] / long)
    received_at = newest_before(events.received, sums.received_at, moment, received.sums[1] / long)
    last_meeting = events.meetings[-1].at if events.meetings else None
    met_at = newest_before(events.meetings, last_meeting, moment, met.sums[1] / long)
    known = [at for at in (sent_at, received_at, met_at) if at is not None]
    return StoredSums(
        sent.sums,
        received.sums,
        met.sums,
        sent_at,
        received_at,
        Counts(
            max(0, totals.sent - round(sent.later)),
            max(0, totals.received - round(received.later)),
            max(0, totals.met - round(met.later)),
        ),
        max(known) if known else first_at,
        clock,
    )


def tie(
    row: PairRow,
    me: int,
    now: datetime,
    weights: Weights = DEFAULT,
    clocks: Clocks = NO_CLOCKS,
) -> Tie:
    """``row`` seen from person ``me`` (one of its two ends) at ``now``, with everything an
    explanation says (a listing that shows only score, tier and trend: ``standing``);
    ``clocks``: ``me``'s when ``me`` is a colleague."""
    mine_is_a = row.a_id == me
    sums = side_sums(row, me, clocks.now)
    parts = stored_rate(sums, now, weights)
    value = score_from_rate(sum(parts.values()), weights)
    events = side_recent(row, me)
    then = now - TREND_WINDOW
    before = _past_score(row, sums, events, then, weights, clock=clocks.then)
    strongest = _strongest(parts, weights)
    mine, theirs = events.reply_hours()
    typical_mine, typical_theirs = median(mine), median(theirs)
    recently, years = now - RECENT, now - YEARS
    sent, received = (row.email_ab, row.email_ba) if mine_is_a else (row.email_ba, row.email_ab)
    # A row taken back to an earlier moment says which counters it estimated (PastPair).
    ab, ba, mtg = getattr(row, "counted", (True, True, True))
    sent_counted, received_counted = (ab, ba) if mine_is_a else (ba, ab)
    ab_guess, ba_guess, last_guess = getattr(row, "estimated", NOT_ESTIMATED)
    return Tie(
        other_id=row.b_id if mine_is_a else row.a_id,
        score=round(value, 1),
        tier=tier(value, row.last_at, now),
        trend=tenths(value - before),
        sent=sent,
        received=received,
        meetings=row.meetings,
        first_at=row.first_at,
        last_at=row.last_at,
        last_sent_at=row.last_ab_at if mine_is_a else row.last_ba_at,
        last_received_at=row.last_ba_at if mine_is_a else row.last_ab_at,
        recent_sent=count_after(sent, events.sent, row.first_at, recently, counted=sent_counted),
        recent_received=count_after(
            received, events.received, row.first_at, recently, counted=received_counted
        ),
        recent_meetings=count_after(
            row.meetings, events.meetings, row.first_at, recently, counted=mtg
        ),
        years_sent=count_after(sent, events.sent, row.first_at, years, counted=sent_counted),
        years_received=count_after(
            received, events.received, row.first_at, years, counted=received_counted
        ),
        years_meetings=count_after(row.meetings, events.meetings, row.first_at, years, counted=mtg),
        reply_hours=(typical_mine, typical_theirs),
        replies=(len(mine), len(theirs)),
        strongest=strongest,
        unanswered=is_unanswered(sums.counts, weights) and weights.unanswered < 1,
        quiet_days=_quiet(sums, now, weights),
        counted=(sent_counted, received_counted, mtg),
        estimated=(ab_guess, ba_guess, last_guess)
        if mine_is_a
        else (ba_guess, ab_guess, last_guess),
    )


def standing(
    row: PairRow,
    me: int,
    now: datetime,
    weights: Weights = DEFAULT,
    clocks: Clocks = NO_CLOCKS,
) -> Standing:
    """``row`` seen from person ``me`` at ``now``: score, tier, trend and last contact, the same
    as ``tie`` gives, without the counts and the strongest part a listing does not show."""
    sums = side_sums(row, me, clocks.now)
    value = stored_score(sums, now, weights)
    then = now - TREND_WINDOW
    past = _past_score(row, sums, side_recent(row, me), then, weights, clock=clocks.then)
    return Standing(
        other_id=row.b_id if row.a_id == me else row.a_id,
        score=round(value, 1),
        tier=tier(value, row.last_at, now),
        trend=tenths(value - past),
        last_at=row.last_at,
        last_estimated=getattr(row, "estimated", NOT_ESTIMATED)[2],
    )


def tenths(value: float) -> float:
    """Rounded to a tenth, and never -0.0 (a trend of -0.04 reads 0.0, not "-0.0")."""
    return round(value, 1) + 0.0


def _past_score(
    row: PairRow,
    sums: StoredSums,
    events: Recent,
    then: datetime,
    weights: Weights,
    *,
    clock: datetime | None,
) -> float:
    """The side's score at ``then`` (the trend's base) against the side's ``clock`` as it
    stood then: none before the first contact."""
    if row.first_at > then:
        return 0.0
    past = past_sums(sums, events, then, weights, row.first_at, clock=clock)
    return stored_score(past, then, weights)


# The explanation mentions the quiet factor once it takes a tenth or more off the score's rate.
QUIET_SAID = 0.9


def _quiet(sums: StoredSums, now: datetime, weights: Weights) -> float | None:
    """Days the colleague kept writing to others after the pair's newest event, when that
    silence weighs on the score (`QUIET_SAID`); else None."""
    gap = quiet_gap(sums.newest, sums.clock, now)
    return gap if gap is not None and quiet_factor(gap, weights) < QUIET_SAID else None


BALANCED = 0.25  # email is "both ways" when the quieter side wrote at least this share


def _strongest(parts: dict[str, float], weights: Weights) -> str:
    """Meetings when they weigh more than all email; else email both ways when balanced; else
    the direction that weighs more. The follow-up terms are each side's own email: they
    count with "out" and "in"."""
    written = parts["out"] + parts["follow_up"]
    email = written + parts["in"] + parts["follow_up_in"] + parts["mutual"]
    if not email and not parts["mtg"]:
        return ""
    if parts["mtg"] > email:
        return "mtg"
    received = parts["in"] / weights.inbound if weights.inbound else 0.0
    received += parts["follow_up_in"]
    if min(written, received) >= BALANCED * max(written, received):
        return "mutual"
    return "out" if written >= parts["in"] + parts["follow_up_in"] else "in"

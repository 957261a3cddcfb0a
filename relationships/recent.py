"""The newest events of a pair, kept per class: reply times, recent counts and the past score.

Each pair stores, for each class (``ab``: a wrote to b, ``ba``: the reverse, ``mtg``: a
meeting of both), the ``KEEP`` newest events as a JSON list of integers. One integer packs an
event's minute since ``relationships.strength.EPOCH`` and its weight (the one added to the
decayed sums): ``minute * 10_000 + round(weight * 1000)``, so sorting the integers sorts the
events by time. Merging two lists keeps the ``KEEP`` largest values of their union: the stored
list is the same whatever order mail arrives in (a mailbox's Inbox and Sent Items are synced
one after the other), and the merge runs inside the upsert (``relationships.aggregate_store``).

From these lists, in O(``KEEP``) per pair and without reading any interaction:

- reply times: in the pair's timeline (the span both directions cover), a message that follows
  one from the other side within ``REPLY_WINDOW`` answers it; the typical reply time of each
  side is the median of its answers;
- counts in the last 90 days, exact while fewer than ``KEEP`` events of a class fall in them;
- the decayed sums as they were at an earlier moment (for the trend): the stored sums minus the
  events since then (estimated for a busy pair with more than ``KEEP`` events of one class
  since then, see ``past_class``), and a side's newest message then (``newest_before``).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from relationships.strength import EPOCH

KEEP = 10  # newest events kept per class and pair: 30 small integers per pair at most
WEIGHT_SCALE = 1000  # weights stored to 1/1000
SLOT = 10_000  # an event's weight must stay below SLOT / WEIGHT_SCALE = 10 (meetings: 3)
# Wuchty & Uzzi (PLoS ONE 2011) measured typical replies of 7 h to 50 h; the reference's
# reply bonus (1.3) looks 14 days back. A later message starts a new exchange.
REPLY_WINDOW = timedelta(days=14)
RECENT = timedelta(days=90)  # "in the last 90 days" in explanations (issue 3, item 2)
CLASSES = ("ab", "ba", "mtg")
MINUTES_PER_DAY = 1440


@dataclass(frozen=True, slots=True)
class RecentEvent:
    minute: int  # since relationships.strength.EPOCH: plain integers keep a tie cheap
    weight: float

    @property
    def at(self) -> datetime:
        return EPOCH + timedelta(minutes=self.minute)


def minute_of(at: datetime) -> int:
    return int((at - EPOCH).total_seconds() // 60)


def pack(at: datetime, weight: float) -> int:
    return minute_of(at) * SLOT + min(SLOT - 1, max(0, round(weight * WEIGHT_SCALE)))


def unpack(value: int) -> RecentEvent:
    minute, weight = divmod(value, SLOT)
    return RecentEvent(minute, weight / WEIGHT_SCALE)


def _growth(minute: float, half_life_days: float) -> float:
    """``relationships.strength.growth`` of a minute since the epoch."""
    return float(2 ** (minute / MINUTES_PER_DAY / half_life_days))


def newest(values: Sequence[int]) -> list[int]:
    """The ``KEEP`` largest distinct values, largest first (the merge the upsert performs)."""
    return sorted(set(values), reverse=True)[:KEEP]


def dumps(values: Sequence[int]) -> str | None:
    return json.dumps(newest(values), separators=(",", ":")) if values else None


class Kept(list[RecentEvent]):
    """A class's kept events, oldest first, and whether they are the whole class. A stored
    list is whole when it holds as many events as the pair's counter (given), else when it is
    shorter than ``KEEP``: two emails of one minute and weight pack to one value and are kept
    once, so a short list is not always whole. A list cut at an earlier moment
    (``relationships.past``) keeps the answer of the list it was cut from."""

    def __init__(
        self,
        events: Iterable[RecentEvent] = (),
        whole: bool | None = None,
        total: int | None = None,
    ) -> None:
        super().__init__(events)
        self.whole = len(self) < KEEP if whole is None else whole
        self.total = total  # the class's counter, when known

    @property
    def twins(self) -> int:
        """Events kept as the twin of another (same minute and weight): the counter's excess
        over a list that was never cut short (shorter than ``KEEP``, not whole)."""
        if self.whole or len(self) >= KEEP or self.total is None:
            return 0
        return max(0, self.total - len(self))


def is_whole(events: Sequence[RecentEvent]) -> bool:
    """Whether ``events`` are every event of their class (`Kept`; a plain list: shorter than
    ``KEEP``)."""
    return events.whole if isinstance(events, Kept) else len(events) < KEEP


def loads(text: str | None, total: int | None = None, whole: bool | None = None) -> Kept:
    """The stored list, oldest first; a damaged value reads as empty (the rebuild rewrites it).
    ``total``: the class's counter (the list is whole when it holds that many); ``whole``:
    what a list cut at an earlier moment says of itself (`Kept`)."""
    events = _parsed(text)
    if whole is None and total is not None:
        whole = len(events) >= total
    return Kept(events, whole, total)


def _parsed(text: str | None) -> list[RecentEvent]:
    if not text:
        return []
    try:
        values = json.loads(text)
    except ValueError:
        return []
    if not isinstance(values, list):
        return []
    return [unpack(v) for v in sorted(v for v in values if isinstance(v, int))]


@dataclass(frozen=True)
class Recent:
    """A pair's newest events, oldest first, seen from one side: ``sent`` is what this side
    wrote, ``received`` what the other side wrote."""

    sent: list[RecentEvent]
    received: list[RecentEvent]
    meetings: list[RecentEvent]

    def flipped(self) -> Recent:
        return Recent(self.received, self.sent, self.meetings)

    def reply_hours(self) -> tuple[list[float], list[float]]:
        """(how long this side took to answer, how long the other side took), in hours."""
        start = max(_covered_from(self.sent), _covered_from(self.received))
        timeline = sorted(
            [(e.minute, True) for e in self.sent if e.minute >= start]
            + [(e.minute, False) for e in self.received if e.minute >= start]
        )
        window = REPLY_WINDOW.total_seconds() / 60
        mine: list[float] = []
        theirs: list[float] = []
        for (before, by_me_before), (after, by_me) in pairwise(timeline):
            gap = after - before
            if by_me != by_me_before and gap <= window:
                (mine if by_me else theirs).append(gap / 60)
        return mine, theirs

    def typical_reply_hours(self) -> tuple[float | None, float | None]:
        mine, theirs = self.reply_hours()
        return median(mine), median(theirs)


def _covered_from(events: list[RecentEvent]) -> float:
    """From which minute the list holds every event of its class (all, unless it is full)."""
    if is_whole(events) or not events:
        return -math.inf
    return events[0].minute


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass(frozen=True, slots=True)
class Count:
    """How many events of a class fell after a moment: exact, or at least ``value``, or
    (``about``) an estimate either way: a counter of a pair taken back to an earlier moment
    whose later events were estimated (``relationships.past``)."""

    value: int
    exact: bool
    about: bool = False


def count_since(events: list[RecentEvent], moment: datetime) -> Count:
    after = minute_of(moment)
    found = sum(1 for e in events if e.minute > after)
    return Count(found, exact=found < len(events) or is_whole(events))


@dataclass(frozen=True, slots=True)
class PastClass:
    sums: tuple[float, float]  # growth form, as they were at the moment
    later: float  # the class's events after the moment (estimated for a busy pair)
    counted: bool = True  # False: ``later`` is an estimate


def past_class(
    events: list[RecentEvent],
    stored: tuple[float, float],
    moment: datetime,
    half_lives: tuple[float, float],
) -> PastClass:
    """A class's growth-form sums (warm and history half-lives) as they were at ``moment``:
    the stored sums minus the events after it; and how many events came after it.

    Exact while the list reaches back to ``moment``. When it is not whole and its oldest event
    is later (a busy pair), the events between ``moment`` and that oldest one were dropped: they
    are taken as a run at the list's own pace and mean weight, ending at the oldest kept event
    and starting as early as the stored sums can hold (but not before ``moment``). A pair
    busy at one pace since before ``moment`` comes out exact; one that became busy within the
    span has its past slightly understated (it reads as warming, which it is).
    """
    start = minute_of(moment)
    after = [e for e in events if e.minute > start]
    if is_whole(events):
        # The list holds the whole class: sum what came before, rather than take the later
        # events from the stored sums. In growth form a later event outweighs an earlier one
        # by 2^(gap / H) (32 at a 60-day half-life 300 days on): the 1/1000 rounding of its
        # kept weight, taken away, would cost the earlier sum as much as 1.6 % per event.
        kept = [e for e in events if e.minute <= start]
        warm, history = (sum(e.weight * _growth(e.minute, h) for e in kept) for h in half_lives)
        return PastClass((warm, history), len(after))
    twins = events.twins if isinstance(events, Kept) else 0
    if twins:
        return _with_twins(events, twins, stored, start, half_lives)
    known = [sum(e.weight * _growth(e.minute, h) for e in after) for h in half_lives]
    left = (max(0.0, stored[0] - known[0]), max(0.0, stored[1] - known[1]))
    if events and events[0].minute <= start:
        return PastClass(
            _capped(_bounded(events, stored, start, half_lives), start, half_lives), len(after)
        )
    if len(events) < 2:  # a list cut short at an earlier moment: no pace to go by
        return PastClass(_capped(left, start, half_lives), len(after), counted=False)
    oldest = events[0].minute
    span_days = max((events[-1].minute - oldest) / MINUTES_PER_DAY, 1.0)
    # Weight per day of the run, and the growth-form sum of a run from `begin` to `oldest`:
    # per_day * H/ln2 * (g(oldest) - g(begin)), for each half-life H.
    pace = (len(events) - 1) / span_days  # events per day
    per_day = pace * sum(e.weight for e in events) / len(events)
    begin = float(start)
    for h, room in zip(half_lives, left, strict=True):
        floor = _growth(oldest, h) - room * math.log(2) / (per_day * h)  # g(begin) >= floor
        if floor > 0:
            begin = max(begin, h * math.log2(floor) * MINUTES_PER_DAY)
    begin = min(begin, oldest)
    run = [per_day * h / math.log(2) * (_growth(oldest, h) - _growth(begin, h)) for h in half_lives]
    sums = (max(0.0, left[0] - run[0]), max(0.0, left[1] - run[1]))
    later = len(after) + pace * (oldest - begin) / MINUTES_PER_DAY
    return PastClass(_capped(sums, start, half_lives), later, counted=False)


def scales(half_lives: tuple[float, float]) -> tuple[int, int]:
    """(index of the short half-life, index of the long one)."""
    return (0, 1) if half_lives[0] <= half_lives[1] else (1, 0)


def _with_twins(
    events: list[RecentEvent],
    twins: int,
    stored: tuple[float, float],
    start: float,
    half_lives: tuple[float, float],
) -> PastClass:
    """A list never cut short that kept ``twins`` events once for two: they are the rest of
    the stored sums. When they came, the long half-life's rest tells (it barely grows): at the
    kept events' mean weight, ``twins`` events at the time whose growth it is. They count
    before ``start`` or after it as that time falls."""
    before = [e for e in events if e.minute <= start]
    rest = [
        max(0.0, total - sum(e.weight * _growth(e.minute, h) for e in events))
        for total, h in zip(stored, half_lives, strict=True)
    ]
    _, long = scales(half_lives)
    mean = sum(e.weight for e in events) / len(events) if events else 1.0
    each = rest[long] / (twins * mean)
    earlier = each > 0 and half_lives[long] * math.log2(each) * MINUTES_PER_DAY <= start
    sums = [
        sum(e.weight * _growth(e.minute, h) for e in before) + (rest[i] if earlier else 0.0)
        for i, h in enumerate(half_lives)
    ]
    later = len(events) - len(before) + (0 if earlier else twins)
    return PastClass(_capped((sums[0], sums[1]), start, half_lives), later)


def _capped(
    sums: tuple[float, float], start: float, half_lives: tuple[float, float]
) -> tuple[float, float]:
    """Sums of events none of which is later than minute ``start``: the short half-life's
    part cannot exceed the long one's times their growth ratio at ``start`` (an event's short
    to long ratio only grows with its time). Taking later events off a growth-form sum leaves
    a remainder as large as their rounding and a run's assumed pace are wrong; the long
    half-life barely grows, so its remainder is the trustworthy one, and this keeps the short
    one's error from reading as recent mail (Enron: 56 points off without it)."""
    short, long = scales(half_lives)
    cap = sums[long] * _growth(start, half_lives[short]) / _growth(start, half_lives[long])
    capped = list(sums)
    capped[short] = min(capped[short], cap)
    return capped[0], capped[1]


def _bounded(
    events: list[RecentEvent],
    stored: tuple[float, float],
    start: int,
    half_lives: tuple[float, float],
) -> tuple[float, float]:
    """The past sums of a full list that reaches back to minute ``start``: the dropped events'
    part (the stored sums less every kept event) plus the kept events up to ``start``. The
    short half-life's dropped part is a small remainder of large numbers (the kept weights'
    rounding, multiplied by the later events' growth); it cannot exceed the long half-life's,
    which barely grows, as if every dropped event came at the oldest kept one (the latest
    they can have come)."""
    oldest = events[0].minute
    dropped = [
        max(0.0, total - sum(e.weight * _growth(e.minute, h) for e in events))
        for total, h in zip(stored, half_lives, strict=True)
    ]
    short, long = scales(half_lives)
    ratio = _growth(oldest, half_lives[short]) / _growth(oldest, half_lives[long])
    dropped[short] = min(dropped[short], dropped[long] * ratio)
    kept = [
        sum(e.weight * _growth(e.minute, h) for e in events if e.minute <= start)
        for h in half_lives
    ]
    return (dropped[0] + kept[0], dropped[1] + kept[1])


# A class's past sum decayed to the moment below this is the rounding of the kept weights
# (at most 1/2000 per event, ``KEEP`` events), not an earlier event: the lightest email that
# counts weighs 0.2 / sqrt(20) = 0.045, and one two years older than the moment still 0.022.
TRACE = 0.01


def newest_before(
    events: list[RecentEvent], newest: datetime | None, moment: datetime, earlier: float
) -> datetime | None:
    """A class's newest event at or before ``moment`` (`newest_then`, without saying whether it
    was estimated)."""
    return newest_then(events, newest, moment, earlier)[0]


def newest_then(
    events: list[RecentEvent], newest: datetime | None, moment: datetime, earlier: float
) -> tuple[datetime | None, bool]:
    """A class's newest event at or before ``moment``, from its newest event of all
    (``newest``, the stored ``last_ab_at``/``last_ba_at``) and the kept list, and whether it is
    an estimate; ``earlier`` is the class's history sum as it was at ``moment``
    (``past_class``), decayed to ``moment``.

    Exact while the list reaches back to ``moment``: the kept event before it, or none when
    the list holds the whole class. When the list is full and every kept event is later (more
    than ``KEEP`` since ``moment``), the dropped ones are unknown: if the past sum shows
    earlier mail, the newest is taken half the list's mean gap before ``moment`` (to the
    minute, as events are kept), as for a pair writing at the list's pace (``past_class``
    assumes the same run), and said to be estimated; otherwise none.
    """
    if newest is None or newest <= moment:
        return newest, False
    start = minute_of(moment)
    kept = [e for e in events if e.minute <= start]
    if kept:
        return kept[-1].at, False
    if is_whole(events) or earlier < TRACE or len(events) < 2:
        return None, False
    gap = (events[-1].minute - events[0].minute) / (len(events) - 1)
    return EPOCH + timedelta(minutes=math.floor(start - gap / 2)), True

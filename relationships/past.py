"""A pair's row as it stood at an earlier moment, from the row alone (``?at=`` in the API).

A stored row holds every event up to the last ingest: its counters, decayed sums and newest
times all include mail sent after an earlier moment. `as_of` takes that mail out, in
O(``KEEP``) per pair and without reading an interaction, with the tools the trend uses
(``relationships.recent``): each class's sums and count minus the events after the moment
(`relationships.recent.past_class`), each side's newest message then
(`relationships.recent.newest_before`), the newest-event lists cut at the moment. Exact
while each class's list reaches back to the moment; for a pair with more than ``KEEP`` events
of one class since then, the dropped ones are estimated as a run at the list's pace, as for
the trend (docs/strength.md, "Explanations").

A row whose mail all predates the moment is returned as it is (nothing to take out); a pair
whose first contact came after it did not exist then (None).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from relationships.pair_rows import Key, Pair
from relationships.recent import (
    KEEP,
    MINUTES_PER_DAY,
    SLOT,
    TRACE,
    WEIGHT_SCALE,
    RecentEvent,
    dumps,
    loads,
    minute_of,
    newest_then,
    past_class,
    scales,
)
from relationships.strength import Weights, growth
from relationships.ties import PairRow

if TYPE_CHECKING:
    from relationships.graph import Graph

CLASSES = ("ab", "ba", "mtg")
PAIR_COLUMNS = 14  # the key and ``relationships.strength.scores_now``'s columns


@dataclass(slots=True)
class PastPair(Pair):
    """A row taken back to an earlier moment. Its newest-event lists were cut at the moment,
    so their length no longer tells whether they hold every event of their class: ``whole``
    does, for (ab, ba, mtg), as the uncut lists said (``relationships.recent.Kept``)."""

    whole: tuple[bool, bool, bool] = (True, True, True)
    # Whether each counter (email_ab, email_ba, meetings) is exact: one whose later events
    # were estimated (a busy class, `relationships.recent.past_class`) is not.
    counted: tuple[bool, bool, bool] = (True, True, True)
    # Whether last_ab_at, last_ba_at and last_at are estimates (`relationships.recent.newest_then`):
    # every kept event of a busy class came after the moment.
    estimated: tuple[bool, bool, bool] = (False, False, False)


def as_of(row: PairRow, moment: datetime, weights: Weights) -> PairRow | None:
    """``row`` as it stood at ``moment``; None when the pair's first contact came later."""
    if row.first_at > moment:
        return None
    if row.last_at <= moment:
        return row
    h = weights.half_lives
    totals = dict(zip(CLASSES, (row.email_ab, row.email_ba, row.meetings), strict=True))
    events = {c: loads(getattr(row, f"recent_{c}"), totals[c]) for c in CLASSES}
    past = {
        c: past_class(
            events[c],
            (getattr(row, f"{c}_warm"), getattr(row, f"{c}_history")),
            moment,
            h,
        )
        for c in CLASSES
    }
    then = {
        c: newest_then(
            events[c],
            _newest(row, c, events[c]),
            moment,
            past[c].sums[1] / growth(moment, h[1]),
        )
        for c in CLASSES
    }
    # Kept events carry their minute, the first contact its second: an event of the first
    # contact's own minute would read up to 59 s before it (Enron: a reply "received" at
    # 22:00:00 after a first contact at 22:00:27). Nothing comes before the first contact.
    newest = {c: None if at is None else max(at, row.first_at) for c, (at, _) in then.items()}
    # The newest of the classes' newest events, an exact one before an estimate of the same time.
    known = [(max(at, row.first_at), guessed) for at, guessed in then.values() if at is not None]
    last_at, last_guessed = max(known, key=lambda k: (k[0], not k[1])) if known else (None, False)
    counts = {c: max(0, totals[c] - round(past[c].later)) for c in CLASSES}
    start = minute_of(moment)
    return PastPair(
        a_id=row.a_id,
        b_id=row.b_id,
        email_ab=counts["ab"],
        email_ba=counts["ba"],
        meetings=counts["mtg"],
        first_at=row.first_at,
        last_at=last_at or row.first_at,
        last_ab_at=newest["ab"],
        last_ba_at=newest["ba"],
        ab_warm=past["ab"].sums[0],
        ab_history=past["ab"].sums[1],
        ba_warm=past["ba"].sums[0],
        ba_history=past["ba"].sums[1],
        mtg_warm=past["mtg"].sums[0],
        mtg_history=past["mtg"].sums[1],
        recent_ab=_dumps(events["ab"], start),
        recent_ba=_dumps(events["ba"], start),
        recent_mtg=_dumps(events["mtg"], start),
        whole=(events["ab"].whole, events["ba"].whole, events["mtg"].whole),
        counted=(past["ab"].counted, past["ba"].counted, past["mtg"].counted),
        estimated=(then["ab"][1], then["ba"][1], last_guessed),
    )


def _newest(row: PairRow, cls: str, events: list[RecentEvent]) -> datetime | None:
    """A class's newest event of all: stored for each side's email, the list's for meetings
    (every meeting enters it; the newest is never dropped)."""
    if cls == "mtg":
        return events[-1].at if events else None
    stored: datetime | None = getattr(row, f"last_{cls}_at")
    return stored


def _dumps(events: list[RecentEvent], start: int) -> str | None:
    """The list as stored, without the events after minute ``start``."""
    return dumps(
        [e.minute * SLOT + round(e.weight * WEIGHT_SCALE) for e in events if e.minute <= start]
    )


def rows_at(rows: Mapping[Key, Pair], graph: Graph) -> Mapping[Key, PairRow]:
    """Loaded rows as they stood at ``graph``'s moment when it is a past one, those that
    existed then; else the rows themselves."""
    if not graph.past:
        return rows
    found = {key: as_of(row, graph.built_at, graph.weights) for key, row in rows.items()}
    return {key: row for key, row in found.items() if row is not None}


# -- many rows at once: the graph of a past moment ----------------------------------------------

Columns = npt.NDArray[np.float64]


def past_block(rows: Sequence[Sequence[Any]], moment: datetime, weights: Weights) -> Columns:
    """`as_of` for many rows at once, as the graph reads them on SQLite: each row is the key,
    the six sums, each side's newest message in days since ``EPOCH`` (None: never wrote), the
    three counters, the pair's newest event, then the three newest-event lists as stored (JSON
    text) and the first contact (``relationships.graph.PAST_SQL``); the result has the first
    fourteen columns as they were at ``moment`` (``relationships.strength.scores_now``'s
    layout). The same arithmetic as `as_of` on arrays: a 3,000,000-pair store has a million
    pairs with mail in the last 90 days, at 80 us each in Python."""
    numbers = np.array([row[:PAIR_COLUMNS] for row in rows], dtype=np.float64)  # None: NaN
    totals = numbers[:, 10:13].astype(np.int64)
    lists = [_kept_texts([row[PAIR_COLUMNS + i] for row in rows], totals[:, i]) for i in range(3)]
    first = np.array([row[PAIR_COLUMNS + 3] for row in rows], dtype=np.float64)
    return _taken_back(numbers, lists, first, moment, weights)


def past_copy_block(
    block: Columns, texts: Sequence[bytes], moment: datetime, weights: Weights
) -> Columns:
    """`past_block` for rows as PostgreSQL's binary COPY sends them
    (``relationships.graph.PAST_SQL``): the fourteen columns, the length of each newest-event
    list (0 for a damaged one), the first contact, and per row one text holding the lists'
    values one after the other, comma-separated. No Python object per value: the values of
    every row parse as one array."""
    joined = b",".join(text for text in texts if text)
    values = np.fromstring(joined, dtype=np.int64, sep=",") if joined else np.zeros(0, np.int64)
    counts = block[:, PAIR_COLUMNS : PAIR_COLUMNS + 3].astype(np.int64)
    if len(values) != counts.sum():
        raise ValueError(f"{len(values)} kept values where the lengths say {counts.sum()}")
    matrix = _matrix(values, counts.reshape(-1)).reshape(len(block), 3, KEEP)
    totals = block[:, 10:13].astype(np.int64)
    lists = [_kept(matrix[:, i], totals[:, i]) for i in range(3)]
    return _taken_back(block[:, :PAIR_COLUMNS], lists, block[:, PAIR_COLUMNS + 3], moment, weights)


def _taken_back(
    numbers: Columns, lists: Sequence[_Kept], first: Columns, moment: datetime, weights: Weights
) -> Columns:
    totals = numbers[:, 10:13].astype(np.int64)
    h = weights.half_lives
    start = float(minute_of(moment))
    block = numbers.copy()
    histories = []
    for i, kept in enumerate(lists):
        warm, history, later = _past_sums(
            kept, numbers[:, 2 + 2 * i], numbers[:, 3 + 2 * i], start, h
        )
        block[:, 2 + 2 * i], block[:, 3 + 2 * i] = warm, history
        block[:, 10 + i] = np.maximum(0, totals[:, i] - np.round(later))  # as `as_of` counts
        histories.append(history)
    newest = []
    for i in range(3):  # each side's newest message then (the follow-up terms), a meeting's
        kept = lists[i]
        earlier = histories[i] / _growth(start, h[1])
        if i < 2:
            stored = numbers[:, 8 + i]
        else:  # every meeting enters its list, so the newest is kept
            last = kept.minutes[np.arange(len(kept.counts)), np.maximum(kept.counts, 1) - 1]
            stored = np.where(kept.counts > 0, last / MINUTES_PER_DAY, np.nan)
        newest.append(_newest_days(kept, stored, start, earlier))
    block[:, 8], block[:, 9] = newest[0], newest[1]
    stacked = np.stack(newest, axis=1)
    known = np.asarray(~np.isnan(stacked).all(axis=1))
    latest = np.nanmax(np.where(known[:, None], stacked, 0.0), axis=1)
    block[:, 13] = np.where(known, latest, first)  # as `as_of`: the first contact, if none
    return block


@dataclasses.dataclass(frozen=True)
class _Kept:
    """Newest-event lists as arrays: minutes oldest first (NaN past a row's count), weights,
    counts, and whether each holds its whole class (as many as its counter: `recent.Kept`)."""

    minutes: Columns
    weights: Columns
    counts: npt.NDArray[np.int64]
    whole: npt.NDArray[np.bool_]
    twins: npt.NDArray[np.int64]  # `recent.Kept.twins`


def _kept_texts(texts: Sequence[str | None], totals: npt.NDArray[np.int64]) -> _Kept:
    """The stored lists (JSON text) parsed all at once; should one not parse (a damaged
    value), each is read by `loads`, which reads a damaged one as empty; a list longer than
    ``KEEP`` (the upsert never writes one) keeps its newest ``KEEP``."""
    counts = np.array([text.count(",") + 1 if text else 0 for text in texts], dtype=np.int64)
    joined = ",".join(text[1:-1] for text in texts if text)
    try:
        values = np.fromstring(joined, dtype=np.int64, sep=",")
    except ValueError:  # text that is no list of numbers: NumPy stops, or refuses outright
        values = np.zeros(0, np.int64)
    if len(values) != counts.sum() or (counts > KEEP).any():
        parsed = [loads(text)[-KEEP:] for text in texts]
        counts = np.array([len(events) for events in parsed], dtype=np.int64)
        values = np.array(
            [e.minute * SLOT + round(e.weight * WEIGHT_SCALE) for ev in parsed for e in ev],
            dtype=np.int64,
        )
    return _kept(_matrix(values, counts), totals)


def _matrix(values: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]) -> Columns:
    """Lists given as their ``values`` one after the other and their lengths (``counts``), as
    a matrix of a row per list and ``KEEP`` columns (NaN past a list's end); a list longer
    than ``KEEP`` keeps its first ``KEEP`` (the upsert writes the newest first)."""
    rows = np.repeat(np.arange(len(counts)), counts)
    slots = np.arange(len(values)) - np.repeat(np.cumsum(counts) - counts, counts)
    kept = slots < KEEP
    matrix = np.full((len(counts), KEEP), np.nan)
    matrix[rows[kept], slots[kept]] = values[kept]
    return matrix


def _kept(values: Columns, totals: npt.NDArray[np.int64]) -> _Kept:
    """Lists as a matrix of packed values (``relationships.recent.pack``), a row per pair and
    ``KEEP`` columns in any order, NaN where a list holds nothing. Packed values stay far
    below 2**53, so a float64 holds them exactly."""
    present = ~np.isnan(values)
    counts = present.sum(axis=1).astype(np.int64)
    packed = np.where(present, values, 0.0).astype(np.int64)
    minutes = np.where(present, packed // SLOT, np.nan)
    weights = np.where(present, (packed % SLOT) / WEIGHT_SCALE, 0.0)
    order = np.argsort(minutes, axis=1)  # oldest first, the padding (NaN) last
    return _Kept(
        np.take_along_axis(minutes, order, axis=1),
        np.take_along_axis(weights, order, axis=1),
        counts,
        counts >= totals,
        np.where((counts < totals) & (counts < KEEP), totals - counts, 0),
    )


def _growth(minutes: Columns | float, half_life_days: float) -> Columns:
    return np.asarray(2.0 ** (np.asarray(minutes) / MINUTES_PER_DAY / half_life_days))


def _past_sums(
    kept: _Kept, warm: Columns, history: Columns, start: float, h: tuple[float, float]
) -> tuple[Columns, Columns, Columns]:
    """`relationships.recent.past_class`'s sums and later events for many rows."""
    present = ~np.isnan(kept.minutes)
    minutes = np.where(present, kept.minutes, start)
    before = present & (minutes <= start)
    after = present & (minutes > start)
    growths = [_growth(minutes, half_life) * kept.weights for half_life in h]
    stored = (warm, history)
    n = np.maximum(kept.counts, 1)
    oldest = minutes[:, 0]
    newest = minutes[np.arange(len(minutes)), n - 1]
    # The whole class kept: what came before, summed.
    summed = [np.where(before, g, 0.0).sum(axis=1) for g in growths]
    # Kept events reach back: the dropped ones' part, bounded (recent._bounded), plus the
    # kept ones before.
    dropped = [
        np.maximum(0.0, s - np.where(present, g, 0.0).sum(axis=1))
        for s, g in zip(stored, growths, strict=True)
    ]
    short, long = scales(h)
    # Twins (recent._with_twins): the rest of the sums, before the moment or after it as the
    # long half-life's rest per twin dates it.
    mean_weight = kept.weights.sum(axis=1) / n
    each = dropped[long] / (np.maximum(kept.twins, 1) * np.where(mean_weight > 0, mean_weight, 1.0))
    dated = h[long] * np.log2(np.where(each > 0, each, 1.0)) * MINUTES_PER_DAY
    earlier = (each > 0) & (dated <= start)
    with_twins = [sm + np.where(earlier, d, 0.0) for sm, d in zip(summed, dropped, strict=True)]
    ratio = _growth(oldest, h[short]) / _growth(oldest, h[long])
    dropped[short] = np.minimum(dropped[short], dropped[long] * ratio)
    bounded = [d + s for d, s in zip(dropped, summed, strict=True)]
    # Busy: the later events taken off, then a run at the list's pace back to the moment.
    left = [
        np.maximum(0.0, s - np.where(after, g, 0.0).sum(axis=1))
        for s, g in zip(stored, growths, strict=True)
    ]
    span_days = np.maximum((newest - oldest) / MINUTES_PER_DAY, 1.0)
    pace = (kept.counts - 1) / span_days
    # Rows with fewer than two kept events have no pace; their (unused) run is computed at 1.
    per_day = np.where(pace * mean_weight > 0, pace * mean_weight, 1.0)
    begin = np.full(len(minutes), start)
    for half_life, room in zip(h, left, strict=True):
        floor = _growth(oldest, half_life) - room * math.log(2) / (per_day * half_life)
        safe = np.where(floor > 0, floor, 1.0)
        begin = np.where(
            floor > 0, np.maximum(begin, half_life * np.log2(safe) * MINUTES_PER_DAY), begin
        )
    begin = np.minimum(begin, oldest)
    run = [
        per_day * half_life / math.log(2) * (_growth(oldest, half_life) - _growth(begin, half_life))
        for half_life in h
    ]
    busy = [np.maximum(0.0, rest - r) for rest, r in zip(left, run, strict=True)]
    reaches = (kept.counts > 0) & (oldest <= start)
    taken = [
        np.where(
            kept.twins > 0,
            with_twins[i],
            np.where(reaches, bounded[i], np.where(kept.counts < 2, left[i], busy[i])),
        )
        for i in range(2)
    ]
    # recent._capped: the short half-life's remainder no larger than the long one's allows.
    taken[short] = np.minimum(
        taken[short], taken[long] * _growth(start, h[short]) / _growth(start, h[long])
    )
    counted = after.sum(axis=1).astype(np.float64)
    run_later = counted + pace * (oldest - begin) / MINUTES_PER_DAY
    later = np.where(
        kept.whole,
        counted,
        np.where(
            kept.twins > 0,
            counted + np.where(earlier, 0, kept.twins),
            np.where(reaches | (kept.counts < 2), counted, run_later),
        ),
    )
    return (
        np.where(kept.whole, summed[0], taken[0]),
        np.where(kept.whole, summed[1], taken[1]),
        later,
    )


def _newest_days(kept: _Kept, newest: Columns, start: float, earlier: Columns) -> Columns:
    """`relationships.recent.newest_then` for many rows, in days since ``EPOCH``."""
    moment = start / MINUTES_PER_DAY
    minutes = kept.minutes
    before = np.where(minutes <= start, minutes, -np.inf)  # NaN compares False
    last_before = before.max(axis=1)
    n = np.maximum(kept.counts, 1)
    newest_kept = minutes[np.arange(len(minutes)), n - 1]
    gap = (newest_kept - minutes[:, 0]) / np.maximum(kept.counts - 1, 1)
    unknown = kept.whole | (earlier < TRACE) | (kept.counts < 2)
    estimated = np.where(unknown, np.nan, np.floor(start - gap / 2) / MINUTES_PER_DAY)
    taken = np.where(np.isfinite(last_before), last_before / MINUTES_PER_DAY, estimated)
    return np.where(np.isnan(newest) | (newest <= moment), newest, taken)

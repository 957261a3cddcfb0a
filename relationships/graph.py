"""The relationship graph in memory: one per API worker process, refreshed within a minute.

Nodes are people; an edge carries the pair's strength now / 100 (``edge_scores``: seen from
the colleague's side of a colleague-contact pair, else from the stronger side). The graph
is a compressed sparse row structure in NumPy arrays (``indptr``, sorted neighbour ids,
float32 strengths): about 8 bytes per directed edge, so three million pairs take under 100 MB
where a dict of dicts took several hundred; the edges between two of the firm's people are
kept a second time on their own (``Graph.peers``, a few percent of the edges) for paths.
Scores are computed for all rows at once with the same formula as
``relationships.strength`` (vectorised), so building stays fast.

A worker renews its copy when the ingest engine has bumped the ``relationships.version``
setting (every page that changed aggregates does, in the page's own transaction) and its
copy is older than ``REFRESH``. Usually that is a `refresh`: only the rows whose
``changed_at`` (stamped by the upsert) is newer than the copy's last read, less
``CHANGE_SLACK``, are read, scored and patched into the arrays (`Adjacency.patched`), and
the pairs deleted since then (``relationship_deletions``: a partial rebuild after a removal
or a merge, a purge) that were not written again are taken out: at 3,000,000 pairs some
milliseconds instead of the 5-10 s of a full build (docs/scale.md). A full `build` runs when
the changed rows cannot tell what changed: a full rebuild deleted every row (the
``relationships.epoch`` setting), a colleague joined, the weights changed, or the last full
build is ``MAX_AGE`` old (scores decay with time even without new mail). Either runs in a
background thread while requests keep answering from the old copy
(``GraphCache``). Graphs for a past moment (``?at=``) are built on demand, one at a time, and
the last few kept (``PastGraphs``).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from relationships.aggregate_store import EPOCH_KEY, VERSION_KEY, clocks_at
from relationships.recent import CLASSES
from relationships.settings import load_weights
from relationships.strength import DEFAULT, EPOCH, TREND_WINDOW, Weights, scores_now
from relationships.ties import Clocks
from storage.bulk import sqlite_datetime
from storage.float_copy import copy_floats, copy_floats_with_text
from storage.models import Colleague, RelationshipDeletion, Setting
from storage.types import utcnow

log = logging.getLogger(__name__)

REFRESH = timedelta(seconds=30)  # new mail reaches every worker's graph within a minute
# No answer comes from a copy older than this: the bound of "within a minute" when the copy is
# stale and its rebuild runs in the background (``GraphCache``).
ANSWER_WITHIN = timedelta(seconds=60)
MAX_AGE = timedelta(hours=6)
# Every tie that weighs anything is an edge: connectors and coverage list dormant ties too
# (a pair whose only mail had too large an audience scores 0 and stays out).
MIN_SCORE = 0.0
CHUNK = 200_000  # relationship rows read per batch while building
# A refresh reads the rows changed since its copy's read, less this: a writer stamps its rows
# when it writes them (its clock, relationships.aggregate_store.apply) and commits after; an
# ingest page's transaction lasts well under a second, hosts' clocks agree to NTP's accuracy.
CHANGE_SLACK = timedelta(minutes=5)
# A colleague's clock (their newest email to anyone, ``colleagues.last_sent_at``) that moved
# less than this since their pairs were scored keeps the clock those scores used until the
# next full build (``MAX_AGE``): a day's move changes the quiet factor by at most 1 %
# ((1 - quiet_floor) / (4 * quiet_width) per day), a weekend's by 3 %. One that moved more
# (a colleague back from leave, a mailbox whose sync resumed) has every pair read again at
# the next refresh.
CLOCK_SLACK = timedelta(days=7)
# More colleagues than this with a moved clock: a full build instead.
CLOCKS_MOVED_MAX = 200
PAST_KEPT = 2  # graphs for past moments a process keeps (``PastGraphs``)
# How long a request for another moment waits while this process builds one (``PastGraphs``):
# longer than a past graph takes at 3,000,000 pairs (15 s), short of a proxy's usual 60 s timeout.
PAST_WAIT = timedelta(seconds=30)
# The pair key, then the columns in the order relationships.strength.scores_now takes them,
# by dialect: the six sums, then each side's newest message in days since strength.EPOCH
# (2000-01-01: Julian day 2451544.5, Unix day 10957; NULL, read as NaN, when that side never
# wrote), computed by the database so the rows stay plain numbers, then the three counters
# and the pair's newest event (days since the epoch).
PAIRS_SQL = {
    "sqlite": "SELECT a_id, b_id, ab_warm, ab_history, ba_warm, ba_history, mtg_warm,"
    " mtg_history, julianday(last_ab_at) - 2451544.5, julianday(last_ba_at) - 2451544.5,"
    " email_ab, email_ba, meetings, julianday(last_at) - 2451544.5 FROM relationships",
    # Every column float8 and a side that never wrote NaN, not NULL: what binary COPY reads
    # into NumPy (storage.float_copy); a plain fetch reads it as well.
    "postgresql": "SELECT a_id::float8, b_id::float8, ab_warm::float8, ab_history::float8,"
    " ba_warm::float8, ba_history::float8, mtg_warm::float8, mtg_history::float8,"
    " coalesce(extract(epoch FROM last_ab_at)::float8 / 86400 - 10957, 'NaN'),"
    " coalesce(extract(epoch FROM last_ba_at)::float8 / 86400 - 10957, 'NaN'),"
    " email_ab::float8, email_ba::float8, meetings::float8,"
    " extract(epoch FROM last_at)::float8 / 86400 - 10957 FROM relationships",
}
PAIR_WIDTH = 14
CHANGED_SINCE = {  # appended to PAIRS_SQL by a refresh (index ix_relationships_changed_at)
    "sqlite": " WHERE changed_at >= ?",
    "postgresql": " WHERE changed_at >= %s",
}
SETTLED_BY = {  # appended to PAIRS_SQL for a past moment: the pairs with no mail after it
    "sqlite": " WHERE last_at <= ?",
    "postgresql": " WHERE last_at <= %s",
}
# A past moment's pairs with mail after it (met by then): PAIRS_SQL's columns, then the
# newest-event lists to take that mail out with and the first contact
# (relationships.past.past_block). PostgreSQL sends them over binary COPY as the pairs: the
# lists' lengths among the numbers and their values in one text column, a row's lists one
# after the other (relationships.past.past_copy_block); a value that is not a list of
# integers (damaged) counts as an empty list, as `relationships.recent.loads` reads it.
_LISTED = r"'^\[ *\d+( *, *\d+)* *\]$'"
PAST_SQL = {
    "sqlite": PAIRS_SQL["sqlite"].replace(
        " FROM relationships",
        ", recent_ab, recent_ba, recent_mtg, julianday(first_at) - 2451544.5 FROM relationships",
    )
    + " WHERE last_at > ? AND first_at <= ?",
    "postgresql": PAIRS_SQL["postgresql"].replace(
        " FROM relationships",
        "".join(
            f", CASE WHEN listed_{c} THEN length(recent_{c}) - length(replace(recent_{c}, ',', ''))"
            " + 1 ELSE 0 END::float8"
            for c in CLASSES
        )
        + ", extract(epoch FROM first_at)::float8 / 86400 - 10957, concat_ws(','"
        + "".join(
            f", CASE WHEN listed_{c} THEN replace(btrim(recent_{c}, '[] '), ' ', '') END"
            for c in CLASSES
        )
        + ") FROM relationships CROSS JOIN LATERAL (SELECT "
        + ", ".join(f"recent_{c} ~ {_LISTED} AS listed_{c}" for c in CLASSES)
        + ") AS listed",
    )
    + " WHERE last_at > %s AND first_at <= %s",
}
PAST_WIDTH = PAIR_WIDTH + len(CLASSES) + 1  # PAST_SQL["postgresql"]'s float8 columns

Ids = npt.NDArray[np.int32]
Strengths = npt.NDArray[np.float32]
Flags = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Adjacency:
    """Compressed sparse rows: node -> its neighbours (sorted) and the edges' strengths."""

    indptr: npt.NDArray[np.int64]  # node -> start of its neighbours in `targets`
    targets: Ids  # neighbour ids, sorted within each node
    strengths: Strengths  # in (0, 1]

    @classmethod
    def of(cls, a: Ids, b: Ids, s: Strengths) -> Adjacency:
        """Both directions of the undirected edges (a[i], b[i], s[i])."""
        source = np.concatenate([a, b])
        target = np.concatenate([b, a])
        strength = np.concatenate([s, s])
        order = np.lexsort((target, source))
        source, target, strength = source[order], target[order], strength[order]
        size = int(source.max()) + 2 if len(source) else 1
        indptr = np.zeros(size + 1, dtype=np.int64)
        np.add.at(indptr, source + 1, 1)
        return cls(np.cumsum(indptr), target, strength)

    def patched(self, a: Ids, b: Ids, s: Strengths) -> Adjacency:
        """This adjacency with each undirected edge (a[i], b[i]) set to s[i]: changed, added,
        or removed where s[i] is 0 (pairs given once each). Copies the arrays once and sorts
        only the edges given: a few changed pairs cost O(edges) copying, not a sort of all."""
        if not len(a):
            return self
        source = np.concatenate([a, b]).astype(np.int64)
        target = np.concatenate([b, a]).astype(np.int64)
        value = np.concatenate([s, s])
        order = np.lexsort((target, source))
        source, target, value = source[order], target[order], value[order]
        nodes = len(self.indptr) - 1
        degrees = np.diff(self.indptr)
        keys = (np.repeat(np.arange(nodes, dtype=np.int64), degrees) << 32) | self.targets
        wanted = (source << 32) | target
        at = np.searchsorted(keys, wanted)
        found = at < len(keys)
        found[found] = keys[at[found]] == wanted[found]
        strengths = self.strengths.copy()
        changed, removed, added = found & (value > 0), found & (value <= 0), ~found & (value > 0)
        strengths[at[changed]] = value[changed]
        targets = np.delete(self.targets, at[removed])
        strengths = np.delete(strengths, at[removed])
        # Insert before the entry found, shifted left by the removals before it.
        shift = np.searchsorted(at[removed], at[added], side="left")
        targets = np.insert(targets, at[added] - shift, target[added].astype(np.int32))
        strengths = np.insert(strengths, at[added] - shift, value[added].astype(np.float32))
        size = max(nodes, int(source[added].max()) + 2 if added.any() else 0)
        counts = np.zeros(size, dtype=np.int64)
        counts[:nodes] = degrees
        counts += np.bincount(source[added], minlength=size)[:size]
        counts -= np.bincount(source[removed], minlength=size)[:size]
        indptr = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(counts)])
        return Adjacency(indptr, targets, strengths)

    def neighbours(self, node: int) -> tuple[Ids, Strengths]:
        if node < 0 or node + 1 >= len(self.indptr):
            return self.targets[:0], self.strengths[:0]
        lo, hi = self.indptr[node], self.indptr[node + 1]
        return self.targets[lo:hi], self.strengths[lo:hi]

    def edges_of(self, nodes: npt.NDArray[np.int64]) -> tuple[Ids, Ids, Strengths]:
        """Every edge of ``nodes`` as (node, neighbour, strength) arrays, without a Python loop
        over the nodes (a company of thousands of people costs a few array operations)."""
        nodes = nodes[(nodes >= 0) & (nodes + 1 < len(self.indptr))]
        starts, ends = self.indptr[nodes], self.indptr[nodes + 1]
        lengths = ends - starts
        # Positions start..end-1 of every node, concatenated: a running index shifted per node.
        shift = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        positions = np.arange(int(lengths.sum()), dtype=np.int64) + shift
        owners = np.repeat(nodes, lengths).astype(np.int32)
        return owners, self.targets[positions], self.strengths[positions]

    def strength(self, a: int, b: int) -> float:
        ids, weights = self.neighbours(a)
        at = int(np.searchsorted(ids, b))
        return float(weights[at]) if at < len(ids) and ids[at] == b else 0.0

    @property
    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.targets.nbytes + self.strengths.nbytes)


@dataclass(frozen=True)
class Graph:
    everyone: Adjacency  # every edge
    # The edges between two of the firm's people (opted out included) again, on their own: a
    # colleague's few colleague ties without a walk over their thousands of contacts (paths).
    peers: Adjacency
    colleagues: frozenset[int]  # person ids of colleagues who have not opted out
    opted_out: frozenset[int]
    built_at: datetime
    version: str
    # The weights the strengths were scored with: listings score their rows with the same
    # (a change is followed by a rebuild, which bumps the version and so this copy).
    weights: Weights = DEFAULT
    # For `refresh`: the store's epoch when the rows were read (a deletion bumps it), when
    # they were read (the next refresh reads the rows changed since), and when this copy's
    # last full build ran (every pair re-scored at least every MAX_AGE).
    epoch: str = ""
    read_at: datetime | None = None
    full_at: datetime | None = None
    changed: int | None = None  # the rows a refresh read again (None: a full build)
    # A past moment's graph (``?at=``): each pair as it stood at ``built_at``, mail after it
    # taken out (``relationships.past``); listings read their rows the same way.
    past: bool = False
    # Each colleague's newest email to anyone (``colleagues.last_sent_at``) when the rows
    # were read: the clock a colleague's side of a pair is scored against
    # (relationships.strength.Weights.quiet_after); listings read it here too.
    clocks: Mapping[int, datetime] = dataclasses.field(default_factory=dict)
    # Each colleague's clock ``TREND_WINDOW`` before ``built_at`` (as near as the pairs tell,
    # `_Newest`): the trend's base is scored against it (a refresh keeps its full build's).
    clocks_then: Mapping[int, datetime] = dataclasses.field(default_factory=dict)

    def clock(self, person: int) -> datetime | None:
        return self.clocks.get(person)

    def side_clocks(self, person: int) -> Clocks:
        """What a listing scores ``person``'s side of a pair with (relationships.ties)."""
        return Clocks(self.clocks.get(person), self.clocks_then.get(person))

    @classmethod
    def from_edges(
        cls,
        edges: Iterable[tuple[int, int, float]],
        colleagues: Iterable[int],
        opted_out: Iterable[int] = (),
        built_at: datetime | None = None,
        version: str = "",
    ) -> Graph:
        """A graph from undirected (a, b, strength) edges (tests and small builds)."""
        listed = list(edges)
        a = np.array([e[0] for e in listed], dtype=np.int32)
        b = np.array([e[1] for e in listed], dtype=np.int32)
        s = np.array([e[2] for e in listed], dtype=np.float32)
        out = frozenset(opted_out)
        return _csr(
            a,
            b,
            s,
            colleagues=frozenset(colleagues) - out,
            opted_out=out,
            built_at=built_at or utcnow(),
            version=version,
        )

    @functools.cached_property
    def is_colleague(self) -> Flags:
        """By person id: a colleague who has not opted out (index it with the graph's ids)."""
        return _flags(self.colleagues, len(self.everyone.indptr))

    @functools.cached_property
    def in_firm(self) -> Flags:
        """By person id: one of the firm's people, opted out or not."""
        return _flags(self.colleagues | self.opted_out, len(self.everyone.indptr))

    @property
    def indptr(self) -> npt.NDArray[np.int64]:
        return self.everyone.indptr

    @property
    def targets(self) -> Ids:
        return self.everyone.targets

    def neighbours(self, node: int) -> tuple[Ids, Strengths]:
        return self.everyone.neighbours(node)

    def edges_of(self, nodes: npt.NDArray[np.int64]) -> tuple[Ids, Ids, Strengths]:
        return self.everyone.edges_of(nodes)

    def strength(self, a: int, b: int) -> float:
        return self.everyone.strength(a, b)

    @property
    def nbytes(self) -> int:
        return self.everyone.nbytes + self.peers.nbytes

    @property
    def edges(self) -> int:
        return len(self.everyone.targets) // 2


def _flags(ids: frozenset[int], size: int) -> Flags:
    """A table of flags by id, long enough for every node of the graph and every id given:
    one lookup per id where ``np.isin`` would sort (the table is cached per graph copy)."""
    flags = np.zeros(max(size, max(ids, default=-1) + 1), dtype=bool)
    flags[list(ids)] = True
    return flags


def _csr(
    a: Ids,
    b: Ids,
    s: Strengths,
    *,
    colleagues: frozenset[int],
    opted_out: frozenset[int],
    built_at: datetime,
    version: str,
    weights: Weights = DEFAULT,
    epoch: str = "",
    read_at: datetime | None = None,
    full_at: datetime | None = None,
    changed: int | None = None,
    past: bool = False,
    clocks: Mapping[int, datetime] | None = None,
    clocks_then: Mapping[int, datetime] | None = None,
) -> Graph:
    firm = np.array(sorted(colleagues | opted_out), dtype=np.int32)
    inside = np.isin(a, firm) & np.isin(b, firm)
    peers = Adjacency.of(a[inside], b[inside], s[inside])
    everyone = Adjacency.of(a, b, s)
    return Graph(
        everyone,
        peers,
        colleagues,
        opted_out,
        built_at,
        version,
        weights,
        epoch,
        read_at,
        full_at,
        changed,
        past,
        clocks or {},
        clocks_then or {},
    )


@dataclass(frozen=True)
class _Store:
    """What a build or refresh reads before the rows: the version and epoch first, so a change
    committed while the rows are read leaves this copy behind the store, never ahead of it."""

    version: str
    epoch: str
    read_at: datetime
    weights: Weights
    colleagues: frozenset[int]
    opted_out: frozenset[int]
    clocks: Mapping[int, datetime]  # colleagues.last_sent_at

    @classmethod
    def read(cls, session: Session) -> _Store:
        version, epoch = current_version(session), current_epoch(session)
        read_at = utcnow()
        query = select(Colleague.person_id, Colleague.opted_out, Colleague.last_sent_at)
        flags = session.execute(query).tuples().all()
        return cls(
            version,
            epoch,
            read_at,
            load_weights(session),
            frozenset(pid for pid, out, _ in flags if not out),
            frozenset(pid for pid, out, _ in flags if out),
            {pid: at for pid, _, at in flags if at is not None},
        )

    @functools.cached_property
    def clock_days(self) -> npt.NDArray[np.float64]:
        """`clocks` by person id, in days since ``EPOCH`` (NaN: no clock)."""
        size = max(self.clocks, default=-1) + 1
        days = np.full(size + 1, np.nan)  # the last slot: every id beyond the table
        for person, at in self.clocks.items():
            days[person] = (at - EPOCH).total_seconds() / 86400
        return days

    def clocks_of(self, ids: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        table = self.clock_days
        return table[np.minimum(ids.astype(np.int64), len(table) - 1)]

    @property
    def firm(self) -> npt.NDArray[np.int64]:
        return np.array(sorted(self.colleagues | self.opted_out), dtype=np.int64)


def build(session: Session, now: datetime) -> Graph:
    store = _Store.read(session)
    then = _Newest(store, now - TREND_WINDOW)
    a, b, s = _scored(session, store, now, gather=then.add)
    return _graph(a, b, s, store, now, full_at=now, clocks_then=then.clocks())


def build_past(session: Session, moment: datetime) -> Graph:
    """Every pair as it stood at ``moment`` (``?at=``): the pairs whose mail all predates it
    scored from their sums as for `build`, the pairs with mail after it taken back to the
    moment with their newest-event lists (``relationships.past.past_block``, the arithmetic of
    ``as_of`` in NumPy), the pairs first met after it left out."""
    store = _Store.read(session)
    # Each colleague's clock at the moment and at the trend's base, in one read of the pairs.
    clocks, then = clocks_at(
        session, store.colleagues | store.opted_out, (moment, moment - TREND_WINDOW)
    )
    store = dataclasses.replace(store, clocks=clocks)
    settled = _scored(session, store, moment, settled_by=moment)
    later = _scored_later(session, store, moment)
    a, b, s = (np.concatenate([settled[i], later[i]]) for i in range(3))
    graph = _graph(a, b, s, store, moment, full_at=moment, clocks_then=then)
    return dataclasses.replace(graph, past=True)


class _Newest:
    """Each colleague's newest email not later than ``moment``, gathered from the rows a full
    build reads anyway (their side's last email over their pairs, as `clocks_at` reads it
    with a query): the clocks of the trend's base, at no extra read."""

    def __init__(self, store: _Store, moment: datetime) -> None:
        self.limit = (moment - EPOCH).total_seconds() / 86400
        self.firm = store.firm
        self.in_firm = np.zeros(int(self.firm.max(initial=-1)) + 1, dtype=bool)
        self.in_firm[self.firm] = True
        self.days = np.full(len(self.in_firm), -np.inf)

    def add(self, block: npt.NDArray[np.float64]) -> None:
        """Rows laid out as `PAIRS_SQL` reads them: a_id, b_id, ..., a's and b's last email in
        days since ``EPOCH`` (columns 8 and 9, NaN when that side never wrote)."""
        for person, sent in ((block[:, 0], block[:, 8]), (block[:, 1], block[:, 9])):
            ids = person.astype(np.int64)
            mine = ids < len(self.in_firm)
            mine[mine] = self.in_firm[ids[mine]]
            mine &= sent <= self.limit  # NaN is never
            np.maximum.at(self.days, ids[mine], sent[mine])

    def clocks(self) -> dict[int, datetime]:
        return {
            int(p): EPOCH + timedelta(days=float(self.days[p]))
            for p in self.firm
            if np.isfinite(self.days[p])
        }


def refresh(
    session: Session, graph: Graph, now: datetime, *, slack: timedelta = CHANGE_SLACK
) -> Graph:
    """``graph`` with the pairs changed since it read its rows read again and scored at
    ``now`` (rows written up to ``slack`` before that read are read again, for writers whose
    transaction was still open then); the other pairs keep their strengths. A full `build`
    when the changed rows cannot tell what changed: rows were deleted (a rebuild, a purge),
    the firm or the weights changed, or the last full build is ``MAX_AGE`` old."""
    store = _Store.read(session)
    if (
        graph.read_at is None
        or graph.full_at is None
        or store.epoch != graph.epoch
        or store.weights != graph.weights
        or store.colleagues | store.opted_out != graph.colleagues | graph.opted_out
        or now - graph.full_at >= MAX_AGE
    ):
        return build(session, now)
    moved = _moved(graph.clocks, store.clocks)
    if len(moved) > CLOCKS_MOVED_MAX:
        return build(session, now)
    # Scores use the clocks the graph's other scores used, but for the colleagues that moved.
    kept = {p: at for p, at in graph.clocks.items() if p not in moved}
    scoring = {**kept, **{p: store.clocks[p] for p in moved if p in store.clocks}}
    store = dataclasses.replace(store, clocks=scoring)
    since = graph.read_at - slack
    a, b, s = _scored(session, store, now, since=since, keep_all=True, moved=sorted(moved))
    a, b, s = _with_deletions(session, since, a, b, s)
    firm = store.firm
    inside = np.isin(a, firm) & np.isin(b, firm)
    return Graph(
        graph.everyone.patched(a, b, s),
        graph.peers.patched(a[inside], b[inside], s[inside]),
        store.colleagues,
        store.opted_out,
        now,
        store.version,
        store.weights,
        store.epoch,
        store.read_at,
        graph.full_at,
        changed=len(a),
        clocks=scoring,
        clocks_then=graph.clocks_then,
    )


def _with_deletions(
    session: Session, since: datetime, a: Ids, b: Ids, s: Strengths
) -> tuple[Ids, Ids, Strengths]:
    """The changed pairs (a, b, s) and, with strength 0 (taken out by `Adjacency.patched`),
    the pairs deleted since ``since`` (``relationship_deletions``) that were not written
    again: a partial rebuild deletes a person's rows and writes most of them back."""
    log = RelationshipDeletion.__table__.c
    query = select(log.a_id, log.b_id).where(log.deleted_at >= since)
    # Plain tuples: NumPy probes a Row object per row for the array interface, 5 µs each.
    pairs = [(a, b) for a, b in session.execute(query).tuples()]
    found = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    if not len(found):
        return a, b, s
    keys = np.unique((found[:, 0] << 32) | found[:, 1])
    written = (a.astype(np.int64) << 32) | b.astype(np.int64)
    gone = keys[~np.isin(keys, written)]
    return (
        np.concatenate([a, (gone >> 32).astype(np.int32)]),
        np.concatenate([b, (gone & 0xFFFFFFFF).astype(np.int32)]),
        np.concatenate([s, np.zeros(len(gone), dtype=np.float32)]),
    )


def _moved(scored: Mapping[int, datetime], current: Mapping[int, datetime]) -> set[int]:
    """Colleagues whose clock moved more than ``CLOCK_SLACK`` from the one their pairs were
    scored with (or appeared, or went)."""
    moved = {p for p in scored if p not in current}
    for person, at in current.items():
        before = scored.get(person)
        if before is None or abs(at - before) > CLOCK_SLACK:
            moved.add(person)
    return moved


def _graph(
    a: Ids,
    b: Ids,
    s: Strengths,
    store: _Store,
    now: datetime,
    *,
    full_at: datetime,
    changed: int | None = None,
    clocks_then: Mapping[int, datetime] | None = None,
) -> Graph:
    return _csr(
        a,
        b,
        s,
        colleagues=store.colleagues,
        opted_out=store.opted_out,
        built_at=now,
        version=store.version,
        weights=store.weights,
        epoch=store.epoch,
        read_at=store.read_at,
        full_at=full_at,
        changed=changed,
        clocks=store.clocks,
        clocks_then=clocks_then,
    )


def _scored(
    session: Session,
    store: _Store,
    now: datetime,
    *,
    since: datetime | None = None,
    settled_by: datetime | None = None,
    keep_all: bool = False,
    moved: Sequence[int] = (),
    gather: Callable[[npt.NDArray[np.float64]], None] | None = None,
) -> tuple[Ids, Ids, Strengths]:
    """(a, b, strength / 100) of every pair, or of those changed since ``since``, or of those
    whose newest event is at or before ``settled_by``; only those that weigh anything unless
    ``keep_all``."""
    dialect = session.get_bind().dialect.name
    # The driver's own cursor: plain tuples straight into NumPy, no Row objects per pair.
    cursor = session.connection().connection.cursor()
    where = ""
    params: tuple[object, ...] = ()
    if since is not None:
        moment = sqlite_datetime(since) if dialect == "sqlite" else since
        # With the pairs of every colleague whose clock moved (``refresh``).
        mark = "?" if dialect == "sqlite" else "%s"
        marks = ", ".join([mark] * len(moved))
        theirs = f" OR a_id IN ({marks}) OR b_id IN ({marks})" if moved else ""
        where, params = CHANGED_SINCE[dialect] + theirs, (moment, *moved, *moved)
    elif settled_by is not None:
        moment = sqlite_datetime(settled_by) if dialect == "sqlite" else settled_by
        where, params = SETTLED_BY[dialect], (moment,)
    if dialect == "postgresql":
        batches = copy_floats(cursor, PAIRS_SQL[dialect] + where, params, PAIR_WIDTH)
        return _strengths(batches, store, now, keep_all=keep_all, gather=gather)
    cursor.execute(PAIRS_SQL[dialect] + where, params)
    rows = iter(lambda: cursor.fetchmany(CHUNK), [])
    return _strengths(rows, store, now, keep_all=keep_all, gather=gather)


def _scored_later(session: Session, store: _Store, moment: datetime) -> tuple[Ids, Ids, Strengths]:
    """(a, b, strength / 100) at ``moment`` of the pairs met by then with mail after it, taken
    back to the moment (``relationships.past.past_block``)."""
    return _strengths(past_blocks(session, moment, store.weights), store, moment, keep_all=False)


def past_blocks(
    session: Session, moment: datetime, weights: Weights
) -> Iterator[npt.NDArray[np.float64]]:
    """The pairs met by ``moment`` with mail after it, as they stood then, block by block
    (``PAIRS_SQL``'s fourteen columns): over binary COPY on PostgreSQL, a plain fetch on
    SQLite."""
    from relationships.past import past_block, past_copy_block

    dialect = session.get_bind().dialect.name
    cursor = session.connection().connection.cursor()
    if dialect == "postgresql":
        query, params = PAST_SQL[dialect], (moment, moment)
        for block, texts in copy_floats_with_text(cursor, query, params, PAST_WIDTH):
            yield past_copy_block(block, texts, moment, weights)
        return
    cursor.execute(PAST_SQL[dialect], (sqlite_datetime(moment), sqlite_datetime(moment)))
    for batch in iter(lambda: cursor.fetchmany(CHUNK), []):
        yield past_block(batch, moment, weights)


def _strengths(
    batches: Iterable[Sequence[Sequence[float]] | npt.NDArray[np.float64]],
    store: _Store,
    now: datetime,
    *,
    keep_all: bool,
    gather: Callable[[npt.NDArray[np.float64]], None] | None = None,
) -> tuple[Ids, Ids, Strengths]:
    """(a, b, strength / 100) of each batch's pairs (rows laid out as `PAIRS_SQL` reads them)
    scored at ``now``; only those that weigh anything unless ``keep_all``. ``gather`` sees
    every block (`_Newest`)."""
    firm = store.firm
    parts: list[tuple[Ids, Ids, Strengths]] = []
    for batch in batches:
        block = np.asarray(batch, dtype=np.float64)
        if gather is not None:
            gather(block)
        scores = edge_scores(block, firm, now, store.weights, store.clocks_of)
        keep = scores > MIN_SCORE
        if keep_all:
            keep[:] = True
            scores = np.where(scores > MIN_SCORE, scores, 0.0)
        parts.append(
            (
                block[keep, 0].astype(np.int32),
                block[keep, 1].astype(np.int32),
                (scores[keep] / 100).astype(np.float32),
            )
        )
    if not parts:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32)
    a, b, s = (np.concatenate([p[i] for p in parts]) for i in range(3))
    return a, b, s


def edge_scores(
    block: npt.NDArray[np.float64],
    firm: npt.NDArray[np.int64],
    now: datetime,
    weights: Weights,
    clocks_of: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]] | None = None,
) -> npt.NDArray[np.float64]:
    """One strength per pair (rows of a_id, b_id, then the columns of ``scores_now``): the
    colleague's side of a colleague-contact pair (mail the colleague writes counts more), else
    the stronger side. ``clocks_of``: each person's newest email to anyone in days since
    ``EPOCH``, NaN for people who are not colleagues."""
    clocks_a = clocks_of(block[:, 0]) if clocks_of else None
    clocks_b = clocks_of(block[:, 1]) if clocks_of else None
    from_a = scores_now(block[:, 2:], now, weights, clocks=clocks_a)
    from_b = scores_now(
        block[:, 2:], now, weights, from_a=np.zeros(len(block), dtype=bool), clocks=clocks_b
    )
    a_in, b_in = np.isin(block[:, 0], firm), np.isin(block[:, 1], firm)
    stronger = np.maximum(from_a, from_b)
    return np.where(a_in & ~b_in, from_a, np.where(b_in & ~a_in, from_b, stronger))


def current_version(session: Session) -> str:
    return str(session.scalar(select(Setting.value).where(Setting.key == VERSION_KEY)) or "")


def current_epoch(session: Session) -> str:
    return str(session.scalar(select(Setting.value).where(Setting.key == EPOCH_KEY)) or "")


class GraphCache:
    """This process's graph, thread-safe. The first request builds it. After that, the request
    that finds the copy stale (older than ``REFRESH``, with new mail in the store) starts one
    renewal (`refresh`, or a full `build`) in a background thread and answers from the copy,
    as do the requests after it, until the new copy replaces it: at 3,000,000 pairs a full
    build takes 5-10 s (docs/scale.md), which no request then waits for. A copy older than
    ``ANSWER_WITHIN`` never answers (a worker that sat idle): that request waits for the new
    copy. Without ``sessions`` (a bare cache) a stale copy is renewed inline, by the request
    that finds it."""

    def __init__(self, sessions: Callable[[], Session] | None = None) -> None:
        self._sessions = sessions
        self._forget()
        # A process forked from this one (gunicorn --preload) starts with no copy and a lock of
        # its own: a copy, a thread or a lock held mid-build do not cross a fork.
        cache = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forget_in_child(cache))

    def _forget(self) -> None:
        self._graph: Graph | None = None
        self._lock = threading.Lock()
        self._rebuild: threading.Thread | None = None
        self._warming: threading.Thread | None = None

    def warm(self) -> threading.Thread | None:
        """Build this process's first copy in a background thread, as the app starts: requests
        arriving meanwhile wait for it (as they would for the first request's build), and
        requests after it find it built. A failure is logged; the first request tries again."""
        if self._sessions is None:
            return None
        sessions = self._sessions

        def first_copy() -> None:
            try:
                with sessions() as session:
                    self.get(session)
            except Exception:
                log.exception("relationship graph: the first build at start failed")

        thread = threading.Thread(target=first_copy, name="rapport-graph-warm", daemon=True)
        self._warming = thread
        thread.start()
        return thread

    def get(self, session: Session, now: datetime | None = None) -> Graph:
        now = now or utcnow()
        graph = self._graph
        if graph is not None and now - graph.built_at < REFRESH:
            return graph
        with self._lock:
            graph = self._graph
            if graph is not None and now - graph.built_at < REFRESH:
                return graph  # another request refreshed it meanwhile
            rebuild = self._rebuild if self.rebuilding else None
            if rebuild is None:
                if (
                    graph is not None
                    and now - (graph.full_at or graph.built_at) < MAX_AGE
                    and current_version(session) == graph.version
                ):
                    # Unchanged: keep the copy, look again after REFRESH.
                    self._graph = dataclasses.replace(graph, built_at=now)
                    return self._graph
                if graph is None or self._sessions is None or now - graph.built_at >= ANSWER_WITHIN:
                    self._graph = _next(session, graph, now)
                    return self._graph
                rebuild = threading.Thread(
                    target=self._build_in_background, name="rapport-graph-rebuild", daemon=True
                )
                self._rebuild = rebuild
                rebuild.start()
            assert graph is not None  # a rebuild only starts from a copy
            if now - graph.built_at < ANSWER_WITHIN:
                return graph
        # The copy is too old to answer while the rebuild runs: wait for the new one (if the
        # rebuild failed, the next look builds it inline).
        rebuild.join()
        fresh = self._graph
        return fresh if fresh is not None and fresh is not graph else self.get(session, now)

    @property
    def rebuilding(self) -> bool:
        rebuild = self._rebuild
        return rebuild is not None and rebuild.is_alive()

    def settle(self, timeout: float | None = None) -> None:
        """Wait for a background build (`warm`) or rebuild to finish (tests, and a clean
        shutdown)."""
        for thread in (self._warming, self._rebuild):
            if thread is not None:
                thread.join(timeout)

    def _build_in_background(self) -> None:
        assert self._sessions is not None
        try:
            with self._sessions() as session:
                fresh = _next(session, self._graph, utcnow())
        except Exception:
            # The old copy keeps answering; the next request after REFRESH tries again.
            log.exception("relationship graph: rebuild failed")
            return
        with self._lock:
            self._graph = fresh


def _forget_in_child(cache: weakref.ref[GraphCache]) -> None:
    found = cache()
    if found is not None:
        found._forget()


def _next(session: Session, graph: Graph | None, now: datetime) -> Graph:
    """The copy after ``graph``: its changed pairs read again (`refresh`), or a full build."""
    return build(session, now) if graph is None else refresh(session, graph, now)


class Busy(Exception):
    """This process is building another moment's graph: try again shortly."""


class PastGraphs:
    """Graphs for past moments (``?at=``, `build_past`), thread-safe. Each is a full build
    (seconds and tens of MB at 3,000,000 pairs: docs/scale.md), so a process builds one at a
    time (requests for other moments wait up to ``wait``, then get `Busy`; the current graph
    is not held up) and keeps the last ``PAST_KEPT``, each for its moment and the store's
    version: asking again for the same moment, before new mail arrives, costs nothing."""

    def __init__(self, kept: int = PAST_KEPT, wait: timedelta = PAST_WAIT) -> None:
        self._lock = threading.Lock()
        self._kept, self._wait = kept, wait
        self._graphs: OrderedDict[tuple[datetime, str], Graph] = OrderedDict()

    def get(self, session: Session, at: datetime) -> Graph:
        key = (at, current_version(session))
        if not self._lock.acquire(timeout=self._wait.total_seconds()):
            raise Busy(f"another moment's graph is being built (over {self._wait.seconds} s)")
        try:
            graph = self._graphs.get(key)
            if graph is None:
                graph = build_past(session, at)
                self._graphs[key] = graph
                while len(self._graphs) > self._kept:
                    self._graphs.popitem(last=False)
            self._graphs.move_to_end(key)
            return graph
        finally:
            self._lock.release()

"""Relationship intelligence at firm scale: connectors, coverage and paths latency.

Generates a firm of 1,000 colleagues, 300,000 people at 20,000 companies and 3,000,000 pair
aggregates with heavy-tailed degrees (a few colleagues and companies with thousands of ties),
writes it straight into the store (SQLite and PostgreSQL), then measures p50/p95/p99 latency
of the real API handlers (Flask test client, warm): connectors, coverage, paths. In the same
run the same bounded (at most 3 hops) path queries run on a networkx graph of the same edges,
as a ratio. Also reports the memory of the in-memory graph; requests while a full rebuild
runs in the background, against an inline one; an incremental refresh after new mail against
a full build (and that both give the same graph); on PostgreSQL, binary COPY against
``fetchmany`` for every pair of a full build and for the pairs a past graph takes back (the
same edges, the same rows); past graphs against a full build of now; and the ingest cost of
the index the refresh reads, against the upsert without it.

    python bench/relationships.py [--pairs 3000000] [--skip-sqlite] [--skip-pg] [--queries 300]
        [--sqlite-path FILE] [--pg-url URL] [--reuse]

Long: writes its report to stdout; run it in the background with a redirect if needed. With
``--reuse`` a store that already holds the generated firm (same pair count) is measured as it
is instead of being written again (the 3-million-pair load takes minutes; a run adds pairs,
so the next ``--reuse`` loads again).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.scratch_db import recreate_database  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/rapport_scale"  # dropped and recreated
COLLEAGUES = 1_000
PEOPLE = 300_000
COMPANIES = 20_000
SECRET = "bench-secret-key-that-is-long-enough-for-hs256"
# Requests while the graph is rebuilt come one every PACE seconds (a busy worker; a client
# calling back to back would hold the GIL against the rebuild thread the whole time).
PACE = 0.01
# incremental_refresh: ingest pages of 100 emails between two refreshes (a firm of 1,000 sends
# some 50,000 emails a day, about 20 per refresh interval: this is fifty times that).
PAGES = 10
REMOVED = 20  # people whose pairs a removal deletes before the refresh is timed
INDEX_PAGES = 50  # index_cost: pages per measurement, ROUNDS times with and without the index
ROUNDS = 3


def zipf_choice(rng: np.random.Generator, n: int, size: int, exponent: float) -> np.ndarray:
    """Indexes 0..n-1 drawn with probability proportional to 1 / (rank + 1) ** exponent."""
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return rng.choice(n, size=size, p=weights / weights.sum())


def generate(pairs: int, seed: int = 7) -> dict[str, np.ndarray]:
    from relationships.strength import EPOCH, growth
    from storage.types import utcnow

    rng = np.random.default_rng(seed)
    now = utcnow()
    colleague_ids = np.arange(1, COLLEAGUES + 1)
    external_ids = np.arange(COLLEAGUES + 1, PEOPLE + 1)
    company = zipf_choice(rng, COMPANIES, len(external_ids), 0.75) + 1
    kinds = rng.random(int(pairs * 1.6))  # duplicates are dropped below
    a = np.where(
        kinds < 0.95,
        colleague_ids[zipf_choice(rng, COLLEAGUES, len(kinds), 0.6)],
        external_ids[zipf_choice(rng, len(external_ids), len(kinds), 0.9)],
    )
    b = np.where(
        kinds < 0.05,
        colleague_ids[rng.integers(0, COLLEAGUES, len(kinds))],
        external_ids[zipf_choice(rng, len(external_ids), len(kinds), 0.9)],
    )
    low, high = np.minimum(a, b), np.maximum(a, b)
    keys = np.unique(low.astype(np.int64) * (PEOPLE + 1) + high)
    keys = keys[(keys // (PEOPLE + 1)) != (keys % (PEOPLE + 1))][:pairs]
    a, b = (keys // (PEOPLE + 1)).astype(np.int64), (keys % (PEOPLE + 1)).astype(np.int64)
    n = len(a)
    days_ago = np.minimum(rng.exponential(200, n), 1500)
    span = rng.exponential(300, n)
    count = rng.geometric(0.15, n).astype(np.float64)
    share = rng.beta(2, 2, n)
    # Growth-form sums as the engine stores them (relationships.strength.growth), as if all of
    # a pair's events had happened at its last contact.
    age_growth_warm = growth(now, 60.0) * 2.0 ** (-days_ago / 60.0)
    age_growth_hist = growth(now, 730.0) * 2.0 ** (-days_ago / 730.0)
    weight = rng.uniform(0.3, 1.0, n)
    meetings = rng.poisson(0.3, n).astype(np.float64)
    ab = np.round(count * share).astype(np.int64)
    ba = np.round(count * (1 - share)).astype(np.int64)
    minutes = ((now - EPOCH).total_seconds() / 60 - days_ago * 1440).astype(np.int64)
    # Each colleague's newest email to anyone (colleagues.last_sent_at): as the engine keeps
    # it, the newest of their side's last emails over their pairs (each side's last email is
    # the pair's last contact, the other side's a minute before it). NaN: never wrote.
    clock = np.full(COLLEAGUES + 1, np.inf)
    wrote_a, wrote_b = (ab > 0) & (a <= COLLEAGUES), (ba > 0) & (b <= COLLEAGUES)
    np.minimum.at(clock, a[wrote_a], days_ago[wrote_a])
    np.minimum.at(clock, b[wrote_b], days_ago[wrote_b] + 1 / 1440)
    return {
        "clock_days": np.where(np.isinf(clock[1:]), np.nan, clock[1:]),
        "a": a,
        "b": b,
        "company": company,
        "email_ab": ab,
        "email_ba": ba,
        # The newest events as the engine keeps them (relationships.recent), one a day back
        # from the last contact: the rows are as wide as real ones.
        "recent_ab": recent_lists(minutes, ab, weight),
        "recent_ba": recent_lists(minutes - 1, ba, weight),
        "meetings": meetings.astype(np.int64),
        "last_days": days_ago,
        "first_days": days_ago + span,
        "ab_warm": count * share * weight * age_growth_warm,
        "ab_history": count * share * weight * age_growth_hist,
        "ba_warm": count * (1 - share) * weight * age_growth_warm,
        "ba_history": count * (1 - share) * weight * age_growth_hist,
        "mtg_warm": meetings * 3 * age_growth_warm,
        "mtg_history": meetings * 3 * age_growth_hist,
    }


def recent_lists(
    last_minute: np.ndarray, counts: np.ndarray, weight: np.ndarray
) -> list[str | None]:
    from relationships.recent import KEEP, SLOT, WEIGHT_SCALE

    packed = np.round(weight * WEIGHT_SCALE).astype(np.int64)
    lists: list[str | None] = []
    for minute, n, w in zip(last_minute.tolist(), counts.tolist(), packed.tolist(), strict=True):
        values = [(minute - day * 1440) * SLOT + w for day in range(min(n, KEEP))]
        lists.append("[" + ",".join(map(str, values)) + "]" if values else None)
    return lists


# --- loading ----------------------------------------------------------------------------------


def load(url: str, data: dict[str, np.ndarray]) -> float:
    """Write the firm into a fresh store; returns seconds."""
    from storage.db import Database
    from storage.types import utcnow

    if url.startswith("postgresql"):
        recreate_database(url)
    db = Database(url)
    db.upgrade()
    started = time.perf_counter()
    now = utcnow()
    stamp = (lambda d: d.isoformat()) if url.startswith("postgresql") else _sqlite_time
    companies = [(i, f"Company {i}", f"company{i}.example") for i in range(1, COMPANIES + 1)]
    people: list[tuple[int, str, int | None]] = [
        (i, f"Colleague {i}", None) for i in range(1, COLLEAGUES + 1)
    ]
    people += [
        (int(pid), f"Person {pid}", int(c))
        for pid, c in zip(range(COLLEAGUES + 1, PEOPLE + 1), data["company"], strict=True)
    ]
    relationships = [
        (
            int(a),
            int(b),
            int(ab),
            int(ba),
            int(m),
            stamp(now - timedelta(days=float(f))),
            stamp(now - timedelta(days=float(last))),
            stamp(now - timedelta(days=float(last))) if ab else None,
            stamp(now - timedelta(days=float(last) + 1 / 1440)) if ba else None,
            float(aw),
            float(ah),
            float(bw),
            float(bh),
            float(mw),
            float(mh),
            rab,
            rba,
        )
        for a, b, ab, ba, m, f, last, aw, ah, bw, bh, mw, mh, rab, rba in zip(
            *(
                data[k]
                for k in (
                    "a",
                    "b",
                    "email_ab",
                    "email_ba",
                    "meetings",
                    "first_days",
                    "last_days",
                    "ab_warm",
                    "ab_history",
                    "ba_warm",
                    "ba_history",
                    "mtg_warm",
                    "mtg_history",
                    "recent_ab",
                    "recent_ba",
                )
            ),
            strict=True,
        )
    ]
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        mark = "%s" if url.startswith("postgresql") else "?"
        if not url.startswith("postgresql"):
            # A scratch file: a large page cache keeps the index inserts off the disk.
            cursor.execute("PRAGMA cache_size = -1000000")
            cursor.execute("PRAGMA synchronous = OFF")
        ts = stamp(now)

        def many(sql: str, rows: list[tuple[Any, ...]], width: int) -> None:
            marks = ", ".join([mark] * width)
            cursor.executemany(sql.replace("VALUES", f"VALUES ({marks})"), rows)

        many(
            "INSERT INTO companies (id, name, primary_domain, created_at) VALUES",
            [(*c, ts) for c in companies],
            4,
        )
        many(
            "INSERT INTO people (id, display_name, company_id, phones, provenance, created_at,"
            " updated_at) VALUES",
            [(pid, name, cid, "[]", "{}", ts, ts) for pid, name, cid in people],
            7,
        )
        many(
            "INSERT INTO colleagues (id, person_id, email, opted_out, is_admin, created_at,"
            " last_sent_at) VALUES",
            [
                (i, i, f"colleague{i}@firm.example", False, i == 1, ts, clock)
                for i, clock in zip(
                    range(1, COLLEAGUES + 1),
                    (
                        None if np.isnan(d) else stamp(now - timedelta(days=float(d)))
                        for d in data["clock_days"]
                    ),
                    strict=True,
                )
            ],
            7,
        )
        many(
            "INSERT INTO relationships (a_id, b_id, email_ab, email_ba, meetings, first_at,"
            " last_at, last_ab_at, last_ba_at, ab_warm, ab_history, ba_warm, ba_history,"
            " mtg_warm, mtg_history, recent_ab, recent_ba) VALUES",
            relationships,
            17,
        )
        raw.commit()
    finally:
        raw.close()
    if url.startswith("postgresql"):
        # What autovacuum does to a live store (it may be off on a benchmark server): the
        # planner's statistics, and the visibility map that lets index-only scans skip the
        # table. SQLite has neither.
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE"
            )
    db.dispose()
    return time.perf_counter() - started


def _sqlite_time(value: Any) -> str:
    from storage.bulk import sqlite_datetime

    return sqlite_datetime(value)


# --- measuring --------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return f"p50 {at(0.50):7.2f} ms  p95 {at(0.95):7.2f} ms  p99 {at(0.99):7.2f} ms"


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of this process for one call: on a shared machine the CPU
    time (SQLite runs in-process) shows the work itself, the wall clock the waiting too."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(url: str, data: dict[str, np.ndarray], queries: int, label: str) -> Any:
    from api.tokens import issue_dev_token
    from app import create_app

    config = {
        "DATABASE_URL": url,
        "RAPPORT_DEV_AUTH": "1",
        "RAPPORT_SECRET_KEY": SECRET,
        "RAPPORT_SCHEDULER": "0",
        "RAPPORT_GRAPH_WARM": "0",  # the first request's build is timed
        "RAPPORT_FIRM_DOMAINS": "firm.example",
    }
    app = create_app(config)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {issue_dev_token(app.config, 'colleague1@firm.example')}"}
    rng = random.Random(11)
    externals = [int(x) for x in data["b"][data["b"] > COLLEAGUES]]
    companies = [int(c) for c in data["company"]]

    def get(path: str) -> None:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.get_json())

    started = time.perf_counter()
    get(f"/api/v1/paths?to={externals[0]}")  # builds this worker's graph
    build_seconds = time.perf_counter() - started
    graph = app.extensions["rapport.graph"].get(app.extensions["rapport.db"].sessions())
    print(
        f"{label}: in-memory graph {graph.edges:,} edges, {graph.nbytes / 2**20:.0f} MB,"
        f" built in {build_seconds:.1f} s"
    )

    def connectors() -> str:
        return f"/api/v1/people/{rng.choice(externals)}/connectors"

    def coverage() -> str:
        return f"/api/v1/companies/{rng.choice(companies)}/coverage"

    def paths() -> str:
        return f"/api/v1/paths?to={rng.choice(externals)}&from={rng.randint(1, COLLEAGUES)}"

    kinds: tuple[tuple[str, Callable[[], str]], ...] = (
        ("connectors", connectors),
        ("coverage", coverage),
        ("paths", paths),
        ("floor (/me)", lambda: "/api/v1/me"),  # auth, session and JSON: the fixed cost
    )
    for _, make in kinds:
        for _ in range(20):
            get(make())  # warm
    if url.startswith("postgresql"):
        database = app.extensions["rapport.db"]
        # Both engines: read-only requests use the autocommit one (storage/db.py). A ping of
        # a connection idle for long runs before the trace starts: none happens here.
        engines = (database.engine, database.read_engine)
        for name, make in kinds:
            trips = round_trips(engines, get, make)
            print(f"{label} {name:<11} round trips per request: {trips}")
    # Round robin, so that every endpoint meets the same neighbours on a shared machine.
    walls: dict[str, list[float]] = {name: [] for name, _ in kinds}
    cpus: dict[str, list[float]] = {name: [] for name, _ in kinds}
    print(f"{label}: load average before {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for _ in range(queries):
        for name, make in kinds:
            wall, cpu = timed(partial(_call, get, make))
            walls[name].append(wall)
            cpus[name].append(cpu)
    for name, _ in kinds:
        print(f"{label} {name:<11} wall {percentiles(walls[name])}")
        print(f"{label} {name:<11} cpu  {percentiles(cpus[name])}")
    print(f"{label}: load average after {os.getloadavg()[0]:.1f}")
    for background in (True, False):
        refresh_stall(app, get, connectors, label, background)
    incremental_refresh(app, data, label)
    if url.startswith("postgresql"):
        copy_against_fetch(app, label)
        past_copy_against_fetch(app, label)
    past_builds(app, label)
    index_cost(app, data, label)
    app.extensions["rapport.db"].dispose()
    return graph


def ingest_pages(
    database: Any, rng: np.random.Generator, externals: np.ndarray, pages: int
) -> tuple[float, float]:
    """``pages`` pages of 100 emails (a colleague to a person) through the product's aggregate
    upsert, one transaction each; the wall and CPU seconds they took."""
    from relationships.aggregate_store import apply
    from relationships.aggregates import PairDeltas, add_interaction
    from relationships.settings import load_weights

    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(pages):
        with database.transaction() as session:
            deltas = PairDeltas(weights=load_weights(session))
            for _ in range(100):
                colleague, person = int(rng.integers(1, COLLEAGUES + 1)), int(rng.choice(externals))
                roles = [("from", colleague, None), ("to", person, None)]
                add_interaction(deltas, "email", datetime.now(UTC), roles)
            apply(session, deltas)
    return time.perf_counter() - started, time.process_time() - cpu


def index_cost(app: Any, data: dict[str, np.ndarray], label: str) -> None:
    """The price of incremental refresh at ingest: the index on ``changed_at`` updated for
    every touched pair. Pages ingested with the index and, as the baseline, without it
    (dropped for the measurement, then created again), alternating, after untimed pages that
    warm the caches (the first pages after a build read the table from disk)."""
    from sqlalchemy import text

    database = app.extensions["rapport.db"]
    rng = np.random.default_rng(9)
    externals = data["b"][data["b"] > COLLEAGUES]
    seconds: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    ingest_pages(database, rng, externals, INDEX_PAGES)  # warm: the first pages read from disk
    for _ in range(ROUNDS):
        for indexed in (True, False):
            if not indexed:
                with database.transaction() as session:
                    session.execute(text("DROP INDEX ix_relationships_changed_at"))
            seconds[indexed].append(ingest_pages(database, rng, externals, INDEX_PAGES))
            if not indexed:
                with database.transaction() as session:
                    session.execute(
                        text(
                            "CREATE INDEX ix_relationships_changed_at ON relationships (changed_at)"
                        )
                    )
    (wall, cpu), (bare_wall, bare_cpu) = (
        tuple(sum(part) for part in zip(*seconds[indexed], strict=True))
        for indexed in (True, False)
    )
    print(
        f"{label} ingest of {ROUNDS * INDEX_PAGES} pages of 100 emails with the changed_at index:"
        f" wall {wall:.2f} s, client cpu {cpu:.2f} s; without it {bare_wall:.2f} s and"
        f" {bare_cpu:.2f} s ({wall / bare_wall:.2f}x wall)"
    )


def incremental_refresh(app: Any, data: dict[str, np.ndarray], label: str) -> None:
    """What an API worker does every half minute while mail flows: refresh its graph from
    the pairs changed since its last read, against the baseline of a full build, after
    ``PAGES`` ingest pages of 100 emails each (a colleague writing to a person, through the
    product's own aggregate upsert) and the pairs of ``REMOVED`` people deleted (the product's
    partial rebuild, as after a removal or a purge: the generated store holds no
    interactions, so none is written back). Both are checked to give the same graph."""
    from relationships.aggregate_store import rebuild
    from relationships.graph import build, refresh

    database = app.extensions["rapport.db"]
    rng = np.random.default_rng(5)
    externals = data["b"][data["b"] > COLLEAGUES]
    # Every graph here is scored for one moment, so the refresh must equal the full build.
    now = datetime.now(UTC) + timedelta(minutes=5)
    with database.read_sessions() as session:
        before = build(session, now)
    ingest_pages(database, rng, externals, PAGES)
    with database.transaction() as session:
        removed = rebuild(session, rng.choice(externals, REMOVED, replace=False).tolist())
    with database.read_sessions() as session:
        incremental, incremental_cpu = timed(lambda: refresh(session, before, now))
        refreshed = refresh(session, before, now)
        full, full_cpu = timed(lambda: build(session, now))
        built = build(session, now)
    # A colleague whose clock moved by less than CLOCK_SLACK keeps the clock their pairs were
    # scored with until the next full build: their pairs may differ, by the quiet factor only.
    drifted = np.array(
        sorted(p for p, at in built.clocks.items() if refreshed.clocks.get(p) != at), dtype=int
    )
    same, largest = True, 0.0
    for x, y in ((refreshed.everyone, built.everyone), (refreshed.peers, built.peers)):
        if not (
            np.array_equal(x.indptr[: len(y.indptr)], y.indptr[: len(x.indptr)])
            and np.array_equal(x.targets, y.targets)
        ):
            same = False
            continue
        owners = np.repeat(np.arange(len(x.indptr) - 1), np.diff(x.indptr))
        apart = np.abs(x.strengths - y.strengths) > 1e-6
        explained = np.isin(owners, drifted) | np.isin(x.targets, drifted)
        same &= bool(not (apart & ~explained).any())
        if apart.any():
            largest = max(largest, float(np.abs(x.strengths - y.strengths)[apart].max()) * 100)
    read = (
        "a full build instead: too many clocks moved"
        if refreshed.changed is None
        else f"{refreshed.changed:,} pairs read again or taken out"
    )
    print(
        f"{label} graph refresh after {PAGES} pages of 100 emails and the pairs of {REMOVED}"
        f" people deleted ({read} of {built.edges:,}; {removed} written back):"
        f" {incremental * 1000:.0f} ms wall"
        f" ({incremental_cpu * 1000:.0f} ms cpu) against a full build's {full:.1f} s"
        f" ({full_cpu:.1f} s cpu): {full / incremental:.0f}x less wall time;"
        f" same graph: {'yes' if same else 'NO'} (but the pairs of {len(drifted):,} colleagues"
        f" whose clock moved less than a week, kept until the next full build: at most"
        f" {largest:.2f} points apart)"
    )


def copy_against_fetch(app: Any, label: str) -> None:
    """How a full build reads every pair on PostgreSQL: binary COPY straight into NumPy
    (``storage.float_copy``), against the baseline of the cursor's ``fetchmany`` (a Python
    tuple per row), each scored the same way; both give the same edges."""
    from relationships.graph import CHUNK, PAIRS_SQL, _scored, _Store, _strengths

    database = app.extensions["rapport.db"]
    now = datetime.now(UTC)
    with database.read_sessions() as session:
        store = _Store.read(session)
        cursor = session.connection().connection.cursor()

        def fetched() -> tuple[Any, ...]:
            cursor.execute(PAIRS_SQL["postgresql"])
            batches = iter(lambda: cursor.fetchmany(CHUNK), [])
            return _strengths(batches, store, now, keep_all=False)

        found, (wall, cpu), (base_wall, base_cpu) = best_of_two(
            partial(_scored, session, store, now), fetched
        )
    same = all(np.array_equal(x, y) for x, y in zip(*found, strict=True))
    print(
        f"{label} every pair read and scored (the best of two): binary COPY {wall:.1f} s wall"
        f" ({cpu:.1f} s cpu), fetchmany {base_wall:.1f} s ({base_cpu:.1f} s cpu):"
        f" {base_wall / wall:.2f}x less wall time; same edges: {'yes' if same else 'NO'}"
    )


def past_copy_against_fetch(app: Any, label: str, days: int = 90) -> None:
    """How a past graph reads the pairs with mail after its moment on PostgreSQL: binary COPY
    with each newest-event list as ``KEEP`` numbers (``relationships.graph.past_blocks``),
    against the baseline of ``fetchmany`` with the lists as the stored JSON text, parsed in
    Python (``relationships.past.past_block``, SQLite's way); both take the rows back alike."""
    from relationships.graph import CHUNK, PAIRS_SQL, past_blocks
    from relationships.past import past_block
    from relationships.strength import DEFAULT

    text_query = PAIRS_SQL["postgresql"].replace(
        " FROM relationships",
        ", recent_ab, recent_ba, recent_mtg, extract(epoch FROM first_at)::float8 / 86400"
        " - 10957 FROM relationships WHERE last_at > %s AND first_at <= %s",
    )
    database = app.extensions["rapport.db"]
    moment = datetime.now(UTC) - timedelta(days=days)
    with database.read_sessions() as session:
        cursor = session.connection().connection.cursor()

        def fetched() -> np.ndarray:
            cursor.execute(text_query, (moment, moment))
            batches = iter(lambda: cursor.fetchmany(CHUNK), [])
            return np.concatenate([past_block(b, moment, DEFAULT) for b in batches])

        def copied() -> np.ndarray:
            return np.concatenate(list(past_blocks(session, moment, DEFAULT)))

        (got, want), (wall, cpu), (base_wall, base_cpu) = best_of_two(copied, fetched)
    got, want = got[np.lexsort(got[:, 1::-1].T)], want[np.lexsort(want[:, 1::-1].T)]
    same = got.shape == want.shape and np.allclose(got, want, rtol=1e-12, equal_nan=True)
    print(
        f"{label} past graph {days} days back, the {len(got):,} pairs with later mail read and"
        f" taken back (the best of two): binary COPY {wall:.1f} s wall ({cpu:.1f} s cpu),"
        f" fetchmany with JSON lists {base_wall:.1f} s ({base_cpu:.1f} s cpu):"
        f" {base_wall / wall:.2f}x less wall time; same rows: {'yes' if same else 'NO'}"
    )


def best_of_two(
    ours: Callable[[], Any], baseline: Callable[[], Any]
) -> tuple[tuple[Any, Any], tuple[float, float], tuple[float, float]]:
    """Both run twice, alternating; their results and the best (wall, cpu) of each."""
    found: list[Any] = [None, None]
    seconds: list[list[tuple[float, float]]] = [[], []]

    def run(i: int) -> None:
        found[i] = (ours, baseline)[i]()

    for _ in range(2):
        for i in (0, 1):
            seconds[i].append(timed(partial(run, i)))
    return (found[0], found[1]), min(seconds[0]), min(seconds[1])


def past_builds(app: Any, label: str) -> None:
    """``?at=`` graphs: every pair as it stood at a past moment, those with mail after it
    taken back to it (``relationships.past.past_block``), against the baseline of a full
    build of now."""
    from sqlalchemy import func, select

    from relationships.graph import build, build_past
    from storage.models import Relationship
    from storage.types import utcnow

    database = app.extensions["rapport.db"]
    now = utcnow()
    with database.read_sessions() as session:
        full, full_cpu = timed(lambda: build(session, now))
        for days in (7, 90, 365):
            moment = now - timedelta(days=days)
            later = session.scalar(
                select(func.count())
                .select_from(Relationship)
                .where(Relationship.last_at > moment, Relationship.first_at <= moment)
            )
            wall, cpu = timed(partial(build_past, session, moment))
            print(
                f"{label} past graph {days} days back ({later:,} pairs taken back):"
                f" {wall:.1f} s wall ({cpu:.1f} s cpu) against a full build of now"
                f" {full:.1f} s ({full_cpu:.1f} s cpu): {wall / full:.2f}x"
            )


def refresh_stall(
    app: Any, get: Callable[[str], None], make: Callable[[], str], label: str, background: bool
) -> None:
    """Connectors requests right after a full rebuild became due (every row deleted: a full
    rebuild after a change of weights; new mail, removals and purges are an incremental
    refresh, `incremental_refresh`): with the
    product's background rebuild (requests answer from the old copy meanwhile) or, as the
    baseline, an inline one (the request that finds the copy stale builds the new one, and
    waits)."""
    from relationships.aggregate_store import rows_deleted
    from relationships.graph import REFRESH, GraphCache

    database = app.extensions["rapport.db"]
    cache = GraphCache(database.read_sessions if background else None)
    app.extensions["rapport.graph"] = cache
    get(make())  # this cache's first copy
    with database.transaction() as session:
        rows_deleted(session)  # as a full rebuild does: the next copy is a full build
    time.sleep(REFRESH.total_seconds() + 0.5)  # the copy is now due for a look
    walls: list[float] = []
    started = time.perf_counter()
    while True:
        wall, _ = timed(partial(_call, get, make))
        walls.append(wall)
        time.sleep(PACE)
        if not cache.rebuilding:  # the inline baseline: after its one, blocking request
            break
    cache.settle()
    print(
        f"{label} refresh, {'background' if background else 'inline (baseline)'} rebuild:"
        f" {len(walls)} request(s) until the new copy answered in"
        f" {time.perf_counter() - started:.1f} s; wall {percentiles(walls)}, worst"
        f" {max(walls) * 1000:.0f} ms"
    )


def _call(get: Callable[[str], None], make: Callable[[], str]) -> None:
    get(make())


def round_trips(
    engines: tuple[Any, ...], get: Callable[[str], None], make: Callable[[], str]
) -> int:
    """The messages PostgreSQL answered during one request from checkout to checkin (BEGIN,
    each statement, ROLLBACK where there is a transaction), from libpq's own trace of the
    connections of ``engines``."""
    from sqlalchemy import event

    with tempfile.TemporaryFile() as trace:

        def on(dbapi_connection: Any, *_: Any) -> None:
            dbapi_connection.pgconn.trace(trace.fileno())

        def off(dbapi_connection: Any, *_: Any) -> None:
            dbapi_connection.pgconn.untrace()

        for engine in engines:
            event.listen(engine, "checkout", on)
            event.listen(engine, "checkin", off)
        try:
            get(make())
        finally:
            for engine in engines:
                event.remove(engine, "checkout", on)
                event.remove(engine, "checkin", off)
        trace.seek(0)
        return sum(1 for line in trace if b"\tReadyForQuery" in line)


def networkx_ratio(graph: Any, queries: int) -> None:
    import networkx as nx

    from relationships.paths import HOP_PENALTY, find_paths

    started = time.perf_counter()
    g = nx.Graph()
    for node in range(len(graph.indptr) - 1):
        ids, strengths = graph.neighbours(node)
        g.add_weighted_edges_from(
            (node, int(t), float(s)) for t, s in zip(ids, strengths, strict=True) if t > node
        )
    print(f"networkx graph of the same edges built in {time.perf_counter() - started:.0f} s")
    rng = random.Random(13)
    targets = [
        int(t) for t in graph.targets[:: max(1, len(graph.targets) // 5000)] if t > COLLEAGUES
    ]

    def nx_paths(source: int, target: int) -> list[tuple[float, tuple[int, ...]]]:
        found = []
        into = g.adj.get(target, {})
        for colleague, first in g[source].items() if source in g else []:
            if colleague > COLLEAGUES or colleague == target:
                continue
            options: list[tuple[float, tuple[int, ...]]] = []
            if colleague in into:
                options.append((into[colleague]["weight"] * HOP_PENALTY, (colleague, target)))
            around = g[colleague]
            small, large = (around, into) if len(around) < len(into) else (into, around)
            best = max(
                (
                    (small[x]["weight"] * large[x]["weight"], x)
                    for x in small
                    if x in large and x not in (source, target, colleague)
                ),
                default=None,
            )
            if best:
                options.append((best[0] * HOP_PENALTY**2, (colleague, best[1], target)))
            if options:
                value, rest = max(options)
                found.append((first["weight"] * value, (source, *rest)))
        # As ours: a route through another first-hop colleague whose own path is as good goes.
        own = {path[1]: value for value, path in found}
        found = [(v, p) for v, p in found if len(p) < 4 or own.get(p[2], -1.0) < v]
        return sorted(found, reverse=True)[:5]

    pairs = [(rng.randint(1, COLLEAGUES), rng.choice(targets)) for _ in range(queries)]
    ours = []
    theirs = []
    for s, t in pairs:
        started = time.perf_counter()
        find_paths(graph, s, t)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        nx_paths(s, t)
        theirs.append(time.perf_counter() - started)
    print(f"paths search only, ours     {percentiles(ours)}")
    print(f"paths search only, networkx {percentiles(theirs)}")
    ratio = sorted(theirs)[len(theirs) // 2] / sorted(ours)[len(ours) // 2]
    print(f"median ratio networkx / ours: {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-networkx", action="store_true")
    parser.add_argument("--sqlite-path", type=Path, help="keep the SQLite store in this file")
    parser.add_argument("--pg-url", default=PG_URL, help="a scratch database: dropped, created")
    parser.add_argument("--reuse", action="store_true", help="measure a store already loaded")
    args = parser.parse_args()
    started = time.perf_counter()
    data = generate(args.pairs)
    degrees = np.bincount(np.concatenate([data["a"], data["b"]]))
    print(
        f"generated {len(data['a']):,} pairs in {time.perf_counter() - started:.0f} s; max degree"
        f" colleague {degrees[1 : COLLEAGUES + 1].max():,},"
        f" person {degrees[COLLEAGUES + 1 :].max():,};"
        f" largest company {np.bincount(data['company']).max():,} people"
    )
    graph = None
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            path = args.sqlite_path or Path(tmp) / "scale.db"
            url = f"sqlite:///{path}"
            if not (args.reuse and loaded(url, len(data["a"]))):
                path.unlink(missing_ok=True)
                print(f"SQLite loaded in {load(url, data):.0f} s")
            graph = measure(url, data, args.queries, "SQLite")
    if not args.skip_pg:
        if not (args.reuse and loaded(args.pg_url, len(data["a"]))):
            print(f"PostgreSQL loaded in {load(args.pg_url, data):.0f} s")
        graph = measure(args.pg_url, data, args.queries, "PostgreSQL")
    if graph is not None and not args.skip_networkx:
        networkx_ratio(graph, args.queries)
    print(f"peak RSS {_rss_mb():.0f} MB")


def loaded(url: str, pairs: int) -> bool:
    """Whether the store at ``url`` already holds ``pairs`` relationship rows."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import Database

    db = Database(url)
    try:
        with db.engine.connect() as connection:
            found = connection.execute(text("SELECT count(*) FROM relationships")).scalar()
    except SQLAlchemyError:
        return False
    finally:
        db.dispose()
    return found == pairs


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    os.environ.setdefault("RAPPORT_SCHEDULER", "0")
    main()

"""Warm-introduction paths through the real API, and the search on a hand-made graph."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from urllib.parse import quote

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, or_, select, update

from api.graphs import CACHE
from api.paths import path_score
from api.tokens import issue_dev_token
from relationships.aggregate_store import KEEP_DELETIONS, apply, bump_version, rebuild
from relationships.aggregates import PairDeltas, add_interaction
from relationships.graph import (
    ANSWER_WITHIN,
    MAX_AGE,
    REFRESH,
    Graph,
    GraphCache,
    PastGraphs,
    build,
    current_version,
    refresh,
)
from relationships.paths import HOP_PENALTY, find_paths
from relationships.settings import load_weights
from storage.db import Database
from storage.models import Colleague, Person, Relationship, RelationshipDeletion
from storage.purge import purge_exclusion
from storage.types import utcnow
from sync.items import Folder, FolderKind
from tests.factories import INBOX, SENT, T0, email
from tests.test_engine import ALICE, BOB, mailbox, person_of, run

CAROL = "carol@harbourlaw.example"
BROKER = "broker@lloyds.example"  # Bob's contact, who knows the target
TARGET = "ceo@target.example"
NEWCOMER = "newcomer@else.example"
AT = quote((T0 + timedelta(days=20)).isoformat())


def graph(
    edges: dict[tuple[int, int], float],
    colleagues: set[int],
    opted_out: frozenset[int] = frozenset(),
) -> Graph:
    return Graph.from_edges(((a, b, s) for (a, b), s in edges.items()), colleagues, opted_out)


def test_search_by_hand() -> None:
    # 1 = requester; 2, 3 colleagues; 10 a contact; 99 the target.
    g = graph({(1, 2): 0.9, (1, 3): 0.5, (2, 10): 0.8, (10, 99): 0.7, (3, 99): 0.6}, {1, 2, 3})
    paths = find_paths(g, 1, 99)
    # 0.9 * 0.8 * 0.7 * 0.8^2 = 0.323 beats 0.5 * 0.6 * 0.8 = 0.24: strength over length.
    assert [p.people for p in paths] == [(1, 2, 10, 99), (1, 3, 99)]
    assert paths[0].score == pytest.approx(0.9 * 0.8 * 0.7 * HOP_PENALTY**2)
    assert paths[1].score == pytest.approx(0.5 * 0.6 * HOP_PENALTY)


def test_search_avoids_opted_out_colleagues_and_keeps_one_path_per_first_hop() -> None:
    edges = {(1, 2): 0.9, (2, 10): 0.8, (2, 11): 0.5, (10, 99): 0.7, (11, 99): 0.9}
    assert [p.people for p in find_paths(graph(edges, {1, 2}), 1, 99)] == [(1, 2, 10, 99)]
    assert find_paths(graph(edges, {1, 2}, opted_out=frozenset({2})), 1, 99) == []


def test_a_route_through_a_colleague_the_requester_knows_better_is_a_detour() -> None:
    """Requester 1 writes to colleague 3 often (0.9); 3 knows the target (0.7). Colleague 2's
    best route runs through 3: "ask 2 to ask 3" is 3's own path with a detour, left out. But
    colleague 4 knows 5 well, whom the requester barely knows: that warm route stays."""
    edges = {
        (1, 2): 0.6,
        (1, 3): 0.9,
        (1, 4): 0.9,
        (1, 5): 0.05,
        (2, 3): 0.8,
        (3, 99): 0.7,
        (4, 5): 0.9,
        (5, 99): 0.9,
    }
    paths = [p.people for p in find_paths(graph(edges, {1, 2, 3, 4, 5}), 1, 99)]
    # 3's own 0.9 * 0.7 * 0.8 = 0.504 beats 2's 0.6 * 0.8 * 0.7 * 0.8^2 = 0.215 through 3;
    # 4's 0.9 * 0.9 * 0.9 * 0.8^2 = 0.467 through 5 beats 5's own 0.05 * 0.9 * 0.8 = 0.036.
    assert paths == [(1, 3, 99), (1, 4, 5, 99), (1, 5, 99)]


def test_no_hop_through_a_person_to_avoid() -> None:
    # 2 and 3 colleagues, 10 a contact; 2 and 10 are to be avoided (the API's namesakes).
    g = graph({(1, 2): 0.9, (1, 3): 0.5, (2, 99): 0.8, (3, 10): 0.8, (10, 99): 0.7}, {1, 2, 3})
    assert [p.people for p in find_paths(g, 1, 99)] == [(1, 2, 99), (1, 3, 10, 99)]
    assert find_paths(g, 1, 99, frozenset({2, 10})) == []


def test_at_most_five_paths() -> None:
    edges = {(1, c): 0.9 for c in range(2, 12)} | {(c, 99): 0.5 for c in range(2, 12)}
    assert len(find_paths(graph(edges, set(range(1, 12))), 1, 99)) == 5


@pytest.fixture
def firm(db: Database) -> dict[str, int]:
    return seed_firm(db)


def seed_firm(db: Database) -> dict[str, int]:
    """Alice and Bob work together; Bob knows a broker; the broker knows the target."""
    alice, bob = mailbox(db, ALICE), mailbox(db, BOB)
    at = [T0 + timedelta(days=d) for d in range(6)]
    run(
        db,
        alice,
        {
            SENT: [email(ALICE, [BOB], at=at[0], subject="Lunch?")],
            INBOX: [email(BOB, [ALICE], at=at[1])],
        },
    )
    run(
        db,
        bob,
        {
            SENT: [email(BOB, [BROKER], at=at[n], subject="Confidential deal") for n in (2, 3, 4)],
            INBOX: [
                *(email(BROKER, [BOB], at=at[n] + timedelta(hours=1)) for n in (2, 3, 4)),
                email(BROKER, [TARGET], cc=[BOB], at=at[4], subject="Intro"),
                email(TARGET, [BROKER], cc=[BOB], at=at[5]),
            ],
        },
    )
    with db.transaction() as session:
        return {
            name: person_of(session, a)
            for name, a in (("bob", BOB), ("broker", BROKER), ("target", TARGET))
        }


@pytest.fixture
def auth(app: Flask, firm: dict[str, int]) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(app.config, ALICE)}"}


def test_path_through_a_colleagues_contact(
    client: FlaskClient, auth: dict[str, str], firm: dict[str, int]
) -> None:
    response = client.get(f"/api/v1/paths?to={TARGET}&at={AT}", headers=auth)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    routes = [[hop["to"]["id"] for hop in path["hops"]] for path in body["paths"]]
    # Alice -> Bob -> the broker -> the target: Bob's contact is the route (Bob's own tie to
    # the target is only a Cc, weaker than going through the broker he writes to often).
    assert routes[0] == [firm["bob"], firm["broker"], firm["target"]]
    assert body["paths"][0]["hops"][0]["relation"] == "colleagues"
    assert body["paths"][0]["hops"][1]["relation"] == "knows"  # Bob writes to the broker
    text = json.dumps(body)
    assert "Confidential deal" not in text and "Lunch?" not in text  # never a subject


def test_a_person_who_only_wrote_to_a_colleague_is_heard_from(
    app: Flask, client: FlaskClient, firm: dict[str, int]
) -> None:
    """The target copied Bob twice and Bob never wrote back: Bob's own path to the target is
    one hop he "heard from", not one through someone he knows; the broker he writes to, he
    knows."""
    bob = {"Authorization": f"Bearer {issue_dev_token(app.config, BOB)}"}
    body = client.get(f"/api/v1/paths?to={TARGET}&at={AT}", headers=bob).get_json()
    relations = {
        tuple(h["to"]["id"] for h in p["hops"]): [h["relation"] for h in p["hops"]]
        for p in body["paths"]
    }
    assert relations[(firm["target"],)] == ["heard from"]
    broker = client.get(f"/api/v1/paths?to={BROKER}&at={AT}", headers=bob).get_json()
    assert [h["relation"] for h in broker["paths"][0]["hops"]] == ["knows"]


def test_no_path_through_an_opted_out_colleague(
    db: Database, client: FlaskClient, auth: dict[str, str], firm: dict[str, int]
) -> None:
    with db.transaction() as session:
        session.execute(update(Colleague).where(Colleague.email == BOB).values(opted_out=True))
    body = client.get(f"/api/v1/paths?to={TARGET}&at={AT}", headers=auth).get_json()
    assert body["paths"] == []


@pytest.mark.parametrize(
    "query",
    ["", "?to=", "?to=nobody@nowhere.example", "?to=not-an-address", f"?to={TARGET}&from={BROKER}"],
)
def test_bad_requests(
    client: FlaskClient, auth: dict[str, str], firm: dict[str, int], query: str
) -> None:
    response = client.get(f"/api/v1/paths{query}", headers=auth)
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"


def test_new_mail_reaches_the_cached_graph(
    db: Database, app: Flask, client: FlaskClient, auth: dict[str, str], firm: dict[str, int]
) -> None:
    """Without ?at= the per-process graph answers; a version bump by the engine refreshes it."""
    from relationships import graph as graph_module

    first = client.get(f"/api/v1/paths?to={TARGET}", headers=auth).get_json()
    carol_knows_the_target(db)
    cache = app.extensions["rapport.graph"]
    with db.transaction() as session:
        stale = cache.get(session)  # within REFRESH: the copy from the first request
        alice, target = person_of(session, ALICE), person_of(session, TARGET)
        assert len(find_paths(stale, alice, target)) == len(first["paths"])
        # Half a minute later the copy is stale: this request still answers from it, and a
        # background rebuild replaces it.
        assert cache.get(session, now=utcnow() + graph_module.REFRESH) is stale
    cache.settle()
    second = client.get(f"/api/v1/paths?to={TARGET}", headers=auth).get_json()
    assert len(second["paths"]) > len(first["paths"]), (first, second)


def test_a_failed_background_rebuild_keeps_the_old_copy(
    db: Database, firm: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    """The store unreachable while rebuilding: requests keep the copy they have, and the
    next request after REFRESH tries again."""
    unreachable = Database("postgresql+psycopg://postgres@127.0.0.1:9/nowhere")
    cache = GraphCache(unreachable.read_sessions)
    try:
        with db.read_sessions() as session:
            first = cache.get(session)
        carol_knows_the_target(db)
        later = utcnow() + REFRESH
        with db.read_sessions() as session:
            assert cache.get(session, now=later) is first
            cache.settle()
            assert "rebuild failed" in caplog.text
            assert cache.get(session, now=later) is first  # not rebuilt, not waiting
            cache.settle()
            assert first.version != current_version(session)
    finally:
        unreachable.dispose()


def test_a_warmed_cache_has_its_first_copy_before_any_request(
    app: Flask, db: Database, firm: dict[str, int]
) -> None:
    """RAPPORT_GRAPH_WARM: the API process builds its graph as it starts; the first request
    is answered from that copy instead of building one."""
    cache = GraphCache(db.read_sessions)
    thread = cache.warm()
    assert thread is not None
    cache.settle()
    with db.read_sessions() as session:
        warmed = cache.get(session)
        assert warmed.version == current_version(session) and warmed.edges > 0
        assert cache.get(session) is warmed
    from app import create_app

    started = create_app({**app.config, "RAPPORT_GRAPH_WARM": "1"})
    try:
        started.extensions[CACHE].settle()
        assert started.extensions[CACHE]._graph is not None  # before any request
    finally:
        started.extensions["rapport.db"].dispose()


def test_a_forked_process_starts_with_no_copy_and_a_free_lock(
    db: Database, firm: dict[str, int]
) -> None:
    """gunicorn --preload forks workers from a process that may hold a copy, or be building
    one under the lock: the child starts afresh, neither sharing the copy nor deadlocking."""
    cache = GraphCache(db.read_sessions)
    with db.read_sessions() as session:
        cache.get(session)
    with cache._lock:  # as if a build were running at the fork
        child = os.fork()
        if child == 0:  # the child: report through the exit code only
            fresh = cache._graph is None and cache._lock.acquire(blocking=False)
            os._exit(0 if fresh else 1)
        _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert cache._graph is not None  # the parent keeps its copy


def test_a_rebuild_reads_what_was_ingested(db: Database, firm: dict[str, int]) -> None:
    cache = GraphCache(db.read_sessions)
    with db.read_sessions() as session:
        first = cache.get(session)
    carol_knows_the_target(db)
    with db.read_sessions() as session:
        assert cache.get(session, now=utcnow() + REFRESH) is first  # answers at once
        cache.settle()
        rebuilt = cache.get(session)
        assert rebuilt is not first and rebuilt.version == current_version(session)
        assert rebuilt.edges > first.edges
        assert rebuilt.changed is None  # Carol is a new colleague: a full build
    bob_writes_again(db)
    with db.read_sessions() as session:
        cache.get(session, now=utcnow() + REFRESH)
        cache.settle()
        third = cache.get(session)
        assert third.version == current_version(session) and third.edges == rebuilt.edges + 1
        # A refresh (every row here is younger than CHANGE_SLACK, so all are read again).
        assert third.changed == third.edges and third.full_at == rebuilt.full_at


def test_an_idle_copy_is_scored_anew_after_max_age(db: Database, firm: dict[str, int]) -> None:
    """No new mail: the copy is kept at each look, but every pair is scored again once its
    last full build is MAX_AGE old (strengths decay with time alone)."""
    cache = GraphCache(db.read_sessions)
    with db.read_sessions() as session:
        first = cache.get(session)
        kept = cache.get(session, now=first.built_at + REFRESH)
        assert kept.full_at == first.full_at and kept.version == first.version
        later = first.built_at + MAX_AGE
        renewed = cache.get(session, now=later)
    assert renewed.full_at == later and renewed.changed is None


def test_a_copy_too_old_to_answer_is_waited_for(db: Database, firm: dict[str, int]) -> None:
    """A worker that sat idle: its copy is older than ANSWER_WITHIN when the next request
    comes, so that request gets the new copy, not the old one, and so does one that comes
    while a background rebuild started earlier is still running."""
    cache = GraphCache(db.read_sessions)
    with db.read_sessions() as session:
        first = cache.get(session)
    carol_knows_the_target(db)
    with db.read_sessions() as session:
        idle = cache.get(session, now=utcnow() + ANSWER_WITHIN)
        assert idle is not first and idle.version == current_version(session)
    with db.transaction() as session:
        bump_version(session)  # as the next ingest page that changes aggregates does
    with db.read_sessions() as session:
        later = idle.built_at + REFRESH
        assert cache.get(session, now=later) is idle
        waited = cache.get(session, now=idle.built_at + ANSWER_WITHIN)
        assert waited is not idle and waited.version == current_version(session)


def test_a_past_moment_is_built_once_and_forgotten_when_mail_arrives(
    db: Database, app: Flask, client: FlaskClient, auth: dict[str, str], firm: dict[str, int]
) -> None:
    """``?at=`` builds that moment's graph once per process and version (a full build each:
    seconds at scale); the last two moments are kept; new mail makes the next ask rebuild,
    and mail after the moment changes nothing at it."""
    past: PastGraphs = app.extensions["rapport.graph.past"]
    moments = [T0 + timedelta(days=20 - d) for d in (0, 1, 2)]
    with db.read_sessions() as session:
        first = past.get(session, moments[0])
        assert past.get(session, moments[0]) is first
        second = past.get(session, moments[1])
        assert past.get(session, moments[0]) is first  # two kept; the first used last
        past.get(session, moments[2])  # evicts the second
        assert past.get(session, moments[1]) is not second
        assert first.built_at == moments[0] and second.built_at == moments[1]
    answers = [client.get(f"/api/v1/paths?to={TARGET}&at={AT}", headers=auth) for _ in "ab"]
    assert answers[0].get_json() == answers[1].get_json()
    carol_knows_the_target(db)  # yesterday's mail: after every moment asked for
    with db.read_sessions() as session:
        fresh = past.get(session, moments[0])
        assert fresh is not first and same_graph(fresh, first)  # nothing new at that moment
        assert build(session, utcnow()).edges > first.edges


def bob_writes_again(db: Database) -> None:
    """New mail between people the graph knows, and to a newcomer: no new colleague."""
    recent = utcnow() - timedelta(days=1)
    later_sent = Folder("Sent Items (later)", FolderKind.SENT)
    mail = [email(BOB, [TARGET], at=recent), email(BOB, [NEWCOMER], at=recent)]
    run(db, mailbox(db, BOB), {later_sent: mail})


def same_graph(one: Graph, other: Graph) -> bool:
    """The same edges with the same strengths (a refresh that took out the edges of the
    highest ids keeps their empty slots, which a full build does not have)."""
    return all(
        np.array_equal(used(x.indptr), used(y.indptr))
        and np.array_equal(x.targets, y.targets)
        and np.allclose(x.strengths, y.strengths, rtol=0, atol=1e-6)
        for x, y in ((one.everyone, other.everyone), (one.peers, other.peers))
    )


def used(indptr: np.ndarray) -> np.ndarray:
    """``indptr`` without the empty nodes at its end."""
    return indptr[: int(np.searchsorted(indptr, indptr[-1])) + 1]


def test_a_refresh_reads_only_the_changed_pairs_and_equals_a_full_build(
    db: Database, firm: dict[str, int]
) -> None:
    now = utcnow()
    with db.read_sessions() as session:
        first = build(session, now)
        assert first.changed is None and first.full_at == now
    bob_writes_again(db)
    with db.read_sessions() as session:
        assert first.read_at is not None
        changed = session.scalar(
            select(func.count())
            .select_from(Relationship)
            .where(Relationship.changed_at >= first.read_at)
        )
        total = session.scalar(select(func.count()).select_from(Relationship))
        # Bob's clock (his newest email to anyone) moved by more than CLOCK_SLACK: every pair
        # of his is read again, as its quiet factor reads that clock.
        bobs = session.scalar(
            select(func.count())
            .select_from(Relationship)
            .where(or_(Relationship.a_id == firm["bob"], Relationship.b_id == firm["bob"]))
        )
        refreshed = refresh(session, first, now, slack=timedelta(0))
        full = build(session, now)
    assert changed == 2 and total is not None and total > changed  # Bob-target, Bob-newcomer
    assert bobs is not None and total > bobs > changed
    assert refreshed.changed == bobs and refreshed.full_at == first.full_at
    assert refreshed.edges == first.edges + 1 == full.edges
    assert same_graph(refreshed, full) and refreshed.version == full.version != first.version
    assert refreshed.strength(firm["bob"], firm["target"]) > first.strength(
        firm["bob"], firm["target"]
    )


def test_a_refresh_reads_mail_a_writer_committed_after_the_last_read(
    db: Database, firm: dict[str, int]
) -> None:
    """A writer stamps its rows when it writes them and commits later: a refresh in between
    cannot see them, and the next one reads them only thanks to CHANGE_SLACK."""
    now = utcnow()
    with db.read_sessions() as session:
        first = build(session, now)
    with db.transaction() as writer:
        deltas = PairDeltas(weights=load_weights(writer))
        # The target writes (Bob's clock, his newest email to anyone, stays where it was).
        roles = [("from", firm["target"], None), ("to", firm["bob"], None)]
        add_interaction(deltas, "email", now - timedelta(days=1), roles)
        apply(writer, deltas)
        with db.read_sessions() as session:
            middle = refresh(session, first, now)  # the writer has not committed yet
        assert middle.changed is not None and middle.version == first.version
    with db.read_sessions() as session:
        missed = refresh(session, middle, now, slack=timedelta(0))
        caught = refresh(session, middle, now)
        full = build(session, now)
    assert missed.changed == 0 and not same_graph(missed, full)
    assert caught.changed is not None and caught.changed > 0 and same_graph(caught, full)


def test_a_refresh_builds_anew_after_a_full_rebuild_a_new_colleague_or_max_age(
    db: Database, firm: dict[str, int]
) -> None:
    """What the changed rows cannot tell: a full rebuild deleted every row, the firm grew, or
    the last full build is MAX_AGE old (every pair re-scored for decay)."""
    now = utcnow()
    with db.read_sessions() as session:
        first = build(session, now)
        idle = refresh(session, first, now + MAX_AGE)
    assert idle.changed is None and idle.full_at == now + MAX_AGE
    carol_knows_the_target(db)  # Carol's mailbox: a new colleague
    with db.read_sessions() as session:
        grown = refresh(session, first, now)
        assert grown.changed is None and same_graph(grown, build(session, now))
    with db.transaction() as session:
        rebuild(session)  # after a change of weights: every row deleted first
    with db.read_sessions() as session:
        again = refresh(session, grown, now)
        assert again.changed is None and again.epoch != grown.epoch
        assert same_graph(again, build(session, now))


def test_a_refresh_takes_out_the_pairs_deleted_and_not_written_again(
    db: Database, firm: dict[str, int]
) -> None:
    """A partial rebuild (after a removal or a merge) deletes a person's rows and writes them
    back; a purge deletes rows for good. Both are logged (``relationship_deletions``) and a
    refresh follows them without a full build, as a full build would see the store."""
    now = utcnow()
    with db.read_sessions() as session:
        first = build(session, now)
    assert first.strength(firm["broker"], firm["target"]) > 0
    with db.transaction() as session:
        rebuild(session, [firm["broker"]])  # as a merge does: the broker's rows deleted first
    with db.read_sessions() as session:
        again = refresh(session, first, now)
        assert again.changed is not None and again.epoch == first.epoch
        assert same_graph(again, build(session, now))
    with db.transaction() as session:
        old = RelationshipDeletion(a_id=1, b_id=2, deleted_at=now - KEEP_DELETIONS)
        session.add(old)
        session.flush()
        purge_exclusion(session, TARGET, None)  # the target's two emails lose the target
        logged = session.execute(select(RelationshipDeletion.a_id, RelationshipDeletion.b_id))
        target_pairs = {tuple(sorted((firm[n], firm["target"]))) for n in ("bob", "broker")}
        assert target_pairs <= set(logged.tuples())  # and the day-old entry is gone:
        day_old = RelationshipDeletion.deleted_at <= now - KEEP_DELETIONS
        assert session.scalar(select(RelationshipDeletion.id).where(day_old)) is None
    with db.read_sessions() as session:
        purged = refresh(session, again, now)
        assert purged.changed is not None and purged.epoch == first.epoch
        assert same_graph(purged, build(session, now))
    assert purged.strength(firm["broker"], firm["target"]) == 0
    assert purged.strength(firm["bob"], firm["target"]) == 0
    assert purged.strength(firm["bob"], firm["broker"]) > 0


def test_a_request_for_another_moment_while_one_is_built_gets_a_clear_503(
    app: Flask, client: FlaskClient, auth: dict[str, str], firm: dict[str, int]
) -> None:
    """One build at a time per process: a request for another moment waits PAST_WAIT at
    most, then answers 503 with Retry-After instead of holding its worker indefinitely."""
    past = PastGraphs(wait=timedelta(seconds=0.2))
    app.extensions["rapport.graph.past"] = past
    past._lock.acquire()  # another request's build in progress
    try:
        response = client.get(f"/api/v1/paths?to={TARGET}&at={AT}", headers=auth)
    finally:
        past._lock.release()
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    assert response.get_json()["error"] == "busy"
    assert client.get(f"/api/v1/paths?to={TARGET}&at={AT}", headers=auth).status_code == 200


def carol_knows_the_target(db: Database) -> None:
    """New mail: colleague Carol and the target wrote each other yesterday, and Alice wrote
    to Carol (a second path from Alice, through Carol)."""
    recent = utcnow() - timedelta(days=1)
    run(
        db,
        mailbox(db, CAROL),
        {SENT: [email(CAROL, [TARGET], at=recent)], INBOX: [email(TARGET, [CAROL], at=recent)]},
    )
    later_sent = Folder("Sent Items (later)", FolderKind.SENT)  # a folder with no cursor yet
    run(db, mailbox(db, ALICE), {later_sent: [email(ALICE, [CAROL], at=recent)]})


def test_an_opt_out_applies_at_once_to_the_cached_graph(
    db: Database, client: FlaskClient, auth: dict[str, str], firm: dict[str, int]
) -> None:
    """Without ?at= the worker's cached graph answers; who opted out is read per request."""
    before = client.get(f"/api/v1/paths?to={TARGET}", headers=auth).get_json()
    assert any(hop["to"]["id"] == firm["bob"] for p in before["paths"] for hop in p["hops"])
    with db.transaction() as session:
        session.execute(update(Colleague).where(Colleague.email == BOB).values(opted_out=True))
    after = client.get(f"/api/v1/paths?to={TARGET}", headers=auth).get_json()
    assert all(hop["to"]["id"] != firm["bob"] for p in after["paths"] for hop in p["hops"])


def test_each_hop_says_why_without_a_subject(
    client: FlaskClient, auth: dict[str, str], firm: dict[str, int]
) -> None:
    body = client.get(f"/api/v1/paths?to={TARGET}&at={AT}", headers=auth).get_json()
    bob_to_broker = body["paths"][0]["hops"][1]
    # Seen from Bob (the colleague): he wrote three times, the broker answered each in an hour.
    assert bob_to_broker["evidence"].startswith("Email both ways: 3 emails from")
    assert "usually replies within an hour" in bob_to_broker["summary"]


def test_a_weak_path_keeps_two_significant_digits() -> None:
    """Enron: five paths through dormant ties all read 0.0 and could not be told apart."""
    assert [path_score(x) for x in (0.323, 0.01, 0.00036, 0.0000044, 0.0)] == [
        32.3,
        1.0,
        0.036,
        0.00044,
        0.0,
    ]


def test_no_path_through_someone_named_as_the_target(
    db: Database, client: FlaskClient, auth: dict[str, str], firm: dict[str, int]
) -> None:
    """Enron: Lisa Gillette, once a colleague, now at another firm under another address,
    was asked to introduce Susan Scott to Lisa Gillette. A hop under the full name of the
    target (or of the requester) is left out; a one-word name is too common to tell."""

    def routes(name: str) -> list[list[int]]:
        with db.transaction() as session:
            for pid in (firm["target"], firm["broker"]):
                session.execute(update(Person).where(Person.id == pid).values(display_name=name))
        body = client.get(f"/api/v1/paths?to={TARGET}&at={AT}", headers=auth).get_json()
        return [[hop["to"]["id"] for hop in path["hops"]] for path in body["paths"]]

    assert routes("Lisa Gillette") == [[firm["bob"], firm["target"]]]  # not via the broker
    assert routes("Lisa")[0] == [firm["bob"], firm["broker"], firm["target"]]

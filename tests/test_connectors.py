"""Who knows whom: ranking, explanation, opt-out, privacy, and O(1) scores that equal a replay."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select, update

from api.tokens import issue_dev_token
from relationships.aggregate_store import clocks_at, clocks_from_pairs, rebuild
from relationships.graph import build, build_past
from relationships.recent import KEEP, loads
from relationships.strength import (
    DEFAULT,
    TREND_WINDOW,
    Event,
    StoredSums,
    score,
    stored_score,
)
from relationships.ties import side_sums
from storage.db import Database
from storage.models import Colleague, Relationship
from sync.items import Folder, FolderKind
from tests.factories import INBOX, SENT, T0, email, meeting
from tests.test_engine import ALICE, BOB, CLIENT, mailbox, person_of, run

CAROL = "carol@harbourlaw.example"
AT = quote((T0 + timedelta(days=30)).isoformat())  # "+00:00" must be escaped in a URL


@pytest.fixture
def firm(db: Database) -> dict[str, int]:
    """Alice writes with the client often, both ways; Bob was once on a 12-person Cc;
    Carol met the client once."""
    alice, bob, carol = mailbox(db, ALICE), mailbox(db, BOB), mailbox(db, CAROL)
    crowd = [f"guest{i}@other.example" for i in range(10)]
    thread = [
        email(
            ALICE if i % 2 else CLIENT,
            [CLIENT if i % 2 else ALICE],
            at=T0 + timedelta(days=i),
            subject="Secret merger",
        )
        for i in range(6)
    ]
    run(
        db,
        alice,
        {
            SENT: [m for m in thread if m.sender and m.sender.email == ALICE],
            INBOX: [m for m in thread if m.sender and m.sender.email == CLIENT],
        },
    )
    run(db, bob, {INBOX: [email(CLIENT, crowd, cc=[BOB], at=T0, subject="Newsletter-ish")]})
    from sync.items import Response
    from tests.factories import CALENDAR

    run(
        db,
        carol,
        {CALENDAR: [meeting(CAROL, {CLIENT: Response.ACCEPTED}, at=T0 + timedelta(days=2))]},
    )
    with db.transaction() as session:
        return {"client": person_of(session, CLIENT), "alice": person_of(session, ALICE)}


@pytest.fixture
def auth(app: Flask, firm: dict[str, int]) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(app.config, ALICE)}"}


def test_connectors_ranked_with_tiers_and_explanations(
    client: FlaskClient, auth: dict[str, str], firm: dict[str, int]
) -> None:
    response = client.get(f"/api/v1/people/{firm['client']}/connectors?at={AT}", headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    names = [c["colleague"]["name"] for c in body["connectors"]]
    assert names[0] == ALICE and set(names) == {ALICE, BOB, CAROL}
    top = body["connectors"][0]
    assert top["explanation"]["emails_sent"] == 3 and top["explanation"]["emails_received"] == 3
    assert "wrote to" in top["explanation"]["summary"]
    scores = [c["score"] for c in body["connectors"]]
    assert scores == sorted(scores, reverse=True)
    assert top["tier"] in ("strong", "medium", "weak")
    assert "Secret merger" not in json.dumps(body)  # counts and dates only, never subjects


def test_opted_out_colleagues_never_appear(
    db: Database, client: FlaskClient, auth: dict[str, str], firm: dict[str, int]
) -> None:
    with db.transaction() as session:
        session.execute(update(Colleague).where(Colleague.email == BOB).values(opted_out=True))
    body = client.get(
        f"/api/v1/people/{firm['client']}/connectors?at={AT}", headers=auth
    ).get_json()
    assert BOB not in {c["colleague"]["name"] for c in body["connectors"]}


def test_stored_score_equals_a_replay_of_the_events(
    db: Database, firm: dict[str, int], client: FlaskClient, auth: dict[str, str]
) -> None:
    # Alice's six 1:1 emails with the client, replayed through the pure scoring function.
    events = [Event(T0 + timedelta(days=i), "out" if i % 2 else "in", 1) for i in range(6)]
    expected = round(score(events, T0 + timedelta(days=30)), 1)
    body = client.get(
        f"/api/v1/people/{firm['client']}/connectors?at={AT}", headers=auth
    ).get_json()
    assert body["connectors"][0]["score"] == pytest.approx(expected, abs=0.1)


@pytest.mark.parametrize("days_later", [6, 40])
def test_the_graph_scores_every_pair_as_its_row_does(
    db: Database, firm: dict[str, int], days_later: int
) -> None:
    # The graph reads the sums and each side's newest message in SQL (PAIRS_SQL, per
    # dialect); a tie reads them from the row: the same score, follow-up term included, and
    # the quiet factor read against the colleague's clock (Alice's old client, 300 days
    # before her newest email, is damped).
    older = Folder("Sent Items (older)", FolderKind.SENT)
    run(db, mailbox(db, ALICE), {older: [email(ALICE, [OLD_CLIENT], at=T0 - timedelta(300))]})
    now = T0 + timedelta(days=days_later)
    with db.transaction() as session:
        graph = build(session, now)
        rows = session.scalars(select(Relationship)).all()
        old = person_of(session, OLD_CLIENT)
    firm_ids = graph.colleagues | graph.opted_out

    def seen(row: Relationship, side: int) -> float:
        return stored_score(side_sums(row, side, graph.clock(side)), now)

    for row in rows:
        ends = (row.a_id, row.b_id)
        inside = [p for p in ends if p in firm_ids]
        side = inside[0] if len(inside) == 1 else max(ends, key=lambda p: seen(row, p))
        assert 100 * graph.strength(*ends) == pytest.approx(seen(row, side), abs=1e-3)
    (quiet,) = [r for r in rows if old in (r.a_id, r.b_id)]
    assert graph.clock(firm["alice"]) == T0 + timedelta(days=5)
    undamped = stored_score(side_sums(quiet, firm["alice"]), now)
    # 305 days of silence before her clock: 0.4 + 0.6 / (1 + e^((305 - 150) / 15)) = 0.40002
    assert 100 * graph.strength(quiet.a_id, quiet.b_id) < 0.45 * undamped
    # Alice's pair with the client: her newest message adds to the graph's strength.
    (pair,) = [r for r in rows if {r.a_id, r.b_id} == {firm["alice"], firm["client"]}]
    sums = side_sums(pair, firm["alice"])
    assert sums.sent_at == T0 + timedelta(days=5)
    no_follow_up = StoredSums(sums.out, sums.inbound, sums.meetings, None, None, sums.counts)
    assert 100 * graph.strength(pair.a_id, pair.b_id) > stored_score(no_follow_up, now) + 0.5


def test_rebuild_gives_the_same_sums(db: Database, firm: dict[str, int]) -> None:
    def sums() -> list[tuple[float, ...]]:
        with db.transaction() as session:
            rows = session.scalars(
                select(Relationship).order_by(Relationship.a_id, Relationship.b_id)
            )
            return [
                (r.a_id, r.b_id, round(r.ab_warm, 6), round(r.ba_history, 6), round(r.mtg_warm, 6))
                for r in rows
            ]

    before = sums()
    with db.transaction() as session:
        rebuild(session)
    assert sums() == before


@pytest.mark.parametrize("query", ["?at=yesterday", "?limit=0", "?limit=abc", "?limit=1000"])
def test_bad_parameters_are_400(
    client: FlaskClient, auth: dict[str, str], firm: dict[str, int], query: str
) -> None:
    response = client.get(f"/api/v1/people/{firm['client']}/connectors{query}", headers=auth)
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"


def connector(client: FlaskClient, auth: dict[str, str], person: int, at: datetime) -> Any:
    url = f"/api/v1/people/{person}/connectors?at={quote(at.isoformat())}"
    body = client.get(url, headers=auth).get_json()
    return next(c for c in body["connectors"] if c["colleague"]["name"] == ALICE)


@pytest.mark.parametrize("days_later", [30, 93, 150])
def test_trend_is_now_against_ninety_days_ago(
    client: FlaskClient, auth: dict[str, str], firm: dict[str, int], days_later: int
) -> None:
    # Alice's six 1:1 emails, replayed at `at` and at 90 days before (only what came by then).
    events = [Event(T0 + timedelta(days=i), "out" if i % 2 else "in", 1) for i in range(6)]
    at = T0 + timedelta(days=days_later)
    then = at - timedelta(days=90)
    expected = score(events, at) - score([e for e in events if e.at <= then], then)
    found = connector(client, auth, firm["client"], at)
    assert found["trend"] == pytest.approx(expected, abs=0.15)
    assert (found["trend"] > 0) == (days_later == 30)  # new, then cooling


def test_reply_times_whatever_order_the_folders_synced_in(
    client: FlaskClient, auth: dict[str, str], firm: dict[str, int]
) -> None:
    # The client wrote on days 0, 2, 4 and Alice on days 1, 3, 5 (Sent Items synced first):
    # each answered the other after 24 hours.
    explanation = connector(client, auth, firm["client"], T0 + timedelta(days=30))["explanation"]
    assert explanation["typical_reply_hours"] == {"colleague": 24.0, "person": 24.0}
    # The client has no display name: named by their address, as it is written.
    assert explanation["reply_time"] == (
        f"{CLIENT} usually replies within a day; {ALICE} usually replies within a day."
    )
    assert explanation["last_90_days"] == {
        "emails_sent": 3,
        "emails_received": 3,
        "meetings": 0,
        "exact": True,
    }
    assert explanation["evidence"].startswith("Email both ways: 3 emails from")


@pytest.mark.parametrize("inbox_first", [True, False])
def test_the_newest_events_are_kept_across_pages_in_any_order(
    db: Database, inbox_first: bool
) -> None:
    box = mailbox(db, ALICE)
    sent = [email(ALICE, [CLIENT], at=T0 + timedelta(hours=2 * i + 1)) for i in range(12)]
    received = [email(CLIENT, [ALICE], at=T0 + timedelta(hours=2 * i)) for i in range(12)]
    folders = {INBOX: received, SENT: sent} if inbox_first else {SENT: sent, INBOX: received}
    run(db, box, folders)  # pages of two items: the lists are merged by the upsert
    with db.transaction() as session:
        row = session.scalars(select(Relationship)).one()
        alice_is_a = row.a_id == person_of(session, ALICE)
        written = loads(row.recent_ab if alice_is_a else row.recent_ba)
        answers = loads(row.recent_ba if alice_is_a else row.recent_ab)
        assert [e.at for e in written] == [m.sent_at for m in sent[-KEEP:]]
        assert [e.at for e in answers] == [m.sent_at for m in received[-KEEP:]]
        stored = (loads(row.recent_ab), loads(row.recent_ba))
        rebuild(session)  # recomputed from the stored interactions: the same lists
        row = session.scalars(select(Relationship)).one()
        assert (loads(row.recent_ab), loads(row.recent_ba)) == stored


def test_company_coverage(
    client: FlaskClient, auth: dict[str, str], firm: dict[str, int], db: Database
) -> None:
    with db.transaction() as session:
        from storage.models import Person

        company_id = session.get_one(Person, firm["client"]).company_id
    body = client.get(f"/api/v1/companies/{company_id}/coverage?at={AT}", headers=auth).get_json()
    assert body["company"]["domain"] == "acme.co.uk"
    best = body["best_connector"]
    assert best["colleague"]["name"] == ALICE and best["person_id"] == firm["client"]
    assert best["colleague"]["email"] == ALICE  # whom to ask, and where to write
    # Noisy-OR of the top ties: at least the best tie, at most 100.
    assert best["score"] <= body["coverage"] <= 100
    assert body["breadth"]["colleagues"] >= 1 and body["single_threaded"] == (
        body["breadth"]["colleagues"] == 1
    )
    people = body["people"]
    assert people["total"] == 1 and people["items"][0]["best"]["colleague"]["name"] == ALICE
    # The client has no display name (half of Enron's contacts have none): the address says
    # who they are, in every listing and sentence that names them.
    assert people["items"][0]["display_name"] == "" and people["items"][0]["email"] == CLIENT
    listed = client.get(f"/api/v1/people/{firm['client']}/connectors?at={AT}", headers=auth)
    assert listed.get_json()["person"] == {
        "id": firm["client"],
        "display_name": "",
        "email": CLIENT,
    }
    assert listed.get_json()["connectors"][0]["colleague"]["email"] == ALICE
    assert listed.get_json()["connectors"][0]["explanation"]["summary"].startswith(
        f"{ALICE} wrote to {CLIENT} 3 times; {CLIENT} wrote to {ALICE} 3 times"
    )
    path = client.get(f"/api/v1/paths?to={CLIENT}&at={AT}", headers=auth).get_json()
    assert path["to"]["email"] == CLIENT
    (hop,) = path["paths"][0]["hops"]
    assert hop["from"]["email"] == ALICE and hop["to"] == path["to"] | {"email": CLIENT}
    assert f"{CLIENT} wrote to" in hop["summary"]
    paged = client.get(
        f"/api/v1/companies/{company_id}/coverage?at={AT}&offset=1", headers=auth
    ).get_json()
    assert paged["people"]["items"] == []


def test_noisy_or_by_hand() -> None:
    from relationships.coverage import noisy_or

    assert noisy_or([50.0, 50.0]) == pytest.approx(75.0)
    assert noisy_or([90.0, 10, 10, 10, 10, 10, 10]) == pytest.approx(100 * (1 - 0.1 * 0.9**4))


def test_coverage_from_the_cached_graph_drops_an_opted_out_colleague_at_once(
    client: FlaskClient, auth: dict[str, str], firm: dict[str, int], db: Database
) -> None:
    with db.transaction() as session:
        from storage.models import Person

        company_id = session.get_one(Person, firm["client"]).company_id
    url = f"/api/v1/companies/{company_id}/coverage"  # no ?at=: the worker's cached graph
    assert client.get(url, headers=auth).get_json()["best_connector"]["colleague"]["name"] == ALICE
    with db.transaction() as session:
        session.execute(update(Colleague).where(Colleague.email == ALICE).values(opted_out=True))
    body = client.get(url, headers=auth).get_json()
    assert ALICE not in json.dumps(body)


def test_coverage_trend_is_the_noisy_or_of_its_ties_now_and_then(
    client: FlaskClient, auth: dict[str, str], firm: dict[str, int], db: Database
) -> None:
    from relationships.coverage import noisy_or

    with db.transaction() as session:
        from storage.models import Person

        company_id = session.get_one(Person, firm["client"]).company_id
    at = quote((T0 + timedelta(days=60)).isoformat())
    body = client.get(f"/api/v1/companies/{company_id}/coverage?at={at}", headers=auth).get_json()
    ties = client.get(
        f"/api/v1/people/{firm['client']}/connectors?at={at}", headers=auth
    ).get_json()["connectors"]  # the company's only person: its ties are the company's
    now = [c["score"] for c in ties]
    then = [max(0.0, c["score"] - c["trend"]) for c in ties]
    assert body["coverage"] == pytest.approx(noisy_or(now), abs=0.1)
    assert body["trend"] == pytest.approx(noisy_or(now) - noisy_or(then), abs=0.2)


def test_best_tie_per_contact_and_the_strongest_ties_by_hand() -> None:
    import numpy as np

    from relationships.coverage import best_per_contact, strongest

    # Contacts 7, 8, 9 with their ties (grouped, as the graph gives them).
    contacts = np.array([7, 7, 7, 8, 9, 9], dtype=np.int32)
    scores = np.array([10.0, 40.0, 40.0, 55.0, 5.0, 20.0])
    rows, ordered = best_per_contact(contacts, scores)
    # 8's best is 55 (row 3), 7's is the first 40 (row 1), 9's is 20 (row 5).
    assert rows.tolist() == [3, 1, 5] and ordered.tolist() == [8, 7, 9]
    assert strongest(scores, 3).tolist() == [3, 1, 2]  # equal scores: the earlier row first
    assert strongest(scores, 10).tolist() == [3, 1, 2, 5, 0, 4]


def test_a_pair_purged_since_the_graph_was_built_is_left_out(
    client: FlaskClient, auth: dict[str, str], firm: dict[str, int], db: Database
) -> None:
    # The worker's cached graph still holds the pair for up to a minute after a purge.
    with db.transaction() as session:
        from storage.models import Person

        company_id = session.get_one(Person, firm["client"]).company_id
        carol = person_of(session, CAROL)
    connectors = f"/api/v1/people/{firm['client']}/connectors"
    coverage = f"/api/v1/companies/{company_id}/coverage"
    assert client.get(connectors, headers=auth).get_json()["total"] == 3
    with db.transaction() as session:
        low, high = sorted((carol, firm["client"]))
        session.execute(
            delete(Relationship).where(Relationship.a_id == low, Relationship.b_id == high)
        )
    body = client.get(connectors, headers=auth).get_json()
    assert CAROL not in {c["colleague"]["name"] for c in body["connectors"]}
    assert body["connectors"][0]["colleague"]["name"] == ALICE
    assert client.get(coverage, headers=auth).status_code == 200


VENDOR = "dana@vendor.example"
OLD_CLIENT = "old.client@example.org"


def connector_of(
    client: FlaskClient, auth: dict[str, str], person: int, at: datetime, name: str
) -> Any:
    url = f"/api/v1/people/{person}/connectors?at={quote(at.isoformat())}"
    body = client.get(url, headers=auth).get_json()
    return next(c for c in body["connectors"] if c["colleague"]["name"] == name)


def test_mail_a_colleague_never_answered_counts_little_until_answered(
    db: Database, client: FlaskClient, auth: dict[str, str], firm: dict[str, int]
) -> None:
    """Dana wrote to Carol three times and Carol never wrote back nor met her: the tie counts a
    tenth (relationships.strength.Weights.unanswered) and says why; Carol's reply lifts it,
    and the view of a moment before the reply is damped again."""
    carol = mailbox(db, CAROL)
    pitches = [email(VENDOR, [CAROL], at=T0 + timedelta(days=d)) for d in (1, 8, 15)]
    run(db, carol, {INBOX: pitches})
    with db.transaction() as session:
        dana = person_of(session, VENDOR)
    at = T0 + timedelta(days=20)
    received = [Event(m.sent_at, "in", 1) for m in pitches]
    damped = connector_of(client, auth, dana, at, CAROL)
    assert damped["explanation"]["unanswered"] is True
    assert damped["relation"] == "heard from"  # no introduction through Carol (the pane)
    assert "never wrote back to" in damped["explanation"]["evidence"]
    assert damped["score"] == pytest.approx(score(received, at), abs=0.05)
    full = score(received, at, replace(DEFAULT, unanswered=1.0))
    assert damped["score"] == pytest.approx(full / 10, abs=0.1)  # below saturation: a tenth

    reply = email(CAROL, [VENDOR], at=T0 + timedelta(days=18))
    run(db, carol, {SENT: [reply]})
    answered = connector_of(client, auth, dana, at, CAROL)
    assert answered["explanation"]["unanswered"] is False
    assert answered["relation"] == "knows"
    assert answered["score"] > 5 * damped["score"]
    then = T0 + timedelta(days=16)
    before_reply = connector_of(client, auth, dana, then, CAROL)
    assert before_reply["explanation"]["unanswered"] is True
    assert before_reply["score"] == pytest.approx(score(received, then), abs=0.05)


def test_a_colleague_who_kept_writing_to_others_explains_the_quiet_tie(
    db: Database, client: FlaskClient, auth: dict[str, str], firm: dict[str, int]
) -> None:
    """Alice's last email to an old client came 305 days before her newest email to anyone:
    the tie counts about 0.4 of its rate (the quiet factor) and says why."""
    older = Folder("Sent Items (older)", FolderKind.SENT)
    sent = email(ALICE, [OLD_CLIENT], at=T0 - timedelta(300))
    run(db, mailbox(db, ALICE), {older: [sent]})
    with db.transaction() as session:
        old = person_of(session, OLD_CLIENT)
    at = T0 + timedelta(days=30)
    found = connector_of(client, auth, old, at, ALICE)
    assert found["explanation"]["quiet_days"] == 305
    assert (
        f"{ALICE} kept writing to others for 10 months after the last contact with"
        in (found["explanation"]["evidence"])
    )
    clock = T0 + timedelta(days=5)  # Alice's newest email in the firm fixture
    events = [Event(sent.sent_at, "out", 1)]
    assert found["score"] == pytest.approx(score(events, at, clock=clock), abs=0.05)
    assert found["score"] < 0.45 * score(events, at)
    # The trend's base, 90 days back, reads Alice's clock as it stood then: her newest email
    # by then is this very one, so the tie was not quiet then. (Her clock capped at that
    # moment would have read 240 quiet days and a base of 0.4 of this one.)
    then = at - TREND_WINDOW
    base = score(events, then, clock=sent.sent_at)
    assert base - score(events, then, clock=then) > 0.4
    assert found["trend"] == pytest.approx(found["score"] - base, abs=0.15)
    url = f"/api/v1/people/{old}/strength?at={quote(at.isoformat())}"
    mine = client.get(url, headers=auth).get_json()  # Alice's own view says the same
    assert (mine["score"], mine["trend"]) == (found["score"], found["trend"])


def test_a_full_build_gathers_the_clocks_of_the_trends_base_as_a_query_reads_them(
    db: Database, firm: dict[str, int]
) -> None:
    """The live graph's clocks 90 days back come from the rows its build reads anyway
    (graph._Newest); they equal the query a past graph uses (aggregate_store.clocks_from_pairs):
    Alice's newest email by then is day 5, not a later one, and Bob's and Carol's (no email
    by then, or none sent) are absent alike."""
    later = Folder("Sent Items (later)", FolderKind.SENT)
    run(db, mailbox(db, ALICE), {later: [email(ALICE, [OLD_CLIENT], at=T0 + timedelta(200))]})
    now = T0 + timedelta(days=201)
    with db.transaction() as session:
        graph = build(session, now)
        firm_ids = graph.colleagues | graph.opted_out
        expected = clocks_from_pairs(session, firm_ids, now - TREND_WINDOW)
        # A past graph reads both moments in one pass: the same as one query per moment.
        moments = (now, now - TREND_WINDOW, T0 + timedelta(days=2), T0 - timedelta(days=1))
        together = clocks_at(session, firm_ids, moments)
        one_by_one = [clocks_from_pairs(session, firm_ids, m) for m in moments]
        everything = clocks_from_pairs(session, firm_ids)
    assert expected == {firm["alice"]: T0 + timedelta(days=5)}
    assert together == one_by_one and together[0] == everything
    assert together[0][firm["alice"]] == T0 + timedelta(days=200) and together[3] == {}
    assert graph.clocks_then.keys() == expected.keys()
    for person, at in expected.items():
        assert abs(graph.clocks_then[person] - at) < timedelta(milliseconds=1)
    assert graph.side_clocks(firm["alice"]).now == T0 + timedelta(days=200)


def test_a_past_graph_reads_each_colleagues_clock_as_it_was_then(
    db: Database, firm: dict[str, int]
) -> None:
    """At an earlier moment a colleague's clock is their newest email up to it (Alice's on
    day 5), not the moment itself: a mailbox idle then does not read as active."""
    later = Folder("Sent Items (later)", FolderKind.SENT)
    run(db, mailbox(db, ALICE), {later: [email(ALICE, [OLD_CLIENT], at=T0 + timedelta(200))]})
    with db.transaction() as session:
        now = build(session, T0 + timedelta(days=201))
        then = build_past(session, T0 + timedelta(days=100))
    assert now.clock(firm["alice"]) == T0 + timedelta(days=200)
    assert then.clock(firm["alice"]) == T0 + timedelta(days=5)

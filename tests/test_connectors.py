"""Who knows whom: ranking, explanation, opt-out, privacy, and O(1) scores that equal a replay."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from api.tokens import issue_dev_token
from relationships.aggregate_store import rebuild
from relationships.strength import Event, score
from storage.db import Database
from storage.models import Colleague, Relationship
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


def test_trend_is_now_against_ninety_days_ago(db: Database, firm: dict[str, int]) -> None:
    from relationships.connectors import tie_score_now, trend

    with db.transaction() as session:
        alice, jane = firm["alice"], firm["client"]
        fresh_at = T0 + timedelta(days=30)
        # Nothing 90 days before: the trend is the whole score.
        assert trend(session, alice, jane, fresh_at) == pytest.approx(
            tie_score_now(session, alice, jane, fresh_at), abs=0.2
        )
        later = T0 + timedelta(days=150)  # the thread is 5 months old: cooling
        assert trend(session, alice, jane, later) < 0 < tie_score_now(session, alice, jane, later)


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
    # Noisy-OR of the top ties: at least the best tie, at most 100.
    assert best["score"] <= body["coverage"] <= 100
    assert body["breadth"]["colleagues"] >= 1 and body["single_threaded"] == (
        body["breadth"]["colleagues"] == 1
    )
    people = body["people"]
    assert people["total"] == 1 and people["items"][0]["best"]["colleague"]["name"] == ALICE
    paged = client.get(
        f"/api/v1/companies/{company_id}/coverage?at={AT}&offset=1", headers=auth
    ).get_json()
    assert paged["people"]["items"] == []


def test_noisy_or_by_hand() -> None:
    from relationships.coverage import noisy_or

    assert noisy_or([50.0, 50.0]) == pytest.approx(75.0)
    assert noisy_or([90.0, 10, 10, 10, 10, 10, 10]) == pytest.approx(100 * (1 - 0.1 * 0.9**4))

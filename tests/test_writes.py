"""The add-in's API: the caller's own view (me, strength, interactions, message state) and the
writes (people, corrections, exclusions, private threads, notes, follow-ups), on real data
ingested by the real engine, with authorization and hostile text."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from api.mine import message_key
from api.tokens import issue_dev_token
from storage.db import Database
from storage.models import (
    Interaction,
)
from sync.items import MailItem
from sync.keys import item_keys
from tests.factories import INBOX, SENT, T0, email
from tests.test_engine import ALICE, BOB, CLIENT, mailbox, person_of, run

HOSTILE = "<img src=x onerror=alert(1)>"
CONVERSATION = "AAQkAGI2+conv/merger=="  # Exchange ids are base64: "+", "/" and "="
OTHER = "gc@acme.co.uk"
LATER = T0 + timedelta(days=30)


def in_thread(item: MailItem, conversation: str = CONVERSATION) -> MailItem:
    return dataclasses.replace(item, conversation_id=conversation)


@pytest.fixture
def firm(db: Database) -> dict[str, Any]:
    """Alice writes with the client four times in one thread; Bob's mailbox alone holds a
    message to the client with Alice on copy ("Bob's matter") and one without her."""
    alice, bob = mailbox(db, ALICE), mailbox(db, BOB)
    thread = [
        in_thread(
            email(
                ALICE if i % 2 else CLIENT,
                [CLIENT if i % 2 else ALICE],
                at=T0 + timedelta(days=i),
                subject="Secret merger",
                names={CLIENT: "Carla Fox"},
            )
        )
        for i in range(4)
    ]
    run(
        db,
        alice,
        {
            SENT: [m for m in thread if m.sender and m.sender.email == ALICE],
            INBOX: [m for m in thread if m.sender and m.sender.email == CLIENT],
        },
    )
    bobs = [
        email(BOB, [CLIENT], cc=[ALICE], at=T0 + timedelta(days=10), subject="Bob's matter"),
        email(BOB, [CLIENT, OTHER], at=T0 + timedelta(days=11), subject="Bob alone"),
    ]
    run(db, bob, {SENT: bobs})
    with db.transaction() as session:
        return {
            "alice_box": alice,
            "bob_box": bob,
            "client": person_of(session, CLIENT),
            "alice": person_of(session, ALICE),
            "bob": person_of(session, BOB),
            "other": person_of(session, OTHER),
            "thread": thread,
        }


@pytest.fixture
def as_user(app: Flask, firm: dict[str, Any]) -> Callable[..., dict[str, str]]:
    def headers(address: str = ALICE, *, admin: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_dev_token(app.config, address, admin=admin)}"}

    return headers


@pytest.fixture
def alice(as_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return as_user()


def ok(response: TestResponse, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def refused(response: TestResponse, status: int, fragment: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) >= {"error", "message"}
    assert fragment in body["message"], body


# --- the caller's own view ----------------------------------------------------------------------


def test_me_names_the_caller(
    client: FlaskClient, as_user: Callable[..., dict[str, str]], firm: dict[str, Any]
) -> None:
    me = ok(client.get("/api/v1/me", headers=as_user(BOB, admin=True)))
    assert me["email"] == BOB and me["person_id"] == firm["bob"] and me["admin"] is True
    assert isinstance(me["colleague_id"], int) and me["name"]
    assert ok(client.get("/api/v1/me", headers=as_user()))["admin"] is False


def test_strength_is_the_callers_own_tie(
    client: FlaskClient, as_user: Callable[..., dict[str, str]], firm: dict[str, Any]
) -> None:
    url = f"/api/v1/people/{firm['client']}/strength?at={LATER.date().isoformat()}"
    mine = ok(client.get(url, headers=as_user()))
    assert mine["score"] > 0 and mine["tier"] != "none"
    assert mine["explanation"]["emails_sent"] == 2 and mine["explanation"]["emails_received"] == 2
    assert mine["explanation"]["summary"].startswith("You wrote to Carla Fox twice")
    assert mine["last_contact"] == (T0 + timedelta(days=3)).isoformat()
    bobs = ok(client.get(url, headers=as_user(BOB)))
    assert bobs["explanation"]["emails_sent"] == 2 and bobs["score"] != mine["score"]
    none = ok(client.get(f"/api/v1/people/{firm['other']}/strength", headers=as_user()))
    assert none["score"] == 0 and none["tier"] == "none" and none["explanation"] is None


def test_interactions_are_mine_newest_first_without_colleagues_subjects(
    client: FlaskClient, alice: dict[str, str], firm: dict[str, Any]
) -> None:
    body = ok(client.get(f"/api/v1/people/{firm['client']}/interactions", headers=alice))
    items = body["items"]
    # Alice's four thread messages and Bob's message she was copied on; never "Bob alone".
    assert len(items) == 5 and body["next_before"] is None
    times = [i["occurred_at"] for i in items]
    assert times == sorted(times, reverse=True)
    bobs = items[0]
    assert bobs["in_my_mailbox"] is False and bobs["subject"] is None
    assert bobs["their_roles"] == ["to"] and bobs["direction"] == "out"
    assert all(i["subject"] == "Secret merger" and i["in_my_mailbox"] for i in items[1:])
    assert [i["direction"] for i in items[1:]] == ["out", "in", "out", "in"]
    assert "Bob alone" not in str(body)


def test_interactions_page_with_next_before(
    client: FlaskClient, alice: dict[str, str], firm: dict[str, Any]
) -> None:
    url = f"/api/v1/people/{firm['client']}/interactions"
    seen: list[int] = []
    before = ""
    for _ in range(4):
        page = ok(client.get(f"{url}?limit=2{before}", headers=alice))
        seen += [i["id"] for i in page["items"]]
        if page["next_before"] is None:
            break
        before = f"&before={page['next_before']}"
    everything = ok(client.get(url, headers=alice))["items"]
    assert seen == [i["id"] for i in everything] and len(seen) == 5
    refused(client.get(f"{url}?limit=0", headers=alice), 400, "expected an integer")
    refused(client.get(f"{url}?before=not-a-time", headers=alice), 400, "ISO 8601")


def test_message_state_comes_from_the_server(
    client: FlaskClient, alice: dict[str, str], firm: dict[str, Any], db: Database
) -> None:
    first = firm["thread"][0]
    assert first.message_id is not None
    assert message_key(f"<{first.message_id}>") in item_keys(first)
    url = "/api/v1/messages/state"
    state = ok(
        client.get(
            url,
            query_string={
                "internet_message_id": f"<{first.message_id}>",
                "conversation_id": CONVERSATION,
            },
            headers=alice,
        )
    )
    with db.transaction() as session:
        stored = session.scalar(select(Interaction.id).where(Interaction.occurred_at == T0))
    assert state == {
        "logged": True,
        "interaction_id": stored,
        "private": False,
        "excluded": False,
    }
    unknown = ok(client.get(url, query_string={"internet_message_id": "<x@y>"}, headers=alice))
    assert unknown["logged"] is False and unknown["interaction_id"] is None
    refused(client.get(url, headers=alice), 400, "internet_message_id")
    refused(
        client.get(url, query_string={"conversation_id": "c", "from": "nope"}, headers=alice),
        400,
        "not an email address",
    )

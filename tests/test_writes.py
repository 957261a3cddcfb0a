"""The add-in's API: the caller's own view (me, strength, interactions, message state) and the
writes (people, corrections, exclusions, private threads, notes, follow-ups), on real data
ingested by the real engine, with authorization and hostile text."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from api.mine import message_key
from api.tokens import issue_dev_token
from relationships.aggregate_store import rebuild
from storage.db import Database
from storage.merge import merge_people
from storage.models import AuditEvent, Colleague, Interaction, Person, Relationship, Sighting
from sync.items import Folder, FolderKind, MailItem
from sync.keys import item_keys
from tests.factories import INBOX, SENT, T0, email
from tests.test_engine import ALICE, BOB, CLIENT, mailbox, person_of, run

HOSTILE = "<img src=x onerror=alert(1)>"
CONVERSATION = "AAQkAGI2+conv/merger=="  # Exchange ids are base64: "+", "/" and "="
OTHER = "gc@acme.co.uk"
LATER = T0 + timedelta(days=30)
NEW_MAIL = Folder("New mail", FolderKind.INBOX)  # a folder of its own: a fresh cursor


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


# --- people: create and correct -----------------------------------------------------------------


def audit(db: Database, action: str) -> list[AuditEvent]:
    with db.transaction() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(session.scalars(query))


def test_add_an_unknown_person_with_hostile_text_as_plain_data(
    client: FlaskClient, alice: dict[str, str], db: Database, firm: dict[str, Any]
) -> None:
    body = {
        "email": " New.Person@Widgets.example ",
        "name": HOSTILE,
        "title": 'Director "Legal" & <b>Compliance</b>',
        "phone": "+44 (0)20 7946-0000 ext 12",
        "address": "1 Poultry\nLondon EC2R 8EJ",
    }
    response = client.post("/api/v1/people", json=body, headers=alice)
    created = ok(response, 201)
    assert response.mimetype == "application/json"
    assert created["display_name"] == HOSTILE
    assert created["title"] == body["title"] and created["address"] == body["address"]
    assert created["phones"] == ["+44 (0)20 7946-0000 ext 12"]
    assert created["emails"][0]["address"] == "new.person@widgets.example"
    assert created["company"]["domain"] == "widgets.example"
    assert created["follow_up"] is None and created["is_colleague"] is False
    assert {f: p["source"] for f, p in created["provenance"].items()} == {
        "display_name": "user",
        "title": "user",
        "phones": "user",
        "address": "user",
    }
    again = ok(client.get(f"/api/v1/people/{created['id']}", headers=alice))
    assert again["display_name"] == HOSTILE
    (event,) = audit(db, "person.create")
    assert event.actor == ALICE and event.target_id == str(created["id"])
    assert event.details["changes"]["display_name"] == {"old": "", "new": HOSTILE}

    exists = client.post(
        "/api/v1/people", json={"email": "new.person@widgets.example"}, headers=alice
    )
    assert exists.status_code == 409
    assert exists.get_json()["error"] == "exists"
    assert exists.get_json()["person_id"] == created["id"]
    known = client.post("/api/v1/people", json={"email": CLIENT}, headers=alice)
    assert known.status_code == 409 and known.get_json()["person_id"] == firm["client"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "No address"}, "email: required"),
        ({"email": "not-an-address"}, "not an email address"),
        ({"email": "carol@harbourlaw.example"}, "an address of the firm"),
        ({"email": "x@widgets.example", "nickname": "X"}, "unknown field(s) nickname"),
        ({"email": "x@widgets.example", "name": ""}, "name: may not be empty"),
        ({"email": "x@widgets.example", "name": 42}, "name: expected a string"),
        ({"email": "x@widgets.example", "title": "a\nb"}, "line breaks"),
        ({"email": "x@widgets.example", "title": "x" * 301}, "at most 300"),
        ({"email": "x@widgets.example", "name": "a\x00b"}, "control characters"),
        ({"email": "x@widgets.example", "phone": "call me"}, "phone: digits"),
        ({"email": "x@widgets.example", "company": "gmail.com"}, "free-mail domain"),
        ({"email": "x@widgets.example", "company": "Nobody Inc"}, "no company has that name"),
    ],
)
def test_bad_people_are_400_and_store_nothing(
    client: FlaskClient, alice: dict[str, str], db: Database, body: dict[str, Any], fragment: str
) -> None:
    refused(client.post("/api/v1/people", json=body, headers=alice), 400, fragment)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 4
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_writes_need_a_json_object(client: FlaskClient, alice: dict[str, str]) -> None:
    for response in (
        client.post("/api/v1/people", data="email=x@y.example", headers=alice),
        client.post("/api/v1/people", json=["x@y.example"], headers=alice),
        client.patch("/api/v1/people/3", json={}, headers=alice),
    ):
        assert response.status_code == 400
        assert response.get_json()["error"] == "bad_request"


def test_corrections_keep_provenance_and_survive_later_mail(
    client: FlaskClient, alice: dict[str, str], db: Database, firm: dict[str, Any]
) -> None:
    url = f"/api/v1/people/{firm['client']}"
    change = {
        "name": "Carla Fox-Whitby",
        "title": "Chief Financial Officer",
        "phone": "+44 20 7946 0001",
        "company": "acme.com",
    }
    person = ok(client.patch(url, json=change, headers=alice))
    assert person["display_name"] == "Carla Fox-Whitby"
    assert person["company"]["domain"] == "acme.com"
    assert person["provenance"]["display_name"]["source"] == "user"
    colleague_id = ok(client.get("/api/v1/me", headers=alice))["colleague_id"]
    assert person["provenance"]["title"]["by"] == colleague_id
    (event,) = audit(db, "person.update")
    assert event.details["changes"]["display_name"] == {
        "old": "Carla Fox",
        "new": "Carla Fox-Whitby",
    }
    assert event.details["changes"]["company"]["old"]["name"] == "Acme"
    assert event.details["source"] == "user"
    # Setting a value to what it is changes nothing and audits nothing.
    ok(client.patch(url, json={"title": "Chief Financial Officer"}, headers=alice))
    assert len(audit(db, "person.update")) == 1
    # Mail from her, signed with the old name, arrives later: the correction stands.
    later = email(CLIENT, [ALICE], at=LATER, subject="Re: terms", names={CLIENT: "C. Fox"})
    assert run(db, firm["alice_box"], {NEW_MAIL: [later]}).stored == 1
    assert ok(client.get(url, headers=alice))["display_name"] == "Carla Fox-Whitby"
    # Clearing a field is an edit too; the name cannot be cleared.
    cleared = ok(client.patch(url, json={"title": None, "phone": ""}, headers=alice))
    assert cleared["title"] is None and cleared["phones"] == []
    refused(client.patch(url, json={"name": " "}, headers=alice), 400, "may not be empty")


def test_a_colleagues_own_record_is_theirs_or_an_admins(
    client: FlaskClient, as_user: Callable[..., dict[str, str]], firm: dict[str, Any]
) -> None:
    url = f"/api/v1/people/{firm['bob']}"
    refused(client.patch(url, json={"title": "Intern"}, headers=as_user()), 403, "theirs")
    assert ok(client.patch(url, json={"title": "Partner"}, headers=as_user(BOB)))["title"] == (
        "Partner"
    )
    admin = as_user(admin=True)
    assert ok(client.patch(url, json={"title": "Counsel"}, headers=admin))["title"] == "Counsel"
    refused(client.patch("/api/v1/people/999999", json={"title": "x"}, headers=admin), 404, "no")


def test_a_hostile_display_name_from_a_header_is_returned_as_data(
    client: FlaskClient, alice: dict[str, str], db: Database, firm: dict[str, Any]
) -> None:
    hostile = email("mallory@evil.example", [ALICE], names={"mallory@evil.example": HOSTILE})
    assert run(db, firm["alice_box"], {NEW_MAIL: [hostile]}).stored == 1
    response = client.get("/api/v1/people?email=mallory@evil.example", headers=alice)
    assert ok(response)["display_name"] == HOSTILE
    assert response.mimetype == "application/json"


# --- exclusions and private threads -------------------------------------------------------------


def aggregates(db: Database) -> dict[tuple[int, int], dict[str, Any]]:
    """Every stored pair with every column, whatever the model adds, but when it was written
    (``changed_at``: a rebuild writes every row anew)."""
    table = Relationship.__table__
    with db.transaction() as session:
        rows = session.execute(select(table)).mappings().all()
        return {
            (r["a_id"], r["b_id"]): {k: v for k, v in r.items() if k != "changed_at"} for r in rows
        }


def clocks(db: Database) -> dict[str, datetime | None]:
    """Each colleague's clock (newest email to anyone, ``colleagues.last_sent_at``)."""
    with db.transaction() as session:
        return dict(session.execute(select(Colleague.email, Colleague.last_sent_at)).tuples().all())


def assert_aggregates_equal_a_rebuild(db: Database) -> None:
    """What a purge left must be exactly what recomputing everything from scratch gives, the
    colleagues' clocks included (a purged newest email takes a clock back)."""
    after_purge, clocks_after_purge = aggregates(db), clocks(db)
    with db.transaction() as session:
        rebuild(session)
    assert clocks(db) == clocks_after_purge
    rebuilt = aggregates(db)
    assert rebuilt.keys() == after_purge.keys()
    for key, row in rebuilt.items():
        for column, value in row.items():
            # Decayed sums are the same up to the order of their additions.
            expected = pytest.approx(value, rel=1e-9) if isinstance(value, float) else value
            assert after_purge[key][column] == expected, (key, column)


def pair_row(db: Database, a: int, b: int) -> Relationship | None:
    with db.transaction() as session:
        return session.get(Relationship, (min(a, b), max(a, b)))


def test_never_log_an_address_purges_my_mail_and_applies_at_sync(
    client: FlaskClient,
    as_user: Callable[..., dict[str, str]],
    db: Database,
    firm: dict[str, Any],
) -> None:
    alice = as_user()
    created = client.post("/api/v1/exclusions", json={"address": CLIENT.upper()}, headers=alice)
    body = ok(created, 201)
    assert body["pattern"] == CLIENT and body["address"] == CLIENT and body["domain"] is None
    assert body["firm_wide"] is False
    # Alice's four thread messages had no other external: gone. Bob's two stay (his mail).
    assert body["purged"] == {"interactions": 4, "participants": 4, "sightings": 4}
    assert pair_row(db, firm["alice"], firm["client"]) is None
    assert pair_row(db, firm["bob"], firm["client"]) is not None
    assert_aggregates_equal_a_rebuild(db)
    listed = ok(client.get(f"/api/v1/people/{firm['client']}/interactions", headers=alice))
    assert [i["in_my_mailbox"] for i in listed["items"]] == [False]  # Bob's, she was on copy
    # The next sync skips her mail with the client, and the pane sees it as excluded.
    stats = run(db, firm["alice_box"], {NEW_MAIL: [email(CLIENT, [ALICE], at=LATER)]})
    assert stats.stored == 0 and stats.skipped == {"excluded": 1}
    state = client.get(
        "/api/v1/messages/state",
        query_string={"conversation_id": "c", "from": CLIENT},
        headers=alice,
    )
    assert ok(state)["excluded"] is True
    # Asking again changes nothing; others do not see it; only its owner or an admin deletes it.
    again = ok(client.post("/api/v1/exclusions", json={"address": CLIENT}, headers=alice))
    assert again["id"] == body["id"] and "purged" not in again
    assert [e["id"] for e in ok(client.get("/api/v1/exclusions", headers=alice))["items"]] == [
        body["id"]
    ]
    assert ok(client.get("/api/v1/exclusions", headers=as_user(BOB)))["items"] == []
    admin_view = ok(client.get("/api/v1/exclusions", headers=as_user(BOB, admin=True)))
    assert [e["id"] for e in admin_view["items"]] == [body["id"]]
    url = f"/api/v1/exclusions/{body['id']}"
    refused(client.delete(url, headers=as_user(BOB)), 404, "no exclusion")
    assert client.delete(url, headers=alice).status_code == 204
    assert ok(client.get("/api/v1/exclusions", headers=alice))["items"] == []
    actions = [e.action for e in audit(db, "exclusion.create") + audit(db, "exclusion.delete")]
    assert actions == ["exclusion.create", "exclusion.delete"]


def test_an_excluded_address_is_struck_where_other_externals_remain(
    client: FlaskClient, alice: dict[str, str], db: Database, firm: dict[str, Any]
) -> None:
    both = email(ALICE, [CLIENT, "partner@lawfirm.example"], at=LATER, subject="Closing")
    run(db, firm["alice_box"], {NEW_MAIL: [both]})
    body = ok(client.post("/api/v1/exclusions", json={"address": CLIENT}, headers=alice), 201)
    assert body["purged"] == {"interactions": 4, "participants": 5, "sightings": 4}
    with db.transaction() as session:
        kept = session.scalars(select(Interaction).where(Interaction.subject == "Closing")).one()
        assert kept.id is not None
    partner = ok(client.get("/api/v1/people?email=partner@lawfirm.example", headers=alice))
    assert (
        len(ok(client.get(f"/api/v1/people/{partner['id']}/interactions", headers=alice))["items"])
        == 1
    )
    assert pair_row(db, firm["alice"], partner["id"]) is not None
    assert_aggregates_equal_a_rebuild(db)


def test_a_firm_wide_domain_exclusion_is_for_admins_and_covers_every_mailbox(
    client: FlaskClient,
    as_user: Callable[..., dict[str, str]],
    db: Database,
    firm: dict[str, Any],
) -> None:
    wanted = {"domain": "@ACME.co.uk", "firm_wide": True, "reason": "conflict wall"}
    refused(client.post("/api/v1/exclusions", json=wanted, headers=as_user()), 403, "admin")
    body = ok(client.post("/api/v1/exclusions", json=wanted, headers=as_user(admin=True)), 201)
    assert body["pattern"] == "@acme.co.uk" and body["firm_wide"] is True
    assert body["colleague_id"] is None and body["reason"] == "conflict wall"
    assert body["purged"]["interactions"] == 6  # Alice's four and Bob's two
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Interaction)) == 0
    assert pair_row(db, firm["bob"], firm["client"]) is None
    assert_aggregates_equal_a_rebuild(db)
    stats = run(db, firm["bob_box"], {NEW_MAIL: [email(OTHER, [BOB], at=LATER)]})
    assert stats.skipped == {"excluded": 1}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, 'either "address" or "domain"'),
        ({"address": CLIENT, "domain": "acme.co.uk"}, 'either "address" or "domain"'),
        ({"address": "nope"}, "not an email address"),
        ({"domain": "not a domain"}, "not a domain"),
        ({"domain": 7}, "expected a string"),
        ({"address": "carol@harbourlaw.example"}, "firm's own"),
        ({"domain": "mail.harbourlaw.example"}, "firm's own"),
        ({"address": CLIENT, "firm_wide": "yes"}, "true or false"),
        ({"address": CLIENT, "reason": "x" * 501}, "at most 500"),
    ],
)
def test_bad_exclusions_are_400(
    client: FlaskClient, alice: dict[str, str], body: dict[str, Any], fragment: str
) -> None:
    refused(client.post("/api/v1/exclusions", json=body, headers=alice), 400, fragment)


def thread_url(conversation: str = CONVERSATION) -> str:
    return f"/api/v1/threads/{quote(conversation, safe='')}/private"


def test_a_private_thread_leaves_my_mail_and_stays_out_of_sync(
    client: FlaskClient,
    as_user: Callable[..., dict[str, str]],
    db: Database,
    firm: dict[str, Any],
) -> None:
    alice = as_user()
    # Bob was copied on one message of the thread: his copy is his mail and stays.
    shared = in_thread(email(CLIENT, [ALICE], cc=[BOB], at=LATER, subject="Secret merger"))
    run(db, firm["alice_box"], {NEW_MAIL: [shared]})
    run(db, firm["bob_box"], {NEW_MAIL: [shared]})
    marked = ok(client.put(thread_url(), headers=alice))
    assert marked == {
        "conversation_id": CONVERSATION,
        "private": True,
        "purged": {"interactions": 4, "participants": 0, "sightings": 5},
    }
    with db.transaction() as session:
        left = session.scalars(
            select(Interaction).where(Interaction.conversation_id == CONVERSATION)
        ).all()
        assert [i.occurred_at for i in left] == [LATER]
        boxes = session.scalars(
            select(Sighting.mailbox_id).where(Sighting.interaction_id == left[0].id)
        )
        assert list(boxes) == [firm["bob_box"]]
    assert pair_row(db, firm["alice"], firm["client"]) is not None  # Bob's copy still counts
    assert_aggregates_equal_a_rebuild(db)
    mine = ok(client.get(f"/api/v1/people/{firm['client']}/interactions", headers=alice))
    assert all(i["subject"] is None for i in mine["items"])
    state = client.get(
        "/api/v1/messages/state", query_string={"conversation_id": CONVERSATION}, headers=alice
    )
    assert ok(state)["private"] is True
    bobs = client.get(
        "/api/v1/messages/state",
        query_string={"conversation_id": CONVERSATION},
        headers=as_user(BOB),
    )
    assert ok(bobs)["private"] is False
    # New mail in the thread is skipped in Alice's mailbox; other threads are not.
    later = [
        in_thread(email(CLIENT, [ALICE], at=LATER + timedelta(days=1))),
        in_thread(email(CLIENT, [ALICE], at=LATER + timedelta(days=2)), "another thread"),
    ]
    stats = run(db, firm["alice_box"], {Folder("Newer", FolderKind.INBOX): later})
    assert stats.skipped == {"private-thread": 1} and stats.stored == 1
    # Marking twice is harmless; unmarking lets the next sync bring the thread back.
    assert ok(client.put(thread_url(), headers=alice))["purged"]["interactions"] == 0
    assert ok(client.delete(thread_url(), headers=alice)) == {
        "conversation_id": CONVERSATION,
        "private": False,
    }
    again = in_thread(email(CLIENT, [ALICE], at=LATER + timedelta(days=3)))
    assert run(db, firm["alice_box"], {Folder("Newest", FolderKind.INBOX): [again]}).stored == 1
    assert [e.action for e in audit(db, "thread.private")] == ["thread.private"] * 2
    assert len(audit(db, "thread.unprivate")) == 1


def test_conversation_ids_are_checked(client: FlaskClient, alice: dict[str, str]) -> None:
    refused(client.put(thread_url("x" * 256), headers=alice), 400, "1 to 255")
    refused(client.put(thread_url("a\u0007b"), headers=alice), 400, "control characters")


# --- notes and follow-ups -----------------------------------------------------------------------


def test_notes_are_the_authors_own_unless_shared(
    client: FlaskClient,
    as_user: Callable[..., dict[str, str]],
    db: Database,
    firm: dict[str, Any],
) -> None:
    url = f"/api/v1/people/{firm['client']}/notes"
    alice, bob = as_user(), as_user(BOB)
    text = f"  Prefers calls.\n{HOSTILE}\n"
    private = ok(client.post(url, json={"text": text}, headers=alice), 201)
    assert private["text"] == text.strip() and private["shared"] is False and private["mine"]
    assert private["author"]["name"] == ALICE  # her mail never showed a name: her address
    shared = ok(
        client.post(url, json={"text": "Met at the ABA", "shared": True}, headers=alice), 201
    )
    mine = ok(client.get(url, headers=alice))["items"]
    assert [n["id"] for n in mine] == [shared["id"], private["id"]]
    theirs = ok(client.get(url, headers=bob))["items"]
    assert [(n["id"], n["mine"]) for n in theirs] == [(shared["id"], False)]
    assert text.strip() not in str(theirs)
    assert len(audit(db, "note.create")) == 2
    refused(client.post(url, json={"text": "  "}, headers=alice), 400, "text: required")
    refused(client.post(url, json={"text": "x" * 10_001}, headers=alice), 400, "at most 10000")
    refused(client.post(url, json={"text": "x", "shared": 1}, headers=alice), 400, "true or false")
    refused(
        client.post("/api/v1/people/999999/notes", json={"text": "x"}, headers=alice),
        404,
        "no person",
    )


def test_follow_ups_are_the_callers_own(
    client: FlaskClient,
    as_user: Callable[..., dict[str, str]],
    db: Database,
    firm: dict[str, Any],
) -> None:
    alice, bob = as_user(), as_user(BOB)
    url = f"/api/v1/people/{firm['client']}/follow-up"
    person = f"/api/v1/people/{firm['client']}"
    set_ = ok(client.put(url, json={"due": "2026-12-01", "text": "Send the SPA"}, headers=alice))
    assert set_["due"] == "2026-12-01" and set_["text"] == "Send the SPA"
    moved = ok(client.put(url, json={"due": "2026-12-08"}, headers=alice))
    assert moved["due"] == "2026-12-08" and moved["text"] == ""
    assert ok(client.get(person, headers=alice))["follow_up"]["due"] == "2026-12-08"
    assert ok(client.get(person, headers=bob))["follow_up"] is None
    by_email = ok(client.get(f"/api/v1/people?email={CLIENT}", headers=alice))
    assert by_email["follow_up"]["due"] == "2026-12-08"
    assert client.delete(url, headers=bob).status_code == 204  # Bob had none: Alice's stays
    assert ok(client.get(person, headers=alice))["follow_up"] is not None
    assert client.delete(url, headers=alice).status_code == 204
    assert ok(client.get(person, headers=alice))["follow_up"] is None
    assert [e.action for e in audit(db, "follow_up.set")] == ["follow_up.set"] * 2
    assert len(audit(db, "follow_up.clear")) == 1
    for due, fragment in [
        ("2026-13-01", "no such date"),
        ("tomorrow", "YYYY-MM-DD"),
        (20261201, "YYYY-MM-DD"),
        ("1999-12-31", "between 2000 and 2100"),
    ]:
        refused(client.put(url, json={"due": due}, headers=alice), 400, fragment)


def test_notes_and_follow_ups_follow_a_merge(
    client: FlaskClient, alice: dict[str, str], db: Database, firm: dict[str, Any]
) -> None:
    """Written on a record later merged into another: shown on the survivor."""
    ok(
        client.post(f"/api/v1/people/{firm['other']}/notes", json={"text": "GC"}, headers=alice),
        201,
    )
    ok(
        client.put(
            f"/api/v1/people/{firm['other']}/follow-up", json={"due": "2026-12-01"}, headers=alice
        )
    )
    with db.transaction() as session:
        merge_people(session, firm["client"], firm["other"], "same person")
    notes = ok(client.get(f"/api/v1/people/{firm['client']}/notes", headers=alice))["items"]
    assert [n["text"] for n in notes] == ["GC"]
    survivor = ok(client.get(f"/api/v1/people/{firm['other']}", headers=alice))
    assert survivor["id"] == firm["client"] and survivor["follow_up"]["due"] == "2026-12-01"


def test_every_add_in_route_is_documented(app: Flask) -> None:
    from pathlib import Path

    documented = (Path(__file__).parent.parent / "docs" / "openapi.yaml").read_text()
    api = Path(__file__).parent.parent / "docs" / "api.md"
    mine = {"mine", "people_writes", "privacy", "notes"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[1:2] and rule.endpoint.split(".")[1] in mine:
            path = rule.rule.replace("<id:", "{").replace("<path:", "{").replace(">", "}")
            path = path.replace("{person_id}", "{id}").replace("{exclusion_id}", "{id}")
            assert f"  {path}:" in documented, path
            assert rule.rule.split("<")[0] in api.read_text(), rule.rule

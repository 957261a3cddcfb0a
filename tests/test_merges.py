"""Merges an admin makes, inspects and undoes, and pairs marked distinct, through the API on
real data ingested by the real engine: an undo gives each person back their addresses,
fields, pairs, connectors and interactions, and is refused when it cannot be made."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from api.tokens import issue_dev_token
from relationships.aggregate_store import rebuild
from relationships.graph import current_version
from storage.audit import record
from storage.db import Database
from storage.merge import distinct_pairs, mark_distinct, merge_people
from storage.models import AuditEvent, Colleague, EmailAddress, Person, Relationship
from storage.models.base import table_of
from sync.engine import ingest
from sync.items import Folder, FolderKind
from tests.factories import INBOX, SENT, T0, ListSource, email
from tests.test_engine import ALICE, BOB, FIRM, mailbox, person_of, run
from tests.test_openapi import DOCUMENT, check, route_of

WORK = "jane@acme.co.uk"  # Jane Roe at Acme, who writes with Alice
HOME = "jane.roe@gmail.com"  # the same Jane, nameless, whom Bob wrote to with Alice on copy
OTHER = "j.roe@roe-family.example"  # a third record of hers
AT = (T0 + timedelta(days=30)).isoformat().replace("+", "%2B")
NEW_MAIL = Folder("New mail", FolderKind.INBOX)  # a folder of its own: a fresh cursor
MERGE = "/api/v1/admin/people/merge"
MERGES = "/api/v1/admin/merges"
DISTINCT = "/api/v1/admin/people/distinct"
FLOATS = ("ab_warm", "ab_history", "ba_warm", "ba_history", "mtg_warm", "mtg_history")


@pytest.fixture
def firm(db: Database) -> dict[str, int]:
    alice, bob = mailbox(db, ALICE), mailbox(db, BOB)
    thread = [
        email(
            ALICE if i % 2 else WORK,
            [WORK if i % 2 else ALICE],
            at=T0 + timedelta(days=i),
            subject="Terms",
            names={WORK: "Jane Roe"},
        )
        for i in range(4)
    ]
    run(
        db,
        alice,
        {
            SENT: [m for m in thread if m.sender and m.sender.email == ALICE],
            INBOX: [m for m in thread if m.sender and m.sender.email == WORK],
        },
    )
    dinner = email(BOB, [HOME], cc=[ALICE], at=T0 + timedelta(days=5), subject="Dinner")
    answer = email(HOME, [BOB], at=T0 + timedelta(days=6), subject="RE: Dinner")
    third = email(OTHER, [BOB], at=T0 + timedelta(days=7), subject="Hello")
    run(db, bob, {SENT: [dinner], INBOX: [answer, third]})
    with db.transaction() as session:
        return {
            "alice_box": alice,
            "work": person_of(session, WORK),
            "home": person_of(session, HOME),
            "other": person_of(session, OTHER),
            "bob": person_of(session, BOB),
        }


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def admin(app: Flask, firm: dict[str, int]) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(app.config, ALICE, admin=True)}"}


@pytest.fixture
def colleague(app: Flask, firm: dict[str, int]) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(app.config, ALICE)}"}


def ok(response: TestResponse, document: dict[str, Any], status: int = 200) -> Any:
    """The response's JSON, after checking its status and that docs/openapi.yaml says so."""
    assert response.status_code == status, response.get_json()
    method = (response.request.method or "get").lower()
    route = route_of(document, response.request.path)
    check(document, route, method, status, response.get_json())
    return response.get_json()


def refused(response: TestResponse, status: int, fragment: str) -> None:
    body = response.get_json()
    assert response.status_code == status, body
    assert fragment in body["message"], body["message"]


def merge(client: FlaskClient, headers: dict[str, str], keep: int, drop: int) -> TestResponse:
    return client.post(
        MERGE, json={"keep": keep, "drop": drop, "reason": "one Jane"}, headers=headers
    )


def undo(client: FlaskClient, headers: dict[str, str], event: int) -> TestResponse:
    return client.post(f"{MERGES}/{event}/undo", headers=headers)


def shown(client: FlaskClient, headers: dict[str, str], person: int) -> dict[str, Any]:
    """What a colleague sees of a person: the record, its connectors, their interactions."""
    record = client.get(f"/api/v1/people/{person}", headers=headers).get_json()
    connectors = client.get(f"/api/v1/people/{person}/connectors?at={AT}", headers=headers)
    interactions = client.get(f"/api/v1/people/{person}/interactions", headers=headers)
    return {
        "id": record["id"],
        "name": record["display_name"],
        "company": record["company"],
        "emails": sorted(e["address"] for e in record["emails"]),
        "connectors": connectors.get_json()["connectors"],
        "interactions": interactions.get_json()["items"],
    }


def pairs(session: Session) -> dict[tuple[int, int], dict[str, Any]]:
    """Every stored pair aggregate but its write stamp, decayed sums to 9 significant digits
    (a page-by-page sum and a rebuild add the same terms in another order)."""
    found = {}
    for row in session.scalars(select(Relationship)):
        values = {c.name: getattr(row, c.name) for c in table_of(Relationship).columns}
        values.pop("changed_at")
        found[(row.a_id, row.b_id)] = {
            k: float(f"{v:.9g}") if k in FLOATS else v for k, v in values.items()
        }
    return found


def stored(db: Database) -> dict[str, Any]:
    with db.transaction() as session:
        clocks = session.execute(select(Colleague.email, Colleague.last_sent_at)).tuples()
        return {"pairs": pairs(session), "clocks": dict(clocks.all())}


def test_an_undone_merge_gives_each_person_back_what_they_had(
    db: Database,
    client: FlaskClient,
    admin: dict[str, str],
    firm: dict[str, int],
    document: dict[str, Any],
) -> None:
    work, home = firm["work"], firm["home"]
    before = {p: shown(client, admin, p) for p in (work, home)}
    store_before = stored(db)
    assert before[work]["name"] == "Jane Roe" and before[home]["name"] == ""
    assert [c["colleague"]["name"] for c in before[home]["connectors"]] == [BOB]

    merged = ok(merge(client, admin, home, work), document)

    assert merged["survivor"] == home and merged["merged"] == work
    assert merged["addresses"] == [WORK]
    jane = shown(client, admin, work)  # the merged record shows its survivor
    assert jane["id"] == home and jane["emails"] == sorted([WORK, HOME])
    assert jane["name"] == "Jane Roe" and jane["company"]["domain"] == "acme.co.uk"
    assert {c["colleague"]["name"] for c in jane["connectors"]} == {ALICE, BOB}
    assert len(jane["interactions"]) == len(before[work]["interactions"]) + 1

    restored = ok(undo(client, admin, merged["merge_event"]), document)

    assert restored == {"restored": work, "merge_event": merged["merge_event"]}
    assert {p: shown(client, admin, p) for p in (work, home)} == before
    assert stored(db) == store_before
    with db.transaction() as session:
        assert distinct_pairs(session) == {tuple(sorted((work, home)))}
        unmerge = session.scalars(select(AuditEvent).where(AuditEvent.action == "person.unmerge"))
        assert unmerge.one().details == {
            "merge_event": merged["merge_event"],
            "restored": work,
            "addresses": [WORK],
        }


def test_a_merge_is_listed_with_whether_it_can_be_undone(
    client: FlaskClient, admin: dict[str, str], firm: dict[str, int], document: dict[str, Any]
) -> None:
    first = merge(client, admin, firm["home"], firm["work"]).get_json()["merge_event"]
    second = merge(client, admin, firm["home"], firm["other"]).get_json()["merge_event"]
    ok(undo(client, admin, second), document)

    listed = ok(client.get(f"{MERGES}?limit=1", headers=admin), document)
    assert [m["id"] for m in listed["items"]] == [second] and listed["next_offset"] == 1
    newest = listed["items"][0]
    assert newest["undone"] and not newest["undoable"] and "undone already" in newest["why_not"]
    assert newest["keep"] == {"id": firm["home"], "name": "Jane Roe"}
    assert newest["merged"]["id"] == firm["other"] and newest["addresses"] == [OTHER]
    assert newest["actor"] == ALICE and newest["reason"] == "one Jane"
    older = ok(client.get(f"{MERGES}?limit=1&offset=1", headers=admin), document)
    assert older["next_offset"] is None
    assert older["items"][0]["id"] == first and older["items"][0]["undoable"]
    assert older["items"][0]["why_not"] is None and not older["items"][0]["undone"]


def test_a_merge_is_undone_once(
    client: FlaskClient, admin: dict[str, str], firm: dict[str, int], document: dict[str, Any]
) -> None:
    event = merge(client, admin, firm["home"], firm["work"]).get_json()["merge_event"]
    ok(undo(client, admin, event), document)
    again = undo(client, admin, event)
    ok(again, document, 409)
    refused(again, 409, f"merge {event} was undone already")


def test_an_undo_waits_for_the_undo_of_a_later_merge_of_the_survivor(
    db: Database,
    client: FlaskClient,
    admin: dict[str, str],
    firm: dict[str, int],
    document: dict[str, Any],
) -> None:
    first = merge(client, admin, firm["home"], firm["work"]).get_json()["merge_event"]
    later = merge(client, admin, firm["other"], firm["home"]).get_json()["merge_event"]

    response = undo(client, admin, first)

    ok(response, document, 409)
    refused(response, 409, f"merged into person {firm['other']} later (merge {later})")
    with db.transaction() as session:  # nothing moved
        assert person_of(session, WORK) == firm["other"]
    ok(undo(client, admin, later), document)
    ok(undo(client, admin, first), document)
    with db.transaction() as session:
        assert [person_of(session, a) for a in (WORK, HOME, OTHER)] == [
            firm["work"],
            firm["home"],
            firm["other"],
        ]


def test_an_address_the_survivor_took_after_the_merge_stays_with_it(
    db: Database,
    client: FlaskClient,
    admin: dict[str, str],
    firm: dict[str, int],
    document: dict[str, Any],
) -> None:
    event = merge(client, admin, firm["home"], firm["work"]).get_json()["merge_event"]
    ok(merge(client, admin, firm["home"], firm["other"]), document)

    ok(undo(client, admin, event), document)

    home = shown(client, admin, firm["home"])
    assert home["emails"] == sorted([HOME, OTHER])
    assert shown(client, admin, firm["work"])["emails"] == [WORK]
    assert shown(client, admin, firm["other"])["id"] == firm["home"]  # still merged


def test_notes_and_follow_ups_go_back_with_their_record(
    client: FlaskClient, admin: dict[str, str], firm: dict[str, int]
) -> None:
    work, home = firm["work"], firm["home"]
    client.post(f"/api/v1/people/{work}/notes", json={"text": "Met at Acme"}, headers=admin)
    client.put(f"/api/v1/people/{work}/follow-up", json={"due": "2026-12-01"}, headers=admin)
    event = merge(client, admin, home, work).get_json()["merge_event"]
    notes = client.get(f"/api/v1/people/{home}/notes", headers=admin).get_json()["items"]
    assert [n["text"] for n in notes] == ["Met at Acme"]

    undo(client, admin, event)

    assert client.get(f"/api/v1/people/{home}/notes", headers=admin).get_json()["items"] == []
    assert client.get(f"/api/v1/people/{home}", headers=admin).get_json()["follow_up"] is None
    notes = client.get(f"/api/v1/people/{work}/notes", headers=admin).get_json()["items"]
    assert [n["text"] for n in notes] == ["Met at Acme"]
    work_json = client.get(f"/api/v1/people/{work}", headers=admin).get_json()
    assert work_json["follow_up"]["due"] == "2026-12-01"


def test_fields_changed_since_the_merge_are_kept(
    client: FlaskClient, admin: dict[str, str], firm: dict[str, int]
) -> None:
    event = merge(client, admin, firm["home"], firm["work"]).get_json()["merge_event"]
    patched = client.patch(
        f"/api/v1/people/{firm['home']}", json={"name": "Jane A. Roe"}, headers=admin
    )
    assert patched.status_code == 200

    assert undo(client, admin, event).status_code == 200

    home = shown(client, admin, firm["home"])
    assert home["name"] == "Jane A. Roe"  # a colleague's correction, not the merge's copy
    assert home["company"] is None  # the merge's copy, given back


def test_a_merge_that_moved_a_colleague_record_is_not_undone(
    db: Database,
    client: FlaskClient,
    admin: dict[str, str],
    firm: dict[str, int],
    document: dict[str, Any],
) -> None:
    with db.transaction() as session:  # as the identity rules merge an alias of Bob's
        event = merge_people(session, firm["home"], firm["bob"], "alias", "system")
        assert event is not None
        session.flush()
        event_id = event.id

    response = undo(client, admin, event_id)

    ok(response, document, 409)
    refused(response, 409, "colleague record")
    listed = client.get(MERGES, headers=admin).get_json()["items"]
    assert not listed[0]["undoable"] and "cannot be undone" in listed[0]["why_not"]


def test_a_merge_recorded_before_undos_existed_is_undone_without_its_fields(
    db: Database, client: FlaskClient, admin: dict[str, str], firm: dict[str, int]
) -> None:
    with db.transaction() as session:
        event = merge_people(session, firm["home"], firm["work"], "x500 alias")
        assert event is not None
        event.details = {k: event.details[k] for k in ("merged", "addresses", "reason")}
        session.flush()
        event_id = event.id

    assert undo(client, admin, event_id).status_code == 200

    assert shown(client, admin, firm["work"])["emails"] == [WORK]
    assert shown(client, admin, firm["home"])["name"] == "Jane Roe"  # unknown: left as is


def test_merges_are_refused_for_colleagues_merged_people_and_one_person(
    db: Database,
    client: FlaskClient,
    admin: dict[str, str],
    firm: dict[str, int],
    document: dict[str, Any],
) -> None:
    cases = [
        ((firm["home"], firm["bob"]), f"person {firm['bob']} is a colleague"),
        ((firm["bob"], firm["home"]), f"person {firm['bob']} is a colleague"),
        ((firm["home"], firm["home"]), "name two people"),
    ]
    for (keep, drop), fragment in cases:
        response = merge(client, admin, keep, drop)
        ok(response, document, 409)
        refused(response, 409, fragment)
    ok(merge(client, admin, firm["home"], firm["work"]), document)
    refused(merge(client, admin, firm["other"], firm["work"]), 409, "name person")
    refused(merge(client, admin, firm["work"], firm["other"]), 409, "is merged into")
    missing = merge(client, admin, firm["home"], 999_999)
    ok(missing, document, 404)
    refused(missing, 404, "no person 999999")
    with db.transaction() as session:
        assert person_of(session, BOB) == firm["bob"]  # nothing moved
        assert person_of(session, OTHER) == firm["other"]


def test_distinct_pairs_round_trip(
    db: Database,
    client: FlaskClient,
    admin: dict[str, str],
    firm: dict[str, int],
    document: dict[str, Any],
) -> None:
    home, work, other = firm["home"], firm["work"], firm["other"]
    marked = client.post(DISTINCT, json={"a": work, "b": home, "reason": "twins"}, headers=admin)
    assert ok(marked, document) == {"a": min(work, home), "b": max(work, home), "reason": "twins"}
    again = client.post(DISTINCT, json={"a": home, "b": work}, headers=admin)
    assert ok(again, document)["reason"] == ""
    ok(client.post(DISTINCT, json={"a": other, "b": home}, headers=admin), document)
    with db.transaction() as session:
        assert distinct_pairs(session) == {
            (min(work, home), max(work, home)),
            (min(other, home), max(other, home)),
        }
    refused(client.post(DISTINCT, json={"a": home, "b": home}, headers=admin), 409, "two")
    refused(client.post(DISTINCT, json={"a": home, "b": 999_999}, headers=admin), 404, "no person")
    merge(client, admin, home, other)
    merged = client.post(DISTINCT, json={"a": work, "b": other}, headers=admin)
    refused(merged, 409, f"person {other} is merged into person {home}")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (MERGE, {"keep": 1, "drop": 2}),
        (MERGES, None),
        (f"{MERGES}/1/undo", None),
        (DISTINCT, {"a": 1, "b": 2}),
    ],
)
def test_only_admins_reach_merges(
    client: FlaskClient,
    colleague: dict[str, str],
    firm: dict[str, int],
    document: dict[str, Any],
    path: str,
    body: dict[str, int] | None,
) -> None:
    method = "GET" if body is None and path == MERGES else "POST"
    anonymous = client.open(path, method=method, json=body)
    ok(anonymous, document, 401)
    forbidden = client.open(path, method=method, json=body, headers=colleague)
    ok(forbidden, document, 403)
    refused(forbidden, 403, "admin only")


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        (MERGE, "not json", "send a JSON object"),
        (MERGE, [1, 2], "send a JSON object"),
        (MERGE, {"keep": 1}, "drop: required"),
        (MERGE, {"keep": "1", "drop": 2}, "keep: required, a person id"),
        (MERGE, {"keep": 0, "drop": 2}, "keep: required, a person id"),
        (MERGE, {"keep": -3, "drop": 2}, "keep: required, a person id"),
        (MERGE, {"keep": True, "drop": 2}, "keep: required, a person id"),
        (MERGE, {"keep": 1.5, "drop": 2}, "keep: required, a person id"),
        (MERGE, {"keep": 2**63, "drop": 2}, "keep: required, a person id"),
        (MERGE, {"keep": 1, "drop": 2, "why": "x"}, "unknown field 'why'"),
        (MERGE, {"keep": 1, "drop": 2, "reason": "x" * 301}, "at most 300"),
        (MERGE, {"keep": 1, "drop": 2, "reason": "a\nb"}, "line breaks"),
        (MERGE, {"keep": 1, "drop": 2, "reason": 7}, "expected a string"),
        (DISTINCT, {"a": 1}, "b: required"),
        (DISTINCT, {"a": 1, "b": "two"}, "b: required, a person id"),
        (DISTINCT, {"a": 1, "b": 2, "reason": "<b>\u0007</b>"}, "control characters"),
    ],
)
def test_bad_bodies_are_refused(
    db: Database,
    client: FlaskClient,
    admin: dict[str, str],
    document: dict[str, Any],
    path: str,
    body: Any,
    fragment: str,
) -> None:
    if isinstance(body, str):
        response = client.post(path, data=body, content_type="application/json", headers=admin)
    else:
        response = client.post(path, json=body, headers=admin)
    ok(response, document, 400)
    refused(response, 400, fragment)
    with db.transaction() as session:
        assert session.scalars(select(AuditEvent)).first() is None


def test_unknown_merges_and_events_of_other_kinds_are_not_found(
    db: Database,
    client: FlaskClient,
    admin: dict[str, str],
    firm: dict[str, int],
    document: dict[str, Any],
) -> None:
    ok(undo(client, admin, 999_999), document, 404)
    distinct = client.post(DISTINCT, json={"a": firm["home"], "b": firm["work"]}, headers=admin)
    assert distinct.status_code == 200
    with db.transaction() as session:
        event = session.scalars(select(AuditEvent.id)).one()  # a "person.distinct" event
    refused(undo(client, admin, event), 404, f"no merge has the audit event id {event}")
    refused(client.get(f"{MERGES}?limit=0", headers=admin), 400, "from 1 to 200")


def test_names_come_back_as_plain_json_strings(
    db: Database, client: FlaskClient, admin: dict[str, str], firm: dict[str, int]
) -> None:
    hostile = '<img src=x onerror=alert(1)>"Jane'
    with db.transaction() as session:
        session.execute(
            update(Person).where(Person.id == firm["work"]).values(display_name=hostile)
        )
    merge(client, admin, firm["home"], firm["work"])

    response = client.get(MERGES, headers=admin)

    assert response.content_type == "application/json"
    listed = response.get_json()["items"][0]
    assert listed["merged"]["name"] == hostile  # as stored: neither escaped nor cut
    assert listed["keep"]["name"] == hostile  # the survivor had no name: it took hers


@pytest.mark.parametrize("change", ["merge", "undo"])
def test_a_sync_pass_under_way_follows_a_merge_or_an_undo(
    db: Database,
    client: FlaskClient,
    admin: dict[str, str],
    firm: dict[str, int],
    change: str,
) -> None:
    """Alice's next pass reads two pages, each a message from Jane's work address; between
    them an admin merges her records (or undoes their merge). The pass had cached which
    person the address was: its second page counts the message for the person it is now."""
    event = 0
    if change == "undo":
        event = merge(client, admin, firm["home"], firm["work"]).get_json()["merge_event"]
    later = [email(WORK, [ALICE], at=T0 + timedelta(days=10 + i)) for i in range(2)]
    done: list[int] = []

    def between_pages(*_: object) -> None:
        if not done:
            answer = (
                undo(client, admin, event)
                if event
                else merge(client, admin, firm["home"], firm["work"])
            )
            done.append(answer.status_code)

    ingest(
        db,
        firm["alice_box"],
        ListSource({NEW_MAIL: later}, page_size=1),
        FIRM,
        on_page=between_pages,
    )

    assert done == [200]
    with db.transaction() as session:
        jane = person_of(session, WORK)
        alice = person_of(session, ALICE)
        pair = session.get(Relationship, (min(alice, jane), max(alice, jane)))
        assert pair is not None
        received = pair.email_ba if pair.a_id == alice else pair.email_ab
        assert received == 4  # two in the thread, two in this pass
        found = pairs(session)
    with db.sessions() as session:
        rebuild(session)
        assert pairs(session) == found  # every pair as a rebuild from the mail makes it
        session.rollback()


def test_a_merge_tells_every_graph(
    db: Database, client: FlaskClient, admin: dict[str, str], firm: dict[str, int]
) -> None:
    with db.transaction() as session:
        version = current_version(session)
    event = merge(client, admin, firm["home"], firm["work"]).get_json()["merge_event"]
    with db.transaction() as session:
        merged = current_version(session)
        assert merged != version
        # The pairs of the record merged away are gone: every graph drops them.
        assert not session.scalars(
            select(Relationship).where(
                (Relationship.a_id == firm["work"]) | (Relationship.b_id == firm["work"])
            )
        ).all()
    undo(client, admin, event)
    with db.transaction() as session:
        assert current_version(session) != merged


def test_the_address_of_a_merged_record_names_its_survivor(
    db: Database, client: FlaskClient, admin: dict[str, str], firm: dict[str, int]
) -> None:
    """An address lookup (the add-in's first call) follows the merge, then the undo."""
    event = merge(client, admin, firm["home"], firm["work"]).get_json()["merge_event"]
    found = client.get(f"/api/v1/people?email={WORK}", headers=admin).get_json()
    assert found["id"] == firm["home"]
    undo(client, admin, event)
    found = client.get(f"/api/v1/people?email={WORK}", headers=admin).get_json()
    assert found["id"] == firm["work"]
    with db.transaction() as session:
        held = session.scalars(
            select(EmailAddress.address).where(EmailAddress.person_id == firm["home"])
        ).all()
        assert held == [HOME]


def test_an_audited_write_by_a_colleague_with_a_long_address_is_kept(db: Database) -> None:
    """A colleague's address may be longer than 120 characters (a firm's long subdomain):
    their audited writes are stored with it whole (migration 0023), on PostgreSQL too."""
    address = "x" * 64 + "@" + "d" * 60 + ".mail.harbourlaw.example"
    mailbox(db, address)
    mailbox(db, ALICE)
    with db.transaction() as session:
        colleague = session.scalars(select(Colleague).where(Colleague.email == address)).one()
        record(session, colleague, "person.edit", ("person", colleague.person_id))
        mark_distinct(session, colleague.person_id, person_of(session, ALICE), address, "two")
    with db.transaction() as session:
        actors = session.scalars(select(AuditEvent.actor).where(AuditEvent.actor == address))
        assert len(actors.all()) == 2  # the edit and the distinct mark

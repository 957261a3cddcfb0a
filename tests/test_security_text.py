"""Attacker-controlled text through the API, on SQLite and PostgreSQL: names, titles and notes
with control characters, NUL, unpaired surrogates, right-to-left overrides and 100 kB strings
are stored exactly or refused with a 400 that names the field, never a 500, and a refused
write changes nothing. The same for query strings, paths and the Graph webhook."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.tokens import issue_dev_token
from storage.addressbook import AddressBook
from storage.corrections import InvalidEdit, clean_text, create_person
from storage.db import Database
from storage.mailboxes import ensure_mailbox
from storage.models import AuditEvent, Colleague, EmailAddress, Note, Person
from sync.normalize.domains import FirmDomains

ALICE = "alice@harbourlaw.example"
RTL = "\u202eevil.exe\u202c Roe"  # a right-to-left override: odd, but storable text
KEPT = {"rtl": RTL, "arabic": "جين رو", "emoji": "Jane 👩\u200d⚖️ Roe"}
REFUSED = {  # value -> what the 400 says
    "nul": ("Jane\x00Roe", "NUL control characters"),
    "surrogate": ("Jane\ud800Roe", "unpaired surrogates"),
    "escape": ("Jane\x1b[31mRoe", "control characters"),
    "bell": ("\x07Jane", "control characters"),
    "100 kB": ("J" * 100_000, "at most"),
}


@pytest.fixture
def jane(db: Database) -> int:
    with db.transaction() as session:
        ensure_mailbox(session, AddressBook(FirmDomains(["harbourlaw.example"])), ALICE, "files")
        person = Person(display_name="Jane Roe")
        session.add(person)
        session.flush()
        session.add(EmailAddress(address="jane@acme.example", person_id=person.id))
        return person.id


@pytest.fixture
def auth(app: Flask, jane: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(app.config, ALICE)}"}


def stored(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Person, Note, AuditEvent)
        }


# write -> (method, URL, the JSON body's text field, the person JSON field it shows in)
WRITES = {
    "POST name": ("POST", "/api/v1/people", "name", "display_name"),
    "PATCH title": ("PATCH", "/api/v1/people/{jane}", "title", "title"),
    "PATCH name": ("PATCH", "/api/v1/people/{jane}", "name", "display_name"),
    "POST note": ("POST", "/api/v1/people/{jane}/notes", "text", "text"),
}


def write(client: FlaskClient, name: str, jane: int, value: str, auth: dict[str, str]) -> Any:
    method, url, field, _ = WRITES[name]
    body = {field: value, **({"email": "new@widgets.example"} if name == "POST name" else {})}
    return client.open(url.format(jane=jane), method=method, json=body, headers=auth)


@pytest.mark.parametrize("name", sorted(WRITES))
@pytest.mark.parametrize("kind", sorted(KEPT))
def test_unusual_but_valid_text_is_stored_and_returned_exactly(
    client: FlaskClient, auth: dict[str, str], jane: int, name: str, kind: str
) -> None:
    value, shown = KEPT[kind], WRITES[name][3]
    response = write(client, name, jane, value, auth)
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    body = response.get_json()
    assert body[shown] == value
    if name != "POST note":
        again = client.get(f"/api/v1/people/{body['id']}", headers=auth).get_json()
        assert again[shown] == value


@pytest.mark.parametrize("name", sorted(WRITES))
@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_unstorable_text_is_a_clear_400_and_stores_nothing(
    client: FlaskClient, auth: dict[str, str], db: Database, jane: int, name: str, kind: str
) -> None:
    value, fragment = REFUSED[kind]
    if name == "POST note" and kind == "100 kB":
        fragment = "at most 10000"
    before = stored(db)
    response = write(client, name, jane, value, auth)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["error"] == "bad_request" and fragment in body["message"]
    assert WRITES[name][2] in body["message"]  # names the field
    assert stored(db) == before
    with db.transaction() as session:
        assert session.get_one(Person, jane).display_name == "Jane Roe"


def test_a_note_keeps_its_line_breaks_and_tabs(
    client: FlaskClient, auth: dict[str, str], jane: int
) -> None:
    text = "Prefers calls\n\tnever before 9"
    response = client.post(f"/api/v1/people/{jane}/notes", json={"text": text}, headers=auth)
    assert response.status_code == 201 and response.get_json()["text"] == text


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/people?email=jane%00@acme.example",
        "/api/v1/messages/state?internet_message_id=%00x&conversation_id=%00y",
        "/api/v1/messages/state?internet_message_id=x&from=a%00@acme.example",
        "/api/v1/paths?to=a%00@acme.example",
        "/api/v1/people/1/interactions?before=%00",
        "/api/v1/exclusions?%00=1",
    ],
)
def test_nul_in_a_query_string_is_a_clear_400(
    client: FlaskClient, auth: dict[str, str], url: str
) -> None:
    response = client.get(url, headers=auth)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert "NUL control characters" in response.get_json()["message"]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_nul_in_a_path_is_a_clear_400(
    client: FlaskClient, auth: dict[str, str], db: Database, method: str
) -> None:
    response = client.open("/api/v1/threads/conv%00id/private", method=method, headers=auth)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.get_json()["message"].startswith("path:")


@pytest.mark.parametrize(
    "body",
    [
        {"address": "jane\x00@acme.example"},
        {"domain": "acme\x00.example"},
        {"domain": "acme.example", "reason": "\ud800"},
        {"address\x00": "jane@acme.example"},
    ],
)
def test_unstorable_text_in_an_exclusion_is_a_clear_400(
    client: FlaskClient, auth: dict[str, str], db: Database, body: dict[str, Any]
) -> None:
    before = stored(db)
    response = client.post("/api/v1/exclusions", json=body, headers=auth)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert "cannot be stored" in response.get_json()["message"]
    assert stored(db) == before


def test_json_nested_too_deeply_is_a_clear_400(
    client: FlaskClient, auth: dict[str, str], db: Database
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    for url, headers in (("/api/v1/people", auth), ("/webhooks/graph", {})):
        response = client.post(url, data=deep, content_type="application/json", headers=headers)
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
        assert "nested too deeply" in response.get_json()["message"]


def test_a_webhook_notification_with_unstorable_text_is_a_clear_400(client: FlaskClient) -> None:
    body = {"value": [{"subscriptionId": "sub\x00", "clientState": "x", "changeType": "created"}]}
    response = client.post("/webhooks/graph", data=json.dumps(body), content_type="text/plain")
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.get_json()["message"] == (
        "$.value[0].subscriptionId: text with NUL control characters or unpaired surrogates "
        "cannot be stored"
    )


def test_without_a_token_unstorable_text_is_still_a_401(client: FlaskClient, jane: int) -> None:
    response = client.get("/api/v1/people?email=%00")
    assert response.status_code == 401


# The storage functions behind the write routes refuse unstorable text themselves too, for the
# callers that do not come through api/limits.py (the CLI, the add-in preview, later routes).
@pytest.mark.parametrize("value", ["Jane\ud800Roe", "Jane \udfff", "\ud83d\ude00"])
def test_corrections_refuse_unpaired_surrogates(value: str) -> None:
    with pytest.raises(InvalidEdit, match="unpaired surrogates"):
        clean_text("name", value, 300)


@pytest.mark.parametrize("email", ["jane\x00@acme.example", "ja\ud800ne@acme.example"])
def test_no_person_is_created_for_an_address_with_a_nul_or_a_surrogate(
    session: Session, email: str
) -> None:
    firm = FirmDomains(["harbourlaw.example"])
    with pytest.raises(InvalidEdit, match="not an email address"):
        create_person(session, Colleague(), firm, email, {"name": "Jane Roe"})
    assert session.scalar(select(func.count()).select_from(Person)) == 0

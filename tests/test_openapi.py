"""docs/openapi.yaml tells the truth about the API's responses.

Each call below, on a small firm, is checked against the response its operation documents
for the status returned, with every object closed: a field the API returns that the
document does not name fails, as does a documented field of the wrong type or a status the
operation does not list. (The document had fallen behind: `email` on listed people and
`last_contact_estimated` were returned for a session before it named them.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from api.tokens import issue_dev_token
from tests.test_connectors import AT, firm  # noqa: F401 (a fixture)
from tests.test_engine import ALICE, CLIENT

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def resolved(node: Any, document: dict[str, Any]) -> Any:
    """``node`` with every ``$ref`` inlined, each ``allOf`` of objects merged into one, and
    every object that lists its properties closed to others."""
    if isinstance(node, list):
        return [resolved(value, document) for value in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return resolved({**target, **rest}, document)
    found = {key: resolved(value, document) for key, value in node.items()}
    parts = found.pop("allOf", None)
    if parts is not None:
        if not all("properties" in part for part in parts):
            return {**found, "allOf": parts}
        found["type"] = "object"
        found["properties"] = {k: v for part in parts for k, v in part["properties"].items()}
        found["required"] = sorted({r for part in parts for r in part.get("required", ())})
    if "properties" in found:
        found.setdefault("additionalProperties", False)
    return found


def check(document: dict[str, Any], route: str, method: str, status: int, body: Any) -> None:
    operation = document["paths"][route][method]
    assert str(status) in operation["responses"], f"{method} {route} does not list {status}"
    response = resolved(operation["responses"][str(status)], document)
    schema = response["content"]["application/json"]["schema"]
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def token(app: Flask, admin: bool = False) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(app.config, ALICE, admin=admin)}"}


def route_of(document: dict[str, Any], url: str) -> str:
    """The documented route a URL calls (``/api/v1/people/7`` -> ``/api/v1/people/{id}``)."""
    path = url.split("?", 1)[0]
    for route in document["paths"]:
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", route), path):
            return str(route)
    raise AssertionError(f"{path} is not in the document")


# (method, URL (filled from the firm), JSON body, with an admin's token, the status expected)
CALLS = [
    ("get", "/healthz", None, False, 200),
    ("get", "/api/v1/people?email={email}", None, False, 200),
    ("post", "/api/v1/people", {"email": "new@else.example"}, False, 201),
    ("get", "/api/v1/people/{client}", None, False, 200),
    ("get", "/api/v1/people/999999", None, False, 404),
    ("patch", "/api/v1/people/{client}", {"title": "CFO"}, False, 200),
    ("get", "/api/v1/companies/{company}", None, False, 200),
    ("get", "/api/v1/companies?q=acme", None, False, 200),
    ("get", "/api/v1/companies", None, False, 400),
    ("patch", "/api/v1/companies/{company}", {"name": "Acme plc"}, False, 200),
    ("patch", "/api/v1/companies/{company}", {"name": ""}, False, 400),
    ("post", "/api/v1/admin/companies/{company}/domains", {"domain": "acme.com"}, True, 201),
    ("post", "/api/v1/admin/companies/{company}/domains", {"domain": "acme.com"}, False, 403),
    ("delete", "/api/v1/admin/companies/{company}/domains/acme.co.uk", None, True, 400),
    ("get", "/api/v1/people/{client}/connectors?at={at}", None, False, 200),
    ("get", "/api/v1/companies/{company}/coverage?at={at}", None, False, 200),
    ("get", "/api/v1/paths?to={client}&at={at}", None, False, 200),
    ("get", "/api/v1/paths?to=nobody", None, False, 400),
    ("get", "/api/v1/people/{client}/strength?at={at}", None, False, 200),
    ("get", "/api/v1/me", None, False, 200),
    ("get", "/api/v1/people/{client}/interactions", None, False, 200),
    ("get", "/api/v1/messages/state?internet_message_id=x", None, False, 200),
    ("post", "/api/v1/people/{client}/notes", {"text": "Met at dinner"}, False, 201),
    ("get", "/api/v1/people/{client}/notes", None, False, 200),
    ("put", "/api/v1/people/{client}/follow-up", {"due": "2026-12-01", "text": "call"}, False, 200),
    ("post", "/api/v1/exclusions", {"address": "spam@else.example"}, False, 201),
    ("get", "/api/v1/exclusions", None, False, 200),
    ("get", "/api/v1/admin/settings/relationships", None, True, 200),
    ("get", "/api/v1/admin/settings/relationships", None, False, 403),
    ("get", "/api/v1/admin/mailboxes", None, True, 200),
    ("put", "/api/v1/admin/settings/relationships", {"reciprocity": 1.0}, True, 202),
    ("get", "/api/v1/admin/duplicates", None, True, 200),
    ("get", "/api/v1/admin/duplicates?limit=0", None, True, 400),
    ("get", "/api/v1/admin/merges", None, True, 200),
    ("get", "/api/v1/admin/merges", None, False, 403),
    ("post", "/api/v1/admin/merges/999999/undo", None, True, 404),
    ("post", "/api/v1/admin/people/merge", {"keep": 1, "drop": 1}, True, 409),
    ("post", "/api/v1/admin/people/distinct", {"a": 1}, True, 400),
    ("put", "/api/v1/threads/thread-1/private", None, False, 200),
    ("delete", "/api/v1/threads/thread-1/private", None, False, 200),
]


@pytest.mark.parametrize(("method", "url", "body", "admin", "status"), CALLS)
def test_responses_match_the_document(
    client: FlaskClient,
    app: Flask,
    firm: dict[str, int],  # noqa: F811 (a fixture)
    document: dict[str, Any],
    method: str,
    url: str,
    body: Any,
    admin: bool,
    status: int,
) -> None:
    headers = token(app, admin)
    company = client.get(f"/api/v1/people/{firm['client']}", headers=headers).get_json()
    filled = url.format(
        client=firm["client"], company=company["company"]["id"], at=AT, email=CLIENT
    )
    response = client.open(filled, method=method.upper(), json=body, headers=headers)
    assert response.status_code == status, response.get_json()
    check(document, route_of(document, filled), method, response.status_code, response.get_json())


def test_a_field_the_document_does_not_name_fails(document: dict[str, Any]) -> None:
    """The check can fail: an undocumented field, a documented one of the wrong type, or a
    status the operation does not list."""
    me = {"colleague_id": 1, "person_id": 1, "email": ALICE, "name": "Alice", "admin": False}
    check(document, "/api/v1/me", "get", 200, me)
    with pytest.raises(AssertionError, match="Additional properties"):
        check(document, "/api/v1/me", "get", 200, me | {"secret": "x"})
    with pytest.raises(AssertionError, match="is not of type"):
        check(document, "/api/v1/me", "get", 200, me | {"person_id": "1"})
    with pytest.raises(AssertionError, match="does not list 418"):
        check(document, "/api/v1/me", "get", 418, me)

"""The API's security rules, checked over every route the app registers: who may call what,
no stored secret in any answer, request size limits and attacker-controlled text.

Routes are read from ``app.url_map``, so a route added later is checked without editing this
file; docs/api.md is the reference for which routes are open and which are for admins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from api.tokens import issue_dev_token
from config import ConfigError
from storage.addressbook import AddressBook
from storage.db import Database
from storage.mailboxes import ensure_mailbox
from storage.models import AuditEvent, MailboxStatus, Person, WatchedResource
from storage.secrets import Secret
from storage.subscriptions import client_state_hash, mark_pending
from sync.graph.tenant import store_tenant
from sync.normalize.domains import FirmDomains

ALICE = "alice@harbourlaw.example"  # a colleague without the admin role
JANE = "jane@acme.example"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "api.md"
# docs/api.md, "Authentication": the only routes without a bearer token. The browser preview
# exists only with RAPPORT_DEV_AUTH=1 (test_the_preview_exists_only_with_dev_auth).
OPEN = re.compile(r"healthz|webhooks\.graph|addin\..+|preview\..+")
CLIENT_SECRET = "graph-client-secret-7Q~never.shown"
CLIENT_STATE = "client-state-secret-0123456789abcdefghijklmnopqrstuv"
LIMIT = 4096  # RAPPORT_MAX_REQUEST_BYTES here


@pytest.fixture
def app_config(app_config: dict[str, str]) -> dict[str, str]:
    return {**app_config, "RAPPORT_MAX_REQUEST_BYTES": str(LIMIT)}


@pytest.fixture
def firm(db: Database) -> dict[str, int]:
    """Alice (a colleague with a Graph mailbox and a subscription) and Jane, a client."""
    with db.transaction() as session:
        book = AddressBook(FirmDomains(["harbourlaw.example"]))
        mailbox = ensure_mailbox(session, book, ALICE, "graph")
        mailbox.status = MailboxStatus.ERROR
        mailbox.status_reason = f"invalid_client: client_secret={CLIENT_SECRET}"
        mark_pending(session, mailbox.id, WatchedResource.INBOX, client_state_hash(CLIENT_STATE))
        jane = Person(display_name="Jane Roe")
        session.add(jane)
        session.flush()
        return {"mailbox": mailbox.id, "jane": jane.id, "alice": mailbox.colleague_id}


@pytest.fixture
def token(app: Flask, firm: dict[str, int]) -> Callable[..., dict[str, str]]:
    def headers(*, admin: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_dev_token(app.config, ALICE, admin=admin)}"}

    return headers


def calls(app: Flask, ids: dict[str, int] | None = None) -> Iterator[tuple[str, str, Rule]]:
    """(method, path, rule) for every method of every rule, with its parameters filled in."""
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<id:(\w+)>", lambda m: str((ids or {}).get(m[1], 1)), rule.rule)
        path = re.sub(r"<[^>]+>", "x", path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield method, path, rule


def assert_error(response: TestResponse, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert isinstance(body, dict) and body["error"] == error and body["message"], body
    return body


def test_every_route_but_the_documented_open_ones_answers_401_without_a_token(
    app: Flask, client: FlaskClient
) -> None:
    open_endpoints = set()
    for method, path, rule in calls(app):
        if OPEN.fullmatch(rule.endpoint):
            open_endpoints.add(rule.endpoint.split(".")[0])
            continue
        assert rule.rule.startswith("/api/"), f"{rule.rule}: a route outside /api/ is open"
        response = client.open(path, method=method, json={"email": JANE})
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="rapport"')
    assert open_endpoints == {"healthz", "webhooks", "addin", "preview"}


def test_the_preview_exists_only_with_dev_auth(app_config: dict[str, str]) -> None:
    from app import create_app

    production_like = create_app({**app_config, "RAPPORT_DEV_AUTH": "0"})
    try:
        endpoints = {rule.endpoint for rule in production_like.url_map.iter_rules()}
    finally:
        production_like.extensions["rapport.db"].dispose()
    assert not {e for e in endpoints if e.startswith("preview.")}
    assert "addin.taskpane" in endpoints


def documented_admin_routes() -> set[tuple[str, str]]:
    """(method, path) of the headings of docs/api.md marked "(admins only)"."""
    found = set()
    for line in DOCS.read_text().splitlines():
        if line.startswith("### ") and "(admins only)" in line:
            path = re.search(r"/api/v1/[^\s`\[?]+", line)
            assert path is not None, line
            for method in re.findall(r"`(GET|PUT|POST|PATCH|DELETE)\b", line):
                found.add((method, path[0]))
    return found


def test_admin_routes_are_the_documented_ones_and_refuse_other_colleagues(
    app: Flask, client: FlaskClient, token: Callable[..., dict[str, str]]
) -> None:
    documented = documented_admin_routes()
    assert documented, "docs/api.md names no admin route"
    refused = set()
    for method, path, rule in calls(app):
        if not rule.rule.startswith("/api/"):
            continue
        response = client.open(path, method=method, headers=token(), json={})
        if response.status_code == 403:
            assert_error(response, 403, "forbidden")
            refused.add((method, re.sub(r"<id:\w+>", "<id>", rule.rule)))  # as docs write it
        as_admin = client.open(path, method=method, headers=token(admin=True), json={})
        assert as_admin.status_code not in (401, 403, 500), (method, path)
    assert refused == documented
    assert all(path.startswith("/api/v1/admin/") for _, path in refused)


def test_no_answer_carries_a_stored_secret(
    app: Flask,
    client: FlaskClient,
    db: Database,
    firm: dict[str, int],
    token: Callable[..., dict[str, str]],
) -> None:
    with db.transaction() as session:
        tenant = store_tenant(
            session, app.config, "tenant-1", "client-1", secret=Secret(CLIENT_SECRET)
        )
        stored = {CLIENT_SECRET, tenant.credential, CLIENT_STATE, client_state_hash(CLIENT_STATE)}
    ids = {"person_id": firm["jane"], "company_id": 1, "exclusion_id": 1}
    answered = 0
    for method, path, rule in calls(app, ids):
        if method != "GET" or "<path:" in rule.rule:
            continue
        response = client.get(path, headers=token(admin=True))
        text = response.get_data(as_text=True)
        response.close()  # a file served from disk (the add-in's) is closed with its answer
        assert not [s for s in stored if s in text], (path, text[:300])
        answered += response.status_code == 200
    assert answered >= 10  # the checks above read real answers, not errors
    mailboxes = client.get("/api/v1/admin/mailboxes", headers=token(admin=True)).get_json()
    assert mailboxes["mailboxes"][0]["reason"] == "invalid_client: client_secret=***"


# -- request size ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/people"),
        ("PATCH", "/api/v1/people/{jane}"),
        ("POST", "/api/v1/people/{jane}/notes"),
        ("PUT", "/api/v1/admin/settings/relationships"),
        ("DELETE", "/api/v1/people/{jane}/follow-up"),  # reads no body: refused all the same
        ("POST", "/webhooks/graph"),
        ("GET", "/healthz"),
    ],
)
def test_a_body_over_the_limit_is_a_json_413_and_changes_nothing(
    client: FlaskClient,
    db: Database,
    firm: dict[str, int],
    token: Callable[..., dict[str, str]],
    method: str,
    path: str,
) -> None:
    body = {"email": JANE, "name": "Jane", "text": "x" * LIMIT, "value": []}
    url = path.format(jane=firm["jane"])
    response = client.open(url, method=method, json=body, headers=token(admin=True))
    error = assert_error(response, 413, "too_large")
    assert f"over {LIMIT} bytes" in error["message"]
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_body_under_the_limit_is_read(
    client: FlaskClient, firm: dict[str, int], token: Callable[..., dict[str, str]]
) -> None:
    text = "x" * (LIMIT - 100)
    url = f"/api/v1/people/{firm['jane']}/notes"
    response = client.post(url, json={"text": text}, headers=token())
    assert response.status_code == 201 and response.get_json()["text"] == text


def test_too_many_webhook_notifications_answer_in_the_same_contract(client: FlaskClient) -> None:
    body = json.dumps({"value": [{}] * 1001}, separators=(",", ":"))
    assert len(body) < LIMIT
    response = client.post("/webhooks/graph", data=body, content_type="application/json")
    assert "more than 1000" in assert_error(response, 413, "too_large")["message"]


def test_the_limit_is_validated_at_start(app_config: dict[str, str]) -> None:
    from app import create_app

    for bad in ("", "12", "1e6", "-5"):
        with pytest.raises(ConfigError, match="RAPPORT_MAX_REQUEST_BYTES"):
            create_app({**app_config, "RAPPORT_MAX_REQUEST_BYTES": bad})

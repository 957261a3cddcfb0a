"""Mailbox health for admins: ``GET /api/v1/admin/mailboxes`` and ``python app.py mailboxes``
show the same rows, with Graph subscription expiry and never a secret; ``graph-mailbox``
subscribes and unsubscribes mailboxes at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from api.tokens import issue_dev_token
from storage.db import Database
from storage.models import Colleague, GraphSubscription, Mailbox
from storage.types import utcnow
from tests.emulators import GraphEmulator, graph_fixture  # noqa: F401 - the `graph` fixture
from tests.test_graph_subscriptions import (  # noqa: F401 - the `account`, `served` fixtures
    ALICE,
    BOB,
    account_fixture,
    add_mailbox,
    graph_settings,
    served_fixture,
    subscribed,
    subscription,
)


@pytest.fixture
def app_config(app_config: dict[str, str], graph: GraphEmulator) -> dict[str, str]:
    return {**app_config, **graph_settings(graph)}


ADMIN_URL = "/api/v1/admin/mailboxes"


def headers(app: Flask, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(app.config, who)}"}


@pytest.fixture
def admin(db: Database) -> str:
    add_mailbox(db, BOB, provider="files")
    with db.transaction() as session:
        session.execute(update(Colleague).where(Colleague.email == BOB).values(is_admin=True))
    return BOB


def test_mailbox_status_needs_an_admin(app: Flask, client: FlaskClient, admin: str) -> None:
    add_mailbox(db=app.extensions["rapport.db"], address=ALICE)

    assert client.get(ADMIN_URL).status_code == 401
    refused = client.get(ADMIN_URL, headers=headers(app, ALICE))
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    assert client.get(ADMIN_URL, headers=headers(app, admin)).status_code == 200


def test_mailbox_status_shows_health_and_subscriptions_but_no_secret(
    app: Flask,
    client: FlaskClient,
    db: Database,
    graph: GraphEmulator,
    account: Any,
    served: str,
    admin: str,
) -> None:
    [alice] = subscribed(db, account, served, ALICE)
    retry = utcnow() + timedelta(minutes=5)
    with db.transaction() as session:
        session.execute(
            update(Mailbox)
            .where(Mailbox.id == alice)
            .values(
                status="error",
                status_reason="Graph answered 503 ServiceUnavailable",
                failure_count=2,
                next_retry_at=retry,
            )
        )

    response = client.get(ADMIN_URL, headers=headers(app, admin))

    assert response.status_code == 200
    body = response.get_json()
    assert [m["address"] for m in body["mailboxes"]] == [ALICE, BOB]
    shown = body["mailboxes"][0]
    assert shown["provider"] == "graph" and shown["status"] == "error"
    assert shown["reason"] == "Graph answered 503 ServiceUnavailable"
    assert shown["failure_count"] == 2 and shown["next_retry_at"] == retry.isoformat()
    assert shown["last_success_at"] is None
    expiries = [s["expires_at"] for s in shown["subscriptions"]]
    assert shown["subscription_expires_at"] == min(expiries)
    assert [s["resource"] for s in shown["subscriptions"]] == ["events", "inbox", "sentitems"]
    assert all(s["active"] and s["error"] is None for s in shown["subscriptions"])
    text = response.get_data(as_text=True)
    for secret in graph.subscriptions.active.values():
        assert secret["clientState"] not in text and secret["id"] not in text
    assert subscription(db, alice, "inbox").client_state_hash not in text
    assert "client_state" not in text


def test_mailbox_status_filters_and_pages(
    app: Flask, client: FlaskClient, db: Database, admin: str
) -> None:
    for name in ("carol", "dave"):
        add_mailbox(db, f"{name}@harbourlaw.example", provider="files")
    add_mailbox(db, ALICE)
    auth = headers(app, admin)

    first = client.get(f"{ADMIN_URL}?provider=files&limit=2", headers=auth).get_json()
    rest = client.get(
        f"{ADMIN_URL}?provider=files&limit=2&after={first['next_after']}", headers=auth
    ).get_json()

    assert [m["address"].split("@")[0] for m in first["mailboxes"]] == ["bob", "carol"]
    assert [m["address"].split("@")[0] for m in rest["mailboxes"]] == ["dave"]
    assert rest["next_after"] is None
    graph_only = client.get(f"{ADMIN_URL}?provider=graph", headers=auth).get_json()
    assert [m["address"] for m in graph_only["mailboxes"]] == [ALICE]
    for query in ("provider=imap", "status=broken", "limit=0", "limit=5000"):
        answer = client.get(f"{ADMIN_URL}?{query}", headers=auth)
        assert answer.status_code == 400 and answer.get_json()["error"] == "bad_request"


def test_the_mailboxes_command_shows_the_same_rows(
    app: Flask,
    db: Database,
    graph: GraphEmulator,
    account: Any,
    served: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    from cli import main

    [alice] = subscribed(db, account, served, ALICE)
    expiry = subscription(db, alice, "events").expires_at
    assert expiry is not None
    cli_environment(app, monkeypatch)

    result = CliRunner().invoke(main, ["mailboxes"])

    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    assert line.startswith(ALICE) and " graph " in line
    assert f"subscriptions expire {expiry.isoformat(timespec='seconds')}" in line


def test_the_mailboxes_command_redacts_reasons_as_the_api_does(
    app: Flask,
    db: Database,
    graph: GraphEmulator,
    account: Any,
    served: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    from cli import main

    [alice] = subscribed(db, account, served, ALICE)
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    with db.transaction() as session:
        session.execute(
            update(Mailbox)
            .where(Mailbox.id == alice)
            .values(status="auth_failed", status_reason="invalid_client: client_secret=hunter2")
        )
        session.execute(
            update(GraphSubscription)
            .where(GraphSubscription.mailbox_id == alice, GraphSubscription.resource == "inbox")
            .values(last_error=f"renewal refused for Bearer {token}")
        )
    cli_environment(app, monkeypatch)

    result = CliRunner().invoke(main, ["mailboxes"])

    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output and token not in result.output
    assert "reason: invalid_client: client_secret=***" in result.output
    assert "  subscription inbox: renewal refused for Bearer ***" in result.output.splitlines()


def cli_environment(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads its configuration from the environment: give it the app's."""
    for name, value in app.config.items():
        if name.startswith(("RAPPORT_", "DATABASE_URL")):
            monkeypatch.setenv(name, str(value))


def test_enabling_and_disabling_mailboxes_subscribes_and_unsubscribes_them_at_once(
    app: Flask,
    db: Database,
    graph: GraphEmulator,
    account: Any,
    served: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    from cli import main

    cli_environment(app, monkeypatch)

    enabled = CliRunner().invoke(main, ["graph-mailbox", "enable", ALICE])

    assert enabled.exit_code == 0, enabled.output
    assert "3 subscriptions created, 0 deleted" in enabled.output
    assert len(graph.subscriptions.active) == 3

    disabled = CliRunner().invoke(main, ["graph-mailbox", "disable", ALICE])

    assert disabled.exit_code == 0, disabled.output
    assert "0 subscriptions created, 3 deleted" in disabled.output
    assert graph.subscriptions.active == {}

"""Graph subscriptions: created through the real validation handshake, renewed ahead of expiry
(an injected clock), created again when Graph lost them, deleted for disabled mailboxes.

The Flask app is served on a real port: the Graph emulator validates each new subscription by
POSTing to our ``/webhooks/graph`` and only then answers Graph's 201.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from storage.addressbook import AddressBook
from storage.db import Database
from storage.mailboxes import ensure_mailbox
from storage.models import GraphSubscription, Mailbox
from storage.secrets import Secret
from storage.types import utcnow
from sync.graph import connect
from sync.graph.tenant import enable_mailbox, store_tenant
from sync.graph_subscriptions import Policy, UpkeepResult, remove_mailbox, upkeep
from sync.normalize.domains import FirmDomains
from tests.emulators import GraphEmulator, graph_fixture  # noqa: F401 - the `graph` fixture
from tests.emulators.server import LocalServer

FIRM = FirmDomains(["harbourlaw.example"])
ALICE, BOB = "alice@harbourlaw.example", "bob@harbourlaw.example"
LIFETIME = timedelta(minutes=120)  # renewed when under an hour is left (half the lifetime)


def add_mailbox(db: Database, address: str, provider: str = "graph", enabled: bool = True) -> int:
    with db.transaction() as session:
        mailbox = ensure_mailbox(session, AddressBook(FIRM), address, provider)
        mailbox.enabled = enabled
        return mailbox.id


@pytest.fixture(name="served")
def served_fixture(app: Flask) -> Iterator[str]:
    """The app on a real port, as Graph reaches it; yields its webhook URL."""
    server = LocalServer(app)
    app.config["RAPPORT_WEBHOOK_URL"] = f"{server.url}/webhooks/graph"
    yield app.config["RAPPORT_WEBHOOK_URL"]
    server.close()


def graph_settings(graph: GraphEmulator) -> dict[str, str]:
    """The app's Graph settings, pointing at the emulator (its identity half over TLS)."""
    return {
        "RAPPORT_GRAPH_URL": graph.graph_url,
        "RAPPORT_AUTHORITY": graph.https_url,
        "RAPPORT_GRAPH_CA_FILE": str(graph.ca_file),
    }


@pytest.fixture
def app_config(app_config: dict[str, str], graph: GraphEmulator) -> dict[str, str]:
    return {**app_config, **graph_settings(graph)}


@pytest.fixture(name="account")
def account_fixture(
    db: Database, app_config: dict[str, str], graph: GraphEmulator
) -> Iterator[Any]:
    """The tenant stored as an admin stores it, and the app's own app-only connection."""
    with db.transaction() as session:
        store_tenant(
            session,
            app_config,
            graph.tenant_id,
            graph.client_id,
            secret=Secret(graph.client_secret),
        )
    with connect(db, app_config) as account:
        yield account


def subscription(db: Database, mailbox_id: int, resource: str) -> GraphSubscription:
    with db.transaction() as session:
        return session.scalars(
            select(GraphSubscription).where(
                GraphSubscription.mailbox_id == mailbox_id, GraphSubscription.resource == resource
            )
        ).one()


def subscribed(db: Database, account: Any, url: str, *addresses: str) -> list[int]:
    ids = [add_mailbox(db, address) for address in addresses]
    assert upkeep(db, account, policy(url), utcnow()).created == 3 * len(ids)
    return ids


def rows(db: Database) -> list[GraphSubscription]:
    with db.transaction() as session:
        query = select(GraphSubscription).order_by(
            GraphSubscription.mailbox_id, GraphSubscription.resource
        )
        return list(session.scalars(query))


def policy(url: str) -> Policy:
    return Policy(url, LIFETIME)


def test_each_enabled_graph_mailbox_is_subscribed_after_the_validation_handshake(
    db: Database,
    graph: GraphEmulator,
    account: Any,
    served: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alice, bob = add_mailbox(db, ALICE), add_mailbox(db, BOB)
    add_mailbox(db, "carol@harbourlaw.example", provider="files")
    add_mailbox(db, "dave@harbourlaw.example", enabled=False)
    now = utcnow()

    with caplog.at_level(logging.DEBUG, logger="O365.connection"):
        result = upkeep(db, account, policy(served), now)

    assert (result.created, result.failed, result.subscribed) == (6, 0, {alice, bob})
    on_graph = graph.subscriptions.active
    assert sorted(s["resource"] for s in on_graph.values()) == sorted(
        f"/users/{who}/{what}"
        for who in (ALICE, BOB)
        for what in ("events", "mailFolders('inbox')/messages", "mailFolders('sentitems')/messages")
    )
    assert {s["notificationUrl"] for s in on_graph.values()} == {served}
    assert {s["lifecycleNotificationUrl"] for s in on_graph.values()} == {served}
    assert {s["changeType"] for s in on_graph.values()} == {"created,updated,deleted"}
    # Every creation was validated by our endpoint (the emulator refuses it otherwise).
    assert len(graph.requests("/subscriptions", "POST")) == 6
    stored = rows(db)
    assert [(r.mailbox_id, r.resource) for r in stored] == [
        (m, r) for m in (alice, bob) for r in ("events", "inbox", "sentitems")
    ]
    for row in stored:
        secret = on_graph[str(row.subscription_id)]["clientState"]
        assert len(secret) >= 43 and row.client_state_hash != secret  # 256 bits, never stored
        assert row.client_state_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert row.expires_at is not None
        assert abs(row.expires_at - (now + LIFETIME)) < timedelta(seconds=1)
        assert row.last_error is None
    secrets = {graph.subscriptions.active[str(r.subscription_id)]["clientState"] for r in stored}
    assert len(secrets) == 6
    # O365 logs request bodies at DEBUG; the clientState in them is blanked out.
    assert caplog.text.count('"clientState": "***"') == 6
    assert not any(secret in caplog.text for secret in secrets)

    again = upkeep(db, account, policy(served), now)

    assert again == UpkeepResult()  # nothing to create or renew
    assert len(graph.requests("/subscriptions", "POST")) == 6


def test_subscriptions_are_renewed_ahead_of_expiry_by_the_clock(
    db: Database, graph: GraphEmulator, account: Any, served: str
) -> None:
    add_mailbox(db, ALICE)
    start = utcnow()
    upkeep(db, account, policy(served), start)
    created = {r.id: r.expires_at or start for r in rows(db)}

    early = upkeep(db, account, policy(served), start + timedelta(minutes=30))  # 90 min left

    assert early.renewed == 0 and graph.requests("/subscriptions/", "PATCH") == []
    later = start + timedelta(minutes=70)  # 50 minutes left: under half the lifetime

    renewed = upkeep(db, account, policy(served), later)

    assert (renewed.renewed, renewed.created, renewed.failed) == (3, 0, 0)
    assert len(graph.requests("/subscriptions/", "PATCH")) == 3
    for row in rows(db):
        assert row.expires_at is not None and row.expires_at > created[row.id]
        assert abs(row.expires_at - (later + LIFETIME)) < timedelta(seconds=1)
        granted = graph.subscriptions.active[str(row.subscription_id)]["expirationDateTime"]
        assert datetime.fromisoformat(granted) == row.expires_at
        assert row.renewed_at == later


def test_the_default_lifetime_is_under_graphs_maximum_and_renewed_a_day_ahead() -> None:
    default = Policy.from_config({"RAPPORT_WEBHOOK_URL": "https://crm.example/webhooks/graph"})
    assert default.lifetime == timedelta(minutes=4200) < timedelta(minutes=4230)
    assert default.renew_ahead == timedelta(hours=24)
    assert default.upkeep_every == timedelta(hours=1)
    short = Policy.from_config({"RAPPORT_GRAPH_SUBSCRIPTION_MINUTES": "10"})
    assert short.lifetime == timedelta(minutes=45)  # Graph's floor
    assert short.upkeep_every < short.renew_ahead < short.lifetime


def test_a_subscription_graph_lost_is_created_again_when_renewing(
    db: Database, graph: GraphEmulator, account: Any, served: str
) -> None:
    add_mailbox(db, ALICE)
    start = utcnow()
    upkeep(db, account, policy(served), start)
    lost = next(r for r in rows(db) if r.resource == "inbox")
    graph.subscriptions.delete(str(lost.subscription_id))

    result = upkeep(db, account, policy(served), start + timedelta(minutes=70))

    assert (result.renewed, result.created, result.failed) == (3, 1, 0)
    inbox = next(r for r in rows(db) if r.resource == "inbox")
    assert inbox.id == lost.id and inbox.subscription_id != lost.subscription_id
    assert inbox.subscription_id in graph.subscriptions.active
    assert inbox.client_state_hash != lost.client_state_hash  # a new secret
    assert len(graph.subscriptions.active) == 3


def test_disabled_mailboxes_lose_their_subscriptions(
    db: Database, graph: GraphEmulator, account: Any, served: str
) -> None:
    alice, bob = add_mailbox(db, ALICE), add_mailbox(db, BOB)
    upkeep(db, account, policy(served), utcnow())
    with db.transaction() as session:
        session.execute(update(Mailbox).where(Mailbox.id == alice).values(enabled=False))

    result = upkeep(db, account, policy(served), utcnow())

    assert (result.deleted, result.created, result.failed) == (3, 0, 0)
    assert len(graph.requests("/subscriptions/", "DELETE")) == 3
    assert {r.mailbox_id for r in rows(db)} == {bob}
    assert len(graph.subscriptions.active) == 3
    assert remove_mailbox(db, account, bob) == 3
    assert rows(db) == [] and graph.subscriptions.active == {}


def test_a_refused_creation_is_recorded_and_retried(
    db: Database, graph: GraphEmulator, account: Any, served: str
) -> None:
    add_mailbox(db, ALICE)
    wrong = served.replace("/webhooks/graph", "/webhooks/nowhere")  # 404: no echo

    failed = upkeep(db, account, policy(wrong), utcnow())

    assert (failed.created, failed.failed) == (0, 3)
    assert all("ValidationError" in e or "validation" in e for e in failed.errors)
    assert graph.subscriptions.active == {}
    assert all(r.subscription_id is None and r.last_error for r in rows(db))

    fixed = upkeep(db, account, policy(served), utcnow())

    assert (fixed.created, fixed.failed) == (3, 0)
    assert all(r.subscription_id and r.last_error is None for r in rows(db))


def test_no_webhook_url_means_polling_only(
    db: Database, graph: GraphEmulator, account: Any
) -> None:
    add_mailbox(db, ALICE)
    assert upkeep(db, account, Policy(""), utcnow()) == UpkeepResult()
    assert graph.requests("/subscriptions") == [] and rows(db) == []


def test_subscriptions_follow_what_the_mailbox_syncs(
    db: Database, graph: GraphEmulator, account: Any, served: str
) -> None:
    with db.transaction() as session:
        alice = enable_mailbox(
            session, AddressBook(FIRM), ALICE, all_folders=True, calendar=False
        ).id

    upkeep(db, account, policy(served), utcnow())

    assert [r.resource for r in rows(db)] == ["messages"]  # every folder, no calendar
    assert [s["resource"] for s in graph.subscriptions.active.values()] == [
        f"/users/{ALICE}/messages"
    ]
    with db.transaction() as session:
        enable_mailbox(session, AddressBook(FIRM), ALICE, all_folders=False, calendar=True)

    changed = upkeep(db, account, policy(served), utcnow())

    assert (changed.deleted, changed.created, changed.subscribed) == (1, 3, {alice})
    assert [r.resource for r in rows(db)] == ["events", "inbox", "sentitems"]
    assert len(graph.subscriptions.active) == 3

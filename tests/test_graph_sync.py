"""Graph mail sync end to end: the real msal and O365 over HTTP(S) against the Graph emulator,
the real engine, a real database. Nothing of ours is replaced."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from storage.db import Database
from storage.models import Colleague, Interaction, Mailbox, Relationship, Sighting, SyncCursor
from sync.graph import discovery, run_mailbox
from sync.graph.auth import forget_tokens
from sync.scheduler import InProcessScheduler, schedule_graph_sync
from tests.conftest import clear
from tests.emulators import GraphEmulator, graph_fixture  # noqa: F401 - the `graph` fixture
from tests.emulators.harness import configure, graph_config
from tests.snapshot import snapshot

ALICE = "alice@harbourlaw.example"
BOB = "bob@harbourlaw.example"
CLIENT = "Carla Client <carla@client.example>"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def config(db: Database, graph: GraphEmulator) -> dict[str, Any]:
    return graph_config(db, graph, RAPPORT_GRAPH_PAGE_SIZE="5")


def seed(graph: GraphEmulator, inbox: int = 23, sent: int = 4) -> list[str]:
    ids = [
        graph.add_message(
            ALICE,
            "inbox",
            subject=f"Inbound {i}",
            sender=CLIENT,
            to=[ALICE],
            cc=[f"colleague{i % 3}@harbourlaw.example"],
            received=NOW - timedelta(hours=i + 1),
        )
        for i in range(inbox)
    ]
    ids += [
        graph.add_message(
            ALICE, "sentitems", subject=f"Reply {i}", to=[CLIENT], received=NOW - timedelta(hours=i)
        )
        for i in range(sent)
    ]
    return ids


def count(db: Database, model: type[Any]) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def state(db: Database) -> dict[str, Any]:
    with db.transaction() as session:
        return snapshot(session)


def subjects_by_id(db: Database) -> list[str]:
    with db.transaction() as session:
        return list(session.scalars(select(Interaction.subject).order_by(Interaction.id)))


@pytest.fixture
def alice(db: Database, config: dict[str, Any], graph: GraphEmulator) -> int:
    graph.add_mailbox(ALICE)
    (mailbox_id,) = configure(db, config, graph, ALICE, calendar=False)
    return mailbox_id


def test_first_sync_reads_every_page_newest_first(
    db: Database, config: dict[str, Any], graph: GraphEmulator, alice: int
) -> None:
    seed(graph)

    run = run_mailbox(db, config, alice)

    assert run.status == "ok", run.error
    assert (run.stats and run.stats.stored) == 27
    inbox = graph.requests("mailFolders/Inbox/messages/delta")
    assert [r.status for r in inbox] == [200] * 5  # 23 messages, 5 a page
    first = inbox[0]
    assert first.header("Prefer") == 'odata.maxpagesize=5, IdType="ImmutableId"'
    assert first.query["$orderby"] == "receivedDateTime desc"
    assert "internetMessageHeaders" in first.query["$select"]
    assert "body" not in first.query["$select"].split(",")
    assert "$filter" not in first.query  # a filtered delta would stop at 5,000 messages
    inbound = [s for s in subjects_by_id(db) if s.startswith("Inbound")]
    assert inbound == [f"Inbound {i}" for i in range(23)]  # stored newest first
    with db.transaction() as session:
        cursor = session.scalar(select(SyncCursor.cursor).where(SyncCursor.folder == "Inbox"))
        mailbox = session.get_one(Mailbox, alice)
    assert "$deltatoken=" in json.loads(cursor or "{}")["link"]
    assert (mailbox.status, mailbox.last_synced_at is not None) == ("ok", True)


def test_incremental_sync_applies_adds_updates_and_deletes(
    db: Database, config: dict[str, Any], graph: GraphEmulator, alice: int
) -> None:
    ids = seed(graph)
    assert run_mailbox(db, config, alice).status == "ok"
    before = len(graph.log)
    graph.delete_message(ids[0])  # Inbound 0: the newest contact with Carla
    graph.delete_message(ids[5])
    graph.update_message(ids[6], isRead=True, categories=["Red category"])
    added = graph.add_message(
        ALICE, "inbox", subject="New matter", sender=CLIENT, to=[ALICE], received=NOW
    )

    run = run_mailbox(db, config, alice)

    assert run.status == "ok", run.error
    assert run.stats is not None
    assert (run.stats.stored, run.stats.removed, run.stats.duplicate) == (1, 2, 1)
    assert len(graph.log) - before == 2  # one page per folder; token and discovery cached
    subjects = subjects_by_id(db)
    assert "New matter" in subjects and "Inbound 0" not in subjects and "Inbound 5" not in subjects
    assert added

    incremental = state(db)
    # The same mailbox synced from scratch gives the same store, aggregates included.
    clear(db)
    (fresh,) = configure(db, config, graph, ALICE, calendar=False)
    assert run_mailbox(db, config, fresh).status == "ok"
    assert state(db) == incremental


def test_a_new_process_asks_the_identity_platform_for_a_token_only(
    db: Database, config: dict[str, Any], graph: GraphEmulator, alice: int
) -> None:
    seed(graph)
    assert run_mailbox(db, config, alice).status == "ok"
    forget_tokens()  # what a new process (python app.py sync, a new worker) starts with
    before = len(graph.log)

    assert run_mailbox(db, config, alice).status == "ok"

    paths = [r.path for r in graph.log[before:]]
    assert not [p for p in paths if "openid-configuration" in p]  # discovery from the store
    assert len([p for p in paths if p.endswith("/token")]) == 1
    assert len([p for p in paths if "/delta" in p]) == 2  # one page per folder


@pytest.mark.parametrize(
    "stored",
    [None, "text", {"GET x": {"text": "no stamps"}}, {"GET x": {"expires_at": "soon"}}, []],
)
def test_stored_discovery_answers_that_do_not_decode_are_ignored(stored: Any) -> None:
    assert discovery.restore(stored) == {}


def test_replaying_a_page_adds_nothing(
    db: Database, config: dict[str, Any], graph: GraphEmulator, alice: int
) -> None:
    seed(graph)
    assert run_mailbox(db, config, alice).status == "ok"
    before = state(db)
    second_page = graph.requests("mailFolders/Inbox/messages/delta")[1]
    replay = {"link": f"{graph.url}{second_page.path}?$skiptoken={second_page.query['$skiptoken']}"}
    with db.transaction() as session:
        stored = json.loads(
            session.scalar(select(SyncCursor.cursor).where(SyncCursor.folder == "Inbox")) or "{}"
        )
        session.execute(
            update(SyncCursor)
            .where(SyncCursor.folder == "Inbox")
            .values(cursor=json.dumps(stored | replay))
        )

    run = run_mailbox(db, config, alice)

    assert run.status == "ok" and run.stats is not None
    assert (run.stats.read, run.stats.stored, run.stats.duplicate) == (18, 0, 18)
    assert state(db) == before


def test_expired_delta_token_resyncs_without_duplicates(
    db: Database, config: dict[str, Any], graph: GraphEmulator, alice: int
) -> None:
    seed(graph)
    assert run_mailbox(db, config, alice).status == "ok"
    before = state(db)
    graph.expire_delta_tokens(ALICE)

    run = run_mailbox(db, config, alice)

    assert run.status == "ok", run.error
    assert run.stats is not None and run.stats.stored == 0
    statuses = [r.status for r in graph.requests("messages/delta")][-(5 + 1 + 2) :]
    assert statuses.count(410) == 2  # one per folder, each read again from the start
    assert state(db) == before


def test_a_resync_drops_what_was_deleted_while_the_token_had_expired(
    db: Database, config: dict[str, Any], graph: GraphEmulator, alice: int
) -> None:
    ids = seed(graph)
    assert run_mailbox(db, config, alice).status == "ok"
    graph.expire_delta_tokens(ALICE)
    graph.delete_message(ids[3])  # never reported: the new round lists only what exists
    graph.delete_message(ids[-1])  # a sent one

    run = run_mailbox(db, config, alice)

    assert run.status == "ok" and run.stats is not None and run.stats.removed == 2
    assert "Inbound 3" not in subjects_by_id(db) and "Reply 3" not in subjects_by_id(db)
    swept = state(db)
    clear(db)
    (fresh,) = configure(db, config, graph, ALICE, calendar=False)
    assert run_mailbox(db, config, fresh).status == "ok"
    assert state(db) == swept


def test_deleting_the_newest_sent_message_takes_the_colleagues_clock_back(
    db: Database, config: dict[str, Any], graph: GraphEmulator, alice: int
) -> None:
    """Alice's clock (her newest email to anyone) is "Reply 0", sent just before NOW; once she
    deletes it, the clock is her next newest, "Reply 1", an hour earlier, as a rebuild would
    say. (The emulator sends a message 5 seconds before it is received.)"""
    ids = seed(graph)
    assert run_mailbox(db, config, alice).status == "ok"
    assert clock_of(db, ALICE) == NOW - timedelta(seconds=5)
    graph.delete_message(ids[23])  # Reply 0

    run = run_mailbox(db, config, alice)

    assert run.stats is not None and run.stats.removed == 1
    assert clock_of(db, ALICE) == NOW - timedelta(hours=1, seconds=5)


def clock_of(db: Database, address: str) -> datetime | None:
    with db.transaction() as session:
        return session.scalar(select(Colleague.last_sent_at).where(Colleague.email == address))


def test_two_mailboxes_that_saw_one_message_share_one_interaction(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    graph.add_mailbox(ALICE)
    graph.add_mailbox(BOB)
    shared: dict[str, Any] = {"internetMessageId": "<deal-42@client.example>", "received": NOW}
    graph.add_message(ALICE, "inbox", subject="Deal", sender=CLIENT, to=[ALICE, BOB], **shared)
    graph.add_message(BOB, "inbox", subject="Deal", sender=CLIENT, to=[ALICE, BOB], **shared)
    alice_id, bob_id = configure(db, config, graph, ALICE, BOB, calendar=False)

    assert run_mailbox(db, config, alice_id).status == "ok"
    run = run_mailbox(db, config, bob_id)

    assert run.stats is not None and (run.stats.stored, run.stats.duplicate) == (0, 1)
    assert count(db, Interaction) == 1
    with db.transaction() as session:
        seen = sorted(session.execute(select(Sighting.mailbox_id, Sighting.direction)).tuples())
    assert seen == [(alice_id, "in"), (bob_id, "in")]


def test_deleting_one_copy_keeps_the_interaction_the_other_mailbox_saw(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    shared: dict[str, Any] = {"internetMessageId": "<deal-43@client.example>", "received": NOW}
    first = graph.add_message(
        ALICE, "inbox", subject="Deal", sender=CLIENT, to=[ALICE, BOB], **shared
    )
    graph.add_message(BOB, "inbox", subject="Deal", sender=CLIENT, to=[ALICE, BOB], **shared)
    alice_id, bob_id = configure(db, config, graph, ALICE, BOB, calendar=False)
    run_mailbox(db, config, alice_id), run_mailbox(db, config, bob_id)
    pairs = count(db, Relationship)
    graph.delete_message(first)

    run = run_mailbox(db, config, alice_id)

    assert run.stats is not None and run.stats.removed == 1
    assert (count(db, Interaction), count(db, Sighting), count(db, Relationship)) == (1, 1, pairs)


def test_logging_rules_read_headers_and_sensitivity_from_the_delta_page(
    db: Database, config: dict[str, Any], graph: GraphEmulator, alice: int
) -> None:
    common: dict[str, Any] = {"sender": CLIENT, "to": [ALICE], "received": NOW}
    graph.add_message(ALICE, subject="Newsletter", headers={"List-Unsubscribe": "<x>"}, **common)
    graph.add_message(ALICE, subject="Away", headers={"Auto-Submitted": "auto-replied"}, **common)
    graph.add_message(
        ALICE, "sentitems", subject="Private", to=[CLIENT], sensitivity="private", received=NOW
    )
    graph.add_message(
        ALICE, subject="Meeting", odata_type="#microsoft.graph.eventMessageRequest", **common
    )
    graph.add_message(ALICE, subject="Kept", headers={"X-Mailer": "Outlook"}, **common)
    graph.add_message(ALICE, subject="Too old", sender=CLIENT, received=NOW - timedelta(days=400))

    run = run_mailbox(db, config, alice)

    assert run.stats is not None
    assert dict(run.stats.skipped) == {
        "bulk": 1,
        "auto-reply": 1,
        "private": 1,
        "meeting-message": 1,
    }
    assert subjects_by_id(db) == ["Kept"]  # "Too old" is outside the 365-day window
    requests = graph.requests("messages/delta")
    assert all(len(r.path) < 200 for r in requests)
    assert sum("internetMessageHeaders" in r.query.get("$select", "") for r in requests) == 1


def test_all_folders_syncs_custom_folders_and_skips_junk(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    graph.add_mailbox(ALICE)
    clients = graph.add_folder(ALICE, "Clients")
    graph.add_folder(ALICE, "Acme", parent=clients)
    common: dict[str, Any] = {"sender": CLIENT, "to": [ALICE], "received": NOW}
    graph.add_message(ALICE, "clients", subject="Filed", **common)
    graph.add_message(ALICE, "acme", subject="Filed deeper", **common)
    graph.add_message(ALICE, "junkemail", subject="Spam", **common)
    graph.add_message(ALICE, "inbox", subject="Inbox", **common)
    (mailbox_id,) = configure(db, config, graph, ALICE, calendar=False, all_folders=True)

    run = run_mailbox(db, config, mailbox_id)

    assert run.status == "ok", run.error
    assert sorted(subjects_by_id(db)) == ["Filed", "Filed deeper", "Inbox"]
    with db.transaction() as session:
        folders = set(session.scalars(select(SyncCursor.folder)))
    assert {"Inbox", "SentItems"} <= folders and len(folders) == 5  # + Archive, Clients, Acme


def test_the_scheduler_runs_passes_periodically(
    db: Database, graph: GraphEmulator, alice: int
) -> None:
    config = graph_config(db, graph, RAPPORT_SYNC_INTERVAL="1")
    seed(graph, inbox=2, sent=0)
    scheduler = InProcessScheduler()
    try:
        schedule_graph_sync(scheduler, db, config)
        deadline = time.monotonic() + 30
        while count(db, Interaction) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        graph.add_message(ALICE, "inbox", subject="Later", sender=CLIENT, received=NOW)
        while count(db, Interaction) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.shutdown()
    assert count(db, Interaction) == 3

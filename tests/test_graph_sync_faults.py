"""Throttling and faults: what Graph and the identity platform answer when things go wrong,
and what each mailbox shows afterwards. Real msal and O365 against the emulator over HTTP."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage.db import Database
from storage.models import Mailbox
from storage.secrets import Secret
from storage.stats import mailbox_lines
from sync.errors import AuthFailed
from sync.graph import connect, run_due, run_mailbox
from sync.graph.auth import forget_tokens
from sync.graph.client import GraphClient
from sync.graph.tenant import store_tenant
from sync.graph.transport import MAX_INLINE_WAIT
from tests.emulators import GraphEmulator, graph_fixture  # noqa: F401 - the `graph` fixture
from tests.emulators.harness import configure, graph_config

ALICE = "alice@harbourlaw.example"
BOB = "bob@harbourlaw.example"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def config(db: Database, graph: GraphEmulator) -> dict[str, Any]:
    return graph_config(db, graph)


def mailbox(db: Database, mailbox_id: int) -> Mailbox:
    with db.transaction() as session:
        return session.get_one(Mailbox, mailbox_id)


def seed(graph: GraphEmulator, owner: str, n: int = 3) -> None:
    for i in range(n):
        graph.add_message(
            owner, "inbox", subject=f"m{i}", sender="c@client.example", to=[owner], received=NOW
        )


@pytest.mark.parametrize("status", [429, 503])
def test_throttled_requests_wait_as_long_as_retry_after_says(
    db: Database, config: dict[str, Any], graph: GraphEmulator, status: int
) -> None:
    seed(graph, ALICE)
    (alice,) = configure(db, config, graph, ALICE, calendar=False)
    graph.fail_next(status, retry_after=1, times=2, path="Inbox/messages/delta")
    started = time.monotonic()

    run = run_mailbox(db, config, alice)

    assert run.status == "ok", run.error
    assert time.monotonic() - started >= 2.0  # two waits of one second each
    assert [r.status for r in graph.requests("Inbox/messages/delta")] == [status, status, 200]
    assert run.requests == 2  # SentItems and Inbox, each counted once however often retried
    assert run.stats is not None and run.stats.stored == 3


def test_server_errors_back_off_exponentially_then_succeed(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    seed(graph, ALICE)
    (alice,) = configure(db, config, graph, ALICE, calendar=False)
    graph.fail_next(500, times=3, path="Inbox/messages/delta")
    waits: list[float] = []
    with connect(db, config, observer=lambda seconds, _status: waits.append(seconds)) as account:
        client = GraphClient(account, ALICE, config["RAPPORT_GRAPH_URL"])
        body = client.get(client.user_url("/mailFolders/Inbox/messages/delta"))

    assert len(body["value"]) == 3
    assert len(waits) == 3
    # 0.5, 1 and 2 s, each plus up to 0.5 s of jitter.
    for wait, base in zip(waits, (0.5, 1.0, 2.0), strict=True):
        assert base <= wait <= base + 0.6
    assert run_mailbox(db, config, alice).status == "ok"


def test_a_long_retry_after_is_not_slept_but_scheduled(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    seed(graph, ALICE)
    (alice,) = configure(db, config, graph, ALICE, calendar=False)
    wait = int(MAX_INLINE_WAIT) + 240
    graph.fail_next(429, retry_after=wait, path="Inbox/messages/delta")
    started = time.monotonic()

    run = run_mailbox(db, config, alice)

    assert time.monotonic() - started < 10
    assert run.status == "error" and "429" in (run.error or "")
    stopped = mailbox(db, alice)
    assert stopped.status == "error" and stopped.next_retry_at is not None
    expected = datetime.now(UTC) + timedelta(seconds=wait)
    assert abs((stopped.next_retry_at - expected).total_seconds()) < 30
    assert run_due(db, config) == []  # not due before Retry-After has passed
    with db.transaction() as session:
        line = next(line for line in mailbox_lines(session) if line.startswith(ALICE))
    retry = stopped.next_retry_at.isoformat(timespec="seconds")
    assert "error" in line and "Throttled" in line and retry in line


def test_access_denied_stops_that_mailbox_and_not_the_others(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    seed(graph, ALICE)
    seed(graph, BOB)
    alice, bob = configure(db, config, graph, ALICE, BOB, calendar=False)
    graph.fail_next(403, times=3, path=f"/users/{ALICE}/")

    runs = {run.address: run for run in run_due(db, config)}

    assert runs[ALICE].status == "auth_failed"
    stats = runs[BOB].stats
    assert runs[BOB].status == "ok" and stats is not None and stats.stored == 3
    stopped = mailbox(db, alice)
    reason = stopped.status_reason or ""
    assert stopped.status == "auth_failed" and stopped.next_retry_at is None
    assert "403" in reason and "ErrorAccessDenied" in reason
    assert [r.address for r in run_due(db, config)] == [BOB]  # stays stopped
    assert mailbox(db, bob).status == "ok"


def test_a_refused_credential_stops_every_mailbox_until_the_admin_stores_a_new_one(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    seed(graph, ALICE)
    (alice,) = configure(db, config, graph, ALICE, calendar=False)
    with db.transaction() as session:  # the secret expired or consent was revoked
        store_tenant(session, config, graph.tenant_id, graph.client_id, secret=Secret("old"))

    (run,) = run_due(db, config)

    assert run.status == "auth_failed"
    stopped = mailbox(db, alice)
    assert stopped.status == "auth_failed"
    assert "invalid_client" in (stopped.status_reason or "")
    assert "old" not in (stopped.status_reason or "")  # the secret is never in a reason
    assert run_due(db, config) == []
    with db.transaction() as session:
        store_tenant(
            session, config, graph.tenant_id, graph.client_id, secret=Secret(graph.client_secret)
        )
    (again,) = run_due(db, config)
    assert again.status == "ok" and mailbox(db, alice).status == "ok"


def test_an_expired_token_is_renewed_once_in_the_middle_of_a_pass(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    seed(graph, ALICE)
    (alice,) = configure(db, config, graph, ALICE, calendar=False)
    assert run_mailbox(db, config, alice).status == "ok"
    graph.expire_tokens()  # the cached token no longer works: Graph answers 401
    graph.add_message(ALICE, "inbox", subject="late", sender="c@client.example", received=NOW)

    run = run_mailbox(db, config, alice)

    assert run.status == "ok", run.error
    assert run.stats is not None and run.stats.stored == 1


def test_no_tenant_configured_is_a_clear_auth_failure(db: Database, config: dict[str, Any]) -> None:
    with pytest.raises(AuthFailed, match="graph-tenant"), connect(db, config):
        pass


def test_at_most_four_requests_per_mailbox_run_at_once(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    seed(graph, ALICE)
    configure(db, config, graph, ALICE)
    graph.delay_next(0.3, times=12, path="messages/delta")
    answers: list[int] = []
    with connect(db, config) as account:
        client = GraphClient(account, ALICE, config["RAPPORT_GRAPH_URL"])

        def fetch() -> None:
            body = client.get(client.user_url("/mailFolders/Inbox/messages/delta"))
            answers.append(len(body["value"]))

        threads = [threading.Thread(target=fetch) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert answers == [3] * 12
    assert graph.peak_concurrency[ALICE] == 4  # the emulator answers 429 above 4
    assert all(r.status == 200 for r in graph.requests("messages/delta"))


def test_a_pass_already_running_for_a_mailbox_is_not_started_twice(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    seed(graph, ALICE)
    (alice,) = configure(db, config, graph, ALICE, calendar=False)
    graph.delay_next(1.0, path="SentItems/messages/delta")
    first: list[str] = []
    worker = threading.Thread(target=lambda: first.append(run_mailbox(db, config, alice).status))
    worker.start()
    deadline = time.monotonic() + 10
    while not graph.requests("SentItems") and time.monotonic() < deadline:
        time.sleep(0.01)

    second = run_mailbox(db, config, alice)
    worker.join()

    assert (second.status, first) == ("busy", ["ok"])


def test_a_certificate_credential_signs_a_client_assertion(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    seed(graph, ALICE)
    (alice,) = configure(db, config, graph, ALICE, calendar=False)
    pem = graph.add_certificate()
    with db.transaction() as session:
        store_tenant(session, config, graph.tenant_id, graph.client_id, certificate_pem=Secret(pem))
    graph.identity.clients[graph.client_id] = "no secret works now"

    run = run_mailbox(db, config, alice)

    assert run.status == "ok", run.error
    (token_request,) = graph.requests("/oauth2/v2.0/token")
    assert token_request.status == 200
    other = GraphEmulator().start()  # another app's certificate is refused
    try:
        with db.transaction() as session:
            store_tenant(
                session,
                config,
                graph.tenant_id,
                graph.client_id,
                certificate_pem=Secret(other.add_certificate()),
            )
    finally:
        other.close()
    graph.identity.expire_all()
    forget_tokens()
    failed = run_mailbox(db, config, alice)
    assert failed.status == "auth_failed" and "700027" in (failed.error or "")

"""``/webhooks/graph``: the validation echo, clientState checks, queued (never inline) delta
runs with debounce, and lifecycle events.

Notifications come from the Graph emulator over real HTTP to the app served on a real port;
queued work runs on the real in-process scheduler.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from storage.db import Database
from storage.handover import record
from storage.models import Handover, HandoverKind, ImportRun, Sighting, WatchedResource
from storage.subscriptions import client_state_hash, mark_pending
from storage.types import utcnow
from sync.graph import run_mailbox
from sync.graph.tenant import disable_mailbox
from sync.graph_subscriptions import upkeep_job
from sync.handover import Claims, Unstarted, hand_back, take, watch
from sync.scheduler import Coalescer, InProcessScheduler, start_for_app
from tests.data_paths import ROOT
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

DEBOUNCE = 0.4  # seconds; the default is 3
POLL = 0.2  # seconds between the sync worker's claims; the default is 2
URL = "/webhooks/graph"


@pytest.fixture
def app_config(app_config: dict[str, str], graph: GraphEmulator) -> dict[str, str]:
    return {
        **app_config,
        **graph_settings(graph),
        "RAPPORT_WEBHOOK_DEBOUNCE": str(DEBOUNCE),
        "RAPPORT_WEBHOOK_POLL": str(POLL),
    }


@pytest.fixture
def scheduler(app: Flask) -> Iterator[InProcessScheduler]:
    """The real in-process scheduler, as ``python app.py serve`` starts it."""
    running = InProcessScheduler()
    app.extensions["rapport.scheduler"] = running
    yield running
    running.shutdown()


# -- validation and bad input -------------------------------------------------------------


def test_the_validation_token_is_echoed_as_plain_text(client: FlaskClient) -> None:
    token = "Validation: Testing client application reachability <script>alert(1)</script>"

    response = client.post(f"{URL}?validationToken={quote(token)}")

    assert response.status_code == 200
    assert response.get_data(as_text=True) == token
    assert response.mimetype == "text/plain"  # never rendered as HTML
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{not json", 400, "notification JSON"),
        (b'{"value": "x"}', 400, "notification JSON"),
        (b"[1, 2]", 400, "notification JSON"),
        (b'{"value": [{"changeType": "created"}]}', 400, "subscriptionId"),
        (b'{"value": [7]}', 400, "subscriptionId"),
        (json.dumps({"value": [{}] * 1001}).encode(), 413, "more than 1000"),
        (b'{"value": ["' + b"x" * (2 << 20) + b'"]}', 413, ""),
    ],
)
def test_bad_bodies_get_a_clear_json_error(
    client: FlaskClient, body: bytes, status: int, fragment: str
) -> None:
    response = client.post(URL, data=body, content_type="application/json")

    assert response.status_code == status
    error = response.get_json()
    assert set(error) >= {"error", "message"} and fragment in error["message"]


def test_an_empty_batch_is_accepted(client: FlaskClient) -> None:
    response = client.post(URL, json={"value": []})
    assert response.status_code == 202


# -- clientState ------------------------------------------------------------------------------


def test_a_wrong_client_state_is_refused_counted_and_triggers_nothing(
    db: Database,
    graph: GraphEmulator,
    account: Any,
    served: str,
    scheduler: InProcessScheduler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    [alice] = subscribed(db, account, served, ALICE)
    inbox = subscription(db, alice, "inbox")
    graph.add_message(ALICE, "inbox", subject="Hello", sender="cfo@acme.example")

    forged = graph.notify(str(inbox.subscription_id), "AAMkAD1", client_state="guessed")

    assert forged.status == 403
    assert json.loads(forged.body)["error"] == "forbidden"
    assert scheduler.pending() == []  # nothing queued
    time.sleep(DEBOUNCE * 3)
    assert graph.requests("/delta") == []  # and nothing ran
    row = subscription(db, alice, "inbox")
    assert (row.refused, row.notifications, row.last_notification_at) == (1, 0, None)
    assert "wrong clientState" in caplog.text
    real_state = graph.subscriptions.active[str(inbox.subscription_id)]["clientState"]
    assert real_state not in caplog.text


def test_a_notification_for_an_unknown_subscription_is_refused(
    db: Database, account: Any, served: str, scheduler: InProcessScheduler
) -> None:
    subscribed(db, account, served, ALICE)
    item = {"subscriptionId": "3c1f5d2e-0000-4000-8000-000000000000", "clientState": "x"}

    answer = requests.post(served, json={"value": [item]}, timeout=5)

    assert answer.status_code == 403
    assert scheduler.pending() == []


def test_a_batch_with_one_good_notification_is_accepted_and_counts_the_rest(
    db: Database, graph: GraphEmulator, account: Any, served: str, scheduler: InProcessScheduler
) -> None:
    [alice] = subscribed(db, account, served, ALICE)
    inbox = subscription(db, alice, "inbox")
    state = graph.subscriptions.active[str(inbox.subscription_id)]["clientState"]
    good = {"subscriptionId": inbox.subscription_id, "clientState": state, "changeType": "created"}
    bad = {**good, "clientState": state[:-1]}

    answer = requests.post(served, json={"value": [good, bad, good]}, timeout=5)

    assert answer.status_code == 202  # else Graph would retry the good ones for hours
    assert answer.json() == {"accepted": 2, "refused": 1}
    row = subscription(db, alice, "inbox")
    assert (row.notifications, row.refused) == (2, 1)
    assert [job.split("#")[0] for job in scheduler.pending()] == [f"graph.notified.{alice}"]


def test_a_notification_racing_the_creation_of_its_subscription_is_recognised(
    db: Database, served: str, scheduler: InProcessScheduler
) -> None:
    """Graph can notify before its 201 reaches us; the clientState was stored before asking."""
    alice = add_mailbox(db, ALICE)
    secret = "s" * 43
    with db.transaction() as session:
        mark_pending(session, alice, WatchedResource.INBOX, client_state_hash(secret))
    item = {"subscriptionId": "not-known-yet", "clientState": secret, "changeType": "created"}

    answer = requests.post(served, json={"value": [item]}, timeout=5)

    assert answer.status_code == 202
    assert [job.split("#")[0] for job in scheduler.pending()] == [f"graph.notified.{alice}"]
    forged = {**item, "clientState": "t" * 43}
    assert requests.post(served, json={"value": [forged]}, timeout=5).status_code == 403


def test_without_a_scheduler_the_work_is_handed_over_through_the_store(
    db: Database, graph: GraphEmulator, account: Any, served: str
) -> None:
    """An API process under gunicorn has no scheduler: what the notifications ask for is
    recorded for the sync worker, once per mailbox however many arrive."""
    [alice] = subscribed(db, account, served, ALICE)
    inbox, events = subscription(db, alice, "inbox"), subscription(db, alice, "events")

    deliveries = [graph.notify(str(inbox.subscription_id), f"AAMkAD{n}") for n in range(3)]
    renewal = graph.lifecycle(str(events.subscription_id), "reauthorizationRequired")
    sent = subscription(db, alice, "sentitems")
    removed = graph.lifecycle(str(sent.subscription_id), "subscriptionRemoved")

    assert [d.status for d in deliveries] == [202] * 3
    assert renewal.status == 202 and removed.status == 202
    assert subscription(db, alice, "inbox").notifications == 3
    # The upkeep (target 0: it looks at every subscription) creates the removed one again.
    assert handed_over(db) == [("delta", alice), ("renew", events.id), ("upkeep", 0)]


def handed_over(db: Database) -> list[tuple[str, int]]:
    """Every handed-over row, claimed or not."""
    return sorted(holders(db))


def holders(db: Database) -> dict[tuple[str, int], str | None]:
    """Each handed-over row and the token of the worker holding it (None: waiting)."""
    with db.transaction() as session:
        return {(h.kind, h.target_id): h.claimed_by for h in session.scalars(select(Handover))}


# -- queued delta runs -------------------------------------------------------------------------


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def runs(db: Database, mailbox_id: int) -> int:
    with db.transaction() as session:
        query = (
            select(func.count()).select_from(ImportRun).where(ImportRun.mailbox_id == mailbox_id)
        )
        return int(session.scalar(query) or 0)


def sighted(db: Database, mailbox_id: int, graph_id: str) -> bool:
    with db.transaction() as session:
        query = select(Sighting.id).where(
            Sighting.mailbox_id == mailbox_id, Sighting.source_item_id == graph_id
        )
        return session.scalar(query) is not None


def mail(
    graph: GraphEmulator, owner: str, folder: str, subject: str, sender: str | None = None
) -> str:
    """A message that arrives now (the emulator's default dates are older than the backfill)."""
    return graph.add_message(owner, folder, subject=subject, sender=sender, received=utcnow())


@pytest.fixture
def synced(
    app: Flask, db: Database, graph: GraphEmulator, account: Any, served: str
) -> dict[str, int]:
    """Alice and Bob subscribed, each through one first pass (what the periodic job does)."""
    graph.add_mailbox(ALICE), graph.add_mailbox(BOB)
    alice, bob = subscribed(db, account, served, ALICE, BOB)
    for mailbox_id in (alice, bob):
        assert run_mailbox(db, app.config, mailbox_id).status == "ok"
    return {"alice": alice, "bob": bob}


def test_a_notification_queues_a_delta_run_of_that_mailbox_only(
    db: Database, graph: GraphEmulator, synced: dict[str, int], scheduler: InProcessScheduler
) -> None:
    alice, bob = synced["alice"], synced["bob"]
    for_alice = mail(graph, ALICE, "inbox", "Terms", "cfo@acme.example")
    for_bob = mail(graph, BOB, "inbox", "Lunch?", "gc@globex.example")
    graph.delay_next(2.0, path="messages/delta")  # the delta run is slow; the answer is not
    seen = len(graph.log)

    delivery = graph.notify(str(subscription(db, alice, "inbox").subscription_id), for_alice)

    assert delivery.status == 202 and delivery.seconds < 2.0  # answered, not synced inline
    assert wait_for(lambda: sighted(db, alice, for_alice))
    assert wait_for(lambda: scheduler.pending() == [])
    assert (runs(db, alice), runs(db, bob)) == (2, 1)
    assert not sighted(db, bob, for_bob)  # Bob's change waits for his own trigger
    assert not any(BOB in r.path for r in graph.log[seen:])


def test_a_burst_of_notifications_makes_one_delta_run(
    app: Flask,
    db: Database,
    graph: GraphEmulator,
    synced: dict[str, int],
    scheduler: InProcessScheduler,
) -> None:
    alice = synced["alice"]
    app.extensions["rapport.graph_webhooks"].delay = 2.0  # the burst fits well inside
    ids = [mail(graph, ALICE, "inbox", f"m{i}") for i in range(3)]
    subscriptions = [str(subscription(db, alice, r).subscription_id) for r in ("inbox", "events")]
    burst = [(s, i) for s in subscriptions for i in ids] * 2  # twelve notifications

    with ThreadPoolExecutor(4) as pool:
        deliveries = list(pool.map(lambda n: graph.notify(*n), burst))

    assert [d.status for d in deliveries] == [202] * 12
    assert [job.split("#")[0] for job in scheduler.pending()] == [f"graph.notified.{alice}"]
    assert wait_for(lambda: all(sighted(db, alice, i) for i in ids))
    time.sleep(1.0)
    assert runs(db, alice) == 2  # the first pass and one for the whole burst
    assert scheduler.pending() == []


def test_a_notification_during_a_run_makes_exactly_one_more_run(
    scheduler: InProcessScheduler,
) -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def run(key: int) -> bool:
        calls.append(key)
        started.set()
        release.wait(5)
        return True

    coalescer = Coalescer(lambda: scheduler, "test.", run, delay=0.05)
    coalescer.trigger(7)
    assert started.wait(5)
    for _ in range(5):  # arrive while the first run may already have read past the change
        coalescer.trigger(7)
    release.set()

    assert wait_for(lambda: len(calls) == 2 and scheduler.pending() == [])
    time.sleep(0.3)
    assert calls == [7, 7]


def test_a_busy_mailbox_is_tried_again_later(scheduler: InProcessScheduler) -> None:
    answers = [False, False, True]  # another pass of the mailbox runs twice, then it is free
    calls: list[int] = []

    def run(key: int) -> bool:
        calls.append(key)
        return answers[len(calls) - 1]

    coalescer = Coalescer(lambda: scheduler, "test.", run, delay=0.05, retries=5)
    assert coalescer.trigger(3)

    assert wait_for(lambda: len(calls) == 3 and scheduler.pending() == [])
    time.sleep(0.3)
    assert calls == [3, 3, 3]
    assert not Coalescer(lambda: None, "test.", run, delay=0).trigger(3)  # no scheduler


def test_a_served_app_subscribes_its_mailboxes_soon_after_start(
    app: Flask, db: Database, graph: GraphEmulator, account: Any, served: str
) -> None:
    """What `python app.py serve` starts: the upkeep runs a few seconds in, then hourly, and
    each new subscription is followed by a delta run of its mailbox."""
    graph.add_mailbox(ALICE)
    alice = add_mailbox(db, ALICE)
    app.config["RAPPORT_SCHEDULER"] = "1"
    started = start_for_app(app)
    assert started is not None
    try:
        assert {"graph.subscriptions", "graph.subscriptions.now"} <= set(started.pending())
        assert wait_for(lambda: len(graph.subscriptions.active) == 3)
        assert wait_for(lambda: runs(db, alice) == 1)
    finally:
        started.shutdown()


def test_without_a_webhook_url_the_server_only_polls(app: Flask) -> None:
    app.config["RAPPORT_SCHEDULER"] = "1"
    started = start_for_app(app)
    assert started is not None
    try:
        assert not any(job.startswith("graph.subscriptions") for job in started.pending())
    finally:
        started.shutdown()


# -- lifecycle notifications ------------------------------------------------------------------


def test_missed_runs_the_delta(
    db: Database, graph: GraphEmulator, synced: dict[str, int], scheduler: InProcessScheduler
) -> None:
    alice = synced["alice"]
    lost = mail(graph, ALICE, "sentitems", "Sent while notifications were lost")

    delivery = graph.lifecycle(str(subscription(db, alice, "sentitems").subscription_id), "missed")

    assert delivery.status == 202
    assert wait_for(lambda: sighted(db, alice, lost))
    assert runs(db, synced["bob"]) == 1


@pytest.mark.parametrize("runs_it", ["scheduler", "worker"])
def test_reauthorization_required_renews_the_subscription(
    db: Database,
    graph: GraphEmulator,
    account: Any,
    served: str,
    runs_it: str,
    request: pytest.FixtureRequest,
) -> None:
    """Renewed by the scheduler of the process that received it (``python app.py serve``), or
    by the sync worker the API process without one handed it to (the store's handovers)."""
    request.getfixturevalue(runs_it)
    [alice] = subscribed(db, account, served, ALICE)
    events = subscription(db, alice, "events")

    delivery = graph.lifecycle(str(events.subscription_id), "reauthorizationRequired")

    assert delivery.status == 202
    assert wait_for(lambda: len(graph.requests("/subscriptions/", "PATCH")) == 1)
    assert graph.requests("/subscriptions/", "PATCH")[0].path.endswith(str(events.subscription_id))
    assert wait_for(lambda: subscription(db, alice, "events").renewed_at != events.renewed_at)
    renewed = subscription(db, alice, "events")
    assert renewed.subscription_id == events.subscription_id and renewed.last_error is None
    assert len(graph.requests("/subscriptions", "POST")) == 3  # nothing created anew
    assert wait_for(lambda: handed_over(db) == [])  # deleted once the renewal ran


def test_subscription_removed_is_created_again_then_the_delta_runs(
    db: Database, graph: GraphEmulator, synced: dict[str, int], scheduler: InProcessScheduler
) -> None:
    alice = synced["alice"]
    inbox = subscription(db, alice, "inbox")
    meanwhile = mail(graph, ALICE, "inbox", "Arrived while unsubscribed")

    delivery = graph.lifecycle(str(inbox.subscription_id), "subscriptionRemoved")

    assert delivery.status == 202
    assert wait_for(
        lambda: (
            subscription(db, alice, "inbox").subscription_id not in (None, inbox.subscription_id)
        )
    )
    again = subscription(db, alice, "inbox")
    assert again.subscription_id in graph.subscriptions.active
    assert again.last_error is None and again.client_state_hash != inbox.client_state_hash
    assert len(graph.subscriptions.active) == 6
    assert wait_for(lambda: sighted(db, alice, meanwhile))


def test_a_notification_for_a_disabled_mailbox_syncs_nothing_and_unsubscribes_it(
    db: Database, graph: GraphEmulator, synced: dict[str, int], scheduler: InProcessScheduler
) -> None:
    alice = synced["alice"]
    inbox = subscription(db, alice, "inbox")
    with db.transaction() as session:
        disable_mailbox(session, ALICE)

    delivery = graph.notify(str(inbox.subscription_id), "AAMkAD1")

    assert delivery.status == 202  # genuine: Graph must not retry it
    assert wait_for(lambda: len(graph.subscriptions.active) == 3)  # Bob's remain
    assert wait_for(lambda: scheduler.pending() == [])
    assert runs(db, alice) == 1


# -- several processes: the API hands work to the sync worker -----------------------------


@pytest.fixture
def worker(app_config: dict[str, str], served: str) -> Iterator[Flask]:
    """A second app on the same store with its own scheduler watching handed-over work: what
    ``python app.py worker`` runs, in this process, configured as the API is."""
    from app import create_app

    application = create_app({**app_config, "RAPPORT_WEBHOOK_URL": served})
    running = InProcessScheduler()
    application.extensions["rapport.scheduler"] = running
    watch(
        running,
        application.extensions["rapport.graph_webhooks"],
        application.extensions["rapport.db"],
        application.config,
    )
    yield application
    running.shutdown()
    application.extensions["rapport.db"].dispose()


def test_the_sync_worker_claims_handed_over_work_and_runs_it(
    db: Database, graph: GraphEmulator, synced: dict[str, int], worker: Flask
) -> None:
    alice, bob = synced["alice"], synced["bob"]
    inbox = subscription(db, alice, "inbox")
    arrived = mail(graph, ALICE, "inbox", "Terms", "cfo@acme.example")

    for _ in range(5):  # a burst, received by the API process (no scheduler)
        assert graph.notify(str(inbox.subscription_id), arrived).status == 202

    assert wait_for(lambda: sighted(db, alice, arrived))
    assert wait_for(lambda: handed_over(db) == [])
    assert wait_for(lambda: worker.extensions["rapport.scheduler"].pending() == ["graph.handovers"])
    assert (runs(db, alice), runs(db, bob)) == (2, 1)  # one delta run for the burst


def test_a_worker_without_the_webhook_url_says_why_it_renews_nothing(
    db: Database,
    graph: GraphEmulator,
    account: Any,
    served: str,
    app_config: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sync worker started without the API's RAPPORT_WEBHOOK_URL cannot renew what Graph
    asks it to: it says so in its log instead of doing nothing silently."""
    [alice] = subscribed(db, account, served, ALICE)
    events = subscription(db, alice, "events")

    result = upkeep_job(db, app_config, renew_row=events.id)  # app_config: no webhook URL

    assert result.renewed == 0 and graph.requests("/subscriptions/", "PATCH") == []
    assert f"graph subscription {events.id} not renewed: RAPPORT_WEBHOOK_URL" in caplog.text


def test_a_stopping_worker_hands_back_what_it_claimed_and_never_started(
    db: Database, app_config: dict[str, str]
) -> None:
    """Work claimed while the scheduler is stopping (queued on it, never run) and delta runs
    waiting out the debounce go back to the store for the next worker."""
    stopped = InProcessScheduler()
    stopped.shutdown()
    ran: list[int] = []

    def run(key: int) -> bool:
        ran.append(key)
        return True

    coalescer = Coalescer(lambda: stopped, "test.", run, 60)
    unstarted, claims = Unstarted(), Claims(db, coalescer)
    with db.transaction() as session:
        record(session, [(HandoverKind.DELTA, 7), (HandoverKind.RENEW, 3)])
        record(session, [(HandoverKind.REBUILD, 0), (HandoverKind.UPKEEP, 0)])

    claimed = take(stopped, coalescer, claims, app_config, unstarted=unstarted)
    coalescer.close()
    coalescer.trigger(8)  # a running delta asking for one more run as the worker stops

    assert claimed == 4 and set(holders(db).values()) == {claims.holder}  # held, not gone
    assert hand_back(db, coalescer, unstarted, claims) == 5
    assert holders(db) == {
        ("delta", 7): None,
        ("delta", 8): None,
        ("rebuild", 0): None,
        ("renew", 3): None,
        ("upkeep", 0): None,
    }
    assert ran == []


def test_a_worker_stopped_during_the_debounce_hands_the_delta_to_the_next_worker(
    db: Database, graph: GraphEmulator, synced: dict[str, int], app_config: dict[str, str]
) -> None:
    alice = synced["alice"]
    arrived = notified(db, graph, alice)
    slow = {**app_config, "RAPPORT_WEBHOOK_DEBOUNCE": "600"}  # the run waits past the stop

    first = start_worker(slow)
    try:
        assert wait_for(lambda: holders(db)[("delta", alice)] is not None, timeout=60)  # queued
    finally:
        err = stop_worker(first)
    assert "1 queued item(s) handed back" in err
    assert holders(db) == {("delta", alice): None} and not sighted(db, alice, arrived)

    second = start_worker(app_config)
    try:
        assert wait_for(lambda: sighted(db, alice, arrived), timeout=60)
        assert wait_for(lambda: handed_over(db) == [])  # deleted once run
    finally:
        stop_worker(second)
    assert runs(db, alice) == 2


def test_a_killed_worker_keeps_its_claims_until_its_lease_runs_out_then_the_next_runs_them(
    db: Database, graph: GraphEmulator, synced: dict[str, int], app_config: dict[str, str]
) -> None:
    """SIGKILL: no hand-back. While the first worker lived, its lease held its claim against a
    second worker; once it was killed and the lease ran out, the second claimed the row and
    synced the mail."""
    alice = synced["alice"]
    arrived = notified(db, graph, alice)
    lease = {**app_config, "RAPPORT_HANDOVER_LEASE": "1"}
    first = start_worker({**lease, "RAPPORT_WEBHOOK_DEBOUNCE": "600"})
    second = None
    try:
        assert wait_for(lambda: holders(db)[("delta", alice)] is not None, timeout=60)
        holder = holders(db)[("delta", alice)]
        second = start_worker(lease)
        # Alive, the first extends its lease at every poll: the second, polling every 0.2 s,
        # never takes the row, however many leases long it looks.
        wait_for(lambda: holders(db).get(("delta", alice)) != holder, timeout=4)
        assert holders(db) == {("delta", alice): holder} and not sighted(db, alice, arrived)

        first.kill()
        first.communicate(timeout=60)

        assert wait_for(lambda: sighted(db, alice, arrived), timeout=60)
        assert wait_for(lambda: handed_over(db) == [], timeout=30)
    finally:
        if first.returncode is None:
            first.kill()
            first.communicate(timeout=60)
        if second is not None:
            stop_worker(second)
    assert runs(db, alice) == 2


def notified(db: Database, graph: GraphEmulator, alice: int) -> str:
    """New mail in Alice's inbox, and its notification received by the API process (no
    scheduler: handed over); the message's Graph id."""
    arrived = mail(graph, ALICE, "inbox", "Terms", "cfo@acme.example")
    inbox = subscription(db, alice, "inbox")
    assert graph.notify(str(inbox.subscription_id), arrived).status == 202
    return arrived


def start_worker(config: dict[str, str]) -> subprocess.Popen[bytes]:
    """``python app.py worker``, returned once it says it runs (its scheduler has started)."""
    environment = {**os.environ, **config, "RAPPORT_SCHEDULER": "1"}
    process = subprocess.Popen(
        [sys.executable, "app.py", "worker"], cwd=ROOT, env=environment, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    said = b""
    while b"sync worker running" not in said:
        line = process.stderr.readline()  # b"" once the process ended without saying it
        assert line, f"the worker did not start: {said.decode()}"
        said += line
    return process


def stop_worker(process: subprocess.Popen[bytes]) -> str:
    """SIGTERM, then the worker's stderr; it must have stopped cleanly."""
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()
    assert "sync worker stopped" in err.decode()
    return err.decode()


def test_python_app_py_worker_runs_handed_over_work_and_stops_on_sigterm(
    db: Database, graph: GraphEmulator, synced: dict[str, int], app_config: dict[str, str]
) -> None:
    alice = synced["alice"]
    arrived = notified(db, graph, alice)
    assert handed_over(db) == [("delta", alice)]

    process = start_worker(app_config)
    try:
        assert wait_for(lambda: sighted(db, alice, arrived), timeout=60)
        assert wait_for(lambda: handed_over(db) == [])  # deleted once run
    finally:
        err = stop_worker(process)
    assert "0 queued item(s) handed back" in err

"""Admin-tunable strength weights: bounds, audit, admin only, and a rebuild that applies them."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, update

from api.tokens import issue_dev_token
from relationships.graph import REFRESH, current_version
from relationships.settings import rebuild_due
from relationships.strength import DEFAULT, Event, score
from storage.db import Database
from storage.models import AuditEvent, Colleague, Handover
from storage.types import utcnow
from sync.handover import Claims, reconcile, take
from sync.scheduler import InProcessScheduler
from tests.factories import INBOX, SENT, T0, email
from tests.test_engine import ALICE, BOB, CLIENT, mailbox, person_of, run

URL = "/api/v1/admin/settings/relationships"


@pytest.fixture
def people(db: Database) -> dict[str, int]:
    box = mailbox(db, ALICE)
    mailbox(db, BOB)
    run(
        db,
        box,
        {SENT: [email(ALICE, [CLIENT], at=T0)], INBOX: [email(CLIENT, [ALICE], cc=[BOB], at=T0)]},
    )
    with db.transaction() as session:
        session.execute(update(Colleague).where(Colleague.email == ALICE).values(is_admin=True))
        return {"client": person_of(session, CLIENT)}


def headers(app: Flask, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(app.config, who)}"}


def bob_score(app: Flask, client: FlaskClient, people: dict[str, int]) -> float:
    """Bob's strength with the client, as connectors list it (Bob was only on a Cc)."""
    at = quote((T0 + timedelta(days=1)).isoformat())
    connectors = f"/api/v1/people/{people['client']}/connectors?at={at}"
    found = client.get(connectors, headers=headers(app, ALICE)).get_json()["connectors"]
    return float(next(c["score"] for c in found if c["colleague"]["name"] == BOB))


def assert_cc_counts_as_to(before: float, after: float) -> None:
    """Bob's one email from the client, a Cc of two addressees, replayed with each weight: the
    Cc weight (0.4 -> 1.0) scales the decayed sums 2.5 times; the follow-up term on the
    client's newest email (unweighted) stays."""
    cc = [Event(T0, "in", 2, "cc")]
    at = T0 + timedelta(days=1)
    assert before == pytest.approx(score(cc, at), abs=0.05)
    as_to = replace(DEFAULT, role={**DEFAULT.role, "cc": 1.0})
    assert after == pytest.approx(score(cc, at, as_to), abs=0.05)
    assert after > 1.4 * before


def finish(scheduler: InProcessScheduler) -> None:
    """Let the queued job start, then stop the scheduler, which waits for it to end."""
    deadline = time.monotonic() + 30
    while scheduler.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    scheduler.shutdown()


def test_admin_only(app: Flask, client: FlaskClient, people: dict[str, int]) -> None:
    assert client.get(URL, headers=headers(app, BOB)).status_code == 403
    body = client.get(URL, headers=headers(app, ALICE)).get_json()
    assert body["weights"]["reciprocity"] == 1.0 and body["bounds"]["reciprocity"] == {
        "min": 0.0,
        "max": 5.0,
    }
    assert body["weights"]["inbound"] == 0.5 and body["bounds"]["inbound"]["max"] == 2.0
    assert body["weights"]["follow_up"] == 0.1 and body["weights"]["follow_up_half_life_days"] == 30


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"reciprocity": 50}, "outside"),
        ({"reciprocity": "lots"}, "a number"),
        ({"reciprocity": True}, "a number"),
        ({"gravity": 1}, "unknown"),
        ({"warm_half_life_days": 200, "history_half_life_days": 150}, "shorter"),
        ({"max_meeting": 2.5}, "whole number"),
        ({"follow_up": 1.5}, "outside"),
        ({"follow_up_half_life_days": 0}, "outside"),
        ({"quiet_floor": 1.5}, "outside"),
        ({"quiet_width_days": 0}, "outside"),
        ({"unanswered_after": 2.5}, "whole number"),
        ({}, "JSON object"),
    ],
)
def test_bad_weights_are_refused(
    app: Flask,
    client: FlaskClient,
    people: dict[str, int],
    change: dict[str, object],
    fragment: str,
) -> None:
    response = client.put(URL, json=change, headers=headers(app, ALICE))
    assert response.status_code == 400 and fragment in response.get_json()["message"]


def test_new_weights_are_stored_audited_and_applied_by_a_rebuild(
    db: Database, app: Flask, client: FlaskClient, people: dict[str, int]
) -> None:
    before = bob_score(app, client, people)
    response = client.put(URL, json={"role.cc": 1.0}, headers=headers(app, ALICE))  # Cc as To
    assert response.status_code == 202 and "rebuild" in response.get_json()["rebuild"]
    assert client.get(URL, headers=headers(app, ALICE)).get_json()["weights"]["role.cc"] == 1.0
    # This app has no scheduler (an API process under gunicorn): the rebuild is handed to the
    # sync worker through the store, and the worker's claim runs it.
    with db.transaction() as session:
        waiting = [(h.kind, h.target_id) for h in session.scalars(select(Handover))]
    assert waiting == [("rebuild", 0)]
    worker = InProcessScheduler()
    try:
        coalescer = app.extensions["rapport.graph_webhooks"]
        assert take(worker, coalescer, Claims(db, coalescer), app.config) == 1
    finally:
        finish(worker)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Handover)) == 0
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "settings.weights")
        ).one()
        assert (
            audit.details["before"]["role.cc"] == 0.4 and audit.details["after"]["role.cc"] == 1.0
        )
    assert_cc_counts_as_to(before, bob_score(app, client, people))


def test_a_weight_change_whose_rebuild_never_ran_is_rebuilt_by_the_next_scheduler(
    db: Database, app: Flask, client: FlaskClient, people: dict[str, int]
) -> None:
    """The process that was to rebuild died first (its handover claimed and lost, or its own
    queue gone): the next process with a scheduler sees aggregates on old weights and
    rebuilds them, once."""
    before = bob_score(app, client, people)
    with db.transaction() as session:
        assert not rebuild_due(session)  # never rebuilt: written with the defaults
    assert client.put(URL, json={"role.cc": 1.0}, headers=headers(app, ALICE)).status_code == 202
    with db.transaction() as session:
        session.execute(delete(Handover))  # the handover, claimed by a worker that then died
        assert rebuild_due(session)
    scheduler = InProcessScheduler()
    try:
        assert reconcile(scheduler, db)
    finally:
        finish(scheduler)
    with db.transaction() as session:
        assert not rebuild_due(session)
    assert not reconcile(scheduler, db)  # nothing more to do: nothing queued
    assert_cc_counts_as_to(before, bob_score(app, client, people))


def test_a_weight_applied_at_scoring_time_needs_no_rebuild_but_reaches_the_graphs(
    db: Database, app: Flask, client: FlaskClient, people: dict[str, int]
) -> None:
    cache = app.extensions["rapport.graph"]
    with db.transaction() as session:
        version = current_version(session)
        assert cache.get(session).weights.reciprocity == 1.0  # this worker's copy

    changed = client.put(URL, json={"reciprocity": 2.0}, headers=headers(app, ALICE))

    assert changed.status_code == 202 and changed.get_json()["rebuild"].startswith("not needed")
    with db.transaction() as session:
        assert not rebuild_due(session)
        assert session.scalar(select(func.count()).select_from(Handover)) == 0
        assert current_version(session) != version  # every graph looks again
        cache.get(session, now=utcnow() + REFRESH)  # the next look after REFRESH
        cache.settle()
        assert cache.get(session).weights.reciprocity == 2.0

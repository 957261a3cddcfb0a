"""``storage.handover``: handed-over work is claimed under a lease, kept until it has run,
and claimable again when its holder dies, stops, or someone asks for it again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, select

from storage.db import Database
from storage.handover import claim, extend, finish, record, release
from storage.models import Handover, HandoverKind
from storage.types import utcnow
from sync.handover import Claims
from sync.scheduler import Coalescer

DELTA, RENEW = HandoverKind.DELTA, HandoverKind.RENEW
LEASE = 60.0  # seconds


def rows(db: Database) -> dict[tuple[str, int], str | None]:
    with db.transaction() as session:
        return {(h.kind, h.target_id): h.claimed_by for h in session.scalars(select(Handover))}


def test_a_claim_is_one_holders_until_its_lease_runs_out(db: Database) -> None:
    now = utcnow()
    with db.transaction() as session:
        assert record(session, [(DELTA, 1), (DELTA, 1), (RENEW, 2)]) == 2  # a burst is one row
        assert claim(session, "a", LEASE, now) == [(DELTA, 1), (RENEW, 2)]
        assert claim(session, "b", LEASE, now + timedelta(seconds=59)) == []  # a holds them
        assert claim(session, "b", LEASE, now + timedelta(seconds=61)) == [(DELTA, 1), (RENEW, 2)]
    assert rows(db) == {("delta", 1): "b", ("renew", 2): "b"}


def test_a_live_holder_extends_its_lease(db: Database) -> None:
    now = utcnow()
    with db.transaction() as session:
        record(session, [(DELTA, 1)])
        claim(session, "a", LEASE, now)
        assert extend(session, "a", LEASE, now + timedelta(seconds=50)) == 1
        assert extend(session, "b", LEASE, now + timedelta(seconds=50)) == 0  # holds nothing
        assert claim(session, "b", LEASE, now + timedelta(seconds=100)) == []
        assert claim(session, "b", LEASE, now + timedelta(seconds=111)) == [(DELTA, 1)]


def test_a_row_goes_once_its_work_ran_and_only_for_its_holder(db: Database) -> None:
    now = utcnow()
    with db.transaction() as session:
        record(session, [(DELTA, 1), (DELTA, 2)])
        claim(session, "a", LEASE, now)
        assert not finish(session, "b", (DELTA, 1), now + timedelta(seconds=1))  # not b's
        assert not finish(session, "a", (DELTA, 1), now - timedelta(seconds=1))  # ran earlier
        assert finish(session, "a", (DELTA, 1), now + timedelta(seconds=1))
    assert rows(db) == {("delta", 2): "a"}


def test_asking_again_during_the_run_keeps_the_row_for_one_more_run(db: Database) -> None:
    """The run may already have read past what the new request is about."""
    claimed_at = utcnow()
    started = claimed_at + timedelta(seconds=1)
    with db.transaction() as session:
        record(session, [(DELTA, 1)])
        claim(session, "a", LEASE, claimed_at)
        record(session, [(DELTA, 1)])  # a notification while the run runs
        assert not finish(session, "a", (DELTA, 1), started)  # claimable again: kept
        assert claim(session, "a", LEASE, started + timedelta(seconds=1)) == [(DELTA, 1)]
        assert not finish(session, "a", (DELTA, 1), started)  # the first run's end, late
        assert finish(session, "a", (DELTA, 1), started + timedelta(seconds=2))  # the next run
    assert rows(db) == {}


def test_a_stopping_holder_releases_what_it_holds(db: Database) -> None:
    now = utcnow()
    with db.transaction() as session:
        record(session, [(DELTA, 1), (DELTA, 2)])
        claim(session, "a", LEASE, now)
        assert release(session, "a") == 2
        assert claim(session, "b", LEASE, now) == [(DELTA, 1), (DELTA, 2)]  # at once


def test_a_process_writes_only_for_the_rows_it_claimed(db: Database) -> None:
    """Every delta run of a sync worker reports to its claims; a run nobody handed over
    (the periodic pass, a webhook the process received itself) costs no statement, and a
    claimed one deletes its row."""
    claims = Claims(db, Coalescer(lambda: None, "test.", lambda key: True, 60))
    statements: list[str] = []

    def seen(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        claims.finished((DELTA, 7), utcnow())  # never claimed here
        assert statements == []
        with db.transaction() as session:
            record(session, [(DELTA, 7)])
            assert claims.claim(session) == [(DELTA, 7)]
        claims.finished((DELTA, 7), utcnow())
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert rows(db) == {}

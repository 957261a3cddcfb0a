"""Calendar sync through calendarView delta: occurrences inside the window, responses,
cancellations, reschedules, firm-wide dedup by iCalUID. Real msal and O365, the emulator."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from storage.db import Database
from storage.models import (
    EmailAddress,
    Interaction,
    Mailbox,
    Participant,
    Sighting,
    SyncCursor,
)
from sync.graph import run_mailbox
from tests.emulators import GraphEmulator, Recurrence, graph_fixture  # noqa: F401
from tests.emulators.harness import configure, graph_config

ALICE = "alice@harbourlaw.example"
BOB = "bob@harbourlaw.example"
CARLA = "carla@client.example"
TODAY = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)


@pytest.fixture
def config(db: Database, graph: GraphEmulator) -> dict[str, Any]:
    return graph_config(db, graph, RAPPORT_GRAPH_PAGE_SIZE="4")


def meetings(db: Database) -> list[tuple[str, datetime, bool]]:
    with db.transaction() as session:
        query = select(Interaction.subject, Interaction.occurred_at, Interaction.is_internal)
        rows = session.execute(query.where(Interaction.kind == "meeting")).tuples()
        return sorted((subject or "", at, internal) for subject, at, internal in rows)


def responses(db: Database) -> dict[str, str | None]:
    with db.transaction() as session:
        query = select(EmailAddress.address, Participant.response).join(
            EmailAddress, EmailAddress.id == Participant.address_id
        )
        return dict(session.execute(query).tuples().all())


def test_a_series_becomes_its_occurrences_inside_the_window(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    (alice,) = configure(db, config, graph, ALICE, backfill_days=30)
    graph.add_event(
        ALICE,
        subject="Weekly with Acme",
        start=TODAY - timedelta(weeks=10),
        end=TODAY - timedelta(weeks=10) + timedelta(hours=1),
        attendees=[(CARLA, "accepted"), ("Dan <dan@client.example>", "tentativelyAccepted")],
        recurrence=Recurrence("weekly", count=20),
    )

    run = run_mailbox(db, config, alice)

    assert run.status == "ok", run.error
    found = meetings(db)
    starts = [at for _, at, _ in found]
    # 20 weekly occurrences from 10 weeks ago (weeks -10 to +9): -4 to 0 and the 9 ahead.
    assert len(found) == 5 + 9 and all(at >= TODAY - timedelta(days=30) for at in starts)
    assert responses(db) == {
        ALICE: "organizer",
        CARLA: "accepted",
        "dan@client.example": "tentative",
    }
    request = graph.requests("calendarView/delta")[0]
    assert {"startDateTime", "endDateTime"} <= set(request.query)
    assert 'outlook.timezone="UTC"' in (request.header("Prefer") or "")


def test_cancelled_occurrences_and_meetings_leave_the_store(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    (alice,) = configure(db, config, graph, ALICE)
    series = graph.add_event(
        ALICE,
        subject="Standing call",
        start=TODAY + timedelta(days=1),
        end=TODAY + timedelta(days=1, hours=1),
        attendees=[CARLA],
        recurrence=Recurrence("weekly", count=3),
    )
    lunch = graph.add_event(
        ALICE, subject="Lunch", start=TODAY, end=TODAY + timedelta(hours=1), attendees=[CARLA]
    )
    assert run_mailbox(db, config, alice).status == "ok"
    assert len(meetings(db)) == 4
    graph.cancel_occurrence(series, (TODAY + timedelta(days=8)).date())
    graph.update_event(lunch, isCancelled=True)

    run = run_mailbox(db, config, alice)

    assert run.stats is not None and run.stats.removed == 2
    assert run.stats.skipped == {"cancelled": 1}
    assert [(s, at.date()) for s, at, _ in meetings(db)] == [
        ("Standing call", (TODAY + timedelta(days=1)).date()),
        ("Standing call", (TODAY + timedelta(days=15)).date()),
    ]


def test_a_rescheduled_meeting_moves(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    (alice,) = configure(db, config, graph, ALICE)
    event = graph.add_event(
        ALICE, subject="Closing", start=TODAY, end=TODAY + timedelta(hours=1), attendees=[CARLA]
    )
    run_mailbox(db, config, alice)
    later = TODAY + timedelta(days=2)
    graph.update_event(
        event,
        start=later,
        end=later + timedelta(hours=2),
        attendees=[
            {
                "type": "required",
                "status": {"response": "declined"},
                "emailAddress": {"name": "Carla", "address": CARLA},
            },
            {
                "type": "resource",
                "status": {"response": "accepted"},
                "emailAddress": {"name": "Room 4", "address": "room4@harbourlaw.example"},
            },
        ],
    )

    run_mailbox(db, config, alice)

    assert meetings(db) == [("Closing", later, False)]
    assert responses(db) == {ALICE: "organizer", CARLA: "declined"}  # rooms are not people


def test_one_meeting_in_two_calendars_is_one_interaction(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    alice, bob = configure(db, config, graph, ALICE, BOB)
    uid = "040000008200E00074C5B7101A82E00800000000AB12"
    for owner in (ALICE, BOB):
        graph.add_event(
            owner,
            subject="Pitch to Acme",
            start=TODAY,
            end=TODAY + timedelta(hours=1),
            organizer=ALICE,
            attendees=[(BOB, "accepted"), (CARLA, "accepted")],
            iCalUId=uid,
        )

    run_mailbox(db, config, alice)
    run = run_mailbox(db, config, bob)

    assert run.stats is not None and (run.stats.stored, run.stats.duplicate) == (0, 1)
    assert len(meetings(db)) == 1
    with db.transaction() as session:
        seen = sorted(session.execute(select(Sighting.mailbox_id, Sighting.direction)).tuples())
    assert seen == [(alice, "out"), (bob, "in")]


def test_the_window_moves_on_before_it_runs_out(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    (alice,) = configure(db, config, graph, ALICE)
    hour = timedelta(hours=1)
    graph.add_event(ALICE, subject="Soon", start=TODAY, end=TODAY + hour, attendees=[CARLA])
    run_mailbox(db, config, alice)
    with db.transaction() as session:  # as if the window had been opened eleven months ago
        stored = json.loads(
            session.scalar(select(SyncCursor.cursor).where(SyncCursor.folder == "calendar")) or ""
        )
        end = (datetime.now(UTC) + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
        session.execute(
            update(SyncCursor)
            .where(SyncCursor.folder == "calendar")
            .values(cursor=json.dumps(stored | {"end": end}))
        )
    far = datetime.now(UTC) + timedelta(days=200)
    graph.add_event(ALICE, subject="Far ahead", start=far, end=far + hour, attendees=[CARLA])

    run = run_mailbox(db, config, alice)

    last = graph.requests("calendarView/delta")[-1]
    assert "startDateTime" in last.query  # a new round with a new window, not the old token
    assert run.stats is not None and {s for s, _, _ in meetings(db)} == {"Soon", "Far ahead"}
    assert date.today() <= datetime.fromisoformat(last.query["endDateTime"][:10]).date()


def test_a_new_window_drops_meetings_deleted_meanwhile_and_keeps_past_ones(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    (alice,) = configure(db, config, graph, ALICE, backfill_days=30)
    hour = timedelta(hours=1)
    past = TODAY - timedelta(days=20)
    graph.add_event(ALICE, subject="Past", start=past, end=past + hour, attendees=[CARLA])
    gone = graph.add_event(ALICE, subject="Gone", start=TODAY, end=TODAY + hour, attendees=[CARLA])
    run_mailbox(db, config, alice)
    graph.expire_delta_tokens(ALICE)
    graph.delete_event(gone)
    with db.transaction() as session:  # the past meeting is now before the window
        session.execute(update(Mailbox).values(backfill_days=10))

    run = run_mailbox(db, config, alice)

    assert run.status == "ok" and run.stats is not None and run.stats.removed == 1
    assert [s for s, _, _ in meetings(db)] == ["Past"]

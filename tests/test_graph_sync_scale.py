"""A mailbox larger than Graph's 5,000-message cap on filtered deltas syncs completely, the
newest mail first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from storage.db import Database
from storage.models import Interaction, Sighting
from sync.graph import run_mailbox
from tests.emulators import GraphEmulator, graph_fixture  # noqa: F401 - the `graph` fixture
from tests.emulators.delta import FILTERED_DELTA_CAP
from tests.emulators.harness import configure, graph_config
from tests.emulators.seed import Shape, seed_mailbox

ALICE = "alice@harbourlaw.example"
MESSAGES = 20_000


def test_a_20000_message_mailbox_is_fully_synced_despite_the_cap(
    db: Database, graph: GraphEmulator
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ids = seed_mailbox(graph, ALICE, Shape(MESSAGES, span=timedelta(days=200), end=now))
    graph.add_message(ALICE, "inbox", subject="Long ago", received=now - timedelta(days=500))
    config = graph_config(db, graph)
    (alice,) = configure(db, config, graph, ALICE, calendar=False)

    run = run_mailbox(db, config, alice)

    assert run.status == "ok", run.error
    assert run.stats is not None and run.stats.read == MESSAGES >= 4 * FILTERED_DELTA_CAP
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Sighting)) == MESSAGES
        stored = session.scalar(select(func.count()).select_from(Interaction))
        order = list(
            session.scalars(
                select(Interaction.occurred_at)
                .join(Sighting, Sighting.interaction_id == Interaction.id)
                .where(Sighting.folder == "Inbox")
                .order_by(Interaction.id)
            )
        )
    assert stored == MESSAGES == len(ids)
    assert order == sorted(order, reverse=True)  # the newest mail reached the store first
    requests = graph.requests("messages/delta")
    assert all("$filter" not in r.query for r in requests)
    assert len(requests) <= MESSAGES // 1000 + 2  # pages of 1,000 (two folders)

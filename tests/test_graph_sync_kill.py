"""A Graph sync killed with SIGKILL mid-run and started again ends with exactly the data of an
uninterrupted one: a real subprocess (`python app.py sync`), a real kill, the emulator over
HTTP(S)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from storage.db import Database
from storage.models import ImportRun, RunStatus, Sighting
from sync.graph import run_mailbox
from tests.conftest import clear
from tests.data_paths import ROOT
from tests.emulators import GraphEmulator, graph_fixture  # noqa: F401 - the `graph` fixture
from tests.emulators.harness import configure, environment, graph_config
from tests.emulators.seed import Shape, seed_mailbox
from tests.snapshot import snapshot

ALICE = "alice@harbourlaw.example"
MESSAGES = 3_000  # 30 pages of 100: the kill lands between the first and the last


def _sightings(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Sighting)) or 0


def _start_sync(config: dict[str, Any]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "app.py", "sync"]
    env = {**os.environ, **environment(config)}
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def test_sync_killed_mid_run_resumes_to_identical_data(db: Database, graph: GraphEmulator) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    seed_mailbox(graph, ALICE, Shape(MESSAGES, span=timedelta(days=90), end=now))
    start = now - timedelta(days=2)
    graph.add_event(
        ALICE,
        subject="Review",
        start=start,
        end=start + timedelta(hours=1),
        attendees=["c@x.example"],
    )
    config = graph_config(db, graph, RAPPORT_GRAPH_PAGE_SIZE="100")
    (alice,) = configure(db, config, graph, ALICE)
    assert run_mailbox(db, config, alice).status == "ok"
    with db.transaction() as session:
        expected = snapshot(session)
    total = _sightings(db)
    clear(db)
    configure(db, config, graph, ALICE)
    graph.delay_next(0.05, times=10_000, path="messages/delta")  # pages slow enough to aim at

    process = _start_sync(config)
    deadline = time.monotonic() + 120
    while _sightings(db) == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL, "the sync finished before it could be killed"
    stored_at_kill = _sightings(db)
    assert 0 < stored_at_kill < total

    process = _start_sync(config)
    output, errors = process.communicate(timeout=300)
    assert process.returncode == 0, (output + errors).decode()
    with db.transaction() as session:
        assert snapshot(session) == expected
        statuses = sorted(session.scalars(select(ImportRun.status)))
    assert statuses == sorted([RunStatus.DONE, RunStatus.INTERRUPTED])
    assert b"alice@harbourlaw.example: ok" in output

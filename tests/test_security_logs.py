"""No secret reaches a log at DEBUG: the real O365, msal, requests, urllib3 and werkzeug log
what they log against the Graph emulator, and every record is read back (pytest's handler on
the root logger, or the CLI's standard error) for the bearer tokens the emulator issued, the
client secret, the subscriptions' clientState and the validation token."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

import logsafe
from storage.db import Database
from storage.types import utcnow
from sync.graph import connect, run_mailbox
from sync.graph_subscriptions import Policy, upkeep
from tests.emulators import GraphEmulator, graph_fixture  # noqa: F401 - the `graph` fixture
from tests.emulators.harness import configure, environment, graph_config
from tests.test_graph_subscriptions import LIFETIME, add_mailbox, graph_settings
from tests.test_graph_sync import ALICE, BOB, seed

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app_config(app_config: dict[str, str], graph: GraphEmulator) -> dict[str, str]:
    return {**app_config, **graph_settings(graph)}


@pytest.fixture
def fresh_logging() -> Iterator[None]:
    """Logging as a new process has it, so the test sees what ``create_app`` installs."""
    factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    yield
    logging.setLogRecordFactory(factory)


@pytest.fixture
def app(fresh_logging: None, app: Flask) -> Flask:
    return app


def bearer_tokens(graph: GraphEmulator) -> set[str]:
    """Every access token the emulator was sent."""
    headers = (r.header("Authorization") for r in graph.requests())
    return {h.split(" ", 1)[1] for h in headers if h and " " in h}


def test_a_graph_sync_at_debug_logs_no_token_or_secret(
    app: Flask, db: Database, graph: GraphEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    config = graph_config(db, graph)
    graph.add_mailbox(ALICE)
    (alice,) = configure(db, config, graph, ALICE, calendar=False)
    seed(graph, inbox=3, sent=1)
    caplog.set_level(logging.DEBUG)

    assert run_mailbox(db, config, alice).status == "ok"

    tokens = bearer_tokens(graph)
    assert tokens
    assert "Bearer ***" in caplog.text  # O365 logged its session headers, redacted
    assert {"O365.connection", "urllib3.connectionpool", "msal.token_cache"} <= {
        r.name for r in caplog.records
    }
    leaked = [s for s in (*tokens, graph.client_secret) if s in caplog.text]
    assert not leaked


@pytest.fixture
def logged_server(app: Flask) -> Iterator[str]:
    """The app on a real port with werkzeug's own access log (request lines at INFO)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/webhooks/graph"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_subscribing_at_debug_logs_no_client_state_or_validation_token(
    app: Flask,
    db: Database,
    graph: GraphEmulator,
    logged_server: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = graph_config(db, graph)
    configure(db, config, graph)
    add_mailbox(db, ALICE)
    add_mailbox(db, BOB)
    caplog.set_level(logging.DEBUG)

    with connect(db, config) as account:
        assert upkeep(db, account, Policy(logged_server, LIFETIME), utcnow()).created == 6

    states = [s["clientState"] for s in graph.subscriptions.active.values()]
    assert len(states) == 6
    assert caplog.text.count('"clientState": "***"') == 6  # O365's request bodies
    # werkzeug's request lines: Graph checks the change and the lifecycle URL of each one.
    assert caplog.text.count("validationToken=***") == 2 * 6
    assert "reachability" not in caplog.text  # the validation token's text
    leaked = [s for s in (*states, *bearer_tokens(graph)) if s in caplog.text]
    assert not leaked


def test_the_cli_at_debug_logs_no_token(db: Database, graph: GraphEmulator) -> None:
    config = graph_config(db, graph)
    graph.add_mailbox(ALICE)
    configure(db, config, graph, ALICE, calendar=False)
    seed(graph, inbox=2, sent=1)
    env = {**os.environ, **environment(config), "RAPPORT_LOG_LEVEL": "DEBUG"}

    command = [sys.executable, "app.py", "sync"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr.decode()[-2000:]
    log = done.stderr.decode()
    assert "DEBUG O365.connection" in log and "Bearer ***" in log
    tokens = bearer_tokens(graph)
    assert tokens and not [s for s in (*tokens, graph.client_secret) if s in log]


def test_records_are_redacted_in_their_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture, fresh_logging: None
) -> None:
    logsafe.install()
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("any.library")

    log.debug("headers: %s", {"Authorization": "Bearer abcdefgh.ijk-123"})
    log.info("form %(body)s", {"body": "client_id=1&client_secret=s3cret~1&scope=x"})
    log.warning("two %s", "arguments", "for one placeholder: password=hunter2")  # noqa: PLE1205
    try:
        raise ValueError("refused assertion=eyJhbGciOi.eyJzdWIi.c2ln")
    except ValueError:
        log.exception("failed")

    assert [r.getMessage() for r in caplog.records[:2]] == [
        "headers: {'Authorization': 'Bearer ***'}",
        "form client_id=1&client_secret=***&scope=x",
    ]
    for secret in ("abcdefgh.ijk-123", "s3cret~1", "hunter2", "eyJhbGciOi"):
        assert secret not in caplog.text
    assert "refused assertion=***" in caplog.text

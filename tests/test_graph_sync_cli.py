"""The admin's command line for Graph sync, and the credential at rest: stored encrypted,
never printed, refused when the key changed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli import main
from storage.db import Database
from storage.models import GraphTenant, Mailbox
from storage.secrets import Secret, SecretsUnavailable, decrypt, encrypt
from sync.errors import AuthFailed
from sync.graph import connect
from tests.emulators import GraphEmulator, graph_fixture  # noqa: F401 - the `graph` fixture
from tests.emulators.harness import environment, graph_config

ALICE = "alice@harbourlaw.example"


@pytest.fixture
def config(db: Database, graph: GraphEmulator) -> dict[str, Any]:
    return graph_config(db, graph)


def invoke(config: dict[str, Any], *args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), input=stdin, env=environment(config))


def test_an_admin_configures_the_tenant_enables_a_mailbox_and_syncs(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    now = datetime.now(UTC)
    graph.add_message(
        ALICE, "inbox", subject="Hello", sender="c@client.example", to=[ALICE], received=now
    )
    secret = graph.client_secret

    stored = invoke(
        config,
        "graph-tenant",
        "--tenant",
        graph.tenant_id,
        "--client-id",
        graph.client_id,
        stdin=secret + "\n",
    )
    enabled = invoke(config, "graph-mailbox", "enable", ALICE, "--backfill-days", "30")
    synced = invoke(config, "sync")

    assert stored.exit_code == 0, stored.output
    assert secret not in stored.output and "encrypted" in stored.output
    assert enabled.exit_code == 0 and "backfill 30 days" in enabled.output
    assert synced.exit_code == 0, synced.output
    assert f"{ALICE}: ok; read 1, new client interactions 1" in synced.output
    with db.transaction() as session:
        tenant = session.scalars(select(GraphTenant)).one()
        mailbox = session.scalars(select(Mailbox)).one()
    assert secret not in tenant.credential
    assert decrypt(config, tenant.credential) == Secret(secret)
    assert (mailbox.provider, mailbox.backfill_days, mailbox.status) == ("graph", 30, "ok")
    listed = invoke(config, "mailboxes")
    assert ALICE in listed.output and secret not in listed.output


def test_sync_exits_1_and_says_why_when_a_mailbox_fails(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    graph.add_mailbox(ALICE)
    invoke(
        config,
        "graph-tenant",
        "--tenant",
        graph.tenant_id,
        "--client-id",
        graph.client_id,
        stdin="wrong\n",
    )
    invoke(config, "graph-mailbox", "enable", ALICE)

    result = invoke(config, "sync")

    assert result.exit_code == 1
    assert "auth_failed" in result.output and "invalid_client" in result.output
    assert "wrong" not in result.output


def test_only_firm_mailboxes_can_be_enabled(db: Database, config: dict[str, Any]) -> None:
    result = invoke(config, "graph-mailbox", "enable", "someone@client.example")
    assert result.exit_code == 1 and "not in the firm's domains" in result.output


def test_a_secret_needs_a_secret_key(db: Database, graph: GraphEmulator) -> None:
    config = graph_config(db, graph, RAPPORT_SECRET_KEY="")
    result = invoke(config, "graph-tenant", "--tenant", "t", "--client-id", "c", stdin="s3cret\n")
    assert result.exit_code == 1 and "RAPPORT_SECRET_KEY" in result.output


def test_secrets_never_print_and_need_the_key_they_were_stored_with(
    db: Database, config: dict[str, Any], graph: GraphEmulator
) -> None:
    secret = Secret("p@ss-Value~1")
    token = encrypt(config, secret)

    assert "p@ss" not in repr(secret) and "p@ss" not in f"{secret}"
    assert decrypt(config, token) == secret
    other = {**config, "RAPPORT_SECRET_KEY": "another-key-that-is-also-forty-chars-long"}
    with pytest.raises(SecretsUnavailable):
        decrypt(other, token)
    invoke(
        config,
        "graph-tenant",
        "--tenant",
        graph.tenant_id,
        "--client-id",
        graph.client_id,
        stdin="x\n",
    )
    with pytest.raises(AuthFailed, match="RAPPORT_SECRET_KEY"), connect(db, other):
        pass

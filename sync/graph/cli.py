"""What ``python app.py graph-tenant``, ``graph-mailbox`` and ``sync`` do, testable without a
terminal. ValueError carries a message for the admin."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from config import firm_domains
from storage.addressbook import AddressBook
from storage.db import Database
from storage.mailboxes import NotAFirmAddress
from storage.models import Mailbox
from storage.secrets import Secret, SecretsUnavailable
from sync.graph.auth import forget_tokens
from sync.graph.settings import GraphSettings
from sync.graph.tenant import BadCertificate, disable_mailbox, enable_mailbox, store_tenant
from sync.normalize.addresses import normalize_email
from sync.normalize.domains import FirmDomains


def read_secret() -> Secret:
    """The client secret from standard input: a hidden prompt on a terminal, else one line."""
    if sys.stdin.isatty():
        value = click.prompt("Client secret", hide_input=True, err=True)
    else:
        value = sys.stdin.readline()
    return Secret(str(value).strip())


def store_registration(
    db: Database,
    config: Mapping[str, Any],
    tenant: str | None,
    client_id: str | None,
    certificate: Path | None,
) -> str:
    settings = GraphSettings.from_config(config)
    tenant, client_id = (tenant or settings.tenant_id).strip(), (client_id or settings.client_id)
    if not tenant or not client_id.strip():
        raise ValueError("give --tenant and --client-id (or RAPPORT_GRAPH_TENANT/_CLIENT_ID)")
    pem = Secret(certificate.read_text(encoding="utf-8")) if certificate else None
    secret = None if pem else read_secret()
    try:
        with db.transaction() as session:
            stored = store_tenant(
                session, config, tenant, client_id.strip(), secret=secret, certificate_pem=pem
            )
            kind = stored.credential_kind
    except (SecretsUnavailable, BadCertificate) as error:
        raise ValueError(str(error)) from error
    forget_tokens()
    return f"stored the {kind} of app {client_id.strip()} for tenant {tenant} (encrypted)"


def change_mailboxes(
    db: Database,
    config: Mapping[str, Any],
    action: str,
    addresses: Sequence[str],
    *,
    backfill_days: int | None,
    all_folders: bool | None,
    calendar: bool | None,
) -> list[str]:
    domains = firm_domains(config)
    if not domains:
        raise ValueError("set RAPPORT_FIRM_DOMAINS: only the firm's mailboxes can be synced")
    book = AddressBook(FirmDomains(domains))
    lines = []
    with db.transaction() as session:
        for raw in addresses:
            address = normalize_email(raw)
            if address is None:
                raise ValueError(f"{raw!r} is not an email address")
            if action == "disable":
                found = disable_mailbox(session, address)
                lines.append(f"{address}: disabled" if found else f"{address}: no such mailbox")
                continue
            try:
                mailbox = enable_mailbox(
                    session,
                    book,
                    address,
                    backfill_days=backfill_days,
                    all_folders=all_folders,
                    calendar=calendar,
                )
            except NotAFirmAddress as error:
                raise ValueError(str(error)) from error
            lines.append(
                f"{address}: enabled for Graph sync, backfill {mailbox.backfill_days} days"
            )
    return lines


def mailbox_id(db: Database, address: str) -> int:
    normalized = normalize_email(address) or address
    with db.transaction() as session:
        found = session.scalar(select(Mailbox.id).where(Mailbox.address == normalized))
    if found is None:
        raise click.ClickException(f"no mailbox {address}: enable it with `graph-mailbox enable`")
    return found

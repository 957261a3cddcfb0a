"""The app's Graph sync wired to a `GraphEmulator`: configuration, tenant, mailboxes.

Everything goes through the real code paths (``store_tenant``, ``enable_mailbox``, the real
msal and O365 over HTTP(S)); only the URLs and the CA to trust point at the emulator.
"""

from __future__ import annotations

from typing import Any

from config import load_config
from storage.addressbook import AddressBook
from storage.db import Database
from storage.secrets import Secret
from sync.graph.tenant import enable_mailbox, store_tenant
from sync.normalize.domains import FirmDomains
from tests.emulators.graph import GraphEmulator

FIRM = "harbourlaw.example"
SECRET_KEY = "graph-sync-tests-secret-key-of-forty-chars"


def graph_config(db: Database, graph: GraphEmulator, **override: Any) -> dict[str, Any]:
    """The configuration of an app whose Graph and identity platform are ``graph``."""
    return load_config(
        {
            "DATABASE_URL": db.url,
            "RAPPORT_FIRM_DOMAINS": FIRM,
            "RAPPORT_SECRET_KEY": SECRET_KEY,
            "RAPPORT_SCHEDULER": "0",
            "RAPPORT_GRAPH_WARM": "0",
            "RAPPORT_GRAPH_URL": graph.graph_url,
            "RAPPORT_AUTHORITY": graph.https_url,
            "RAPPORT_GRAPH_CA_FILE": str(graph.ca_file),
            **override,
        }
    )


def configure(
    db: Database, config: dict[str, Any], graph: GraphEmulator, *addresses: str, **options: Any
) -> list[int]:
    """Store the emulator's app credential and enable ``addresses``; their mailbox ids."""
    with db.transaction() as session:
        store_tenant(
            session, config, graph.tenant_id, graph.client_id, secret=Secret(graph.client_secret)
        )
        book = AddressBook(FirmDomains([FIRM]))
        return [enable_mailbox(session, book, address, **options).id for address in addresses]


def environment(config: dict[str, Any]) -> dict[str, str]:
    """``config`` as environment variables, for a sync in a subprocess."""
    names = [k for k in config if k.startswith(("RAPPORT_", "DATABASE_URL"))]
    return {name: str(config[name]) for name in names}

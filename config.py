"""Configuration: documented defaults, then the environment, then an explicit override.

Every name is documented in docs/configuration.md. Nothing here reads the environment at import
time; ``load_config`` is called by ``create_app`` and by the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storage.db import DEFAULT_URL

ROOT = Path(__file__).resolve().parent

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": DEFAULT_URL,
    "RAPPORT_ENV": "development",  # "production" refuses dev auth and a missing secret key
    "RAPPORT_FIRM_DOMAINS": "",  # comma-separated; the demo sets harbourlaw.example
    "RAPPORT_DEV_AUTH": "0",  # "1" accepts tokens from `python app.py token`
    "RAPPORT_SECRET_KEY": "",  # encrypts secrets at rest and signs dev tokens
    "RAPPORT_SHARED_DATA": str(ROOT.parent / "shared" / "data"),
    "RAPPORT_CI": "",  # set by .ci/run: missing PostgreSQL or shared data fail, not skip
    "RAPPORT_SYNC_INTERVAL": "300",  # seconds between scheduled sync passes
    "RAPPORT_SCHEDULER": "1",  # "0" runs no in-process scheduler (tests, one-shot CLI)
    # "1": an API process builds its relationship graph in the background as it starts, so
    # its first request does not wait for it (seconds at millions of pairs); "0": the first
    # request builds it (tests, the sync worker)
    "RAPPORT_GRAPH_WARM": "1",
    "RAPPORT_MAX_REQUEST_BYTES": str(1 << 20),  # larger request bodies answer 413
    "RAPPORT_LOG_LEVEL": "WARNING",  # of the CLI's log (python app.py ...); secrets redacted
    "RAPPORT_PUBLIC_URL": "http://127.0.0.1:5000",  # where Outlook reaches us (https in prod)
    "RAPPORT_CLIENT_ID": "787a47a5-9979-4825-9055-e64fca2fc47b",  # dev only: register your own
    "RAPPORT_APP_ID_URI": "",  # empty: api://<host of RAPPORT_PUBLIC_URL>/<client id>
    # Microsoft Graph sync (docs/graph.md); the tenant's credential is stored encrypted.
    "RAPPORT_AUTHORITY": "https://login.microsoftonline.com",  # identity platform base URL
    "RAPPORT_GRAPH_URL": "https://graph.microsoft.com/v1.0",
    "RAPPORT_GRAPH_TENANT": "",  # Entra ID tenant id; empty: the one stored by graph-tenant
    "RAPPORT_GRAPH_CLIENT_ID": "",  # app (client) id; empty: the one stored by graph-tenant
    "RAPPORT_GRAPH_CA_FILE": "",  # extra CA bundle to trust (TLS-inspecting proxy, emulator)
    "RAPPORT_GRAPH_PAGE_SIZE": "1000",  # Prefer: odata.maxpagesize for delta requests
    # Graph change notifications (docs/graph-admin.md): empty URL means polling only.
    "RAPPORT_WEBHOOK_URL": "",  # public https URL of /webhooks/graph, as Graph reaches it
    "RAPPORT_WEBHOOK_DEBOUNCE": "3",  # seconds from a first notification to the delta run
    "RAPPORT_WEBHOOK_POLL": "2",  # seconds between the sync worker's looks at handed-over work
    # seconds a sync worker's claim on handed-over work holds unless it extends it (it does at
    # every poll): a worker killed outright has its claims taken by the next one this late
    "RAPPORT_HANDOVER_LEASE": "120",
    "RAPPORT_GRAPH_SUBSCRIPTION_MINUTES": "4200",  # subscription lifetime (Graph's max 4230)
    # Office SSO (api/entra.py, docs/sso.md): on when RAPPORT_ALLOWED_TENANTS names a tenant;
    # RAPPORT_AUTHORITY above is also the host of the v2 token issuer.
    "RAPPORT_ALLOWED_TENANTS": "",  # comma-separated tenant ids whose users may sign in
    "RAPPORT_JWKS_URL": "",  # empty: jwks_uri of the first allowed tenant's discovery document
    "RAPPORT_JWKS_CA_FILE": "",  # extra CA bundle for the identity provider (private PKI, tests)
}


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the app refuses to start."""


def load_config(override: Mapping[str, Any] | None = None) -> dict[str, Any]:
    config = dict(DEFAULTS)
    config.update({k: v for k, v in os.environ.items() if k in DEFAULTS})
    config.update(override or {})
    validate(config)
    return config


def firm_domains(config: Mapping[str, Any]) -> list[str]:
    return [d.strip().lower() for d in str(config["RAPPORT_FIRM_DOMAINS"]).split(",") if d.strip()]


def flag(config: Mapping[str, Any], name: str) -> bool:
    return str(config.get(name, "")).strip().lower() in {"1", "true", "yes", "on"}


def validate(config: Mapping[str, Any]) -> None:
    if str(config["RAPPORT_ENV"]).lower() != "production":
        return
    if flag(config, "RAPPORT_DEV_AUTH"):
        raise ConfigError("RAPPORT_DEV_AUTH is on while RAPPORT_ENV=production: refusing to start")
    if len(str(config["RAPPORT_SECRET_KEY"])) < 32:
        raise ConfigError("RAPPORT_ENV=production needs RAPPORT_SECRET_KEY (32+ characters)")
    webhook = str(config.get("RAPPORT_WEBHOOK_URL") or "")
    if webhook and not webhook.lower().startswith("https://"):
        raise ConfigError("RAPPORT_WEBHOOK_URL must be https: Graph delivers to https only")

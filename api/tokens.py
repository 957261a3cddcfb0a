"""Dev bearer tokens: HS256 JWTs from a local signing key, for use before Office SSO exists.

They are accepted only when ``RAPPORT_DEV_AUTH=1`` (``api.auth``), and the production
configuration refuses to start with that flag on (``config.validate``). The key is
``RAPPORT_SECRET_KEY``; without one (development only) a random key is created once in
``var/dev-signing-key`` (mode 0600) so tokens survive restarts.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt

from config import ROOT, ConfigError, flag
from storage.types import utcnow

DEV_ISSUER = "rapport-dev"
AUDIENCE = "rapport-api"
DEV_ALGORITHMS = ("HS256",)
KEY_FILE = ROOT / "var" / "dev-signing-key"
MIN_KEY_LENGTH = 32  # bytes: RFC 7518 section 3.2 wants a key at least as long as the hash


def dev_signing_key(config: Mapping[str, Any]) -> str:
    configured = str(config.get("RAPPORT_SECRET_KEY") or "")
    if configured:
        if len(configured) < MIN_KEY_LENGTH:
            raise ConfigError(f"RAPPORT_SECRET_KEY must be at least {MIN_KEY_LENGTH} characters")
        return configured
    return _key_file(KEY_FILE)


def _key_file(path: Path) -> str:
    """The key in ``path``, created (mode 0600) on first use."""
    if not path.exists():
        _create_key_file(path)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(f"{path} holds no usable signing key: delete it to make a new one")
    return key


def _create_key_file(path: Path) -> None:
    # Written in full, then linked into place: a second process starting at the same moment
    # never reads a half-written key, and the first link wins.
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(48))
        os.link(draft, path)
    except FileExistsError:
        pass  # another process made the key first: everyone uses theirs
    finally:
        draft.unlink()


def issue_dev_token(
    config: Mapping[str, Any],
    email: str,
    *,
    admin: bool = False,
    ttl: timedelta = timedelta(hours=12),
) -> str:
    """A signed dev token for ``email``; raises ConfigError when dev auth is off."""
    if not flag(config, "RAPPORT_DEV_AUTH"):
        raise ConfigError("dev tokens need RAPPORT_DEV_AUTH=1 (never in production)")
    now = utcnow()
    claims = {
        "iss": DEV_ISSUER,
        "aud": AUDIENCE,
        "sub": email.strip().lower(),
        "email": email.strip().lower(),
        "roles": ["admin"] if admin else [],
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, dev_signing_key(config), algorithm=DEV_ALGORITHMS[0])

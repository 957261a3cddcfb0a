"""msal's discovery answers kept in the store, so that a new process asks for a token only.

msal fetches the tenant's OpenID configuration when an app is built and keeps the answer in its
``http_cache`` for 24 hours. A long-lived scheduler builds many apps in one process and asks
once a day; but every ``python app.py sync`` and every new worker process would ask again, and a
no-change pass would cost a discovery request besides its token request and one delta request
per folder. This module copies the cache's discovery entries (2xx answers to GETs: public
documents, never a token or a credential) to a ``settings`` row and back.

msal's ``http_cache`` is a plain dict holding its expiring-map layout: an ``_index_`` entry
``(heap of [expires_at, created_at, key], {key: [expires_at, created_at]})`` and one
``NormalizedResponse`` per key. The stored form is JSON; anything that does not decode as that
layout (another msal version) is ignored and msal simply asks again.

Data functions: they take a session first and never commit.
"""

from __future__ import annotations

import hashlib
import logging
from types import SimpleNamespace
from typing import Any

from msal.throttled_http_client import NormalizedResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Setting

log = logging.getLogger(__name__)

INDEX = "_index_"  # msal.individual_cache._ExpiringMapping._INDEX
KEY_PREFIX = "graph.discovery:"


def setting_key(authority: str) -> str:
    """The settings row of one authority (``{RAPPORT_AUTHORITY}/{tenant}``); hashed, because an
    authority URL may be longer than a settings key."""
    return KEY_PREFIX + hashlib.sha256(authority.encode()).hexdigest()[:32]


def snapshot(cache: dict[Any, Any]) -> dict[str, Any]:
    """The discovery entries of msal's cache as JSON-ready data (token requests' cached errors
    are left out: their keys hash the request, credential included)."""
    index = cache.get(INDEX)
    if not isinstance(index, tuple | list) or len(index) != 2:
        return {}
    _, timestamps = index
    entries = {}
    for key, stamps in timestamps.items():
        value = cache.get(key)
        if value is None or not (isinstance(key, str) and key.startswith("GET ")):
            continue
        entries[key] = {
            "expires_at": int(stamps[0]),
            "created_at": int(stamps[1]),
            "status_code": int(value.status_code),
            "text": str(value.text),
            "headers": {str(k): str(v) for k, v in dict(value.headers).items()},
        }
    return entries


def restore(stored: Any) -> dict[Any, Any]:
    """msal's cache layout rebuilt from a snapshot; empty when the snapshot does not decode."""
    if not isinstance(stored, dict):
        return {}
    cache: dict[Any, Any] = {}
    sequence: list[list[Any]] = []
    timestamps: dict[str, list[int]] = {}
    try:
        for key, entry in stored.items():
            expires_at, created_at = int(entry["expires_at"]), int(entry["created_at"])
            raw = SimpleNamespace(
                status_code=int(entry["status_code"]),
                text=str(entry["text"]),
                headers=dict(entry["headers"]),
            )
            cache[key] = NormalizedResponse(raw)
            sequence.append([expires_at, created_at, key])
            timestamps[key] = [expires_at, created_at]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        log.info("stored discovery answers ignored: %s", type(error).__name__)
        return {}
    sequence.sort()  # a sorted list is a valid heap
    cache[INDEX] = (sequence, timestamps)
    return cache


def load(session: Session, authority: str) -> dict[Any, Any]:
    stored = session.scalar(select(Setting.value).where(Setting.key == setting_key(authority)))
    return restore(stored)


def save(session: Session, authority: str, cache: dict[Any, Any]) -> bool:
    """Store the cache's discovery entries when they differ from the stored ones."""
    entries = snapshot(cache)
    key = setting_key(authority)
    row = session.get(Setting, key)
    if row is None:
        if entries:
            session.add(Setting(key=key, value=entries))
            return True
        return False
    if row.value == entries:
        return False
    row.value = entries
    return True

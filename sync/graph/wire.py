"""Pieces of Graph JSON shared by messages and events: addresses, times, text.

Everything here is attacker-controlled text from outside the firm (names, subjects): it is
made storable (``sync.normalize.text``), normalized and length-capped, never evaluated.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Any

from sync.items import MAX_CONVERSATION_ID, MAX_MESSAGE_ID, Address, AddressKind
from sync.normalize.addresses import normalize_email, normalize_name, x500_dn
from sync.normalize.text import identifier, storable

MAX_SUBJECT = 998  # the RFC 5322 line limit the file parser also applies
MAX_REFERENCES = 20  # the last entries of a References header are the nearest ancestors
_SPACE = re.compile(r"\s+")
_FRACTION = re.compile(r"(\.\d{1,6})\d*")  # Graph sends 7 fractional digits; Python takes 6


@functools.lru_cache(maxsize=65536)
def address(raw_name: str, raw_address: str) -> Address | None:
    """``{"name", "address"}`` of a Graph recipient as an ``Address`` (SMTP or Exchange X.500,
    which Graph returns for some internal senders), or None when it is neither."""
    dn = x500_dn(raw_address)
    if dn is not None:
        return Address(dn, normalize_name(raw_name), AddressKind.X500)
    email = normalize_email(raw_address)
    if email is None:
        return None
    return Address(email, normalize_name(raw_name, email))


def recipient(value: Any) -> Address | None:
    """A Graph ``recipient`` / ``attendee`` object's address."""
    # JSON objects decode to dicts: ``type(...) is dict`` is several times cheaper than an
    # isinstance check against Mapping, and this runs for every recipient of every message.
    if type(value) is not dict:
        return None
    inner = value.get("emailAddress")
    if type(inner) is not dict:
        return None
    name, raw = inner.get("name") or "", inner.get("address") or ""
    return address(name if type(name) is str else str(name), raw if type(raw) is str else str(raw))


def recipients(value: Any) -> list[Address]:
    if type(value) is not list:
        return []
    found = []
    for entry in value:
        parsed = recipient(entry)
        if parsed is not None:
            found.append(parsed)
    return found


def timestamp(value: Any) -> datetime | None:
    """An ISO 8601 UTC timestamp (``2025-03-01T09:30:00Z``) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value.replace("Z", "+00:00")))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def text(value: Any, limit: int = MAX_SUBJECT) -> str:
    return _SPACE.sub(" ", storable(value)).strip()[:limit] if isinstance(value, str) else ""


def message_id(value: Any) -> str | None:
    """An Internet Message-ID without its angle brackets."""
    if not isinstance(value, str):
        return None
    return identifier(value.strip().strip("<>"), MAX_MESSAGE_ID)


def uid(value: Any) -> str | None:
    """An event's iCalUID, the key its copies in every mailbox share."""
    return identifier(value, MAX_MESSAGE_ID) if isinstance(value, str) else None


def conversation_id(value: Any) -> str | None:
    return identifier(value, MAX_CONVERSATION_ID) if isinstance(value, str) else None


def references(value: Any) -> tuple[str, ...]:
    """The Message-IDs of a References header, the last ``MAX_REFERENCES``."""
    if not isinstance(value, str):
        return ()
    found = (message_id(token) for token in value.split()[-MAX_REFERENCES:])
    return tuple(r for r in found if r)

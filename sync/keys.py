"""Deduplication keys of an interaction, computed from what every source has.

A message gets up to two keys: its Internet Message-ID and a content key; a meeting its
iCalUID (plus a content key). The content key exists because the same message can reach us
with different Message-IDs (the Enron corpus regenerated them per folder; Graph and files may
disagree on formatting), so it uses only fields every source gives: the normalized sender, the
sorted To and Cc addresses, the sent time to the second, and the normalized subject. Bcc is left
out on purpose: only the sender's copy shows it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from sync.items import AddressKind, ItemKind, MailItem, Role

_SPACE = re.compile(r"\s+")
_VISIBLE_ROLES = (Role.TO, Role.CC, Role.ATTENDEE)


def _digest(kind: str, value: str) -> str:
    return (
        kind
        + ":"
        + hashlib.sha1(value.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()
    )


def normalize_subject(subject: str) -> str:
    return _SPACE.sub(" ", subject).strip().casefold()


def content_key(item: MailItem) -> str:
    """The key two copies of one message share whatever their Message-IDs say."""
    sender = item.sender.email if item.sender else ""
    recipients = sorted(
        {
            p.address.email
            for p in item.participants
            if p.role in _VISIBLE_ROLES and p.address.kind == AddressKind.SMTP
        }
    )
    stamp = _second(item.sent_at)
    fields = (item.kind.value, sender, ",".join(recipients), stamp, normalize_subject(item.subject))
    return _digest("c", "\x1f".join(fields))


def _second(at: datetime) -> str:
    """``at`` as ``YYYY-MM-DDTHH:MM:SS`` (what ``strftime`` gives, without its cost)."""
    if at.year < 1000:  # strftime does not pad such years
        return at.strftime("%Y-%m-%dT%H:%M:%S")
    return at.isoformat(timespec="seconds")[:19]


def item_keys(item: MailItem) -> list[str]:
    """All keys of ``item``, strongest first."""
    keys = []
    if item.kind == ItemKind.MEETING and item.ical_uid:
        keys.append(_digest("u", item.ical_uid))
    if item.message_id:
        keys.append(_digest("m", item.message_id.strip().strip("<>").strip()))
    keys.append(content_key(item))
    return keys

"""A Graph ``message`` (JSON of a delta page) into a ``MailItem``; never raises on bad input.

What the logging rules need from headers comes in the same delta page, with no request per
message (docs/graph.md, "Headers"):
- ``internetMessageHeaders`` (only when ``$select`` names it) carries ``List-Id``,
  ``List-Unsubscribe``, ``Precedence``, ``Auto-Submitted``, ``X-Autoreply``, ``Sensitivity``,
  ``In-Reply-To`` and ``References`` of received mail. Exchange keeps no transport headers on
  the Sent Items copy, so it is asked for only outside Sent Items.
- ``singleValueExtendedProperties`` expanded with ``PidTagSensitivity`` (``Integer 0x0036``):
  private and confidential marks, on sent mail too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sync.files.markers import read_markers
from sync.graph import wire
from sync.items import FolderKind, ItemKind, MailItem, Participant, Role, Unreadable

BASE_FIELDS = (
    "id",
    "internetMessageId",
    "conversationId",
    "subject",
    "from",
    "sender",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "sentDateTime",
    "receivedDateTime",
    "isDraft",
)
HEADERS_FIELD = "internetMessageHeaders"
SENSITIVITY_TAG = 0x0036  # PidTagSensitivity ([MS-OXPROPS])
SENSITIVITY_PROPERTY = "Integer 0x0036"
SENSITIVITY_EXPAND = f"singleValueExtendedProperties($filter=id eq '{SENSITIVITY_PROPERTY}')"
SENSITIVITY_VALUES = {"1": "personal", "2": "private", "3": "confidential"}
MAX_HEADERS = 200  # headers read per message; a hostile message may carry thousands
_RECIPIENT_FIELDS = (
    ("toRecipients", Role.TO),
    ("ccRecipients", Role.CC),
    ("bccRecipients", Role.BCC),
)


def select_fields(folder: FolderKind) -> str:
    """The ``$select`` of a folder's delta: only what the store and the rules need."""
    fields = BASE_FIELDS if folder == FolderKind.SENT else (*BASE_FIELDS, HEADERS_FIELD)
    return ",".join(fields)


def parse_message(data: Mapping[str, Any]) -> MailItem | Unreadable:
    source_id = str(data.get("id") or "")
    try:
        return _item(data, source_id)
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        return Unreadable(source_id, "malformed", f"{type(error).__name__}: {error}"[:300])


def _item(data: Mapping[str, Any], source_id: str) -> MailItem | Unreadable:
    odata_type = str(data.get("@odata.type") or "")
    if "eventmessage" in odata_type.lower():
        # Meeting requests and responses: the meeting itself comes from the calendar.
        return Unreadable(source_id, "meeting-message", odata_type[:100])
    if data.get("isDraft") is True:
        return Unreadable(source_id, "draft")
    sent_at = wire.timestamp(data.get("sentDateTime")) or wire.timestamp(
        data.get("receivedDateTime")
    )
    if sent_at is None:
        return Unreadable(source_id, "no-date", str(data.get("sentDateTime"))[:100])
    sender = wire.recipient(data.get("from")) or wire.recipient(data.get("sender"))
    if sender is None:
        return Unreadable(source_id, "no-sender", str(data.get("from"))[:200])
    participants = [Participant(sender, Role.FROM)]
    seen = {(sender.email, Role.FROM)}
    for field, role in _RECIPIENT_FIELDS:
        for address in wire.recipients(data.get(field)):
            if (address.email, role) not in seen:
                seen.add((address.email, role))
                participants.append(Participant(address, role))
    subject = wire.text(data.get("subject"))
    headers = _headers(data.get(HEADERS_FIELD))
    markers = read_markers(headers, subject, sender.email, b"")
    sensitivity = _sensitivity(data.get("singleValueExtendedProperties"))
    if sensitivity:
        markers = dataclasses.replace(markers, sensitivity=sensitivity)
    return MailItem(
        source_id=source_id,
        kind=ItemKind.EMAIL,
        sent_at=sent_at,
        sender=sender,
        participants=tuple(participants),
        subject=subject,
        message_id=wire.message_id(data.get("internetMessageId")),
        conversation_id=wire.conversation_id(data.get("conversationId")),
        in_reply_to=wire.message_id(headers.get("in-reply-to")),
        references=wire.references(headers.get("references")),
        markers=markers,
    )


def _headers(value: Any) -> dict[str, str]:
    """Header name (lower case) -> first value; repeated headers such as Received keep one."""
    found: dict[str, str] = {}
    if not isinstance(value, list):
        return found
    for entry in value[:MAX_HEADERS]:
        if isinstance(entry, Mapping):
            name = str(entry.get("name") or "").strip().lower()
            if name and name not in found:
                found[name] = str(entry.get("value") or "")[:2000]
    return found


def _sensitivity(value: Any) -> str:
    if not isinstance(value, list):
        return ""
    for entry in value:
        # Graph echoes the id in its own spelling ("Integer 0x36"): compare the tag's number.
        if isinstance(entry, Mapping) and _tag(str(entry.get("id", ""))) == SENSITIVITY_TAG:
            return SENSITIVITY_VALUES.get(str(entry.get("value", "")).strip(), "")
    return ""


def _tag(property_id: str) -> int | None:
    kind, _, number = property_id.strip().partition(" ")
    try:
        return int(number, 16) if kind.lower() == "integer" else None
    except ValueError:
        return None

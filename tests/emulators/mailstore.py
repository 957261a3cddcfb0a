"""In-memory mailboxes for the Graph emulator: messages, calendar events and a change log.

Invariant: every mutation appends exactly one `Change` to `Store.log`, so a change's ``seq`` is
its 1-based index and the changes in ``(since, upto]`` are ``log[since:upto]``. Delta tokens carry
such bounds; the log is append-only, so replaying a token sees the same set of items (with their
current contents), which is what makes replayed ``nextLink`` pages idempotent.

Removed items stay in the store, flagged, so a later round can still report them as ``@removed``
and expand the occurrences a deleted series used to have.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from typing import Any

WELL_KNOWN_FOLDERS = (
    "inbox",
    "sentitems",
    "drafts",
    "deleteditems",
    "archive",
    "junkemail",
    "outbox",
)
CALENDAR = "calendar"  # the collection name of the primary calendar in the change log
CLOCK_START = datetime(2024, 1, 1, tzinfo=UTC)  # default timestamps are deterministic
MAX_OCCURRENCES = 10_000  # bound on the expansion of an endless series

Address = str | tuple[str, str]  # "Name <addr>" / "addr", or (name, addr)


def graph_time(value: datetime) -> str:
    """Graph's message timestamp form, e.g. ``2024-01-01T09:30:00Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 timestamp as Graph accepts it; a naive value is UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def recipient(value: Address) -> dict[str, Any]:
    name, address = value if isinstance(value, tuple) else parseaddr(value)
    return {"emailAddress": {"name": name or address, "address": address}}


def opaque_id(kind: str, number: int) -> str:
    """An id shaped like an immutable Exchange id (base64url, stable across folder moves)."""
    digest = hashlib.sha256(f"{kind}:{number}".encode()).digest()
    return "AAkALg" + base64.urlsafe_b64encode(digest[:30]).decode()


@dataclass
class Mailbox:
    address: str
    name: str
    user_id: str
    folders: dict[str, str]  # well-known name -> folder id


@dataclass
class StoredMessage:
    data: dict[str, Any]  # the full Graph JSON, internetMessageHeaders included
    mailbox: str
    folder_id: str
    arrived_seq: int  # when it entered its current folder: "created" for changeType
    removed: str | None = None  # the @removed reason once deleted


@dataclass(frozen=True)
class Recurrence:
    """A daily or weekly series; ``count`` or ``until`` ends it, neither makes it endless."""

    pattern: str = "weekly"
    interval: int = 1
    count: int | None = None
    until: date | None = None

    @property
    def step(self) -> timedelta:
        return timedelta(days=self.interval * (7 if self.pattern == "weekly" else 1))


@dataclass
class StoredEvent:
    data: dict[str, Any]  # Graph fields other than start/end
    mailbox: str
    start: datetime
    end: datetime
    recurrence: Recurrence | None
    created_seq: int
    cancelled: set[date] = field(default_factory=set)  # deleted occurrences of a series
    removed: bool = False

    def instances(self, window_start: datetime, window_end: datetime) -> list[dict[str, Any]]:
        """What calendarView shows in the window: single instances and occurrences, no masters."""
        if self.removed:
            return []
        if self.recurrence is None:
            overlaps = self.start < window_end and self.end > window_start
            return [self._render(self.start, None)] if overlaps else []
        return [
            self._render(start, start.date())
            for start in self._occurrences(window_end)
            if start + (self.end - self.start) > window_start
        ]

    def _occurrences(self, window_end: datetime) -> Iterable[datetime]:
        assert self.recurrence is not None
        rule = self.recurrence
        for index in range(rule.count or MAX_OCCURRENCES):
            start = self.start + index * rule.step
            if start >= window_end or (rule.until and start.date() > rule.until):
                return
            if start.date() not in self.cancelled:
                yield start

    def _render(self, start: datetime, occurrence: date | None) -> dict[str, Any]:
        rendered = dict(self.data)
        rendered["start"] = _event_time(start)
        rendered["end"] = _event_time(start + (self.end - self.start))
        if occurrence is not None:
            suffix = occurrence.strftime("%Y%m%d")
            rendered |= {
                "id": f"{self.data['id']}_{suffix}",
                "iCalUId": f"{self.data['iCalUId']}{suffix}",
                "type": "occurrence",
                "seriesMasterId": self.data["id"],
            }
        return rendered


def _event_time(value: datetime) -> dict[str, str]:
    return {
        "dateTime": value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
        "timeZone": "UTC",
    }


@dataclass(frozen=True)
class Change:
    seq: int
    mailbox: str
    collection: str  # a folder id, or CALENDAR
    item_id: str
    prior: StoredEvent | None = None  # an event's state before the change


class Store:
    """Mailboxes keyed by lower-case address. Not thread-safe: the emulator holds a lock."""

    def __init__(self) -> None:
        self.mailboxes: dict[str, Mailbox] = {}
        self.messages: dict[str, StoredMessage] = {}
        self.events: dict[str, StoredEvent] = {}
        self.log: list[Change] = []
        self.epochs: dict[str, int] = {}  # per mailbox; bumping one invalidates its tokens
        self.round_cache: dict[tuple[Any, ...], list[str]] = {}  # see delta._round_ids
        self.parents: dict[str, str] = {}  # folder id -> parent folder id (custom folders)
        self.names: dict[str, str] = {}  # folder id -> display name (custom folders)
        self._counter = 0

    @property
    def seq(self) -> int:
        return len(self.log)

    def _next(self, kind: str) -> str:
        self._counter += 1
        return opaque_id(kind, self._counter)

    def _record(
        self, mailbox: str, collection: str, item_id: str, prior: StoredEvent | None = None
    ) -> int:
        self.log.append(Change(self.seq + 1, mailbox, collection, item_id, prior))
        return self.seq

    def add_mailbox(self, address: str, name: str | None = None) -> Mailbox:
        key = address.lower()
        if key not in self.mailboxes:
            folders = {folder: self._next(f"folder:{folder}") for folder in WELL_KNOWN_FOLDERS}
            display = name or address.partition("@")[0].title()
            self.mailboxes[key] = Mailbox(address, display, self._next("user"), folders)
        return self.mailboxes[key]

    def find_mailbox(self, user: str) -> Mailbox | None:
        """A mailbox by address (UPN) or user id, as in ``/users/{id | userPrincipalName}``."""
        found = self.mailboxes.get(user.lower())
        return found or next((m for m in self.mailboxes.values() if m.user_id == user), None)

    def add_folder(self, mailbox: str, name: str, parent: str | None = None) -> str:
        """A custom folder (under ``parent``, a folder name or id, else the top level)."""
        owner = self.add_mailbox(mailbox)
        folder_id = self._next(f"folder:{name}")
        owner.folders[name.lower()] = folder_id
        if parent is not None:
            self.parents[folder_id] = self._require_folder(owner, parent)
        self.names[folder_id] = name
        return folder_id

    def folder_id(self, mailbox: Mailbox, folder: str) -> str | None:
        """Resolve a well-known folder name (any case, as O365 sends ``Inbox``) or a folder id."""
        if folder.lower() in mailbox.folders:
            return mailbox.folders[folder.lower()]
        return folder if folder in mailbox.folders.values() else None

    def changes(self, mailbox: str, collection: str, since: int, upto: int) -> list[Change]:
        return [
            c for c in self.log[since:upto] if c.mailbox == mailbox and c.collection == collection
        ]

    # -- messages -------------------------------------------------------------------------

    def add_message(
        self,
        mailbox: str,
        folder: str,
        *,
        sender: Address | None,
        to: Sequence[Address],
        cc: Sequence[Address],
        bcc: Sequence[Address],
        received: datetime | None,
        fields: dict[str, Any],
    ) -> str:
        owner = self.add_mailbox(mailbox)
        folder_id = self._require_folder(owner, folder)
        message_id = self._next("message")
        when = received or CLOCK_START + timedelta(minutes=self._counter)
        author = recipient(sender or (owner.name, owner.address))
        data: dict[str, Any] = {
            "id": message_id,
            "createdDateTime": graph_time(when),
            "lastModifiedDateTime": graph_time(when),
            "receivedDateTime": graph_time(when),
            "sentDateTime": graph_time(when - timedelta(seconds=5)),
            "hasAttachments": False,
            "internetMessageId": f"<{message_id[6:22]}@emulator.example>",
            "subject": "",
            "bodyPreview": "",
            "importance": "normal",
            "parentFolderId": folder_id,
            "conversationId": self._next("conversation"),
            "isRead": False,
            "isDraft": False,
            "from": author,
            "sender": author,
            "toRecipients": [recipient(a) for a in to],
            "ccRecipients": [recipient(a) for a in cc],
            "bccRecipients": [recipient(a) for a in bcc],
            "replyTo": [],
            "body": {"contentType": "text", "content": ""},
            "internetMessageHeaders": [],
        }
        data |= fields
        seq = self._record(owner.address, folder_id, message_id)
        self.messages[message_id] = StoredMessage(data, owner.address, folder_id, seq)
        return message_id

    def update_message(self, message_id: str, fields: dict[str, Any]) -> None:
        message = self._live_message(message_id)
        message.data |= fields | {"lastModifiedDateTime": graph_time(datetime.now(UTC))}
        self._record(message.mailbox, message.folder_id, message_id)

    def move_message(self, message_id: str, folder: str) -> None:
        """Move keeping the (immutable) id: a removal from one folder and an arrival in another."""
        message = self._live_message(message_id)
        target = self._require_folder(self.mailboxes[message.mailbox.lower()], folder)
        self._record(message.mailbox, message.folder_id, message_id)
        message.folder_id = target
        message.data["parentFolderId"] = target
        message.arrived_seq = self._record(message.mailbox, target, message_id)

    def delete_message(self, message_id: str, reason: str) -> None:
        message = self._live_message(message_id)
        message.removed = reason
        self._record(message.mailbox, message.folder_id, message_id)

    def _live_message(self, message_id: str) -> StoredMessage:
        message = self.messages[message_id]
        if message.removed:
            raise KeyError(f"message {message_id} was deleted")
        return message

    def _require_folder(self, owner: Mailbox, folder: str) -> str:
        folder_id = self.folder_id(owner, folder)
        if folder_id is None:
            raise KeyError(f"no folder {folder!r} in {owner.address}")
        return folder_id

    # -- events ---------------------------------------------------------------------------

    def add_event(
        self,
        mailbox: str,
        *,
        start: datetime,
        end: datetime,
        recurrence: Recurrence | None,
        fields: dict[str, Any],
    ) -> str:
        owner = self.add_mailbox(mailbox)
        event_id = self._next("event")
        data: dict[str, Any] = {
            "id": event_id,
            "iCalUId": "040000008200E00074C5B7101A82E008" + event_id[6:30].encode().hex().upper(),
            "subject": "",
            "isCancelled": False,
            "type": "seriesMaster" if recurrence else "singleInstance",
            "seriesMasterId": None,
            "organizer": recipient((owner.name, owner.address)),
            "attendees": [],
        }
        data |= fields
        seq = self._record(owner.address, CALENDAR, event_id)
        self.events[event_id] = StoredEvent(data, owner.address, start, end, recurrence, seq)
        return event_id

    def update_event(
        self, event_id: str, *, start: datetime | None, end: datetime | None, fields: dict[str, Any]
    ) -> None:
        event = self._live_event(event_id)
        prior = copy.deepcopy(event)
        event.data |= fields
        event.start, event.end = start or event.start, end or event.end
        self._record(event.mailbox, CALENDAR, event_id, prior)

    def cancel_occurrence(self, event_id: str, day: date) -> None:
        event = self._live_event(event_id)
        prior = copy.deepcopy(event)
        event.cancelled.add(day)
        self._record(event.mailbox, CALENDAR, event_id, prior)

    def delete_event(self, event_id: str) -> None:
        event = self._live_event(event_id)
        prior = copy.deepcopy(event)
        event.removed = True
        self._record(event.mailbox, CALENDAR, event_id, prior)

    def _live_event(self, event_id: str) -> StoredEvent:
        event = self.events[event_id]
        if event.removed:
            raise KeyError(f"event {event_id} was deleted")
        return event

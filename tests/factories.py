"""Builders for normalized items, and a list-backed Source for engine tests.

``ListSource`` is a real implementation of the ``Source`` protocol over in-memory items (the
test's input), not a stand-in for any of our code: the engine under test is the real one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import count

from sync.items import (
    Address,
    Folder,
    FolderKind,
    ItemKind,
    MailItem,
    Markers,
    Page,
    Participant,
    Response,
    Role,
    Unreadable,
)

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
_ids = count(1)

INBOX = Folder("Inbox", FolderKind.INBOX)
SENT = Folder("Sent Items", FolderKind.SENT)
CALENDAR = Folder("Calendar", FolderKind.CALENDAR)


def addr(email: str, name: str = "") -> Address:
    return Address(email, name)


def email(
    sender: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    *,
    subject: str = "Hello",
    at: datetime = T0,
    message_id: str | None = "auto",
    markers: Markers | None = None,
    names: dict[str, str] | None = None,
    links: Sequence[tuple[str, str]] = (),
) -> MailItem:
    names = names or {}
    parts = [Participant(addr(sender, names.get(sender, "")), Role.FROM)]
    parts += [Participant(addr(a, names.get(a, "")), Role.TO) for a in to]
    parts += [Participant(addr(a, names.get(a, "")), Role.CC) for a in cc]
    n = next(_ids)
    return MailItem(
        source_id=f"item-{n}",
        kind=ItemKind.EMAIL,
        sent_at=at,
        sender=addr(sender, names.get(sender, "")),
        participants=tuple(parts),
        subject=subject,
        message_id=f"msg-{n}@test" if message_id == "auto" else message_id,
        markers=markers or Markers(),
        address_links=tuple(links),
    )


def meeting(
    organizer: str,
    attendees: dict[str, Response],
    *,
    at: datetime = T0,
    uid: str = "meeting-1",
    subject: str = "Meeting",
) -> MailItem:
    parts = [Participant(addr(organizer), Role.ORGANIZER, Response.ORGANIZER)]
    parts += [Participant(addr(a), Role.ATTENDEE, r) for a, r in attendees.items()]
    return MailItem(
        source_id=f"event-{next(_ids)}",
        kind=ItemKind.MEETING,
        sent_at=at,
        end_at=at + timedelta(minutes=30),
        sender=addr(organizer),
        participants=tuple(parts),
        subject=subject,
        ical_uid=uid,
    )


class ListSource:
    """Folders of given items, paged, with the item index as the cursor."""

    name = "test"

    def __init__(
        self, folders: Mapping[Folder, Sequence[MailItem | Unreadable]], page_size: int = 2
    ) -> None:
        self._folders = folders
        self.page_size = page_size

    def folders(self) -> Sequence[Folder]:
        return sorted(self._folders, key=lambda f: f.kind != FolderKind.SENT)

    def pages(self, folder: Folder, cursor: str | None) -> Iterator[Page]:
        items = self._folders[folder]
        start = json.loads(cursor)["index"] if cursor else 0
        for at in range(start, len(items), self.page_size):
            chunk = tuple(items[at : at + self.page_size])
            yield Page(chunk, json.dumps({"index": at + len(chunk)}), len(chunk))

    def total_size(self, folder: Folder) -> int:
        return len(self._folders[folder])

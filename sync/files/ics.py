"""iCalendar (``.ics``) files into meetings, streamed one event group at a time.

A calendar export can be large, so the file is never parsed whole: it is read line by line,
time zone definitions are kept (they are small), and each run of consecutive ``VEVENT`` blocks
sharing a UID (a series master and its overridden occurrences) is parsed on its own with
``icalendar``. Recurring series are expanded by ``recurring_ical_events`` into the occurrences
from the series start to ``horizon`` (at most ``MAX_OCCURRENCES`` each), so every occurrence is
one meeting, keyed by its UID and start so that two mailboxes' exports of one series agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import icalendar
import recurring_ical_events

from sync.items import (
    MAX_MESSAGE_ID,
    Address,
    ItemKind,
    MailItem,
    Markers,
    Participant,
    Response,
    Role,
    Unreadable,
)
from sync.normalize.addresses import normalize_email, normalize_name
from sync.normalize.text import identifier, storable

MAX_OCCURRENCES = 1000
MAX_EVENT_BYTES = 1 << 20  # an event group larger than this is skipped as "too-large"
HORIZON = timedelta(days=365)  # occurrences up to a year ahead, like calendar sync
RESOURCE_TYPES = frozenset({"ROOM", "RESOURCE"})  # RFC 5545 3.2.3 CUTYPE: not people
PARTSTAT = {
    "ACCEPTED": Response.ACCEPTED,
    "TENTATIVE": Response.TENTATIVE,
    "DECLINED": Response.DECLINED,
    "NEEDS-ACTION": Response.NONE,
}


@dataclass(frozen=True, slots=True)
class EventGroup:
    offset: int  # byte offset of the group's first BEGIN:VEVENT
    end: int  # byte offset after its last END:VEVENT: the cursor once stored
    text: bytes


def read_event_groups(path: Path, start: int = 0) -> Iterator[tuple[EventGroup, bytes]]:
    """Each group of consecutive VEVENTs with one UID, with the time zones seen so far."""
    timezones: list[bytes] = []
    group: list[bytes] = []
    group_uid: bytes | None = None
    group_at = group_end = 0
    for block, at, end in _blocks(path):
        if block.startswith(b"BEGIN:VTIMEZONE"):
            timezones.append(block)
            continue
        if end <= start:
            continue
        uid = _uid(block)
        if group and uid != group_uid:
            yield EventGroup(group_at, group_end, b"".join(group)), b"".join(timezones)
            group = []
        if not group:
            group_at, group_uid = at, uid
        group.append(block)
        group_end = end
    if group:
        yield EventGroup(group_at, group_end, b"".join(group)), b"".join(timezones)


def _blocks(path: Path) -> Iterator[tuple[bytes, int, int]]:
    """Top-level VEVENT and VTIMEZONE blocks with their byte ranges (unfolded lines kept)."""
    position = 0
    current: list[bytes] | None = None
    size = 0
    kind = b""
    with path.open("rb") as file:
        for line in file:
            stripped = line.rstrip(b"\r\n").upper()
            if current is None and stripped in (b"BEGIN:VEVENT", b"BEGIN:VTIMEZONE"):
                current, size, kind, at = [], 0, stripped[6:], position
            if current is not None:
                if size < MAX_EVENT_BYTES:
                    current.append(line)
                size += len(line)
                if stripped == b"END:" + kind:
                    yield b"".join(current), at, position + len(line)
                    current = None
            position += len(line)


def _uid(block: bytes) -> bytes | None:
    for line in block.splitlines():
        if line.upper().startswith(b"UID:"):
            return line[4:].strip()
    return None


def parse_group(
    group: EventGroup, timezones: bytes, horizon: datetime
) -> list[MailItem | Unreadable]:
    source_id = f"ics@{group.offset}"
    if len(group.text) >= MAX_EVENT_BYTES:
        return [Unreadable(source_id, "too-large")]
    text = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + timezones + group.text + b"END:VCALENDAR\r\n"
    try:
        calendar = icalendar.Calendar.from_ical(text)
        masters = calendar.walk("VEVENT")
        if not masters:
            return [Unreadable(source_id, "malformed", "no VEVENT")]
        first = _start(masters[0].get("DTSTART"))
        if first is None:
            return [Unreadable(source_id, "no-date")]
        events = recurring_ical_events.of(calendar).between(first - timedelta(days=1), horizon)
        items = [_meeting(event) for event in events[:MAX_OCCURRENCES]]
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
        return [Unreadable(source_id, "malformed", f"{type(error).__name__}: {error}"[:300])]
    return list(items) or [Unreadable(source_id, "no-date", "no occurrence before the horizon")]


def _meeting(event: Any) -> MailItem | Unreadable:
    start = _start(event.get("DTSTART"))
    uid = str(event.get("UID", "")).strip()
    if start is None:
        return Unreadable(f"ics:{uid}", "no-date")
    recurring = "RRULE" in event or "RECURRENCE-ID" in event or "RDATE" in event
    stamp = f"/{start.strftime('%Y%m%dT%H%M%SZ')}" if recurring else ""
    key = identifier(uid + stamp, MAX_MESSAGE_ID) or ""
    organizer = _address(event.get("ORGANIZER"))
    participants = [Participant(organizer, Role.ORGANIZER, Response.ORGANIZER)] if organizer else []
    attendees = event.get("ATTENDEE") or []
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        if str(getattr(attendee, "params", {}).get("CUTYPE", "")).upper() in RESOURCE_TYPES:
            continue  # a room or equipment, not a person (sync.normalize.resources)
        address = _address(attendee)
        if address is not None and (organizer is None or address.email != organizer.email):
            status = str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
            participants.append(
                Participant(address, Role.ATTENDEE, PARTSTAT.get(status, Response.NONE))
            )
    if not participants:
        return Unreadable(f"ics:{key}", "no-participants")
    cancelled = str(event.get("STATUS", "")).upper() == "CANCELLED"
    return MailItem(
        source_id=f"ics:{key}",
        kind=ItemKind.MEETING,
        sent_at=start,
        end_at=_start(event.get("DTEND")),
        sender=organizer,
        participants=tuple(participants),
        subject=" ".join(storable(str(event.get("SUMMARY", ""))).split())[:998],
        ical_uid=key or None,
        markers=Markers(cancelled=cancelled, sensitivity=_class(event)),
    )


def _address(value: Any) -> Address | None:
    if value is None:
        return None
    email = normalize_email(str(value))
    if email is None:
        return None
    return Address(email, normalize_name(str(value.params.get("CN", "")), email))


def _class(event: Any) -> str:
    value = str(event.get("CLASS", "")).lower()
    return value if value in ("private", "confidential") else ""


def _start(prop: Any) -> datetime | None:
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    return None

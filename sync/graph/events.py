"""A Graph ``event`` from ``calendarView/delta`` into a meeting ``MailItem``; never raises.

calendarView lists single instances, occurrences and exceptions of series inside the window,
never series masters; each occurrence has its own ``id`` and ``iCalUId`` (the key that makes
the organizer's and every attendee's copy one interaction firm-wide). Times come in UTC because
every request says ``Prefer: outlook.timezone="UTC"``. Rooms and equipment (attendee type
``resource``) are not people and are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sync.graph import wire
from sync.items import ItemKind, MailItem, Markers, Participant, Response, Role, Unreadable

UTC_PREFERENCE = 'outlook.timezone="UTC"'
RESPONSES = {
    "accepted": Response.ACCEPTED,
    "tentativelyaccepted": Response.TENTATIVE,
    "declined": Response.DECLINED,
    "organizer": Response.ORGANIZER,
    "none": Response.NONE,
    "notresponded": Response.NONE,
}
SENSITIVITIES = frozenset({"personal", "private", "confidential"})


def parse_event(data: Mapping[str, Any], owner: str) -> MailItem | Unreadable | None:
    """The meeting, an ``Unreadable``, or None for a series master (not a meeting itself)."""
    source_id = str(data.get("id") or "")
    try:
        return _meeting(data, source_id, owner)
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        return Unreadable(source_id, "malformed", f"{type(error).__name__}: {error}"[:300])


def _meeting(data: Mapping[str, Any], source_id: str, owner: str) -> MailItem | Unreadable | None:
    if str(data.get("type") or "").lower() == "seriesmaster":
        return None
    start, end = _time(data.get("start")), _time(data.get("end"))
    if start is None:
        return Unreadable(source_id, "no-date", str(data.get("start"))[:100])
    organizer = wire.recipient(data.get("organizer"))
    if organizer is None:
        return Unreadable(source_id, "no-sender", str(data.get("organizer"))[:200])
    participants = [Participant(organizer, Role.ORGANIZER, Response.ORGANIZER)]
    seen = {organizer.email}
    own = _response(data.get("responseStatus"))
    for attendee in data.get("attendees") or []:
        address = wire.recipient(attendee)
        if address is None or address.email in seen or _is_resource(attendee):
            continue
        seen.add(address.email)
        response = (
            own if address.email == owner and own is not None else _response(attendee.get("status"))
        )
        participants.append(Participant(address, Role.ATTENDEE, response or Response.NONE))
    sensitivity = str(data.get("sensitivity") or "").lower()
    markers = Markers(
        sensitivity=sensitivity if sensitivity in SENSITIVITIES else "",
        cancelled=data.get("isCancelled") is True,
    )
    return MailItem(
        source_id=source_id,
        kind=ItemKind.MEETING,
        sent_at=start,
        sender=organizer,
        participants=tuple(participants),
        subject=wire.text(data.get("subject")),
        ical_uid=wire.uid(data.get("iCalUId")),
        end_at=end,
        markers=markers,
    )


def _time(value: Any) -> datetime | None:
    if not isinstance(value, Mapping):
        return None
    zone = str(value.get("timeZone") or "UTC").strip().lower()
    if zone not in ("utc", "etc/utc", "coordinated universal time"):
        return None  # we asked for UTC; anything else is not a time we can place
    return wire.timestamp(value.get("dateTime"))


def _response(status: Any) -> Response | None:
    if not isinstance(status, Mapping):
        return None
    return RESPONSES.get(str(status.get("response") or "").lower())


def _is_resource(attendee: Any) -> bool:
    return isinstance(attendee, Mapping) and str(attendee.get("type") or "").lower() == "resource"

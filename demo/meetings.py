"""Meetings and the colleagues' ``calendar.ics`` files (RFC 5545, written with ``icalendar``).

Every colleague who organises or attends a meeting has it in their calendar under the same UID,
so the importer stores it once. One weekly series (``RRULE``) and one cancelled meeting are
always there. Most meetings a colleague organises are booked in one of the firm's rooms, an
attendee marked ``CUTYPE=ROOM`` that the importer leaves out (``sync.files.ics``).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar

from demo.mail import Ids, working_time
from demo.names import DOMAIN
from demo.people import Member, Party
from demo.population import ANCHOR, Population, Tie

PARTSTATS = (("ACCEPTED", 0.7), ("TENTATIVE", 0.1), ("DECLINED", 0.08), ("NEEDS-ACTION", 0.12))
INTERNAL_MEETINGS_AT_1 = 150
SERIES_WEEKS = 26
PRODID = "-//Harbour Law//Rapport demo//EN"
ROOMS = (
    Party("Meeting Room Thames", f"room.thames@{DOMAIN}"),
    Party("Meeting Room Severn", f"room.severn@{DOMAIN}"),
    Party("Boardroom 12", f"boardroom@{DOMAIN}"),
)


@dataclass(frozen=True)
class Meeting:
    uid: str
    summary: str
    start: datetime
    minutes: int
    organizer: Party
    attendees: tuple[tuple[Party, str], ...]  # (attendee, PARTSTAT)
    status: str = "CONFIRMED"
    rrule: str = ""  # e.g. "FREQ=WEEKLY;COUNT=26"

    def people(self) -> list[str]:
        return [self.organizer.email, *(a.email for a, _ in self.attendees)]

    def room(self) -> Party | None:
        """The room a colleague booked, from the UID (not the random stream, so the rest of
        the firm stays as it was): one of the rooms for three meetings in five."""
        if not self.organizer.email.endswith(f"@{DOMAIN}"):
            return None
        pick = zlib.crc32(self.uid.encode()) % 5
        return ROOMS[pick] if pick < len(ROOMS) else None


def _partstat(rng: random.Random) -> str:
    return rng.choices([s for s, _ in PARTSTATS], [w for _, w in PARTSTATS])[0]


def meeting(
    rng: random.Random,
    ids: Ids,
    organizer: Member,
    *,
    guests: Sequence[Member],
    at: datetime,
    summary: str,
) -> Meeting:
    start = working_time(rng, at, organizer.party.utc_offset).replace(second=0)
    start = start.replace(minute=start.minute // 15 * 15)
    return Meeting(
        uid=ids.uid(DOMAIN),
        summary=summary,
        start=start,
        minutes=rng.choice((30, 30, 60, 60, 90)),
        organizer=organizer.addressed,
        attendees=tuple((g.addressed, _partstat(rng)) for g in guests),
    )


def for_tie(rng: random.Random, ids: Ids, population: Population, tie: Tie) -> Iterator[Meeting]:
    span = (min(tie.end, ANCHOR) - tie.start).total_seconds()
    company = tie.contact.organisation or tie.contact.addressed.name
    for _ in range(tie.meetings):
        at = tie.start + timedelta(seconds=rng.uniform(0, span))
        team = [c for c in population.team_of(tie.colleague) if rng.random() < 0.25]
        if rng.random() < 0.75:
            yield meeting(
                rng,
                ids,
                tie.colleague,
                guests=[tie.contact, *team],
                at=at,
                summary=f"Call: {company}",
            )
        else:
            yield meeting(
                rng, ids, tie.contact, guests=[tie.colleague, *team], at=at, summary="Catch-up"
            )


def internal(
    rng: random.Random, ids: Ids, staff: Sequence[Member], scale: float
) -> Iterator[Meeting]:
    for _ in range(max(3, round(INTERNAL_MEETINGS_AT_1 * scale))):
        organizer = rng.choice(staff)
        guests = rng.sample([m for m in staff if m != organizer], min(3, len(staff) - 1))
        at = ANCHOR - timedelta(days=rng.uniform(0, 730))
        yield meeting(rng, ids, organizer, guests=guests, at=at, summary="Team meeting")


def showcase(rng: random.Random, ids: Ids, population: Population) -> list[Meeting]:
    """The weekly client call (a recurring series) and a cancelled site visit."""
    lead, client = population.colleagues[0], population.featured["client"]
    associate = population.colleagues[1]
    first = ANCHOR - timedelta(weeks=SERIES_WEEKS - 10)
    weekly = meeting(
        rng,
        ids,
        lead,
        guests=[client, associate],
        at=first,
        summary="Weekly matter call: Northwind",
    )
    accepted = tuple((a, "ACCEPTED") for a, _ in weekly.attendees)
    rrule = f"FREQ=WEEKLY;COUNT={SERIES_WEEKS}"
    at = ANCHOR - timedelta(days=40)
    visit = meeting(rng, ids, lead, guests=[client], at=at, summary="Site visit: Tilbury")
    return [
        replace(weekly, minutes=30, attendees=accepted, rrule=rrule),
        replace(visit, minutes=120, status="CANCELLED"),
    ]


def event(item: Meeting) -> icalendar.Event:
    vevent = icalendar.Event()
    vevent.add("uid", item.uid)
    start = item.start.astimezone(UTC)
    vevent.add("dtstamp", start - timedelta(days=7))
    vevent.add("dtstart", start)
    vevent.add("dtend", start + timedelta(minutes=item.minutes))
    vevent.add("summary", item.summary)
    vevent.add("status", item.status)
    vevent.add("organizer", _address(item.organizer, {}))
    for attendee, partstat in item.attendees:
        params = {"ROLE": "REQ-PARTICIPANT", "PARTSTAT": partstat}
        vevent.add("attendee", _address(attendee, params))
    room = item.room()
    if room is not None:
        params = {"CUTYPE": "ROOM", "ROLE": "NON-PARTICIPANT", "PARTSTAT": "ACCEPTED"}
        vevent.add("attendee", _address(room, params))
    if item.rrule:
        vevent.add("rrule", icalendar.vRecur.from_ical(item.rrule))
    return vevent


def _address(party: Party, params: dict[str, str]) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{party.email}")
    if party.name:
        address.params["CN"] = party.name
    for name, value in params.items():
        address.params[name] = value
    return address


def write_calendars(meetings: Sequence[Meeting], directories: dict[str, Path]) -> int:
    """``<dir>/calendar.ics`` for every colleague; returns the number of VEVENTs written."""
    by_owner: dict[str, list[Meeting]] = {owner: [] for owner in directories}
    for item in meetings:
        for email in dict.fromkeys(item.people()):
            if email in by_owner:
                by_owner[email].append(item)
    written = 0
    for owner, items in by_owner.items():
        calendar = icalendar.Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        for item in sorted(items, key=lambda m: (m.start, m.uid)):
            calendar.add_component(event(item))
            written += 1
        directories[owner].mkdir(parents=True, exist_ok=True)
        (directories[owner] / "calendar.ics").write_bytes(calendar.to_ical())
    return written

"""Rooms and equipment are not people.

A meeting booked in a room lists the room among its attendees. Microsoft Graph marks such an
attendee ``type: resource`` and iCalendar ``CUTYPE=ROOM`` or ``RESOURCE``, and the sources
leave those out (``sync.graph.events``, ``sync.files.ics``). A meeting request kept as a
message (the calendar folder of an Exchange export) carries no such mark: the room is one more
recipient, known by its display name (``Conf. Room ECN3125B`` under
``/O=ENRON/OU=NA/CN=RECIPIENTS/CN=TEB3125B``). Taken for a person, a room became a contact
whom everyone who met in it "knew", and an introduction path could run through it.

So an address of the firm's own (an X.500 name, or an address at one of the firm's domains)
whose display name reads as a room is a resource. Only the firm's own: the firm's directory
names its rooms, while an outside sender's display name is theirs to choose, and a client's
mail must not vanish because its sender called themselves "Boardroom".
"""

from __future__ import annotations

import re

from sync.items import Address, AddressKind
from sync.normalize.domains import FirmDomains

# "Conf. Room ECN3125B", "Conference Room 4B", "Meeting room - Thames", "Boardroom 12",
# "Training Room", "Room 4.12": a room word with a qualifier, or "Room" and a number first.
# Not "Chris Croom", "Tricia Roome" or "Ken Lay - Chairman of the Board".
ROOM_NAME = re.compile(
    r"\b(?:conf(?:erence)?\.?|meeting|board|training|huddle|seminar|interview|video|vc)"
    r"[\s-]*rooms?\b"
    r"|^\s*rooms?\s+[\w.-]*\d",
    re.IGNORECASE,
)


def is_room_name(name: str) -> bool:
    # The substring test first: asked for every named participant of every item imported.
    return "room" in name.lower() and ROOM_NAME.search(name) is not None


def is_resource(address: Address, firm: FirmDomains) -> bool:
    """A room of the firm's own, known by its display name."""
    if not address.name or not is_room_name(address.name):
        return False
    if address.kind == AddressKind.X500:
        return True
    return "@" in address.email and firm.is_internal(address.email.rsplit("@", 1)[1])

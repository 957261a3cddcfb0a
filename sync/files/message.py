"""One RFC 5322 message (bytes) into a ``MailItem``: headers only, plus a body prefix for bounces.

The parser never raises on bad input: what cannot become an item becomes an ``Unreadable`` with
a reason code, which the engine counts and records.

Messages in a calendar folder are meeting requests stored as mail (Exchange exports such as the
Enron ``calendar`` folders): they become meetings whose organizer is ``From`` and whose attendees
are ``To`` and ``Cc``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from sync.files.headers import parse_headers
from sync.files.markers import read_markers
from sync.files.thread_index import conversation_id
from sync.items import (
    MAX_MESSAGE_ID,
    Address,
    FolderKind,
    ItemKind,
    MailItem,
    Participant,
    Role,
    Unreadable,
)
from sync.normalize.addresses import decode_words, parse_positions
from sync.normalize.display import parse_display_header, reconcile
from sync.normalize.text import identifier, storable

MAX_SUBJECT = 998  # RFC 5322 line limit: a longer subject is a hostile one
CACHED_HEADERS = 32768  # distinct header values remembered (a few MB at most)
BODY_SCAN = 16384  # bytes of body searched for RFC 3464 recipients
MAX_REFERENCES = 20  # the last entries of a References header are the nearest ancestors
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_SPACE = re.compile(r"\s+")
# The common shape of a Date header ("Mon, 29 Oct 2001 16:34:23 -0800 (PST)"), read without
# email.utils; anything else goes through parsedate_to_datetime.
_RFC5322_DATE = re.compile(
    r"^\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+(?P<month>[A-Za-z]{3})\s+(\d{4})\s+(\d{1,2}):(\d{2})"
    r"(?::(\d{2}))?\s+([+-]\d{4})\b"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_CANCELLED = re.compile(r"^\s*(cancel+ed|canceled event):", re.IGNORECASE)

# (header, display header, role) in the order participants are listed.
_RECIPIENT_HEADERS = (("to", "x-to", Role.TO), ("cc", "x-cc", Role.CC), ("bcc", "x-bcc", Role.BCC))


def parse_message(raw: bytes, source_id: str, folder: FolderKind) -> MailItem | Unreadable:
    if raw.startswith(b"From "):  # mbox separator line
        raw = raw[raw.find(b"\n") + 1 :]
    end = _header_end(raw)
    head, body = (raw[:end], raw[end:]) if end >= 0 else (raw, b"")
    try:
        headers = parse_headers(head)
        return _item(headers, body[:BODY_SCAN], source_id, folder)
    except (ValueError, TypeError, IndexError, UnicodeError, LookupError) as error:
        return Unreadable(source_id, "malformed", f"{type(error).__name__}: {error}"[:300])


def _header_end(raw: bytes) -> int:
    """Where the body starts: after the first empty line (``\r?\n\r?\n``), or -1."""
    lf, crlf = raw.find(b"\n\n"), raw.find(b"\n\r\n")
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf + 2
    return crlf + 3 if crlf >= 0 else -1


def _item(
    headers: Mapping[str, str], body: bytes, source_id: str, folder: FolderKind
) -> MailItem | Unreadable:
    sent_at = _date(headers.get("date"))
    if sent_at is None:
        return Unreadable(source_id, "no-date", str(headers.get("date", ""))[:100])
    senders = _reconciled(headers, "from", "x-from")
    # A garbled From ("houston <.ward@enron.com>") falls back to Exchange's own name for the
    # sender (an X.500 DN), which the identity step can tie to an SMTP address later.
    sender = senders[0][0] if senders[0] else _display_sender(headers.get("x-from"))
    if sender is None:
        return Unreadable(source_id, "no-sender", str(headers.get("from", ""))[:200])
    links = list(senders[1])
    meeting = folder == FolderKind.CALENDAR
    participants = [Participant(sender, Role.ORGANIZER if meeting else Role.FROM)]
    for name, display, role in _RECIPIENT_HEADERS:
        # Exchange exports copy Cc into Bcc; X-bcc alone holds the real blind copies.
        display_only = role == Role.BCC and display in headers
        as_role = Role.ATTENDEE if meeting and role != Role.BCC else role
        parts, more_links = _participants(
            headers.get(name), headers.get(display), as_role, display_only
        )
        links.extend(more_links)
        if meeting:
            # Outlook lists a meeting's organizer among its attendees: one role per person.
            parts = tuple(p for p in parts if p.address.email != sender.email)
        participants.extend(parts)
    subject = _SPACE.sub(" ", storable(decode_words(headers.get("subject", "")))).strip()
    subject = subject[:MAX_SUBJECT]
    markers = read_markers(headers, subject, sender.email, body)
    if meeting and _CANCELLED.match(subject):
        markers = dataclasses.replace(markers, cancelled=True)
    return MailItem(
        source_id=source_id,
        kind=ItemKind.MEETING if meeting else ItemKind.EMAIL,
        sent_at=sent_at,
        sender=sender,
        # An email's roles come one per header, each already without repeats; a meeting's
        # To and Cc are both attendees.
        participants=_unique(participants) if meeting else tuple(participants),
        subject=subject,
        message_id=_first_id(headers.get("message-id")),
        conversation_id=conversation_id(headers),
        in_reply_to=_first_id(headers.get("in-reply-to")),
        references=_references(headers.get("references")),
        markers=markers,
        address_links=tuple(dict.fromkeys(links)),
    )


Recipients = tuple[tuple[Address, ...], tuple[tuple[str, str], ...]]


def _reconciled(headers: Mapping[str, str], name: str, display: str) -> Recipients:
    return _senders(headers.get(name), headers.get(display))


def _addresses(value: str | None, display: str | None) -> Recipients:
    positions = parse_positions(value)
    if display is None:
        return tuple(a for a in positions if a is not None), ()
    result = reconcile(positions, parse_display_header(display))
    return result.addresses, result.links


def _display_addresses(display: str | None) -> Recipients:
    entries = parse_display_header(display)
    return tuple(e.address for e in entries if e.address and e.address.kind == "smtp"), ()


# Pure functions of header text, cached: the same From, X-From and distribution lists recur
# across thousands of messages (and every copy of a message in other folders and mailboxes).
_senders = functools.lru_cache(maxsize=CACHED_HEADERS)(_addresses)


@functools.lru_cache(maxsize=CACHED_HEADERS)
def _participants(
    value: str | None, display: str | None, role: Role, display_only: bool
) -> tuple[tuple[Participant, ...], tuple[tuple[str, str], ...]]:
    """One recipient header's participants in ``role``, each once, and its X.500 links."""
    addresses, links = _display_addresses(display) if display_only else _addresses(value, display)
    return _unique([Participant(a, role) for a in addresses]), links


def _display_sender(display: str | None) -> Address | None:
    entries = parse_display_header(display)
    return entries[0].address if entries else None


def _unique(participants: list[Participant]) -> tuple[Participant, ...]:
    seen: set[tuple[str, Role]] = set()
    kept = []
    for p in participants:
        if (p.address.email, p.role) not in seen:
            seen.add((p.address.email, p.role))
            kept.append(p)
    return tuple(kept)


def _date(value: object) -> datetime | None:
    if value is None:
        return None
    fast = _RFC5322_DATE.match(str(value))
    if fast is not None and fast["month"].title() in _MONTHS:
        day, month, year, hour, minute, second, zone = fast.groups()
        offset = (int(zone[1:3]) * 60 + int(zone[3:5])) * (-1 if zone[0] == "-" else 1)
        try:
            local = datetime(
                int(year),
                _MONTHS[month.title()],
                int(day),
                int(hour),
                int(minute),
                int(second or 0),
                tzinfo=UTC,
            )
        except ValueError:
            return None
        return local - timedelta(minutes=offset)
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # RFC 5322 "-0000": time in UTC, zone unknown
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _first_id(value: str | None) -> str | None:
    if not value:
        return None
    found = _MESSAGE_ID.search(value)
    if found is not None:
        return identifier(found.group(1), MAX_MESSAGE_ID)
    words = value.split(maxsplit=1)
    return identifier(words[0], MAX_MESSAGE_ID) if words else None


def _references(value: str | None) -> tuple[str, ...]:
    """The Message-IDs of a References header, the last ``MAX_REFERENCES``."""
    found = _MESSAGE_ID.findall(value or "")[-MAX_REFERENCES:]
    return tuple(i for i in (identifier(r, MAX_MESSAGE_ID) for r in found) if i)

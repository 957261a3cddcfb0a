"""Normalized items: what every source (files, Graph, EWS) hands to the ingest engine.

Sources do the provider-specific parsing; the engine (``sync.engine``) only ever sees these
types. Everything here is plain data: no database, no I/O.

Invariants every source upholds:
- ``Address.email`` is normalized (see ``sync.normalize.addresses.normalize_email``): lower
  case, IDN domains in ASCII (punycode) form; X.500 distinguished names are upper case and
  carry ``kind == "x500"``.
- ``MailItem.sent_at`` is an aware UTC datetime.
- ``MailItem.participants`` lists each (address, role) once; the sender appears with role
  ``from`` (email) or ``organizer`` (meeting).
- Every string is storable (``sync.normalize.text.storable``: no NUL or other C0 control, no
  surrogate), whatever the mail said; identifiers (Message-IDs, ``in_reply_to``,
  ``references``, ``ical_uid``, ``conversation_id``) come from ``sync.normalize.text.identifier``
  and fit ``MAX_MESSAGE_ID`` / ``MAX_CONVERSATION_ID``. ``Unreadable`` cleans its own fields.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from sync.normalize.text import storable

MAX_CONVERSATION_ID = 255  # interactions.conversation_id
MAX_MESSAGE_ID = 990  # Message-IDs, In-Reply-To, References entries and iCalUIDs (RFC 5322: 998)


class AddressKind(enum.StrEnum):
    SMTP = "smtp"
    X500 = "x500"


class Role(enum.StrEnum):
    FROM = "from"
    TO = "to"
    CC = "cc"
    BCC = "bcc"
    ORGANIZER = "organizer"
    ATTENDEE = "attendee"


class Response(enum.StrEnum):
    """A meeting attendee's answer (iCalendar PARTSTAT / Graph responseStatus)."""

    NONE = "none"
    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"
    ORGANIZER = "organizer"


class ItemKind(enum.StrEnum):
    EMAIL = "email"
    MEETING = "meeting"


class FolderKind(enum.StrEnum):
    INBOX = "inbox"
    SENT = "sent"
    CALENDAR = "calendar"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Address:
    email: str
    name: str = ""
    kind: AddressKind = AddressKind.SMTP


@dataclass(frozen=True, slots=True)
class Participant:
    address: Address
    role: Role
    response: Response | None = None


@dataclass(frozen=True, slots=True)
class Markers:
    """Header facts the logging rules need; sources fill what their provider tells."""

    bulk: bool = False  # List-Id, List-Unsubscribe, Precedence: bulk|list|junk
    auto_reply: bool = False  # Auto-Submitted != no, X-Autoreply, out-of-office subjects
    bounce: bool = False  # delivery status notification / Undeliverable
    sensitivity: str = ""  # "", "personal", "private", "confidential" (lower case)
    cancelled: bool = False  # meeting cancelled
    # Addresses a bounce reports as failed (RFC 3464 Final-Recipient, X-Failed-Recipients).
    failed_recipients: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MailItem:
    """One email message or one meeting, as a source saw it in one folder."""

    source_id: str  # stable id inside the source (file offset, Graph id, EWS item id)
    kind: ItemKind
    sent_at: datetime
    sender: Address | None
    participants: tuple[Participant, ...]
    subject: str = ""
    message_id: str | None = None  # Internet Message-ID without angle brackets
    ical_uid: str | None = None
    conversation_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    end_at: datetime | None = None  # meetings
    markers: Markers = field(default_factory=Markers)
    # (X.500 DN, SMTP address) pairs the data shows to be the same mailbox.
    address_links: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Unreadable:
    """An item a source could not turn into a ``MailItem``: counted, recorded, skipped."""

    source_id: str
    reason: str  # short code: "malformed", "no-date", "no-sender", "too-large", ...
    detail: str = ""

    def __post_init__(self) -> None:
        # The detail quotes what could not be read (a hostile From header, say): it must not
        # fail the page that records it. Unreadable items are rare; the check is cheap.
        object.__setattr__(self, "source_id", storable(self.source_id))
        object.__setattr__(self, "detail", storable(self.detail))


@dataclass(frozen=True, slots=True)
class Folder:
    """One unit with its own cursor: a mail folder, a calendar, one file of an export."""

    key: str  # stable key of the folder inside the mailbox ("Sent Items", "inbox.mbox")
    kind: FolderKind


@dataclass(frozen=True, slots=True)
class Page:
    """Items plus the cursor that is valid once they are stored."""

    items: tuple[MailItem | Unreadable, ...]
    cursor: str
    # Bytes or items the source consumed for this page, for progress bars.
    progress: int = 0
    # Source ids this folder no longer holds (Graph's @removed): their sightings are removed
    # before ``items`` are written (``sync.removals``).
    removed: tuple[str, ...] = ()

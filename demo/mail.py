"""Mail as plain data (``Mail``), built into stdlib ``EmailMessage`` objects, and the clock and
identifiers every message needs.

Message-IDs come from the seeded generator rather than ``email.utils.make_msgid``, which mixes in
the time, the process id and the host name: the demo must be byte-identical run after run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.contentmanager import raw_data_manager
from email.message import EmailMessage
from email.policy import compat32
from email.utils import format_datetime

from demo.people import Party

MAX_REFERENCES = 10  # like mail clients, keep the thread's root and the latest few
WORKDAY = (8, 19)  # local hours in which people write mail


@dataclass(frozen=True)
class Mail:
    sent_at: datetime
    sender: Party
    to: tuple[Party, ...]
    subject: str
    message_id: str
    body: str
    cc: tuple[Party, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = field(default=())

    @property
    def recipients(self) -> tuple[Party, ...]:
        return self.to + self.cc


class Ids:
    """Deterministic Message-IDs and iCalendar UIDs."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.count = 0

    def message_id(self, domain: str) -> str:
        self.count += 1
        return f"<{self.rng.getrandbits(48):012x}.{self.count}@{domain}>"

    def uid(self, domain: str) -> str:
        self.count += 1
        return f"{self.rng.getrandbits(64):016x}-{self.count}@{domain}"


def domain_of(party: Party) -> str:
    return party.email.rsplit("@", 1)[1]


def working_time(rng: random.Random, at: datetime, utc_offset: int) -> datetime:
    """``at`` moved into the sender's working hours on a weekday (at or after ``at``)."""
    zone = timezone(timedelta(hours=utc_offset))
    local = at.astimezone(zone)
    if local.hour >= WORKDAY[1]:
        local = (local + timedelta(days=1)).replace(hour=WORKDAY[0])
    if local.hour < WORKDAY[0]:
        local = local.replace(hour=WORKDAY[0], minute=rng.randrange(60))
    while local.weekday() >= 5 and rng.random() < 0.9:  # a few people write at weekends
        local += timedelta(days=1)
    return local.replace(second=rng.randrange(60), microsecond=0)


def reply_subject(subject: str) -> str:
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def build(mail: Mail) -> EmailMessage:
    """The message as a mail client would write it; non-ASCII names RFC 2047 encoded by
    ``formataddr``. The compat32 policy takes header strings as they are: the default policy
    parses and refolds every address header, which made generation ten times slower."""
    message = EmailMessage(policy=compat32)
    message["From"] = mail.sender.header()
    message["To"] = ", ".join(p.header() for p in mail.to)
    if mail.cc:
        message["Cc"] = ", ".join(p.header() for p in mail.cc)
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.sent_at)
    message["Message-ID"] = mail.message_id
    if mail.in_reply_to:
        message["In-Reply-To"] = mail.in_reply_to
        message["References"] = " ".join(mail.references)
    for name, value in mail.headers:
        message[name] = value
    message.set_content(mail.body, content_manager=raw_data_manager)
    return message


def references_after(previous: Mail) -> tuple[str, ...]:
    chain = (*previous.references, previous.message_id)
    return chain if len(chain) <= MAX_REFERENCES else (chain[0], *chain[-MAX_REFERENCES + 1 :])

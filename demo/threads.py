"""Email threads between the firm and its contacts, and among colleagues.

A thread opens on one side and replies go back and forth (reply-all: ``To`` is whoever wrote
last, ``Cc`` everyone else), with In-Reply-To, References and "Re:" subjects as clients write
them. Some inbound mail is never answered, which the follow-up alerts look for.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import NamedTuple

from demo import names
from demo.mail import Ids, Mail, domain_of, references_after, reply_subject, working_time
from demo.people import Member
from demo.population import ANCHOR, Population, Tie

REPLY_CHANCE = {"strong": 0.75, "medium": 0.6, "weak": 0.45}
INTERNAL_THREADS_AT_1 = 900
MEAN_REPLY_HOURS = 7.0
OPENINGS = [
    "Thanks for your note.",
    "Following our call,",
    "Please find my comments below.",
    "As discussed,",
    "Quick question on this one.",
    "Apologies for the delay in coming back to you.",
]
LINES = [
    "Could you confirm the position on the warranties by Friday?",
    "I have marked up the draft and attached a clean copy.",
    "The board meets on Thursday, so a view before then would help.",
    "We are comfortable with the proposed timetable.",
    "Let me check with the team and revert.",
    "Happy to discuss by phone if easier.",
    "The counterparty has come back on the indemnity cap.",
    "Please send the signed version when you have it.",
]


class Draft(NamedTuple):
    """Who writes to whom, and when (already moved into the writer's working hours)."""

    writer: Member
    to: list[Member]
    cc: list[Member]
    at: datetime


def subject_for(rng: random.Random, templates: Sequence[str]) -> str:
    template = rng.choice(templates)
    return template.format(code=rng.choice(names.CODES), city=rng.choice(names.CITIES))


def body_for(rng: random.Random, sender: Member, reader: Member) -> str:
    greeting = (reader.addressed.name or reader.email).split()[0].rstrip(",")
    text = f"{rng.choice(OPENINGS)} {rng.choice(LINES)}"
    return f"Dear {greeting},\n\n{text}\n\nBest regards,\n{sender.signature()}\n"


class Threads:
    """Writes threads as ``Mail``; every message also goes to ``self.mails``."""

    def __init__(self, rng: random.Random, ids: Ids, population: Population) -> None:
        self.rng, self.ids, self.population = rng, ids, population
        self.members = {m.email: m for m in population.colleagues + population.contacts}
        self.contacts_by_domain: dict[str, list[Member]] = {}
        for contact in population.contacts:
            self.contacts_by_domain.setdefault(domain_of(contact.party), []).append(contact)

    def for_tie(self, tie: Tie) -> Iterator[Mail]:
        span = (tie.end - tie.start).total_seconds()
        for _ in range(tie.threads):
            at = tie.start + timedelta(seconds=self.rng.uniform(0, span))
            inside = self._side(tie.colleague, self.population.team_of(tie.colleague), 0.3)
            company = self.contacts_by_domain.get(domain_of(tie.contact.party), [])
            outside = self._side(tie.contact, company, 0.2)
            subject = subject_for(self.rng, names.MATTERS)
            inbound = self.rng.random() < 0.5
            sides = (outside, inside) if inbound else (inside, outside)
            yield from self.thread(sides, subject, at, REPLY_CHANCE[tie.tier])

    def internal(self, scale: float) -> Iterator[Mail]:
        staff = self.population.colleagues
        for _ in range(max(10, round(INTERNAL_THREADS_AT_1 * scale))):
            writer = self.rng.choice(staff)
            team = self.population.team_of(writer)
            others = team if team and self.rng.random() < 0.7 else staff
            reader = self.rng.choice([c for c in others if c != writer])
            at = ANCHOR - timedelta(days=self.rng.uniform(0, 730))
            subject = subject_for(self.rng, names.INTERNAL_SUBJECTS)
            yield from self.thread(([writer], [reader]), subject, at, 0.6)

    def _side(self, lead: Member, pool: Sequence[Member], chance: float) -> list[Member]:
        side = [lead]
        others = [m for m in pool if m != lead]
        if others and self.rng.random() < chance:
            side.append(self.rng.choice(others))
        return side

    def thread(
        self, sides: tuple[list[Member], list[Member]], subject: str, at: datetime, chance: float
    ) -> Iterator[Mail]:
        first = self._write(sides[0][0], sides[1][:1], [*sides[0][1:], *sides[1][1:]], at)
        mail = self._mail(first, subject)
        yield mail
        turn = 1
        while self.rng.random() < chance:
            chance *= 0.8
            writer = sides[turn][0] if self.rng.random() < 0.85 else self.rng.choice(sides[turn])
            delay = timedelta(hours=self.rng.expovariate(1 / MEAN_REPLY_HOURS) + 0.1)
            everyone = [*sides[0], *sides[1]]
            last = self.members[mail.sender.email]
            cc = [m for m in everyone if m not in (writer, last)]
            draft = self._write(writer, [last], cc, mail.sent_at + delay)
            if draft.at > ANCHOR:
                return
            mail = self._reply(draft, mail)
            yield mail
            turn = 1 - turn

    def _write(self, writer: Member, to: list[Member], cc: list[Member], at: datetime) -> Draft:
        return Draft(writer, to, cc, working_time(self.rng, at, writer.party.utc_offset))

    def _mail(self, draft: Draft, subject: str) -> Mail:
        return Mail(
            sent_at=draft.at,
            sender=draft.writer.party,
            to=tuple(m.addressed for m in draft.to),
            cc=tuple(m.addressed for m in draft.cc),
            subject=subject,
            message_id=self.ids.message_id(domain_of(draft.writer.party)),
            body=body_for(self.rng, draft.writer, draft.to[0]),
        )

    def _reply(self, draft: Draft, to: Mail) -> Mail:
        mail = self._mail(draft, reply_subject(to.subject))
        return replace(mail, in_reply_to=to.message_id, references=references_after(to))

"""Generate Harbour Law, the synthetic demo firm, as mail files the importer reads.

``generate(out_dir)`` writes ``out_dir/<local part>/inbox.mbox``, ``sent.mbox`` and
``calendar.ics`` for every colleague. The output depends only on ``scale`` and ``seed``: one
``random.Random(seed)`` draws everything and all dates count back from ``population.ANCHOR``, so
two runs write byte-identical files.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from demo import meetings, noise
from demo.mail import Ids, Mail
from demo.mailboxes import Outbox
from demo.names import DOMAIN
from demo.people import Party
from demo.population import ANCHOR, Population, build
from demo.threads import Threads

HOSTILE_SUBJECT = "Invoice <script>alert(1)</script>"
PRIVATE_THREADS = 3
# Zoë Müller writes from home too: one person under two addresses, joined by the duplicate
# merge after the import (docs/data-quality.md).
HOME_ADDRESS = "zoe.mueller@gmx.de"
HOME_SUBJECT = "Dinner in Cologne"


@dataclass(frozen=True)
class DemoFirm:
    domain: str
    colleagues: list[tuple[str, str, str]]  # (name, email, title)
    mailbox_dirs: dict[str, Path]  # colleague email -> folder with the three files
    sample_external_email: str  # a strong client contact
    message_count: int  # messages in all mbox files, every copy counted
    event_count: int = 0  # VEVENTs in all calendar files, every copy counted


def generate(out_dir: Path, *, scale: float = 1.0, seed: int = 7) -> DemoFirm:
    """Write the demo firm's mailboxes under ``out_dir``; ``scale`` 1.0 is about 30 colleagues,
    1,500 contacts at 200 companies and 20,000 messages."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, not {scale}")
    rng = random.Random(seed)
    ids = Ids(rng)
    population = build(rng, scale)
    directories = {m.email: Path(out_dir) / m.email.split("@")[0] for m in population.colleagues}
    outbox = Outbox(list(directories))
    _post_mail(rng, ids, population, outbox, scale)
    _post_all(outbox, _mail_from_home(population, seed))
    outbox.write(directories)
    events = meetings.write_calendars(_meetings(rng, ids, population, scale), directories)
    return DemoFirm(
        domain=DOMAIN,
        colleagues=[(m.party.name, m.email, m.title) for m in population.colleagues],
        mailbox_dirs=directories,
        sample_external_email=population.featured["client"].email,
        message_count=outbox.copies,
        event_count=events,
    )


def _post_mail(
    rng: random.Random, ids: Ids, population: Population, outbox: Outbox, scale: float
) -> None:
    threads = Threads(rng, ids, population)
    outbound: list[Mail] = []
    for tie in population.ties:
        mails = list(threads.for_tie(tie))
        outbound.extend(m for m in mails if m.sender.email in outbox.colleagues)
        _post_all(outbox, mails)
    _post_all(outbox, _private_mail(threads, population))
    hostile = population.featured["hostile"]
    sides = ([hostile], [population.colleagues[1]])
    at = ANCHOR.replace(month=6)
    _post_all(outbox, threads.thread(sides, HOSTILE_SUBJECT, at, 1.0))
    _post_all(outbox, threads.internal(scale))
    _post_all(outbox, noise.newsletters(rng, ids, population.colleagues, scale))
    _post_all(outbox, noise.notices(rng, ids, population.colleagues, scale))
    _post_machine_replies(rng, ids, population, outbox, outbound)


def _mail_from_home(population: Population, seed: int) -> Iterator[Mail]:
    """A thread between Zoë Müller's private address and a colleague who knows her at work.
    Drawn from a random of its own, so everything else is drawn as before."""
    rng = random.Random(f"{seed}-home")
    work = population.featured["german"]
    home = Party(work.party.name, HOME_ADDRESS, work.party.utc_offset)
    member = replace(work, party=home, addressed=home)
    colleague = next(
        (t.colleague for t in population.ties if t.contact == work), population.colleagues[0]
    )
    threads = Threads(rng, Ids(rng), population)
    threads.members[member.email] = member
    at = ANCHOR - timedelta(days=20)
    return threads.thread(([member], [colleague]), HOME_SUBJECT, at, 0.9)


def _private_mail(threads: Threads, population: Population) -> Iterator[Mail]:
    """A partner's personal exchanges with a friend, marked private: never logged."""
    friend, lead = population.featured["friend"], population.colleagues[0]
    for number in range(PRIVATE_THREADS):
        at = ANCHOR - timedelta(days=30 + 120 * number)
        sides = ([friend], [lead]) if number % 2 == 0 else ([lead], [friend])
        yield from noise.private(list(threads.thread(sides, "Dinner on Saturday?", at, 0.8)))


def _post_all(outbox: Outbox, mails: Iterable[Mail]) -> None:
    for mail in mails:
        outbox.post_mail(mail)


def _post_machine_replies(
    rng: random.Random, ids: Ids, population: Population, outbox: Outbox, outbound: list[Mail]
) -> None:
    """Bounces and out-of-office replies to a few outbound messages (at least one of each)."""
    contacts = {c.email: c for c in population.contacts}
    protected = population.featured["client"].email
    candidates = [m for m in outbound if m.to[0].email in contacts and m.to[0].email != protected]
    bounce_share, reply_share = noise.BOUNCE_SHARE, noise.BOUNCE_SHARE + noise.AUTO_REPLY_SHARE
    for index, mail in enumerate(candidates):
        roll = 0.0 if index == 0 else (bounce_share if index == 1 else rng.random())
        recipient = contacts[mail.to[0].email]
        if roll < bounce_share:
            posted = noise.bounce(ids, mail, recipient.email)
        elif roll < reply_share:
            posted = noise.auto_reply(ids, mail, recipient, left=rng.random() < 0.2)
        else:
            continue
        outbox.post(posted.message, posted.sent_at, posted.sender, posted.recipients)


def _meetings(
    rng: random.Random, ids: Ids, population: Population, scale: float
) -> list[meetings.Meeting]:
    items = meetings.showcase(rng, ids, population)
    for tie in population.ties:
        items.extend(meetings.for_tie(rng, ids, population, tie))
    items.extend(meetings.internal(rng, ids, population.colleagues, scale))
    return items

"""Mailboxes shaped like real ones, for sync tests and ``bench/graph_sync.py``.

A firm's mail: 3-8 recipients per message, display names, subjects that repeat in threads
(one conversation id per thread), a share of mail from or to external domains, a share sent by
the owner (Sent Items), the rest received (Inbox), spread over a window of time, newest last.
Deterministic for a given seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tests.emulators.graph import GraphEmulator

FIRST = ["Anna", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace", "Hiroshi", "Ines", "Jonas"]
LAST = ["Nguyễn", "Okafor", "Schmidt", "Tanaka", "Rossi", "Khan", "Dubois", "Silva", "Lee", "Novak"]
TOPICS = ["Share purchase", "Lease renewal", "Board minutes", "Disclosure", "NDA", "Closing"]


@dataclass(frozen=True)
class Shape:
    """What a seeded mailbox looks like."""

    messages: int
    firm_domain: str = "harbourlaw.example"
    external_share: float = 0.10  # messages with a correspondent outside the firm
    sent_share: float = 0.30  # messages the owner sent (Sent Items)
    colleagues: int = 300
    contacts: int = 3_000  # external people, across `companies` domains
    companies: int = 400
    thread_length: int = 4  # messages per conversation, on average
    span: timedelta = timedelta(days=300)  # the newest message is `end`, the oldest end - span
    end: datetime | None = None


def _person(rng: random.Random, local: str, domain: str) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)} <{local}@{domain}>"


def seed_mailbox(graph: GraphEmulator, owner: str, shape: Shape, seed: int = 7) -> list[str]:
    """Add ``shape.messages`` messages to ``owner``'s Inbox and Sent Items; returns their ids,
    oldest first."""
    rng = random.Random(seed)
    end = shape.end or datetime.now(UTC).replace(microsecond=0)
    colleagues = [_person(rng, f"colleague{i}", shape.firm_domain) for i in range(shape.colleagues)]
    contacts = [
        _person(rng, f"contact{i}", f"client{i % shape.companies}.example")
        for i in range(shape.contacts)
    ]
    graph.add_mailbox(owner)
    step = shape.span / max(shape.messages, 1)
    ids: list[str] = []
    thread = ""
    subject = ""
    for n in range(shape.messages):
        if n % shape.thread_length == 0:
            thread = f"AAQkAD{seed:04d}{n:09d}="
            subject = f"{rng.choice(TOPICS)} {rng.randint(1, 9999)}"
        external = rng.random() < shape.external_share
        outbound = rng.random() < shape.sent_share
        correspondent = rng.choice(contacts if external else colleagues)
        others = rng.sample(colleagues, rng.randint(2, 7))
        received = end - shape.span + step * (n + 1)
        if outbound:
            folder, sender, to = "sentitems", None, [correspondent, *others[:1]]
        else:
            folder, sender, to = "inbox", correspondent, [owner, *others[:1]]
        ids.append(
            graph.add_message(
                owner,
                folder,
                subject=subject if n % shape.thread_length == 0 else f"RE: {subject}",
                sender=sender,
                to=to,
                cc=others[1:],
                received=received,
                conversationId=thread,
            )
        )
    return ids

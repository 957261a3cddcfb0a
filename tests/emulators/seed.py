"""Mailboxes shaped like real ones, for sync tests and ``bench/graph_sync.py``.

A firm's mail: 3-8 recipients per message, display names, subjects that repeat in threads
(one conversation id per thread), a share of mail from or to external domains, a share sent by
the owner (Sent Items), the rest received (Inbox), spread over a window of time, newest last.
Who writes and who is copied is heavy-tailed, as in real mailboxes (a few colleagues and
clients account for most of the mail; relationship-intel-and-data.md): correspondents are
drawn with Zipf weights ``1 / rank**ZIPF``. Deterministic for a given seed.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tests.emulators.graph import GraphEmulator

FIRST = ["Anna", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace", "Hiroshi", "Ines", "Jonas"]
LAST = ["Nguyễn", "Okafor", "Schmidt", "Tanaka", "Rossi", "Khan", "Dubois", "Silva", "Lee", "Novak"]
TOPICS = ["Share purchase", "Lease renewal", "Board minutes", "Disclosure", "NDA", "Closing"]
ZIPF = 1.1  # exponent of the correspondents' rank-frequency law


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


def _zipf(count: int) -> list[float]:
    """Cumulative Zipf weights over ``count`` ranks, for ``random.choices(cum_weights=...)``."""
    weights = list(itertools.accumulate(1 / (rank + 1) ** ZIPF for rank in range(count)))
    return weights


def _draw(rng: random.Random, people: list[str], weights: list[float], k: int) -> list[str]:
    """``k`` different people, the frequent ones more often."""
    chosen: dict[str, None] = {}
    while len(chosen) < k:
        chosen.update(dict.fromkeys(rng.choices(people, cum_weights=weights, k=k)))
    return list(chosen)[:k]


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
    colleague_weights, contact_weights = _zipf(len(colleagues)), _zipf(len(contacts))
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
        if external:
            (correspondent,) = _draw(rng, contacts, contact_weights, 1)
        else:
            (correspondent,) = _draw(rng, colleagues, colleague_weights, 1)
        others = [c for c in _draw(rng, colleagues, colleague_weights, 8) if c != correspondent][
            : rng.randint(2, 7)
        ]
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

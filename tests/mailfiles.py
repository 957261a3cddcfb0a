"""Deterministic mail files for tests that need real files on disk (kill and resume, CLI)."""

from __future__ import annotations

import mailbox
import random
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

OWNER = "alice@harbourlaw.example"
COLLEAGUES = [f"colleague{i}@harbourlaw.example" for i in range(8)]
CLIENTS = [f"contact{i}@client{i % 40}.co.uk" for i in range(300)]
START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def write_mailbox(root: Path, messages: int, seed: int = 1, owner: str = OWNER) -> Path:
    """``root/inbox.mbox`` and ``root/sent.mbox`` of ``owner`` with ``messages`` messages in
    all; a tenth of the inbound mail is also copied into ``root/archive.mbox`` (a second
    sighting)."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    boxes = {name: mailbox.mbox(root / f"{name}.mbox") for name in ("inbox", "sent", "archive")}
    for n in range(messages):
        outbound = rng.random() < 0.4
        other = rng.choice(CLIENTS if rng.random() < 0.7 else COLLEAGUES)
        copied = rng.sample(COLLEAGUES + CLIENTS, rng.randint(0, 3))
        msg = EmailMessage()
        msg["From"] = owner if outbound else other
        msg["To"] = other if outbound else owner
        if copied:
            msg["Cc"] = ", ".join(copied)
        msg["Subject"] = f"Matter {rng.randint(1, 500)}"
        msg["Date"] = format_datetime(START + timedelta(minutes=37 * n))
        msg["Message-ID"] = f"<m{seed}.{n}@test>"
        msg.set_content("body")
        boxes["sent" if outbound else "inbox"].add(msg)
        if not outbound and n % 10 == 0:
            boxes["archive"].add(msg)
    for box in boxes.values():
        box.close()
    return root

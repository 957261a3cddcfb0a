"""Delivering messages to the colleagues' mailboxes and writing them as mbox files.

A message is serialized once and the same bytes go to the sender's ``sent.mbox`` and to the
``inbox.mbox`` of every colleague among its recipients, as Exchange and Gmail exports hold them:
one Message-ID seen by several mailboxes, which the importer stores once with one sighting each.
"""

from __future__ import annotations

import mailbox
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from demo.mail import Mail, build

FOLDERS = ("inbox", "sent")


class Outbox:
    def __init__(self, colleagues: Sequence[str]) -> None:
        self.colleagues = frozenset(colleagues)
        self.folders: dict[tuple[str, str], list[tuple[datetime, int, bytes]]] = {}
        self.copies = 0

    def post_mail(self, mail: Mail) -> None:
        self.post(build(mail), mail.sent_at, mail.sender.email, [p.email for p in mail.recipients])

    def post(
        self, message: EmailMessage, sent_at: datetime, sender: str, recipients: Iterable[str]
    ) -> None:
        """Deliver ``message``: a copy in the sender's Sent folder if the sender is a colleague,
        and in the Inbox of every colleague it was addressed to."""
        stamp = time.asctime(sent_at.astimezone(UTC).timetuple())
        data = f"From {sender} {stamp}\n".encode("ascii") + message.as_bytes()
        if sender in self.colleagues:
            self._add(sender, "sent", sent_at, data)
        for recipient in dict.fromkeys(recipients):
            if recipient in self.colleagues and recipient != sender:
                self._add(recipient, "inbox", sent_at, data)

    def _add(self, owner: str, folder: str, sent_at: datetime, data: bytes) -> None:
        self.copies += 1
        self.folders.setdefault((owner, folder), []).append((sent_at, self.copies, data))

    def write(self, directories: dict[str, Path]) -> None:
        """``<dir>/inbox.mbox`` and ``<dir>/sent.mbox`` per colleague, oldest message first;
        files from an earlier run are replaced."""
        for owner, directory in directories.items():
            directory.mkdir(parents=True, exist_ok=True)
            for folder in FOLDERS:
                path = directory / f"{folder}.mbox"
                path.unlink(missing_ok=True)
                box = mailbox.mbox(path)
                for _, _, data in sorted(self.folders.get((owner, folder), [])):
                    box.add(data)
                box.close()

"""Importing mail files into mailboxes: what ``python app.py import`` and the demo run."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from config import firm_domains
from storage.addressbook import AddressBook
from storage.db import Database
from storage.mailboxes import ensure_mailbox
from storage.models import Provider
from sync.engine import ProgressCallback, ingest
from sync.errors import MailboxBusy
from sync.files.source import FileSource
from sync.items import AddressKind, Folder, FolderKind, MailItem, Page
from sync.normalize.addresses import normalize_email
from sync.normalize.domains import FirmDomains
from sync.stats import RunStats

OWNER_SAMPLE = 100  # Sent items read to infer a mailbox's owner


@dataclass
class ImportResult:
    mailbox: str
    run_id: int
    stats: RunStats
    seconds: float

    def summary(self) -> str:
        s = self.stats
        rate = s.read / self.seconds if self.seconds else 0.0
        skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(s.skipped.items())) or "none"
        return (
            f"{self.mailbox}: read {s.read} in {self.seconds:.1f} s ({rate:,.0f}/s); "
            f"new client interactions {s.stored}, internal {s.internal}, "
            f"already stored {s.duplicate}; skipped {sum(s.skipped.values())} ({skipped}); "
            f"people merged {s.merged_people}, addresses marked bounced {s.bounced_addresses}"
        )

    @staticmethod
    def total(results: Sequence[ImportResult]) -> ImportResult:
        stats = RunStats()
        for result in results:
            stats.add(result.stats)
        return ImportResult(
            f"all {len(results)} mailboxes", 0, stats, sum(r.seconds for r in results)
        )


def infer_owner(source: FileSource) -> str | None:
    """The most common sender of the Sent folders: the mailbox's owner (Enron README)."""
    senders: Counter[str] = Counter()
    for folder in source.folders():
        if folder.kind != FolderKind.SENT:
            continue
        items = source.sample(folder, OWNER_SAMPLE - senders.total())
        senders.update(
            i.sender.email
            for i in items
            if isinstance(i, MailItem) and i.sender and i.sender.kind == AddressKind.SMTP
        )
        if senders.total() >= OWNER_SAMPLE:
            break
    return senders.most_common(1)[0][0] if senders else None


def import_paths(
    db: Database,
    config: dict[str, Any],
    groups: Sequence[Sequence[Path]],
    *,
    mailbox: str | None = None,
    rescan: bool = False,
    quiet: bool = True,
    on_busy: Callable[[str, MailboxBusy], None] | None = None,
) -> list[ImportResult]:
    """Import each group of paths as one mailbox; raises ValueError on an unusable request.
    A mailbox another pass holds (`MailboxBusy`) raises, or, given ``on_busy``, is reported
    to it with its owner's address and skipped, and the next group is imported."""
    results = []
    for paths in groups:
        source = FileSource([Path(p) for p in paths])
        owner = _owner_address(source, mailbox, paths)
        firm = FirmDomains(firm_domains(config) or [owner.rsplit("@", 1)[1]])
        with db.transaction() as session:
            mailbox_id = ensure_mailbox(session, AddressBook(firm), owner, Provider.FILES).id
        started = time.perf_counter()
        try:
            with _progress(source, owner, quiet) as on_page:
                result = ingest(db, mailbox_id, source, firm, rescan=rescan, on_page=on_page)
        except MailboxBusy as busy:
            if on_busy is None:
                raise
            on_busy(owner, busy)
            continue
        results.append(
            ImportResult(owner, result.run_id, result.stats, time.perf_counter() - started)
        )
    return results


def _owner_address(source: FileSource, mailbox: str | None, paths: Sequence[Path]) -> str:
    owner = normalize_email(mailbox) if mailbox else infer_owner(source)
    if not owner:
        where = ", ".join(str(p) for p in paths)
        raise ValueError(f"cannot tell whose mailbox {where} is: give --mailbox ADDRESS")
    return owner


@contextmanager
def _progress(source: FileSource, label: str, quiet: bool) -> Iterator[ProgressCallback | None]:
    if quiet:
        yield None
        return
    total = sum(source.total_size(folder) for folder in source.folders())
    bar = tqdm(total=total, unit="B", unit_scale=True, desc=label, dynamic_ncols=True)

    def on_page(_folder: Folder, page: Page) -> None:
        bar.update(page.progress)

    try:
        yield on_page
    finally:
        bar.close()

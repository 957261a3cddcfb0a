"""The ingest engine: runs one ``Source`` for one mailbox, folder by folder, page by page.

Mailbox states (``storage.models.MailboxStatus``) and what moves between them::

    idle | ok | error ──start──▶ syncing ──every folder read──▶ ok
                                   │
                                   ├─ Throttled / TransientError / other error ─▶ error
                                   │      (failure_count + 1, next_retry_at set: retried later)
                                   ├─ AuthFailed ─▶ auth_failed (stopped until an admin acts)
                                   └─ CursorExpired ─▶ cursor reset, folder read again from the
                                          start (idempotent upserts make that harmless)

Each page is one transaction: the page's rows, the folder's new cursor and the run's counts
commit together. A process killed at any point therefore resumes after the last committed page
and ends with exactly the data of an uninterrupted run. A run found still ``running`` at the
next start was killed: it is marked ``interrupted``.

One pass per mailbox at a time, across processes (an import, ``python app.py sync`` and the
sync worker may all reach for one mailbox): a pass takes the mailbox's lease at its start
(``storage.leases``), renews it in every page's transaction and gives it back at its end.
A pass that finds the lease held raises ``MailboxBusy`` before it records anything; one that
finds it lost (it lapsed, another pass took it) stops with ``LeaseLost``, its run marked
``interrupted``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from relationships.aggregate_store import rebuild_stale
from relationships.settings import load_weights
from storage.addressbook import AddressBook
from storage.db import Database
from storage.identity import Identity
from storage.leases import acquire, new_owner, release, renew
from storage.mailboxes import exclusion_patterns, owner_people, owner_person_id
from storage.merge import mark_stale
from storage.models import ImportRun, Mailbox, MailboxStatus, Person, RunStatus
from storage.privacy import private_conversations
from storage.sync_state import load_cursor, save_cursor
from storage.types import utcnow
from sync.errors import AuthFailed, CursorExpired, LeaseLost, MailboxBusy, Throttled
from sync.gc_tuning import fewer_collections
from sync.items import Folder, Page
from sync.normalize.domains import FirmDomains
from sync.removals import remove_items
from sync.rules import Exclusions
from sync.source import Source
from sync.stats import RunStats
from sync.writer import MailboxContext, PageWriter

ProgressCallback = Callable[[Folder, Page], None]
RETRY_BASE = timedelta(minutes=1)  # back-off of a failed mailbox: 1, 2, 4 ... minutes
RETRY_CEILING = timedelta(hours=6)


@dataclass
class RunResult:
    run_id: int
    stats: RunStats


def ingest(
    db: Database,
    mailbox_id: int,
    source: Source,
    firm: FirmDomains,
    *,
    rescan: bool = False,
    on_page: ProgressCallback | None = None,
) -> RunResult:
    """Read everything ``source`` has after the stored cursors into the store."""
    book = AddressBook(firm)
    with db.transaction() as session:
        context = _start(session, mailbox_id, source.name, firm, book, lease_owner=new_owner())
    stats = RunStats()
    writer = PageWriter(context, stats)
    try:
        with fewer_collections():
            for folder in source.folders():
                _ingest_folder(db, context, writer, source, folder, rescan=rescan, on_page=on_page)
    except LeaseLost:
        with db.transaction() as session:
            _end_run(session, context, stats, RunStatus.INTERRUPTED, "lease lost to another pass")
        raise
    except Exception as error:
        with db.transaction() as session:
            _fail(session, context, stats, error)
        raise
    with db.transaction() as session:
        _finish(session, context, stats)
    return RunResult(context.run_id, stats)


def _start(
    session: Session,
    mailbox_id: int,
    source_name: str,
    firm: FirmDomains,
    book: AddressBook,
    *,
    lease_owner: str,
) -> MailboxContext:
    mailbox = session.get_one(Mailbox, mailbox_id)
    holder = acquire(session, mailbox_id, lease_owner, utcnow())
    if holder is not None:
        raise MailboxBusy(f"{mailbox.address} is being synced by another pass ({holder})")
    rebuild_stale(session)  # left by a run that died after a merge
    book.follow_moves(session)  # the merges and undos from now on
    session.execute(
        update(ImportRun)
        .where(ImportRun.mailbox_id == mailbox_id, ImportRun.status == RunStatus.RUNNING)
        .values(status=RunStatus.INTERRUPTED, finished_at=utcnow())
    )
    run = ImportRun(mailbox_id=mailbox_id, source=source_name, counts=RunStats().to_dict())
    session.add(run)
    mailbox.status = MailboxStatus.SYNCING
    session.flush()
    owner = owner_person_id(session, mailbox)
    owner_name = session.get_one(Person, owner).display_name
    identity = Identity(book, owner, owner_people(session), mailbox.address, owner_name)
    private = private_conversations(session, mailbox.colleague_id)
    exclusions = Exclusions(exclusion_patterns(session, mailbox), private)
    weights = load_weights(session)
    return MailboxContext(
        mailbox_id, run.id, firm, exclusions, book, identity, weights, lease_owner
    )


def _ingest_folder(
    db: Database,
    context: MailboxContext,
    writer: PageWriter,
    source: Source,
    folder: Folder,
    *,
    rescan: bool,
    on_page: ProgressCallback | None,
) -> None:
    with db.transaction() as session:
        cursor = (
            None if rescan else load_cursor(session, context.mailbox_id, folder.key, source.name)
        )
    try:
        _read_pages(db, context, writer, source, folder, cursor=cursor, on_page=on_page)
    except CursorExpired:
        # The provider no longer knows where we were: read the folder again from the start.
        _read_pages(db, context, writer, source, folder, cursor=None, on_page=on_page)


def _read_pages(
    db: Database,
    context: MailboxContext,
    writer: PageWriter,
    source: Source,
    folder: Folder,
    *,
    cursor: str | None,
    on_page: ProgressCallback | None,
) -> None:
    for page in source.pages(folder, cursor):
        try:
            with db.transaction() as session:
                if not renew(session, context.mailbox_id, context.lease_owner, utcnow()):
                    raise LeaseLost(f"mailbox {context.mailbox_id}: another pass took the lease")
                # An admin's merge or undo moves addresses under the cache's feet.
                mark_stale(session, context.book.follow_moves(session))
                if page.removed:
                    removed, _ = remove_items(session, context.mailbox_id, folder.key, page.removed)
                    writer.stats.removed += removed
                writer.write(session, folder, page)
                save_cursor(session, context.mailbox_id, folder.key, source.name, page.cursor)
                _save_counts(session, context.run_id, writer.stats)
        except Exception:
            context.book.forget()  # the cache may hold rows the rollback removed
            raise
        if on_page is not None:
            on_page(folder, page)


def _save_counts(session: Session, run_id: int, stats: RunStats) -> None:
    session.execute(update(ImportRun).where(ImportRun.id == run_id).values(counts=stats.to_dict()))


def _end_run(
    session: Session, context: MailboxContext, stats: RunStats, status: RunStatus, error: str
) -> None:
    session.execute(
        update(ImportRun)
        .where(ImportRun.id == context.run_id)
        .values(status=status, finished_at=utcnow(), counts=stats.to_dict(), error=error)
    )


def _finish(session: Session, context: MailboxContext, stats: RunStats) -> None:
    mark_stale(session, context.book.follow_moves(session))
    if context.identity.saw_exchange_names:
        stats.merged_people += context.identity.link_nicknames(session, context.firm)
    rebuild_stale(session)
    release(session, context.mailbox_id, context.lease_owner)
    now = utcnow()
    session.execute(
        update(ImportRun)
        .where(ImportRun.id == context.run_id)
        .values(status=RunStatus.DONE, finished_at=now, counts=stats.to_dict())
    )
    session.execute(
        update(Mailbox)
        .where(Mailbox.id == context.mailbox_id)
        .values(
            status=MailboxStatus.OK,
            status_reason=None,
            failure_count=0,
            next_retry_at=None,
            last_synced_at=now,
        )
    )


def _fail(session: Session, context: MailboxContext, stats: RunStats, error: Exception) -> None:
    """Record why the run stopped, and when the mailbox will be tried again."""
    release(session, context.mailbox_id, context.lease_owner)
    mailbox = session.get_one(Mailbox, context.mailbox_id)
    mailbox.failure_count += 1
    reason = f"{type(error).__name__}: {error}"[:2000]
    if isinstance(error, AuthFailed):
        mailbox.status, mailbox.next_retry_at = MailboxStatus.AUTH_FAILED, None
    else:
        mailbox.status = MailboxStatus.ERROR
        mailbox.next_retry_at = utcnow() + _retry_delay(mailbox.failure_count, error)
    mailbox.status_reason = reason
    _end_run(session, context, stats, RunStatus.FAILED, reason)


def _retry_delay(failures: int, error: Exception) -> timedelta:
    if isinstance(error, Throttled) and error.retry_after is not None:
        return timedelta(seconds=error.retry_after)
    delay = min(RETRY_BASE * 2 ** min(failures - 1, 16), RETRY_CEILING)
    jittered: timedelta = delay * random.uniform(0.8, 1.2)
    return jittered  # jitter: mailboxes that failed together spread out


def mailbox_id_for(session: Session, address: str) -> int | None:
    return session.scalar(select(Mailbox.id).where(Mailbox.address == address))

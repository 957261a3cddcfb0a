"""Delta passes over Graph mailboxes: one mailbox (``run_mailbox``) or every due one
(``run_due``), each failure recorded on its mailbox and none stopping the others.

A mailbox is due when it is enabled, syncs through Graph, is not stopped for credentials
(``auth_failed``: an admin must act) and its ``next_retry_at`` has passed. Within this process
one pass per mailbox runs at a time; a second request for a running mailbox answers ``busy``
(the running pass reads every change up to its last page anyway).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from O365 import Account
from sqlalchemy import or_, select

from config import firm_domains
from storage.db import Database
from storage.models import Interaction, Mailbox, MailboxStatus, Provider, Sighting
from storage.types import utcnow
from sync.engine import RETRY_BASE, RETRY_CEILING, ingest
from sync.errors import AuthFailed, MailboxBusy, SyncError, Throttled
from sync.graph.auth import connect
from sync.graph.client import GraphClient
from sync.graph.folders import list_folders
from sync.graph.settings import GraphSettings
from sync.graph.source import GraphSource
from sync.graph.tenant import mailbox_options
from sync.normalize.domains import FirmDomains
from sync.stats import RunStats

log = logging.getLogger(__name__)

_running: set[int] = set()
_running_lock = threading.Lock()


@dataclass
class GraphRun:
    """What one pass over one mailbox did."""

    mailbox_id: int
    address: str
    status: str  # "ok", "error", "auth_failed", "busy" (a pass is running), "skipped"
    run_id: int | None = None
    stats: RunStats | None = None
    error: str | None = None
    requests: int = 0  # Graph requests made, each counted once however often retried

    def summary(self) -> str:
        if self.stats is None:
            return f"{self.address}: {self.status}" + (f" ({self.error})" if self.error else "")
        s = self.stats
        line = (
            f"{self.address}: {self.status}; read {s.read}, new client interactions {s.stored}, "
            f"internal {s.internal}, already stored {s.duplicate}, removed {s.removed}, "
            f"skipped {sum(s.skipped.values())}; {self.requests} Graph requests"
        )
        return line + (f" ({self.error})" if self.error else "")


def run_mailbox(db: Database, config: Mapping[str, Any], mailbox_id: int) -> GraphRun:
    """One delta pass over one Graph mailbox (see ``sync.graph``); never raises for Graph,
    network or credential failures: they are recorded on the mailbox and returned."""
    with _claim(mailbox_id) as claimed:
        address = _address(db, mailbox_id)
        if not claimed:
            return GraphRun(mailbox_id, address, "busy")
        problem = _not_runnable(db, mailbox_id)
        if problem:
            return GraphRun(mailbox_id, address, "skipped", error=problem)
        try:
            with connect(db, config) as account:
                return _pass(db, config, account, mailbox_id)
        except SyncError as error:  # credentials refused, identity platform unreachable
            _record_failure(db, [mailbox_id], error)
            return GraphRun(mailbox_id, address, _status_of(error), error=_reason(error))


def run_due(db: Database, config: Mapping[str, Any]) -> list[GraphRun]:
    """One pass over every due Graph mailbox, in address order."""
    due = due_mailboxes(db)
    if not due:
        return []
    try:
        with connect(db, config) as account:
            return [_claimed_pass(db, config, account, mailbox_id) for mailbox_id in due]
    except SyncError as error:
        _record_failure(db, due, error)
        return [GraphRun(m, _address(db, m), _status_of(error), error=_reason(error)) for m in due]


def due_mailboxes(db: Database) -> list[int]:
    with db.transaction() as session:
        query = (
            select(Mailbox.id)
            .where(
                Mailbox.provider == Provider.GRAPH,
                Mailbox.enabled.is_(True),
                Mailbox.status.not_in((MailboxStatus.AUTH_FAILED, MailboxStatus.DISABLED)),
                or_(Mailbox.next_retry_at.is_(None), Mailbox.next_retry_at <= utcnow()),
            )
            .order_by(Mailbox.address)
        )
        return list(session.scalars(query))


def _claimed_pass(
    db: Database, config: Mapping[str, Any], account: Account, mailbox_id: int
) -> GraphRun:
    with _claim(mailbox_id) as claimed:
        if not claimed:
            return GraphRun(mailbox_id, _address(db, mailbox_id), "busy")
        return _pass(db, config, account, mailbox_id)


def _pass(db: Database, config: Mapping[str, Any], account: Account, mailbox_id: int) -> GraphRun:
    settings = GraphSettings.from_config(config)
    with db.transaction() as session:
        mailbox = session.get_one(Mailbox, mailbox_id)
        options = mailbox_options(session, mailbox_id)
        address, backfill = mailbox.address, timedelta(days=mailbox.backfill_days)
        all_folders, calendar = options.all_folders, options.calendar
    client = GraphClient(account, address, settings.graph_url)
    source = GraphSource(
        client,
        backfill=backfill,
        page_size=settings.page_size,
        calendar=calendar,
        folder_lister=list_folders if all_folders else None,
        stored_ids=partial(stored_source_ids, db, mailbox_id),
    )
    firm = FirmDomains(firm_domains(config) or [address.rsplit("@", 1)[1]])
    try:
        result = ingest(db, mailbox_id, source, firm)
    except MailboxBusy as error:  # another process's pass (an import, the CLI, a worker)
        log.info("Graph sync of %s skipped: %s", address, error)
        return GraphRun(mailbox_id, address, "busy", error=str(error), requests=client.requests)
    except SyncError as error:  # the engine recorded it on the mailbox
        log.warning("Graph sync of %s failed: %s", address, _reason(error))
        return GraphRun(
            mailbox_id, address, _status_of(error), error=_reason(error), requests=client.requests
        )
    except Exception as error:  # a bug or a database fault: recorded by the engine as well
        log.exception("Graph sync of %s failed", address)
        return GraphRun(
            mailbox_id, address, "error", error=_reason(error), requests=client.requests
        )
    return GraphRun(mailbox_id, address, "ok", result.run_id, result.stats, None, client.requests)


def stored_source_ids(
    db: Database, mailbox_id: int, folder: str, window: tuple[datetime, datetime] | None
) -> set[str]:
    """Source ids of the mailbox's sightings in ``folder``; with ``window``, only those of
    interactions inside it (meetings that left the window were not deleted)."""
    query = select(Sighting.source_item_id).where(
        Sighting.mailbox_id == mailbox_id, Sighting.folder == folder
    )
    if window is not None:
        query = query.join(Interaction, Interaction.id == Sighting.interaction_id).where(
            Interaction.occurred_at >= window[0], Interaction.occurred_at < window[1]
        )
    with db.transaction() as session:
        return set(session.scalars(query))


def _not_runnable(db: Database, mailbox_id: int) -> str | None:
    with db.transaction() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        if mailbox is None:
            return "no such mailbox"
        if mailbox.provider != Provider.GRAPH:
            return f"the mailbox syncs through {mailbox.provider}, not Graph"
        if not mailbox.enabled:
            return "the mailbox is disabled"
        if mailbox.status == MailboxStatus.AUTH_FAILED:
            return f"stopped until an admin acts: {mailbox.status_reason}"
    return None


@contextmanager
def _claim(mailbox_id: int) -> Iterator[bool]:
    with _running_lock:
        claimed = mailbox_id not in _running
        _running.add(mailbox_id)
    try:
        yield claimed
    finally:
        if claimed:
            with _running_lock:
                _running.discard(mailbox_id)


def _address(db: Database, mailbox_id: int) -> str:
    with db.transaction() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        return mailbox.address if mailbox else f"mailbox {mailbox_id}"


def _status_of(error: Exception) -> str:
    return MailboxStatus.AUTH_FAILED.value if isinstance(error, AuthFailed) else "error"


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _record_failure(db: Database, mailbox_ids: list[int], error: SyncError) -> None:
    """A failure before any mailbox's run started (the token): the same record the engine
    keeps (``sync.engine``: status, reason, next retry with back-off)."""
    with db.transaction() as session:
        for mailbox_id in mailbox_ids:
            mailbox = session.get(Mailbox, mailbox_id)
            if mailbox is None:
                continue
            mailbox.failure_count += 1
            mailbox.status_reason = _reason(error)
            if isinstance(error, AuthFailed):
                mailbox.status, mailbox.next_retry_at = MailboxStatus.AUTH_FAILED, None
                continue
            mailbox.status = MailboxStatus.ERROR
            mailbox.next_retry_at = utcnow() + _delay(mailbox.failure_count, error)


def _delay(failures: int, error: SyncError) -> timedelta:
    if isinstance(error, Throttled) and error.retry_after is not None:
        return timedelta(seconds=error.retry_after)
    delay = min(RETRY_BASE * 2 ** min(failures - 1, 16), RETRY_CEILING)
    jittered: timedelta = delay * random.uniform(0.8, 1.2)
    return jittered

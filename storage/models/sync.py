"""Mailboxes, their cursors, and the record of each import or sync run."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class Provider(enum.StrEnum):
    GRAPH = "graph"
    EWS = "ews"
    FILES = "files"


class MailboxStatus(enum.StrEnum):
    IDLE = "idle"
    SYNCING = "syncing"
    OK = "ok"
    ERROR = "error"  # transient; retried at next_retry_at
    AUTH_FAILED = "auth_failed"  # stopped until an admin fixes credentials or consent
    DISABLED = "disabled"


class Visibility(enum.StrEnum):
    """What colleagues other than the owner see of this mailbox's interactions."""

    METADATA = "metadata"
    SUBJECT = "subject"


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class Mailbox(Base):
    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    colleague_id: Mapped[int] = mapped_column(ForeignKey("colleagues.id"), index=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    provider: Mapped[str] = mapped_column(String(8), default=Provider.FILES)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    backfill_days: Mapped[int] = mapped_column(Integer, default=365)
    visibility: Mapped[str] = mapped_column(String(12), default=Visibility.METADATA)
    status: Mapped[str] = mapped_column(String(12), default=MailboxStatus.IDLE)
    status_reason: Mapped[str | None] = mapped_column(Text)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    next_retry_at: Mapped[datetime | None] = mapped_column()
    last_synced_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Which process is syncing the mailbox ("host:pid:token"), until when unless it renews
    # (storage.leases): one pass per mailbox at a time across every process of the firm.
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column()


class SyncCursor(Base):
    """Where a (mailbox, folder, source) stopped; saved in the same transaction as its page."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("mailbox_id", "folder", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"))
    folder: Mapped[str] = mapped_column(String(512))
    source: Mapped[str] = mapped_column(String(16))
    cursor: Mapped[str | None] = mapped_column(Text)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ImportRun(Base):
    """One import or sync pass of a mailbox, with what it read, stored and skipped."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), default=RunStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    # {"read": n, "stored": n, "duplicate": n, "internal": n, "skipped": {reason: n}}
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class SkipRecord(Base):
    """An item a run could not read (malformed, no date, ...), kept with its reason."""

    __tablename__ = "skip_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("import_runs.id"), index=True)
    folder: Mapped[str] = mapped_column(String(512))
    source_item_id: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")

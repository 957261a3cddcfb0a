"""Microsoft Graph change-notification subscriptions, one per (mailbox, watched resource)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class WatchedResource(enum.StrEnum):
    """What a subscription watches; each has its own Graph resource path."""

    INBOX = "inbox"
    SENT = "sentitems"
    MAIL = "messages"  # every mail folder, for a mailbox synced with all its folders
    EVENTS = "events"


class GraphSubscription(Base):
    """A subscription Rapport created on Graph, or is about to create.

    ``subscription_id`` is None between choosing a clientState and Graph's answer, and after a
    failed attempt (``last_error`` says why). The clientState itself is never stored: only its
    SHA-256, compared in constant time when a notification arrives (it is 256 random bits, so
    an unsalted hash is as strong as the secret).
    """

    __tablename__ = "graph_subscriptions"
    __table_args__ = (UniqueConstraint("mailbox_id", "resource"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"), index=True)
    resource: Mapped[str] = mapped_column(String(16))  # a WatchedResource
    subscription_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    client_state_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    renewed_at: Mapped[datetime | None] = mapped_column()
    last_notification_at: Mapped[datetime | None] = mapped_column()
    notifications: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)  # wrong clientState
    last_error: Mapped[str | None] = mapped_column(Text)


class HandoverKind(enum.StrEnum):
    """Work a webhook hands to the sync worker (``storage.handover``), by what it targets."""

    DELTA = "delta"  # a delta run of a mailbox: target_id is the mailbox id
    RENEW = "renew"  # a renewal: target_id is the graph_subscriptions row id
    UPKEEP = "upkeep"  # the whole subscription upkeep: target_id is 0
    REBUILD = "rebuild"  # every relationship aggregate, after a weight change: target_id is 0


class Handover(Base):
    """Work an API process received (a Graph notification, a weight change) and has no
    scheduler to run, or a stopping sync worker claimed and never started: the sync worker
    claims it (``python app.py worker``). One row per (kind, target), so a burst of
    notifications for a mailbox is one row and one delta run. A claimed row stays until its
    work has run, under a lease its worker extends while it lives (``storage.handover``)."""

    __tablename__ = "handovers"
    __table_args__ = (UniqueConstraint("kind", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # a HandoverKind
    target_id: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The claiming process's token; when it claimed (a request after that is owed another
    # run); until when its claim holds (then another worker may claim the row).
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column()
    lease_until: Mapped[datetime | None] = mapped_column()

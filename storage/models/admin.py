"""Firm-wide configuration: exclusions, settings, and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class Exclusion(Base):
    """An address (``a@b.com``) or domain (``@b.com``, subdomains included) never to log.

    ``colleague_id`` None means firm-wide; otherwise it applies to that colleague's mailboxes.
    ``owner_key`` is ``colleague_id`` or 0, so uniqueness also holds for firm-wide rows (NULLs
    are distinct in unique constraints).
    """

    __tablename__ = "exclusions"
    __table_args__ = (UniqueConstraint("pattern", "owner_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pattern: Mapped[str] = mapped_column(String(320))
    colleague_id: Mapped[int | None] = mapped_column(ForeignKey("colleagues.id"))
    owner_key: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("colleagues.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("colleagues.id"))


class AuditEvent(Base):
    """Who did what to which record, and when: merges, edits, deletions, admin changes."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("colleagues.id"))
    actor: Mapped[str] = mapped_column(String(320), default="system")  # as colleagues.email
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


# One kind of event, newest first: the merges an admin lists and the undos that name them
# (storage.unmerge), the merges a sync pass follows (storage.addressbook.follow_moves).
Index("ix_audit_events_action_at", AuditEvent.action, AuditEvent.at)

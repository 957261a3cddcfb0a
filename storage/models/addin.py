"""What colleagues write from the Outlook add-in: notes, follow-ups and private threads.

Edits to people themselves go to ``people`` (with ``Person.provenance`` saying who typed each
field) and to ``audit_events``; exclusions use ``exclusions`` (storage/models/admin.py).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class Note(Base):
    """Plain text a colleague wrote about a person: the author's own unless ``shared``."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("colleagues.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FollowUp(Base):
    """A colleague's reminder to get back to a person by ``due``: one per (colleague, person)."""

    __tablename__ = "follow_ups"
    __table_args__ = (UniqueConstraint("colleague_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    colleague_id: Mapped[int] = mapped_column(ForeignKey("colleagues.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    due: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PrivateThread(Base):
    """A conversation a colleague marked private: ingest skips it in their mailboxes, and what
    was stored from them was purged when it was marked (storage/privacy.py)."""

    __tablename__ = "private_threads"
    __table_args__ = (UniqueConstraint("colleague_id", "conversation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    colleague_id: Mapped[int] = mapped_column(ForeignKey("colleagues.id"))
    conversation_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

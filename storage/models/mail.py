"""Interactions (one email or meeting, stored once firm-wide), who took part, who saw them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class Interaction(Base):
    """One email message or one meeting.

    ``is_internal`` marks mail with no external participant: it is never shown as a client
    interaction and its subject is never stored; only its metadata feeds colleague-to-colleague
    aggregates. ``subject`` of client mail is shown only as sightings and visibility allow.
    """

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # sync.items.ItemKind
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None] = mapped_column()
    subject: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(Text)
    ical_uid: Mapped[str | None] = mapped_column(Text)
    conversation_id: Mapped[str | None] = mapped_column(String(255), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[str | None] = mapped_column(Text)  # space-separated Message-IDs
    sender_address_id: Mapped[int | None] = mapped_column(ForeignKey("email_addresses.id"))
    audience_size: Mapped[int] = mapped_column(Integer, default=0)
    is_internal: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InteractionKey(Base):
    """A deduplication key of an interaction: Message-ID, iCalUID or content key.

    ``key`` is ``"<kind>:" + sha1 hex`` of the normalized value, so lookups of a whole page are
    one indexed ``IN`` query whatever the length of the raw ids.
    """

    __tablename__ = "interaction_keys"

    key: Mapped[str] = mapped_column(String(48), primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), index=True)


class Participant(Base):
    __tablename__ = "participants"

    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), primary_key=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("email_addresses.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(12), primary_key=True)  # sync.items.Role
    response: Mapped[str | None] = mapped_column(String(12))


Index("ix_participants_address_id", Participant.address_id)


class Sighting(Base):
    """Which mailbox saw which interaction, in which folder and direction."""

    __tablename__ = "sightings"
    __table_args__ = (UniqueConstraint("interaction_id", "mailbox_id", "folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), index=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"), index=True)
    folder: Mapped[str] = mapped_column(String(512))
    direction: Mapped[str] = mapped_column(String(8))  # "in" | "out"
    source_item_id: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Relationship(Base):
    """Aggregate of one pair of people, kept current at ingest (``a_id < b_id``).

    ``email_ab`` counts messages sent by ``a`` with ``b`` among the recipients, ``email_ba``
    the reverse; ``meetings`` counts meetings both attended. Scores are computed from these
    in ``relationships/``; a rebuild recomputes them from stored interactions.
    """

    __tablename__ = "relationships"

    a_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    b_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)
    email_ab: Mapped[int] = mapped_column(Integer, default=0)
    email_ba: Mapped[int] = mapped_column(Integer, default=0)
    meetings: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column()
    last_at: Mapped[datetime] = mapped_column()
    last_ab_at: Mapped[datetime | None] = mapped_column()
    last_ba_at: Mapped[datetime | None] = mapped_column()
    # Decayed sums in growth form (relationships.strength.EPOCH): scoring at query time is O(1).
    ab_warm: Mapped[float] = mapped_column(Float, default=0.0)
    ab_history: Mapped[float] = mapped_column(Float, default=0.0)
    ba_warm: Mapped[float] = mapped_column(Float, default=0.0)
    ba_history: Mapped[float] = mapped_column(Float, default=0.0)
    mtg_warm: Mapped[float] = mapped_column(Float, default=0.0)
    mtg_history: Mapped[float] = mapped_column(Float, default=0.0)
    # The newest events per class as JSON integer lists (relationships.recent): reply times,
    # recent counts and the trend, in O(1) per pair.
    recent_ab: Mapped[str | None] = mapped_column(Text)
    recent_ba: Mapped[str | None] = mapped_column(Text)
    recent_mtg: Mapped[str | None] = mapped_column(Text)
    # When the writer last changed the row (ingest, rebuild): API workers refresh their graph
    # from the rows changed since their last read (relationships.graph). NULL: before 0010.
    changed_at: Mapped[datetime | None] = mapped_column(index=True)


class RelationshipDeletion(Base):
    """A pair aggregate deleted without the whole table (a partial rebuild, a purge, a
    removal): API workers take the pair out of their in-memory graph at their next refresh
    (relationships.graph) unless it was written again, instead of building anew. Kept
    ``relationships.aggregate_store.KEEP_DELETIONS``, longer than any copy lives between
    full builds. No foreign keys: a log of pairs that are gone."""

    __tablename__ = "relationship_deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    a_id: Mapped[int] = mapped_column(Integer)
    b_id: Mapped[int] = mapped_column(Integer)
    deleted_at: Mapped[datetime] = mapped_column(index=True)


class StaleAggregate(Base):
    """A person whose pair aggregates must be recomputed (after a merge moved addresses).

    Merges only mark; ``relationships.aggregate_store.rebuild_stale`` recomputes each marked
    person once at the end of an ingest run, and at the start of the next one should a run die
    first (the mark commits with the merge, so no crash loses it).
    """

    __tablename__ = "stale_aggregates"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)

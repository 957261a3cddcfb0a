"""People, their addresses, companies, and the firm's colleagues."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    # The registrable domain the company was first created from (ASCII form).
    primary_domain: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CompanyDomain(Base):
    """Every work domain that belongs to a company; a company may own several."""

    __tablename__ = "company_domains"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)


class Person(Base):
    """Anyone seen in mail or calendar, inside or outside the firm.

    ``provenance`` maps a field name to where its value came from
    (``{"source": "synced" | "signature" | "user", "at": ISO time, "by": colleague id}``) so a
    later, better source can win and a user's correction is never overwritten by sync.
    """

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(300), default="")
    title: Mapped[str | None] = mapped_column(String(300))
    phones: Mapped[list[Any]] = mapped_column(default=list)
    postal_address: Mapped[str | None] = mapped_column(Text)  # typed by a user (add-in)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Set when this record was merged into another; the row stays so a merge can be undone.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DistinctPeople(Base):
    """Two people who are not one: automatic deduplication never merges them
    (``storage.merge.distinct_pairs``). An admin says so, and so does every undone merge
    (``storage.unmerge.undo_merge``). One row per pair, the smaller id first."""

    __tablename__ = "distinct_people"
    __table_args__ = (CheckConstraint("a_id < b_id", name="ordered"),)

    a_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    b_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(320))  # as colleagues.email
    reason: Mapped[str] = mapped_column(Text, default="")


class DuplicateCandidate(Base):
    """A pair of people that may be one, left for an admin by the last duplicate-people run
    (``sync.dedupe``; the same-tier pairs it merged are not kept). Replaced whole by each run;
    a pair one of whose people was merged since, or that was marked distinct, is not shown."""

    __tablename__ = "duplicate_candidates"

    keep_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    drop_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(8))
    similarity: Mapped[float] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    found_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmailAddress(Base):
    """One address of a person: SMTP (lower case, ASCII domain) or an Exchange X.500 DN."""

    __tablename__ = "email_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(512), unique=True)
    kind: Mapped[str] = mapped_column(String(8), default="smtp")
    domain: Mapped[str] = mapped_column(String(255), index=True, default="")
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    is_role: Mapped[bool] = mapped_column(Boolean, default=False)
    bounced_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Colleague(Base):
    """A person inside the firm (an address in one of the firm's domains)."""

    __tablename__ = "colleagues"
    __table_args__ = (UniqueConstraint("tenant_id", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # Opted-out colleagues never appear as connectors anywhere.
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Identity provider ids, stored at first sign-in (Entra ID: tid and oid claims).
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The colleague's newest email to anyone that counts for a pair (at most 20 addressees):
    # the latest ``last_ab_at``/``last_ba_at`` of their side over their pairs, kept by the
    # aggregates' upsert (relationships.aggregate_store). Strength reads a pair's silence
    # against it (relationships.strength.Weights.quiet_after).
    last_sent_at: Mapped[datetime | None] = mapped_column()


Index("ix_people_display_name", Person.display_name)
# A company's current people in name order (relationships.coverage): on PostgreSQL an ordered
# index-only scan, where company_id's own index leaves a table lookup per person and a sort.
Index(
    "ix_people_company_current",
    Person.company_id,
    Person.display_name,
    Person.id,
    postgresql_where=Person.merged_into_id.is_(None),
    sqlite_where=Person.merged_into_id.is_(None),
)

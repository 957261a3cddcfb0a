"""Microsoft Graph: the tenant's app registration and per-mailbox sync options."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class CredentialKind(enum.StrEnum):
    SECRET = "secret"  # a client secret  # noqa: S105 - a kind, not a secret
    CERTIFICATE = "certificate"  # a PEM private key and its certificate


class GraphTenant(Base):
    """An Entra ID tenant and the app registration Rapport reads its mailboxes with.

    ``credential`` is a Fernet token (``storage.secrets``) of the client secret or of the PEM
    private key plus certificate; it is never returned by the API nor printed by the CLI.
    """

    __tablename__ = "graph_tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    credential_kind: Mapped[str] = mapped_column(String(12))
    credential: Mapped[str] = mapped_column(Text)
    thumbprint: Mapped[str | None] = mapped_column(String(64))  # SHA-1 hex, certificates only
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GraphMailbox(Base):
    """Graph options of one mailbox; a Graph mailbox without a row uses the defaults."""

    __tablename__ = "graph_mailboxes"

    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"), primary_key=True)
    all_folders: Mapped[bool] = mapped_column(Boolean, default=False)  # else Inbox + Sent Items
    calendar: Mapped[bool] = mapped_column(Boolean, default=True)

"""The health of every synced mailbox, for admins: ``GET /api/v1/admin/mailboxes`` and
``python app.py mailboxes`` show the same rows.

What is shown: provider, status and its reason, failures in a row, last success, next retry,
and the Graph change-notification subscriptions with their expiry. Never a secret: the
subscriptions' clientState digests and ids stay inside.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import GraphSubscription, Mailbox


@dataclass(frozen=True)
class SubscriptionState:
    resource: str  # inbox, sentitems, events
    active: bool  # Graph acknowledged it and it has not been lost since
    expires_at: datetime | None
    last_notification_at: datetime | None
    notifications: int
    refused: int  # notifications with a wrong clientState
    error: str | None


@dataclass(frozen=True)
class MailboxState:
    id: int
    address: str
    provider: str
    enabled: bool
    status: str
    reason: str | None
    failure_count: int
    last_success_at: datetime | None
    next_retry_at: datetime | None
    subscriptions: tuple[SubscriptionState, ...]

    @property
    def subscription_expires_at(self) -> datetime | None:
        """When the first of its subscriptions expires (renewed well before)."""
        expiries = [s.expires_at for s in self.subscriptions if s.active and s.expires_at]
        return min(expiries, default=None)


def mailbox_states(
    session: Session,
    *,
    provider: str | None = None,
    status: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> list[MailboxState]:
    """Mailboxes by address, optionally filtered, from just ``after`` an address."""
    query = select(Mailbox).order_by(Mailbox.address)
    if provider is not None:
        query = query.where(Mailbox.provider == provider)
    if status is not None:
        query = query.where(Mailbox.status == status)
    if after is not None:
        query = query.where(Mailbox.address > after)
    mailboxes = session.scalars(query.limit(limit)).all()
    subscriptions = _subscriptions(session, [m.id for m in mailboxes])
    return [
        MailboxState(
            m.id,
            m.address,
            m.provider,
            m.enabled,
            m.status,
            m.status_reason,
            m.failure_count,
            m.last_synced_at,
            m.next_retry_at,
            tuple(subscriptions.get(m.id, ())),
        )
        for m in mailboxes
    ]


def _subscriptions(session: Session, mailbox_ids: list[int]) -> dict[int, list[SubscriptionState]]:
    found: dict[int, list[SubscriptionState]] = defaultdict(list)
    if not mailbox_ids:
        return found
    query = (
        select(GraphSubscription)
        .where(GraphSubscription.mailbox_id.in_(mailbox_ids))
        .order_by(GraphSubscription.mailbox_id, GraphSubscription.resource)
    )
    for row in session.scalars(query):
        found[row.mailbox_id].append(
            SubscriptionState(
                row.resource,
                row.subscription_id is not None,
                row.expires_at,
                row.last_notification_at,
                row.notifications,
                row.refused,
                row.last_error,
            )
        )
    return found


def state_lines(states: list[MailboxState]) -> list[str]:
    """One line per mailbox, plus one per subscription problem."""
    if not states:
        return ["no mailboxes"]
    lines = []
    for m in states:
        lines.append(
            f"{m.address:<40} {m.provider:<6} {m.status:<12} last sync {_when(m.last_success_at)}"
            f"  next retry {_when(m.next_retry_at, '-')}"
            + _subscriptions_part(m)
            + (f"  reason: {m.reason}" if m.reason else "")
        )
        lines += [f"  subscription {s.resource}: {s.error}" for s in m.subscriptions if s.error]
    return lines


def _subscriptions_part(m: MailboxState) -> str:
    if not m.subscriptions:
        return ""
    expiry = m.subscription_expires_at
    return f"  subscriptions expire {_when(expiry)}" if expiry else "  subscriptions: none active"


def _when(value: datetime | None, missing: str = "never") -> str:
    return value.isoformat(timespec="seconds") if value else missing

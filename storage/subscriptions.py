"""Stored Graph subscriptions (`GraphSubscription`): one row per (mailbox, watched resource).

Data functions: they take a session first and never commit. The row's life is drawn in
``sync.graph_subscriptions``; the clientState is kept only as `client_state_hash`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.models import GraphMailbox, GraphSubscription, Mailbox, Provider, WatchedResource

INBOX_AND_SENT = frozenset({WatchedResource.INBOX, WatchedResource.SENT})
ALL_MAIL = frozenset({WatchedResource.MAIL})


def client_state_hash(client_state: str) -> str:
    """SHA-256 hex: the clientState is 256 random bits, so no salt or slow hash is needed."""
    return hashlib.sha256(client_state.encode()).hexdigest()


@dataclass(frozen=True)
class Wanted:
    """The subscriptions a mailbox should have: what its Graph sync reads."""

    address: str
    resources: frozenset[WatchedResource]


def wanted_subscriptions(session: Session) -> dict[int, Wanted]:
    """Enabled Graph mailboxes by id: Inbox and Sent Items (every folder when the mailbox
    syncs all of them), and events unless its calendar is not synced (`GraphMailbox`)."""
    query = (
        select(Mailbox.id, Mailbox.address, GraphMailbox.all_folders, GraphMailbox.calendar)
        .outerjoin(GraphMailbox, GraphMailbox.mailbox_id == Mailbox.id)
        .where(Mailbox.enabled.is_(True), Mailbox.provider == Provider.GRAPH)
    )
    wanted = {}
    for row in session.execute(query):
        mail = ALL_MAIL if row.all_folders else INBOX_AND_SENT  # no options row: the defaults
        events = {WatchedResource.EVENTS} if row.calendar is not False else set()
        wanted[row.id] = Wanted(row.address, frozenset(mail | events))
    return wanted


def active_pairs(session: Session) -> set[tuple[int, str]]:
    """(mailbox id, resource) of every subscription Graph acknowledged."""
    query = select(GraphSubscription.mailbox_id, GraphSubscription.resource).where(
        GraphSubscription.subscription_id.is_not(None)
    )
    return set(session.execute(query).tuples())


def mark_pending(session: Session, mailbox_id: int, resource: WatchedResource, digest: str) -> int:
    """The row of (mailbox, resource), created if new, about to be (re)created on Graph with
    the clientState whose digest is given; its id."""
    row = session.scalar(
        select(GraphSubscription).where(
            GraphSubscription.mailbox_id == mailbox_id,
            GraphSubscription.resource == resource.value,
        )
    )
    if row is None:
        row = GraphSubscription(mailbox_id=mailbox_id, resource=resource.value)
        session.add(row)
    row.subscription_id, row.expires_at, row.client_state_hash = None, None, digest
    row.last_error = None  # a row without id and without error is being created right now
    session.flush()
    return row.id


def mark_active(
    session: Session, row_id: int, subscription_id: str, expires_at: datetime, now: datetime
) -> None:
    _set(
        session,
        row_id,
        subscription_id=subscription_id,
        expires_at=expires_at,
        renewed_at=now,
        last_error=None,
    )


def mark_renewed(session: Session, row_id: int, expires_at: datetime, now: datetime) -> None:
    _set(session, row_id, expires_at=expires_at, renewed_at=now, last_error=None)


def mark_missing(session: Session, row_id: int, reason: str) -> None:
    """Graph no longer has it: the next upkeep creates it again."""
    _set(session, row_id, subscription_id=None, expires_at=None, last_error=reason)


def mark_failed(session: Session, row_id: int, message: str) -> None:
    _set(session, row_id, last_error=message)


def drop(session: Session, row_id: int) -> None:
    session.execute(delete(GraphSubscription).where(GraphSubscription.id == row_id))


def _set(session: Session, row_id: int, **values: object) -> None:
    session.execute(update(GraphSubscription).where(GraphSubscription.id == row_id).values(values))

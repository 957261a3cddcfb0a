"""Graph change and lifecycle notifications, matched to our subscriptions and sorted into work.

A notification proves itself with the clientState of the subscription it names: its SHA-256
is compared in constant time with the digest stored when the subscription was created
(`storage.subscriptions`). Anything else (an unknown subscription, a wrong or missing
clientState) is refused, counted on the subscription when it names one of ours, logged, and
triggers nothing. Every field is attacker-controlled until then, so values are only logged
truncated and through ``%r``.

Lifecycle events (Graph's ``change-notifications-lifecycle-events.md``):
``reauthorizationRequired`` renews the subscription; ``subscriptionRemoved`` runs the
mailbox's delta and creates the subscription again, after which the delta runs once more
(changes made while it was gone are only in the delta); ``missed`` runs the delta.

A data function: takes a session, never commits.
"""

from __future__ import annotations

import hmac
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.models import GraphSubscription, Mailbox, Provider
from storage.subscriptions import client_state_hash

log = logging.getLogger(__name__)

MAX_ID_CHARS = 64  # Graph's subscription ids are GUIDs
LOGGED_CHARS = 80


@dataclass
class Triage:
    """What a batch of notifications asks for, by mailbox or subscription row."""

    delta: set[int] = field(default_factory=set)  # mailboxes whose delta should run soon
    renew: set[int] = field(default_factory=set)  # subscription rows to renew now
    recreate: set[int] = field(default_factory=set)  # mailboxes to resubscribe, then delta
    cleanup: bool = False  # a notification for a disabled mailbox: run the upkeep
    accepted: int = 0
    refused: int = 0
    malformed: int = 0


def triage(session: Session, items: Sequence[Any], now: datetime) -> Triage:
    """Check each notification's clientState, count it on its subscription, and sort it."""
    result = Triage()
    wellformed = [item for item in items if _wellformed(item)]
    result.malformed = len(items) - len(wellformed)
    if result.malformed:
        log.warning("graph webhook: %d malformed notification(s) ignored", result.malformed)
    rows = _subscriptions(session, {item["subscriptionId"] for item in wellformed})
    accepted: Counter[int] = Counter()
    refused: Counter[int] = Counter()
    for item in wellformed:
        found = _match(rows, item, refused)
        if found is None:
            result.refused += 1
            continue
        subscription, mailbox = found
        accepted[subscription.id] += 1
        result.accepted += 1
        _sort(result, item, subscription, mailbox)
    _count(session, accepted, refused, now)
    return result


def _count(session: Session, accepted: Counter[int], refused: Counter[int], now: datetime) -> None:
    """Add to the subscriptions' counters in SQL: concurrent requests never lose a count."""
    table = GraphSubscription
    for row_id, n in accepted.items():
        session.execute(
            update(table)
            .where(table.id == row_id)
            .values(notifications=table.notifications + n, last_notification_at=now)
        )
    for row_id, n in refused.items():
        session.execute(update(table).where(table.id == row_id).values(refused=table.refused + n))


def _wellformed(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("subscriptionId"), str)
        and 0 < len(item["subscriptionId"]) <= MAX_ID_CHARS
        and isinstance(item.get("clientState", ""), str)
        and isinstance(item.get("lifecycleEvent", ""), str)
    )


Found = tuple[GraphSubscription, Mailbox]


def _subscriptions(session: Session, ids: set[str]) -> dict[str | None, list[Found]]:
    """Our subscriptions named by ``ids``, plus those being created right now (no id yet, no
    error): Graph may notify before its answer to the creation has been stored."""
    if not ids:
        return {}
    query = (
        select(GraphSubscription, Mailbox)
        .join(Mailbox, Mailbox.id == GraphSubscription.mailbox_id)
        .where(
            or_(
                GraphSubscription.subscription_id.in_(ids),
                GraphSubscription.subscription_id.is_(None)
                & GraphSubscription.last_error.is_(None),
            )
        )
    )
    rows: dict[str | None, list[Found]] = {}
    for subscription, mailbox in session.execute(query).tuples():
        rows.setdefault(subscription.subscription_id, []).append((subscription, mailbox))
    return rows


def _match(
    rows: dict[str | None, list[Found]], item: dict[str, Any], refused: Counter[int]
) -> Found | None:
    subscription_id = item["subscriptionId"]
    client_state = item.get("clientState", "")
    digest = client_state_hash(client_state)  # the request body's size is bounded upstream
    named = rows.get(subscription_id, [])
    for subscription, mailbox in named or rows.get(None, []):
        if hmac.compare_digest(subscription.client_state_hash, digest):
            return subscription, mailbox
    for subscription, _ in named:
        refused[subscription.id] += 1
    log.warning(
        "graph webhook: refused a notification for subscription %r: %s",
        subscription_id[:LOGGED_CHARS],
        "wrong clientState" if named else "not one of ours",
    )
    return None


def _sort(result: Triage, item: dict[str, Any], row: GraphSubscription, mailbox: Mailbox) -> None:
    if not mailbox.enabled or mailbox.provider != Provider.GRAPH:
        result.cleanup = True  # the upkeep deletes subscriptions of disabled mailboxes
        return
    event = item.get("lifecycleEvent")
    if not event or event == "missed":
        result.delta.add(mailbox.id)
    elif event == "reauthorizationRequired":
        result.renew.add(row.id)
    elif event == "subscriptionRemoved":
        row.subscription_id, row.expires_at = None, None
        row.last_error = "removed by Graph (subscriptionRemoved); it is created again"
        result.recreate.add(mailbox.id)
        result.delta.add(mailbox.id)  # and once more after the re-creation (the upkeep's)
    else:
        log.warning("graph webhook: unknown lifecycle event %r", event[:LOGGED_CHARS])

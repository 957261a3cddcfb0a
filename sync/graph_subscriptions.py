"""Microsoft Graph change-notification subscriptions: created, renewed ahead of expiry, deleted.

Every enabled Graph mailbox gets a subscription per `WatchedResource` its sync reads (Inbox
and Sent Items messages, or all its messages; calendar events unless its calendar is not
synced), each with its own random clientState, delivered to
``RAPPORT_WEBHOOK_URL`` for both change and lifecycle notifications. A subscription is only a
trigger: a notification makes the mailbox's delta run start sooner (``api/webhooks.py``); the
delta queries stay the source of truth and the periodic pass the safety net.

States of one subscription row::

    (none) --create--> pending (subscription_id None) --Graph 201--> active --renew--> active
                          |  Graph refused: last_error, retried by the next upkeep     |
                          '<------ subscriptionRemoved, or 404 when renewing ---------'
    active --mailbox disabled or no longer Graph--> DELETE on Graph, row deleted

Graph calls go through O365's ``Subscriptions`` on an authenticated ``Account``. No database
transaction is held open during a Graph call: creating a subscription makes Graph call our
webhook (the validation handshake) before it answers.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import quote

import requests
from sqlalchemy import select

from storage.db import Database
from storage.models import GraphSubscription, WatchedResource
from storage.subscriptions import (
    Wanted,
    active_pairs,
    client_state_hash,
    drop,
    mark_active,
    mark_failed,
    mark_missing,
    mark_pending,
    mark_renewed,
    wanted_subscriptions,
)
from storage.types import utcnow
from sync.scheduler import Scheduler

log = logging.getLogger(__name__)

# Outlook messages and events: 4,230 minutes at most (Graph's subscription lifetime table,
# reference notes §1.5); 4,200 leaves Graph's clock some slack. Under 45 minutes is raised to 45.
DEFAULT_LIFETIME = timedelta(minutes=4200)
MIN_LIFETIME, MAX_LIFETIME = timedelta(minutes=45), timedelta(minutes=4230)
RENEW_AHEAD = timedelta(hours=24)  # renew a day before expiry: a down day loses nothing
UPKEEP_EVERY = timedelta(hours=1)
CHANGE_TYPES = "created,updated,deleted"
MAX_ERROR_CHARS = 500
RESOURCE_PATHS = {
    WatchedResource.INBOX: "/users/{user}/mailFolders('inbox')/messages",
    WatchedResource.SENT: "/users/{user}/mailFolders('sentitems')/messages",
    WatchedResource.MAIL: "/users/{user}/messages",
    WatchedResource.EVENTS: "/users/{user}/events",
}
# What a Graph call can raise through O365: HTTP errors (after O365's retries), connection
# failures, and RuntimeError when the connection holds no token.
GRAPH_ERRORS = (requests.RequestException, RuntimeError)

UPKEEP_JOB, UPKEEP_NOW = "graph.subscriptions", "graph.subscriptions.now"  # scheduler job ids
UPKEEP_START_DELAY = 5.0  # seconds after the scheduler starts

_NONE = Wanted("", frozenset())  # what a mailbox no longer synced through Graph should have

# One process changes subscriptions at a time (the periodic upkeep and lifecycle jobs).
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Policy:
    """Where Graph delivers notifications and how long a subscription lives."""

    webhook_url: str  # empty: no subscriptions, polling only
    lifetime: timedelta = DEFAULT_LIFETIME

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Policy:
        minutes = timedelta(minutes=number(config, "RAPPORT_GRAPH_SUBSCRIPTION_MINUTES"))
        lifetime = min(max(minutes, MIN_LIFETIME), MAX_LIFETIME) if minutes else DEFAULT_LIFETIME
        return cls(str(config.get("RAPPORT_WEBHOOK_URL") or "").strip(), lifetime)

    @property
    def renew_ahead(self) -> timedelta:
        """Renew when less than this is left: a day, or half the lifetime if that is shorter."""
        return min(RENEW_AHEAD, self.lifetime / 2)

    @property
    def upkeep_every(self) -> timedelta:
        """Often enough that every subscription is seen at least twice inside its window."""
        return min(UPKEEP_EVERY, self.renew_ahead / 3)


class Target(NamedTuple):
    """A subscription that should exist."""

    mailbox_id: int
    address: str
    resource: WatchedResource


@dataclass
class UpkeepResult:
    subscribed: set[int] = field(default_factory=set)  # mailboxes that got a new subscription
    created: int = 0
    renewed: int = 0
    deleted: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def schedule(
    scheduler: Scheduler, db: Database, config: Mapping[str, Any], delta: Callable[[int], Any]
) -> bool:
    """Run the upkeep soon after start and then every ``Policy.upkeep_every``; ``delta(id)``
    queues a mailbox's delta run. False (and nothing scheduled) without a webhook URL."""
    policy = Policy.from_config(config)
    if not policy.webhook_url:
        log.info("RAPPORT_WEBHOOK_URL is empty: no Graph change notifications, polling only")
        return False

    def job() -> None:
        upkeep_job(db, config, delta)

    scheduler.every(UPKEEP_JOB, policy.upkeep_every.total_seconds(), job)
    scheduler.enqueue(UPKEEP_NOW, job, delay=UPKEEP_START_DELAY)
    return True


def upkeep_job(
    db: Database,
    config: Mapping[str, Any],
    delta: Callable[[int], Any] | None = None,
    *,
    renew_row: int | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> UpkeepResult:
    """`upkeep` (or, given ``renew_row``, `renew` of that row) with the tenant's Graph
    connection; then ``delta(id)`` for every mailbox that got a new subscription, so changes
    made before it existed are read now rather than at the next periodic pass."""
    from sync.errors import SyncError
    from sync.graph import connect

    policy = Policy.from_config(config)
    if not policy.webhook_url:
        if renew_row is not None:  # Graph asked for it, so subscriptions exist: misconfigured
            log.warning(
                "graph subscription %s not renewed: RAPPORT_WEBHOOK_URL is not set in this"
                " process (the sync worker needs the API's environment)",
                renew_row,
            )
        return UpkeepResult()
    try:
        with connect(db, config) as account:
            if renew_row is None:
                result = upkeep(db, account, policy, clock())
            else:
                result = renew(db, account, policy, renew_row, clock())
    except SyncError as error:  # no tenant, refused credentials, identity platform down
        log.warning("graph subscriptions not maintained: %s", error)
        return UpkeepResult(failed=1, errors=[str(error)])
    for mailbox_id in sorted(result.subscribed):
        if delta is not None:
            delta(mailbox_id)
    return result


def refresh_lines(db: Database, config: Mapping[str, Any]) -> list[str]:
    """Run the upkeep now, after an admin enabled or disabled mailboxes, so their
    subscriptions follow at once; what it did, for the command line ([] without a webhook)."""
    if not Policy.from_config(config).webhook_url:
        return []
    result = upkeep_job(db, config)
    done = (
        f"change notifications: {result.created} subscriptions created, "
        f"{result.deleted} deleted, {result.renewed} renewed, {result.failed} failed"
    )
    return [done, *(f"  {error}" for error in result.errors)]


def number(config: Mapping[str, Any], name: str) -> float:
    """A non-negative number setting (0 when empty), or a ConfigError naming it."""
    from config import ConfigError

    raw = str(config.get(name) or "").strip()
    try:
        value = float(raw) if raw else 0.0
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise ConfigError(f"{name} must be a non-negative number, not {raw[:20]!r}")
    return value


def resource_path(address: str, resource: WatchedResource) -> str:
    return RESOURCE_PATHS[resource].format(user=quote(address, safe="@"))


class RedactClientState(logging.Filter):
    """O365's connection logs every request body at DEBUG ("Request parameters: ..."), and the
    body of a subscription request carries its clientState: blank it out of those lines."""

    PATTERN = re.compile(r"""(["']clientState["']\s*:\s*)(["'])[^"']*\2""")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "clientState" in record.msg:
            record.msg = self.PATTERN.sub(r"\1\2***\2", record.msg)
        return True


def redact_o365_logs() -> None:
    """Install `RedactClientState` on O365's connection logger (once per process)."""
    o365 = logging.getLogger("O365.connection")
    if not any(isinstance(f, RedactClientState) for f in o365.filters):
        o365.addFilter(RedactClientState())


def upkeep(db: Database, account: Any, policy: Policy, now: datetime) -> UpkeepResult:
    """Make Graph's subscriptions match the enabled Graph mailboxes: delete those of disabled
    mailboxes, renew those expiring within ``policy.renew_ahead``, create the missing ones
    (including any Graph no longer knew when asked to renew). A failure is recorded on its
    row and retried by the next upkeep; it stops nothing else."""
    result = UpkeepResult()
    if not policy.webhook_url:
        return result
    redact_o365_logs()
    with _LOCK:
        stale, expiring = _plan(db, policy, now)
        for row_id, subscription_id in stale:
            _count(result, _delete(db, account, row_id, subscription_id), "deleted")
        for row_id in expiring:
            _count(result, _renew(db, account, policy, row_id, now), "renewed")
        _create_missing(db, account, policy, now, result)
    return result


def renew(db: Database, account: Any, policy: Policy, row_id: int, now: datetime) -> UpkeepResult:
    """Renew one subscription now (Graph asked: ``reauthorizationRequired``), or create it
    again if Graph no longer has it."""
    result = UpkeepResult()
    if not policy.webhook_url:
        return result
    redact_o365_logs()
    with _LOCK:
        _count(result, _renew(db, account, policy, row_id, now), "renewed")
        _create_missing(db, account, policy, now, result)
    return result


def remove_mailbox(db: Database, account: Any, mailbox_id: int) -> int:
    """Delete a mailbox's subscriptions on Graph and here (the mailbox was disabled)."""
    with _LOCK, db.transaction() as session:
        query = select(GraphSubscription.id, GraphSubscription.subscription_id)
        rows = session.execute(query.where(GraphSubscription.mailbox_id == mailbox_id)).all()
    return sum(_delete(db, account, row.id, row.subscription_id) is None for row in rows)


def _count(result: UpkeepResult, error: str | None, done: str) -> None:
    if error is None:
        setattr(result, done, getattr(result, done) + 1)
    else:
        result.failed += 1
        result.errors.append(error)


def _plan(
    db: Database, policy: Policy, now: datetime
) -> tuple[list[tuple[int, str | None]], list[int]]:
    """(rows to delete, rows to renew)."""
    with db.transaction() as session:
        wanted = wanted_subscriptions(session)
        rows = session.scalars(select(GraphSubscription)).all()
    kept = [r for r in rows if r.resource in wanted.get(r.mailbox_id, _NONE).resources]
    kept_ids = {r.id for r in kept}
    stale = [(r.id, r.subscription_id) for r in rows if r.id not in kept_ids]
    horizon = now + policy.renew_ahead
    expiring = [
        r.id
        for r in kept
        if r.subscription_id is not None and (r.expires_at is None or r.expires_at <= horizon)
    ]
    return stale, expiring


def _create_missing(
    db: Database, account: Any, policy: Policy, now: datetime, result: UpkeepResult
) -> None:
    with db.transaction() as session:
        wanted, active = wanted_subscriptions(session), active_pairs(session)
    for mailbox_id, want in sorted(wanted.items()):
        for resource in sorted(want.resources):
            if (mailbox_id, resource.value) in active:
                continue
            error = _create(db, account, policy, Target(mailbox_id, want.address, resource), now)
            _count(result, error, "created")
            if error is None:
                result.subscribed.add(mailbox_id)


def _create(
    db: Database, account: Any, policy: Policy, target: Target, now: datetime
) -> str | None:
    mailbox_id, address, resource = target
    client_state = secrets.token_urlsafe(32)  # 256 bits; Graph allows 128 characters
    # The digest is stored before Graph is asked, so a notification racing Graph's answer is
    # recognised (sync.graph_notifications also looks at rows being created).
    with db.transaction() as session:
        row_id = mark_pending(session, mailbox_id, resource, client_state_hash(client_state))
    doing = f"creating the {resource} subscription of {address}"
    try:
        created = account.subscriptions().create_subscription(
            policy.webhook_url,
            resource_path(address, resource),
            CHANGE_TYPES,
            expiration_datetime=now + policy.lifetime,
            client_state=client_state,
            lifecycle_notification_url=policy.webhook_url,
        )
    except GRAPH_ERRORS as error:
        return _failed(db, row_id, doing, error)
    if not created or not created.get("id"):
        return _failed(db, row_id, doing, None)
    expires_at = _granted(created, now + policy.lifetime)
    with db.transaction() as session:
        mark_active(session, row_id, str(created["id"]), expires_at, now)
    log.info("created the %s subscription of %s", resource, address)
    return None


def _renew(db: Database, account: Any, policy: Policy, row_id: int, now: datetime) -> str | None:
    with db.transaction() as session:
        row = session.get(GraphSubscription, row_id)
        subscription_id = row.subscription_id if row else None
    if subscription_id is None:
        return None  # gone, or not created yet: the next upkeep creates it
    try:
        renewed = account.subscriptions().renew_subscription(
            subscription_id, expiration_datetime=now + policy.lifetime
        )
    except GRAPH_ERRORS as error:
        if _status(error) != 404:
            return _failed(db, row_id, f"renewing subscription {subscription_id}", error)
        renewed = None  # expired or removed on Graph's side: created again right after
    with db.transaction() as session:
        if renewed:
            mark_renewed(session, row_id, _granted(renewed, now + policy.lifetime), now)
        else:
            mark_missing(session, row_id, "Graph no longer had it when renewing; created again")
    return None


def _delete(db: Database, account: Any, row_id: int, subscription_id: str | None) -> str | None:
    if subscription_id is not None:
        try:
            account.subscriptions().delete_subscription(subscription_id)
        except GRAPH_ERRORS as error:
            if _status(error) != 404:  # 404: already gone, which is what we want
                return _failed(db, row_id, f"deleting subscription {subscription_id}", error)
    with db.transaction() as session:
        drop(session, row_id)
    return None


def _failed(db: Database, row_id: int, doing: str, error: BaseException | None) -> str:
    # Graph's error text (O365 puts it in the exception) names no secret: the clientState is
    # only in the request body, which no exception carries.
    detail = str(error) if error is not None else "Graph gave no answer"
    message = f"{doing} failed: {detail}"[:MAX_ERROR_CHARS]
    log.warning("%s", message)
    with db.transaction() as session:
        mark_failed(session, row_id, message)
    return message


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def _granted(answer: Mapping[str, Any], asked: datetime) -> datetime:
    """The expiry Graph granted (it may shorten what was asked), else what was asked."""
    try:
        granted = datetime.fromisoformat(str(answer["expirationDateTime"]))
    except (KeyError, ValueError):
        return asked
    return granted.replace(tzinfo=UTC) if granted.tzinfo is None else granted.astimezone(UTC)

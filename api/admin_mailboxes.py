"""``GET /api/v1/admin/mailboxes``: the health of every synced mailbox, for admins only.

The same rows as ``python app.py mailboxes`` (`storage.mailbox_status`). Nothing secret is in
them: no credentials, no subscription ids, no clientState digests; failure reasons and errors
(first lines of what Graph or the identity platform answered) pass through `logsafe.redact`
all the same.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from api.admin import require_admin
from api.errors import BadRequest
from api.params import bounded_int, iso
from logsafe import redact
from storage.mailbox_status import MailboxState, SubscriptionState, mailbox_states
from storage.models import MailboxStatus, Provider
from storage.web import session

blueprint = Blueprint("admin_mailboxes", __name__, url_prefix="/admin")
blueprint.before_request(require_admin)

MAX_LIMIT = 1000


@blueprint.get("/mailboxes")
def list_mailboxes() -> dict[str, Any]:
    limit = bounded_int(request.args.get("limit"), default=200, low=1, high=MAX_LIMIT)
    states = mailbox_states(
        session(),
        provider=_choice("provider", [p.value for p in Provider]),
        status=_choice("status", [s.value for s in MailboxStatus]),
        after=request.args.get("after") or None,
        limit=limit + 1,  # one more tells whether there is a next page
    )
    page = states[:limit]
    return {
        "mailboxes": [_mailbox_json(m) for m in page],
        "next_after": page[-1].address if len(states) > limit else None,
    }


def _choice(name: str, allowed: list[str]) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise BadRequest(f"{name}: one of {', '.join(allowed)}, not {value[:40]!r}")
    return value


def _mailbox_json(m: MailboxState) -> dict[str, Any]:
    return {
        "id": m.id,
        "address": m.address,
        "provider": m.provider,
        "enabled": m.enabled,
        "status": m.status,
        "reason": _redacted(m.reason),
        "failure_count": m.failure_count,
        "last_success_at": iso(m.last_success_at),
        "next_retry_at": iso(m.next_retry_at),
        "subscription_expires_at": iso(m.subscription_expires_at),
        "subscriptions": [_subscription_json(s) for s in m.subscriptions],
    }


def _subscription_json(s: SubscriptionState) -> dict[str, Any]:
    return {
        "resource": s.resource,
        "active": s.active,
        "expires_at": iso(s.expires_at),
        "last_notification_at": iso(s.last_notification_at),
        "notifications": s.notifications,
        "refused": s.refused,
        "error": _redacted(s.error),
    }


def _redacted(text: str | None) -> str | None:
    return redact(text) if text else text

"""``POST /webhooks/graph``: Microsoft Graph change and lifecycle notifications.

Public, because Graph sends no bearer token: a notification authenticates itself with its
subscription's clientState (`sync.graph_notifications`). The view answers at once and never
syncs inline, because Graph wants an answer within 3 s and throttles, then drops, endpoints
that are often slower (``change-notifications-delivery-webhooks.md``):

- ``?validationToken=``: 200, ``text/plain``, the token echoed (subscription validation);
- notifications: 202 once their work is queued on this process's scheduler or, in a process
  without one (API workers under gunicorn), recorded in the store for the sync worker
  (``sync.handover``); 403 when no item carries the clientState of a subscription of ours;
  400 for a body that is not Graph's JSON.

Change notifications and ``missed`` queue a delta run of the mailbox through a `Coalescer`
(a burst makes one run, ``RAPPORT_WEBHOOK_DEBOUNCE`` seconds after its first notification);
``reauthorizationRequired`` queues a renewal, ``subscriptionRemoved`` a re-creation then a
delta run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from flask.typing import ResponseReturnValue

from api.errors import BadRequest, Forbidden, TooLarge
from storage.db import Database
from storage.handover import record
from storage.models import HandoverKind
from storage.types import utcnow
from storage.web import database, session
from sync.graph_notifications import Triage, triage
from sync.graph_subscriptions import number
from sync.handover import UNSTARTED, dispatch
from sync.scheduler import Coalescer, Scheduler

EXTENSION = "rapport.graph_webhooks"
SCHEDULER = "rapport.scheduler"
DELTA_JOB = "graph.notified."  # + mailbox id
# Bodies are capped by RAPPORT_MAX_REQUEST_BYTES (api.limits, 1 MiB by default): Graph batches
# notifications without resource data, a few hundred bytes each.
MAX_ITEMS = 1000
MAX_TOKEN_CHARS = 1024  # Graph's validation tokens are about 150 characters

blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
    app.extensions[EXTENSION] = Coalescer(
        lambda: app.extensions.get(SCHEDULER),
        DELTA_JOB,
        lambda mailbox_id: run_delta(app.extensions["rapport.db"], app.config, mailbox_id),
        delay=number(app.config, "RAPPORT_WEBHOOK_DEBOUNCE"),
    )


@blueprint.post("/graph")
def graph() -> ResponseReturnValue:
    token = request.args.get("validationToken")
    if token is not None:
        return _echo(token)
    found = triage(session(), _notifications(), utcnow())
    work = _work(found)
    scheduler: Scheduler | None = current_app.extensions.get(SCHEDULER)
    if scheduler is None and work:
        record(session(), work)  # for the sync worker (sync.handover), with the triage
    session().commit()
    if scheduler is not None:
        coalescer = current_app.extensions[EXTENSION]
        unstarted = current_app.extensions.get(UNSTARTED)
        dispatch(work, scheduler, coalescer, database(), current_app.config, unstarted=unstarted)
    if found.accepted:
        return {"accepted": found.accepted, "refused": found.refused}, 202
    if found.refused:
        raise Forbidden("no notification carries the clientState of a subscription of ours")
    if found.malformed:
        raise BadRequest("notifications need a subscriptionId and a clientState")
    return {"accepted": 0, "refused": 0}, 202


def _echo(token: str) -> Response:
    if len(token) > MAX_TOKEN_CHARS:
        raise BadRequest(f"validationToken longer than {MAX_TOKEN_CHARS} characters")
    # text/plain and nosniff: the echoed text can never be rendered as a page.
    response = Response(token, status=200, content_type="text/plain; charset=utf-8")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _notifications() -> list[Any]:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        raise BadRequest('expected Graph\'s notification JSON: {"value": [...]}')
    if len(body["value"]) > MAX_ITEMS:
        raise TooLarge(f"more than {MAX_ITEMS} notifications in one request")
    return list(body["value"])


def _work(found: Triage) -> list[tuple[HandoverKind, int]]:
    """What the notifications ask for: delta runs, renewals, the upkeep."""
    work = [(HandoverKind.DELTA, mailbox_id) for mailbox_id in found.delta]
    work += [(HandoverKind.RENEW, row_id) for row_id in found.renew]
    if found.recreate or found.cleanup:
        work.append((HandoverKind.UPKEEP, 0))
    return work


def run_delta(db: Database, config: Mapping[str, Any], mailbox_id: int) -> bool:
    """One delta pass of one mailbox (`sync.graph.run_mailbox`), as the coalescer's job;
    False when a pass of that mailbox was already running (the coalescer tries again)."""
    from sync.graph import run_mailbox

    return str(run_mailbox(db, config, mailbox_id).status) != "busy"

"""Admin settings: ``/api/v1/admin/...``, for colleagues with the admin role only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, request

from api.errors import BadRequest, Forbidden
from relationships.aggregate_store import bump_version
from relationships.settings import (
    BOUNDS,
    InvalidWeights,
    flat,
    load_weights,
    save_weights,
    stored_part,
)
from storage.handover import record
from storage.models import HandoverKind
from storage.web import database, session
from sync.handover import dispatch

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.before_request
def require_admin() -> None:
    if not g.user.is_admin:
        raise Forbidden("admin only")


@blueprint.get("/settings/relationships")
def get_weights() -> dict[str, Any]:
    return _weights_json(flat(load_weights(session())))


@blueprint.put("/settings/relationships")
def put_weights() -> tuple[dict[str, Any], int]:
    changes = request.get_json(silent=True)
    if not isinstance(changes, dict) or not changes:
        raise BadRequest(
            'send a JSON object of weights to change, for example {"reciprocity": 1.0}'
        )
    before = stored_part(load_weights(session()))
    try:
        weights = save_weights(session(), changes, g.user.colleague_id, g.user.email)
    except InvalidWeights as error:
        raise BadRequest(str(error)) from error
    if stored_part(weights) == before:
        # Only weights that apply when a pair is scored: the stored sums stay right, and the
        # graphs of every API process score their pairs again at their next look.
        bump_version(session())
        session().commit()
        body = _weights_json(flat(weights))
        body["rebuild"] = "not needed: these weights apply when a pair is scored"
        return body, 202
    scheduler = current_app.extensions.get("rapport.scheduler")
    if scheduler is None:
        record(session(), [(HandoverKind.REBUILD, 0)])  # for the sync worker, with the change
    session().commit()
    body = _weights_json(flat(weights))
    if scheduler is not None:
        coalescer = current_app.extensions["rapport.graph_webhooks"]
        dispatch([(HandoverKind.REBUILD, 0)], scheduler, coalescer, database(), current_app.config)
        body["rebuild"] = "queued: stored aggregates are recomputed with the new weights"
    else:
        body["rebuild"] = (
            "handed to the sync worker (`python app.py worker`), which recomputes the stored"
            " aggregates with the new weights; without a worker, run `python app.py rebuild`"
        )
    return body, 202


def _weights_json(values: dict[str, float]) -> dict[str, Any]:
    return {
        "weights": values,
        "bounds": {name: {"min": low, "max": high} for name, (low, high) in BOUNDS.items()},
    }

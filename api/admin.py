"""Admin settings: ``/api/v1/admin/...``, for colleagues with the admin role only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, request

from api.errors import BadRequest, Forbidden
from relationships.aggregate_store import rebuild
from relationships.settings import BOUNDS, InvalidWeights, flat, load_weights, save_weights
from storage.web import database, session

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
REBUILD_JOB = "relationships.rebuild"


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
    try:
        weights = save_weights(session(), changes, g.user.colleague_id, g.user.email)
    except InvalidWeights as error:
        raise BadRequest(str(error)) from error
    session().commit()
    body = _weights_json(flat(weights))
    scheduler = current_app.extensions.get("rapport.scheduler")
    if scheduler is not None:
        scheduler.enqueue(REBUILD_JOB, _rebuild_all, delay=1.0)
        body["rebuild"] = "queued: stored aggregates are recomputed with the new weights"
    else:
        body["rebuild"] = "needed: run `python app.py rebuild` to apply the weights to history"
    return body, 202


def _weights_json(values: dict[str, float]) -> dict[str, Any]:
    return {
        "weights": values,
        "bounds": {name: {"min": low, "max": high} for name, (low, high) in BOUNDS.items()},
    }


def _rebuild_all() -> None:
    with database().transaction() as db:
        rebuild(db)

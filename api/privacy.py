"""Privacy from the add-in: exclusions ("never log this address") and private threads."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from api.body import caller, firm, flag_field, json_object
from api.errors import BadRequest, Forbidden, NotFound
from api.params import iso
from storage.corrections import InvalidEdit, clean_text
from storage.models import Exclusion
from storage.privacy import add_exclusion, mark_private, remove_exclusion, unmark_private
from storage.web import session
from sync.normalize.addresses import normalize_email

blueprint = Blueprint("privacy", __name__)
MAX_CONVERSATION_ID = 255  # interactions.conversation_id


@blueprint.post("/exclusions")
def post_exclusion() -> ResponseReturnValue:
    body = json_object()
    pattern = _pattern(body)
    firm_wide = flag_field(body, "firm_wide")
    if firm_wide and not g.user.is_admin:
        raise Forbidden("only an admin may exclude an address for the whole firm")
    try:
        reason = clean_text("reason", body.get("reason") or "", 500)
    except InvalidEdit as error:
        raise BadRequest(str(error)) from error
    db = session()
    exclusion, purged = add_exclusion(db, caller(), pattern, firm_wide=firm_wide, reason=reason)
    db.commit()
    found = exclusion_json(exclusion)
    if purged is None:
        return found, 200
    return {**found, "purged": purged.to_dict()}, 201


def _pattern(body: dict[str, Any]) -> str:
    """``a@b.com`` for ``{"address"}``, ``@b.com`` for ``{"domain"}``; never the firm's own."""
    if ("address" in body) == ("domain" in body):
        raise BadRequest('give either "address" or "domain"')
    raw = body.get("address", body.get("domain"))
    if not isinstance(raw, str):
        raise BadRequest("address or domain: expected a string")
    if "address" in body:
        address = normalize_email(raw)
        if address is None:
            raise BadRequest(f"address: not an email address: {raw[:100]!r}")
        pattern, domain = address, address.rsplit("@", 1)[1]
    else:
        checked = normalize_email("x@" + raw.strip().removeprefix("@"))
        if checked is None:
            raise BadRequest(f"domain: not a domain: {raw[:100]!r}")
        domain = checked.rsplit("@", 1)[1]
        pattern = "@" + domain
    if firm().is_internal(domain):
        raise BadRequest("the firm's own addresses cannot be excluded: a colleague opts out")
    return pattern


@blueprint.get("/exclusions")
def get_exclusions() -> dict[str, Any]:
    query = select(Exclusion).order_by(Exclusion.id)
    if not g.user.is_admin:
        query = query.where(Exclusion.colleague_id == g.user.colleague_id)
    return {"items": [exclusion_json(e) for e in session().scalars(query)]}


@blueprint.delete("/exclusions/<id:exclusion_id>")
def delete_exclusion(exclusion_id: int) -> ResponseReturnValue:
    db = session()
    exclusion = db.get(Exclusion, exclusion_id)
    mine = exclusion is not None and exclusion.colleague_id == g.user.colleague_id
    if exclusion is None or not (mine or g.user.is_admin):
        raise NotFound(f"no exclusion {exclusion_id} of yours")
    remove_exclusion(db, caller(), exclusion)
    db.commit()
    return "", 204


def exclusion_json(exclusion: Exclusion) -> dict[str, Any]:
    domain = exclusion.pattern[1:] if exclusion.pattern.startswith("@") else None
    return {
        "id": exclusion.id,
        "pattern": exclusion.pattern,
        "address": None if domain else exclusion.pattern,
        "domain": domain,
        "firm_wide": exclusion.colleague_id is None,
        "colleague_id": exclusion.colleague_id,
        "reason": exclusion.reason,
        "created_at": iso(exclusion.created_at),
    }


@blueprint.put("/threads/<path:conversation_id>/private")
def put_private(conversation_id: str) -> dict[str, Any]:
    _check_conversation(conversation_id)
    db = session()
    purged = mark_private(db, caller(), conversation_id)
    db.commit()
    return {"conversation_id": conversation_id, "private": True, "purged": purged.to_dict()}


@blueprint.delete("/threads/<path:conversation_id>/private")
def delete_private(conversation_id: str) -> dict[str, Any]:
    _check_conversation(conversation_id)
    db = session()
    unmark_private(db, caller(), conversation_id)
    db.commit()
    return {"conversation_id": conversation_id, "private": False}


def _check_conversation(conversation_id: str) -> None:
    if not conversation_id.strip() or len(conversation_id) > MAX_CONVERSATION_ID:
        raise BadRequest(f"conversation id: 1 to {MAX_CONVERSATION_ID} characters")
    if not conversation_id.isprintable():
        raise BadRequest("conversation id: control characters are not allowed")

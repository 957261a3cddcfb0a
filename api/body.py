"""Reading a write request's JSON body, and who is writing."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from sqlalchemy import select

from api.errors import BadRequest
from config import firm_domains
from storage.models import Colleague
from storage.web import session
from sync.normalize.addresses import is_x500
from sync.normalize.domains import FirmDomains


def json_object() -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what to send."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object with Content-Type: application/json")
    return body


def flag_field(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise BadRequest(f"{name}: expected true or false")
    return value


def caller() -> Colleague:
    """The caller's colleague row (``api.auth`` has checked it exists)."""
    return session().get_one(Colleague, g.user.colleague_id)


def firm() -> FirmDomains:
    """The firm's domains: configured, else those of the colleagues Rapport knows."""
    configured = firm_domains(current_app.config)
    if configured:
        return FirmDomains(configured)
    emails = session().scalars(select(Colleague.email))
    return FirmDomains({e.rsplit("@", 1)[1] for e in emails if "@" in e and not is_x500(e)})

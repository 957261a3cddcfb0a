"""The HTTP surface: ``/healthz`` (open) and ``/api/v1`` (every route behind ``api.auth``)."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.routing import IntegerConverter, Map

import api.auth
import api.entra
import api.limits
from api import (
    admin,
    admin_duplicates,
    admin_mailboxes,
    admin_people,
    company_writes,
    mine,
    notes,
    paths,
    people,
    people_writes,
    privacy,
)
from api.errors import error_response
from storage.web import session


class IdConverter(IntegerConverter):
    """A row id: 1 to 2**63 - 1 (a larger number would overflow the database, so it is a 404)."""

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, min=1, max=2**63 - 1)


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    api.auth.init_app(app)
    api.entra.init_app(app)
    api.limits.init_app(app)  # after api.auth: without a token, /api/ answers 401 first
    v1 = Blueprint("v1", __name__, url_prefix="/api/v1")  # api.auth guards all of /api/
    v1.register_blueprint(people.blueprint)
    v1.register_blueprint(mine.blueprint)
    v1.register_blueprint(people_writes.blueprint)
    v1.register_blueprint(company_writes.blueprint)
    v1.register_blueprint(privacy.blueprint)
    v1.register_blueprint(notes.blueprint)
    v1.register_blueprint(paths.blueprint)
    v1.register_blueprint(admin.blueprint)
    v1.register_blueprint(admin_mailboxes.blueprint)
    v1.register_blueprint(admin_people.blueprint)
    v1.register_blueprint(admin_duplicates.blueprint)
    paths.init_app(app)
    app.register_blueprint(v1)
    app.add_url_rule("/healthz", "healthz", healthz)


def healthz() -> ResponseReturnValue:
    try:
        session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        return error_response(503, "unavailable", "the database is unreachable", database="down")
    return {"status": "ok", "database": "ok"}

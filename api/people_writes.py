"""Adding and correcting people from the add-in: ``POST /people``, ``PATCH /people/<id>``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from api.body import caller, firm, json_object
from api.errors import BadRequest, Forbidden, error_response
from api.people import person_json, survivor
from storage.corrections import AddressKnown, InvalidEdit, create_person, edit_person
from storage.models import Colleague
from storage.web import session

blueprint = Blueprint("people_writes", __name__)


@blueprint.post("/people")
def post_person() -> ResponseReturnValue:
    body = json_object()
    if "email" not in body:
        raise BadRequest("email: required")
    fields = {k: v for k, v in body.items() if k != "email"}
    db = session()
    try:
        person = create_person(db, caller(), firm(), body["email"], fields)
    except AddressKnown as known:
        message = f"someone already has this address: person {known.person_id}"
        return error_response(409, "exists", message, person_id=known.person_id)
    except InvalidEdit as error:
        raise BadRequest(str(error)) from error
    db.commit()
    return person_json(db, person, g.user.colleague_id), 201


@blueprint.patch("/people/<id:person_id>")
def patch_person(person_id: int) -> dict[str, Any]:
    body = json_object()
    if not body:
        raise BadRequest("send the fields to change: name, title, phone, address, company")
    db = session()
    person = survivor(db, person_id)
    owner = db.scalar(select(Colleague.id).where(Colleague.person_id == person.id))
    if owner is not None and owner != g.user.colleague_id and not g.user.is_admin:
        raise Forbidden("a colleague's own record is theirs (or an admin's) to correct")
    try:
        edit_person(db, caller(), person, body)
    except InvalidEdit as error:
        raise BadRequest(str(error)) from error
    db.commit()
    return person_json(db, person, g.user.colleague_id)

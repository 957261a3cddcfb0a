"""Notes and follow-ups from the add-in: ``/people/<id>/notes`` and ``/people/<id>/follow-up``."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Blueprint, g
from flask.typing import ResponseReturnValue

from api.body import caller, flag_field, json_object
from api.errors import BadRequest
from api.people import survivor
from storage.corrections import InvalidEdit, clean_text
from storage.models import Colleague, Person
from storage.notes import add_note, clear_follow_up, note_json, set_follow_up, visible_notes
from storage.web import session

blueprint = Blueprint("notes", __name__)
MAX_NOTE = 10_000  # characters
MAX_FOLLOW_UP_TEXT = 1_000
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DUE_RANGE = (date(2000, 1, 1), date(2100, 12, 31))  # anything outside is a typing slip


@blueprint.get("/people/<id:person_id>/notes")
def get_notes(person_id: int) -> dict[str, Any]:
    db = session()
    person = survivor(db, person_id)
    return {"items": visible_notes(db, g.user.colleague_id, person.id)}


@blueprint.post("/people/<id:person_id>/notes")
def post_note(person_id: int) -> tuple[dict[str, Any], int]:
    body = json_object()
    text = _text("text", body.get("text"), MAX_NOTE)
    if not text:
        raise BadRequest("text: required")
    shared = flag_field(body, "shared")
    db = session()
    person = survivor(db, person_id)
    author = caller()
    note = add_note(db, author, person.id, text, shared)
    db.commit()
    return note_json(note, author.id, _name(author)), 201


@blueprint.put("/people/<id:person_id>/follow-up")
def put_follow_up(person_id: int) -> dict[str, Any]:
    body = json_object()
    due = _due(body.get("due"))
    text = _text("text", body.get("text") or "", MAX_FOLLOW_UP_TEXT)
    db = session()
    person = survivor(db, person_id)
    found = set_follow_up(db, caller(), person.id, due, text)
    db.commit()
    return found


@blueprint.delete("/people/<id:person_id>/follow-up")
def delete_follow_up(person_id: int) -> ResponseReturnValue:
    db = session()
    person = survivor(db, person_id)
    clear_follow_up(db, caller(), person.id)
    db.commit()
    return "", 204


def _text(name: str, value: Any, limit: int) -> str:
    try:
        return clean_text(name, value, limit, multiline=True)
    except InvalidEdit as error:
        raise BadRequest(str(error)) from error


def _due(value: Any) -> date:
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        raise BadRequest('due: a date as "YYYY-MM-DD"')
    try:
        due = date.fromisoformat(value)
    except ValueError as error:
        raise BadRequest(f"due: no such date {value}") from error
    if not DUE_RANGE[0] <= due <= DUE_RANGE[1]:
        raise BadRequest("due: a date between 2000 and 2100")
    return due


def _name(author: Colleague) -> str:
    person = session().get(Person, author.person_id)
    return (person.display_name if person else "") or author.email

"""Merges an admin makes, inspects and undoes, and people marked distinct, for admins only:
``POST /admin/people/merge``, ``GET /admin/merges``, ``POST /admin/merges/<id>/undo`` and
``POST /admin/people/distinct`` (`storage.merge`, `storage.unmerge` say what each does).

A merge or an undo moves addresses between two people: their pair aggregates are recomputed
in the same request (`rebuild_stale`) and every API process's graph takes the change at its
next look (`bump_version`); a sync pass under way follows it at its next page
(`storage.addressbook.AddressBook.follow_moves`). Names are returned as stored, as JSON
strings; reasons are one line of plain text (`storage.corrections.clean_text`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, g
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.admin import require_admin
from api.body import json_object
from api.errors import BadRequest, Conflict, NotFound
from api.params import iso, paging
from relationships.aggregate_store import bump_version, rebuild_stale
from storage.corrections import InvalidEdit, clean_text
from storage.merge import MergeRefused, UnknownPerson, lock_current, mark_distinct, merge_checked
from storage.models import Person
from storage.unmerge import (
    Merge,
    UndoRefused,
    UndoState,
    UnknownMerge,
    recent_merges,
    undo_merge,
    undo_states,
)
from storage.web import session

blueprint = Blueprint("admin_people", __name__, url_prefix="/admin")
blueprint.before_request(require_admin)

MAX_ID = 2**63 - 1  # as the routes' ids (api.routes.IdConverter)
MAX_REASON = 300  # characters
MAX_LIMIT = 200


@blueprint.post("/people/merge")
def post_merge() -> dict[str, Any]:
    body = _body(required=("keep", "drop"))
    keep, drop, reason = _id(body, "keep"), _id(body, "drop"), _reason(body)
    db = session()
    try:
        event = merge_checked(db, keep, drop, reason, _actor())
    except UnknownPerson as error:
        raise NotFound(str(error)) from error
    except MergeRefused as error:
        raise Conflict(str(error)) from error
    db.flush()  # the event's id
    merged = {
        "survivor": keep,
        "merged": drop,
        "merge_event": event.id,
        "addresses": list(event.details["addresses"]),
    }
    _settle(db)
    db.commit()
    return merged


@blueprint.get("/merges")
def list_merges() -> dict[str, Any]:
    limit, offset = paging(default=50, high=MAX_LIMIT)
    db = session()
    found = recent_merges(db, limit + 1, offset)  # one more tells whether a page follows
    page = found[:limit]
    states = undo_states(db, page)
    names = _names(db, [m.keep for m in page] + [m.drop for m in page])
    return {
        "items": [_merge_json(m, states[m.event], names) for m in page],
        "next_offset": offset + limit if len(found) > limit else None,
    }


@blueprint.post("/merges/<id:event_id>/undo")
def post_undo(event_id: int) -> dict[str, Any]:
    db = session()
    try:
        restored = undo_merge(db, event_id, _actor())
    except UnknownMerge as error:
        raise NotFound(str(error)) from error
    except UndoRefused as error:
        raise Conflict(str(error)) from error
    _settle(db)
    db.commit()
    return {"restored": restored, "merge_event": event_id}


@blueprint.post("/people/distinct")
def post_distinct() -> dict[str, Any]:
    body = _body(required=("a", "b"))
    a, b, reason = _id(body, "a"), _id(body, "b"), _reason(body)
    db = session()
    try:
        if a != b:
            lock_current(db, [a, b])
        low, high = mark_distinct(db, a, b, _actor(), reason)
    except UnknownPerson as error:
        raise NotFound(str(error)) from error
    except MergeRefused as error:
        raise Conflict(str(error)) from error
    db.commit()
    return {"a": low, "b": high, "reason": reason}


def _settle(db: Session) -> None:
    """Recompute the pairs of the people a merge or an undo marked stale, and tell every
    API process's graph that pairs changed."""
    rebuild_stale(db)
    bump_version(db)


def _merge_json(merge: Merge, state: UndoState, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": merge.event,
        "at": iso(merge.at),
        "actor": merge.actor,
        "reason": merge.reason,
        "keep": {"id": merge.keep, "name": names.get(merge.keep, "")},
        "merged": {"id": merge.drop, "name": names.get(merge.drop, "")},
        "addresses": list(merge.addresses),
        "undone": state.undone_by is not None,
        "undoable": state.refusal is None,
        "why_not": state.refusal,
    }


def _names(db: Session, people: Iterable[int]) -> dict[int, str]:
    query = select(Person.id, Person.display_name).where(Person.id.in_(sorted(set(people))))
    return {int(pid): name or "" for pid, name in db.execute(query).tuples()}


def _body(required: tuple[str, str]) -> dict[str, Any]:
    body = json_object()
    allowed = (*required, "reason")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0][:40]!r}: send {', '.join(allowed)}")
    return body


def _id(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise BadRequest(f"{name}: required, a person id (a whole number from 1)")
    return value


def _reason(body: dict[str, Any]) -> str:
    value = body.get("reason")
    try:
        return "" if value is None else clean_text("reason", value, MAX_REASON)
    except InvalidEdit as error:
        raise BadRequest(str(error)) from error


def _actor() -> str:
    return str(g.user.email)

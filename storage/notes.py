"""Notes and follow-ups colleagues keep about people; data functions that never commit.

Both hang off a person id. A merge keeps the dropped record (``Person.merged_into_id``), so
reads gather the person's merged records too: a note written before a merge stays visible.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.audit import record
from storage.models import Colleague, FollowUp, Note, Person
from storage.models.base import table_of
from storage.types import utcnow

MAX_MERGED = 1000  # records merged into one person; more is corrupt data, not history


def merged_ids(session: Session, person_id: int) -> list[int]:
    """The person and every record merged into it, directly or through a chain."""
    found = [person_id]
    frontier = [person_id]
    while frontier and len(found) < MAX_MERGED:
        query = select(Person.id).where(Person.merged_into_id.in_(frontier))
        frontier = [pid for pid in session.scalars(query) if pid not in found]
        found.extend(frontier)
    return found


def visible_notes(session: Session, colleague_id: int, person_id: int) -> list[dict[str, Any]]:
    """The caller's own notes about the person and the notes others shared, newest first."""
    query = (
        select(Note, Colleague.email, Person.display_name)
        .join(Colleague, Colleague.id == Note.author_id)
        .join(Person, Person.id == Colleague.person_id)
        .where(
            Note.person_id.in_(merged_ids(session, person_id)),
            or_(Note.author_id == colleague_id, Note.shared.is_(True)),
        )
        .order_by(Note.created_at.desc(), Note.id.desc())
    )
    return [
        note_json(note, colleague_id, name or email)
        for note, email, name in session.execute(query).tuples()
    ]


def note_json(note: Note, viewer_id: int, author_name: str) -> dict[str, Any]:
    return {
        "id": note.id,
        "person_id": note.person_id,
        "text": note.text,
        "shared": note.shared,
        "mine": note.author_id == viewer_id,
        "author": {"colleague_id": note.author_id, "name": author_name},
        "created_at": note.created_at.isoformat(),
    }


def add_note(session: Session, author: Colleague, person_id: int, text: str, shared: bool) -> Note:
    note = Note(person_id=person_id, author_id=author.id, text=text, shared=shared)
    session.add(note)
    session.flush()
    record(session, author, "note.create", ("note", note.id), {"person_id": person_id})
    return note


def follow_up_of(session: Session, colleague_id: int, person_id: int) -> dict[str, Any] | None:
    """The caller's follow-up on the person (or on a record merged into it), if any."""
    query = (
        select(FollowUp)
        .where(
            FollowUp.colleague_id == colleague_id,
            FollowUp.person_id.in_(merged_ids(session, person_id)),
        )
        .order_by(FollowUp.due)
    )
    found = session.scalars(query).first()
    if found is None:
        return None
    return {
        "due": found.due.isoformat(),
        "text": found.text,
        "updated_at": found.updated_at.isoformat(),
    }


def set_follow_up(
    session: Session, colleague: Colleague, person_id: int, due: date, text: str
) -> dict[str, Any]:
    """Set (or move) the colleague's one follow-up on the person: an upsert, so two requests
    at once leave one row."""
    others = [pid for pid in merged_ids(session, person_id) if pid != person_id]
    if others:
        session.execute(
            delete(FollowUp).where(
                FollowUp.colleague_id == colleague.id, FollowUp.person_id.in_(others)
            )
        )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    values = {"due": due, "text": text, "updated_at": utcnow()}
    statement = dialect.insert(table_of(FollowUp)).values(
        colleague_id=colleague.id, person_id=person_id, **values
    )
    session.execute(
        statement.on_conflict_do_update(index_elements=["colleague_id", "person_id"], set_=values)
    )
    record(session, colleague, "follow_up.set", ("person", person_id), {"due": due.isoformat()})
    found = follow_up_of(session, colleague.id, person_id)
    assert found is not None
    return found


def clear_follow_up(session: Session, colleague: Colleague, person_id: int) -> bool:
    """Remove the colleague's follow-up on the person; True if there was one."""
    statement = delete(FollowUp).where(
        FollowUp.colleague_id == colleague.id,
        FollowUp.person_id.in_(merged_ids(session, person_id)),
    )
    removed = bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]
    if removed:
        record(session, colleague, "follow_up.clear", ("person", person_id))
    return removed

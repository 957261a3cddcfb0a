"""The caller's own view for the add-in: who am I, my tie to a person, my interactions with
them, and what Rapport knows of the message open in Outlook.

Privacy: a subject is returned only for an interaction one of the caller's own mailboxes saw;
an interaction the caller took part in but only a colleague's mailbox synced is listed with its
date and kind, never that colleague's subject (docs/api.md).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from flask import Blueprint, g, request
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from api.errors import BadRequest
from api.params import as_of, bounded_int, iso
from api.people import first_address, survivor
from relationships.aggregate_store import clocks_at, clocks_from_pairs
from relationships.explain import details
from relationships.past import as_of as pair_as_of
from relationships.settings import load_weights
from relationships.strength import TREND_WINDOW
from relationships.ties import Clocks, tie
from storage.models import (
    Colleague,
    EmailAddress,
    Exclusion,
    Interaction,
    InteractionKey,
    Mailbox,
    Participant,
    Person,
    PrivateThread,
    Relationship,
    Sighting,
)
from storage.web import session
from sync.normalize.addresses import normalize_email
from sync.rules import Exclusions

blueprint = Blueprint("mine", __name__)
MAX_MESSAGE_ID = 998  # RFC 5322 section 2.1.1: a header line is at most 998 characters


@blueprint.get("/me")
def get_me() -> dict[str, Any]:
    name = session().scalar(select(Person.display_name).where(Person.id == g.user.person_id))
    return {
        "colleague_id": g.user.colleague_id,
        "person_id": g.user.person_id,
        "email": g.user.email,
        "name": name or g.user.email,
        "admin": g.user.is_admin,
    }


@blueprint.get("/people/<id:person_id>/strength")
def get_strength(person_id: int) -> dict[str, Any]:
    """The caller's own tie to the person, explained; score 0 and tier "none" without one."""
    db = session()
    person = survivor(db, person_id)
    at = as_of(request.args.get("at"))
    me = g.user.person_id
    weights = load_weights(db)
    stored = db.get(Relationship, (min(me, person.id), max(me, person.id)))
    # A past moment (?at=): the pair as it stood then, mail after it taken out.
    row = stored if stored is None or "at" not in request.args else pair_as_of(stored, at, weights)
    if row is None or person.id == me:
        return {
            "score": 0,
            "tier": "none",
            "trend": 0.0,
            "last_contact": None,
            "last_contact_estimated": False,
            "explanation": None,
        }
    # My clock (the quiet factor's) now, or at the moment asked for, and at the trend's base.
    if "at" in request.args:
        clocks = clocks_at(db, [me], (at, at - TREND_WINDOW))
        clock, then = (found.get(me) for found in clocks)
    else:
        clock = db.scalar(select(Colleague.last_sent_at).where(Colleague.person_id == me))
        then = clocks_from_pairs(db, [me], at - TREND_WINDOW).get(me)
    seen = tie(row, me, at, weights, Clocks(clock, then))
    return {
        "score": seen.score,
        "tier": seen.tier,
        "trend": seen.trend,
        "last_contact": iso(seen.last_at),
        "last_contact_estimated": seen.estimated[2],
        "explanation": details(
            seen, "You", person.display_name or first_address(db, person.id) or "them"
        ),
    }


@blueprint.get("/people/<id:person_id>/interactions")
def get_interactions(person_id: int) -> dict[str, Any]:
    """The caller's own interactions with the person, newest first, ``limit`` at a time."""
    db = session()
    person = survivor(db, person_id)
    limit = bounded_int(request.args.get("limit"), default=20, low=1, high=200)
    before = _cursor(db, request.args.get("before"))
    rows = db.execute(_interactions_query(person.id, before).limit(limit + 1)).all()
    page = rows[:limit]
    ids = [r.id for r in page]
    mine = _my_sightings(db, ids)
    roles = _roles(db, person.id, ids)
    items = [_interaction_json(r, mine.get(r.id), roles.get(r.id, [])) for r in page]
    return {
        "person": {"id": person.id, "display_name": person.display_name},
        "items": items,
        "next_before": str(page[-1].id) if len(rows) > limit else None,
    }


def _cursor(db: Session, raw: str | None) -> tuple[datetime, int] | None:
    """``before``: the ``next_before`` of a previous page (an interaction id) or an ISO time."""
    if not raw:
        return None
    if raw.isdigit() and len(raw) < 19:
        at = db.scalar(select(Interaction.occurred_at).where(Interaction.id == int(raw)))
        if at is None:
            raise BadRequest(f"before: no interaction {raw}")
        return at, int(raw)
    return as_of(raw), 0


def _interactions_query(person_id: int, before: tuple[datetime, int] | None) -> Any:
    me = g.user
    i = Interaction
    with_person = select(Participant.interaction_id).join(
        EmailAddress, EmailAddress.id == Participant.address_id
    )
    my_boxes = select(Mailbox.id).where(Mailbox.colleague_id == me.colleague_id)
    seen_by_me = select(Sighting.interaction_id).where(Sighting.mailbox_id.in_(my_boxes))
    query = (
        select(i.id, i.kind, i.occurred_at, i.subject, i.sender_address_id)
        .where(
            i.id.in_(with_person.where(EmailAddress.person_id == person_id)),
            or_(
                i.id.in_(with_person.where(EmailAddress.person_id == me.person_id)),
                i.id.in_(seen_by_me),
            ),
            i.is_internal.is_(False),
            i.cancelled.is_(False),
        )
        .order_by(i.occurred_at.desc(), i.id.desc())
    )
    if before is not None:
        at, iid = before
        query = query.where(or_(i.occurred_at < at, and_(i.occurred_at == at, i.id < iid)))
    return query


def _my_sightings(db: Session, ids: list[int]) -> dict[int, str]:
    """Interaction id -> direction ("in" | "out") for those the caller's mailboxes saw."""
    if not ids:
        return {}
    query = (
        select(Sighting.interaction_id, Sighting.direction)
        .join(Mailbox, Mailbox.id == Sighting.mailbox_id)
        .where(Sighting.interaction_id.in_(ids), Mailbox.colleague_id == g.user.colleague_id)
        .order_by(Sighting.id)
    )
    found: dict[int, str] = {}
    for iid, direction in db.execute(query).tuples():
        found.setdefault(iid, direction)
    return found


def _roles(db: Session, person_id: int, ids: list[int]) -> dict[int, list[str]]:
    """Interaction id -> the person's roles in it (from, to, cc, organizer, attendee...)."""
    if not ids:
        return {}
    query = (
        select(Participant.interaction_id, Participant.role)
        .join(EmailAddress, EmailAddress.id == Participant.address_id)
        .where(Participant.interaction_id.in_(ids), EmailAddress.person_id == person_id)
        .order_by(Participant.role)
    )
    found: dict[int, list[str]] = {}
    for iid, role in db.execute(query).tuples():
        found.setdefault(iid, []).append(role)
    return found


def _interaction_json(row: Any, direction: str | None, roles: list[str]) -> dict[str, Any]:
    own = direction is not None
    if direction is None and row.kind == "email":
        direction = "in" if "from" in roles else "out"
    return {
        "id": row.id,
        "kind": row.kind,
        "occurred_at": iso(row.occurred_at),
        "direction": direction if row.kind == "email" else None,
        "subject": row.subject if own else None,  # never another colleague's subject
        "in_my_mailbox": own,
        "their_roles": roles,
    }


@blueprint.get("/messages/state")
def get_message_state() -> dict[str, Any]:
    """What Rapport knows of the message open in Outlook: logged, private thread, excluded."""
    db = session()
    message_id = request.args.get("internet_message_id", "").strip()
    conversation = request.args.get("conversation_id", "").strip()
    if not message_id and not conversation:
        raise BadRequest("give internet_message_id and/or conversation_id")
    if len(message_id) > MAX_MESSAGE_ID or len(conversation) > 255:
        raise BadRequest("internet_message_id or conversation_id is too long")
    stored = _stored(db, message_id) if message_id else None
    logged = stored is not None and not stored.is_internal
    sender = _sender(db, request.args.get("from"), stored)
    return {
        "logged": logged,
        "interaction_id": stored.id if logged and stored is not None else None,
        "private": bool(conversation) and _is_private(db, conversation),
        "excluded": sender is not None and my_exclusions(db).excludes(sender),
    }


def message_key(message_id: str) -> str:
    """The dedup key ingest stores for an Internet Message-ID (``sync.keys.item_keys``)."""
    value = message_id.strip().strip("<>").strip()
    digest = hashlib.sha1(value.encode("utf-8", "surrogatepass"), usedforsecurity=False)
    return "m:" + digest.hexdigest()


def _stored(db: Session, message_id: str) -> Interaction | None:
    key = message_key(message_id)
    iid = db.scalar(select(InteractionKey.interaction_id).where(InteractionKey.key == key))
    return db.get(Interaction, iid) if iid is not None else None


def _sender(db: Session, raw: str | None, stored: Interaction | None) -> str | None:
    if raw:
        address = normalize_email(raw)
        if address is None:
            raise BadRequest(f"from: not an email address: {raw[:100]!r}")
        return address
    if stored is None or stored.sender_address_id is None:
        return None
    return db.scalar(
        select(EmailAddress.address).where(EmailAddress.id == stored.sender_address_id)
    )


def _is_private(db: Session, conversation: str) -> bool:
    query = select(PrivateThread.id).where(
        PrivateThread.colleague_id == g.user.colleague_id,
        PrivateThread.conversation_id == conversation,
    )
    return db.scalar(query) is not None


def my_exclusions(db: Session) -> Exclusions:
    """The exclusions that apply to the caller's mailboxes: firm-wide ones and their own."""
    query = select(Exclusion.pattern).where(
        or_(Exclusion.colleague_id.is_(None), Exclusion.colleague_id == g.user.colleague_id)
    )
    return Exclusions(db.scalars(query))

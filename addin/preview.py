"""``/addin/preview``: the task pane in an ordinary browser, for demos and development.

The page shows a colleague's recent client mail (from the store) beside the real pane, which runs
on a stand-in Office object (``addin/static/preview/office-stub.js``) instead of Microsoft's
Office.js: picking a message feeds it to the pane as Outlook would. The pane signs in with a dev
token minted for that colleague (``api.tokens``), so these routes exist only when
``RAPPORT_DEV_AUTH=1``, which production refuses (``addin.web.init_app`` registers them).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from addin.web import STATIC, pane_page
from api.errors import BadRequest
from api.tokens import issue_dev_token
from storage.models import (
    Colleague,
    EmailAddress,
    Interaction,
    Mailbox,
    Participant,
    Person,
    Sighting,
)
from storage.web import session
from sync.normalize.addresses import normalize_email

SAMPLES = 30  # messages offered in the picker
TOKEN_TTL = timedelta(hours=2)
SHOWN_ROLES = ("from", "to", "cc")  # what Outlook shows of a received message

blueprint = Blueprint("preview", __name__, url_prefix="/addin/preview", template_folder=str(STATIC))


@blueprint.get("")
def index() -> Response:
    return pane_page("preview/preview.html", office_js="")


@blueprint.get("/taskpane.html")
def taskpane() -> Response:
    return pane_page("taskpane.html", url_for("addin.static", filename="preview/office-stub.js"))


@blueprint.get("/session.json")
def preview_session() -> dict[str, Any]:
    """The preview's colleague (``?as=`` or the first admin with a mailbox), a dev token for
    them, the colleagues one may switch to, and their recent client mail as sample messages."""
    db = session()
    colleagues = _colleagues(db)
    if not colleagues:
        raise BadRequest("no colleague has a mailbox yet: import mail first (python app.py demo)")
    user = _chosen(colleagues, request.args.get("as"))
    return {
        "user": user,
        "token": issue_dev_token(current_app.config, user["email"], ttl=TOKEN_TTL),
        "colleagues": colleagues,
        "messages": sample_messages(db, user["colleague_id"], SAMPLES),
    }


def _colleagues(db: Session) -> list[dict[str, Any]]:
    """Colleagues with a mailbox, admins first."""
    rows = db.execute(
        select(Colleague.id, Colleague.email, Person.display_name, Colleague.is_admin)
        .join(Person, Person.id == Colleague.person_id)
        .where(Colleague.id.in_(select(Mailbox.colleague_id)))
        .order_by(Colleague.is_admin.desc(), Colleague.id)
    ).all()
    return [
        {"colleague_id": r.id, "email": r.email, "name": r.display_name or r.email} for r in rows
    ]


def _chosen(colleagues: list[dict[str, Any]], raw: str | None) -> dict[str, Any]:
    if not raw:
        return colleagues[0]
    email = normalize_email(raw)
    for colleague in colleagues:
        if colleague["email"] == email:
            return colleague
    raise BadRequest(f"as: {raw[:100]!r} is not a colleague with a mailbox")


def sample_messages(db: Session, colleague_id: int, limit: int) -> list[dict[str, Any]]:
    """The colleague's latest client emails as Outlook would show them: subject, ids, and the
    sender and recipients with the display names the store learned from mail headers."""
    mine = (
        select(Sighting.interaction_id)
        .join(Mailbox, Mailbox.id == Sighting.mailbox_id)
        .where(Mailbox.colleague_id == colleague_id)
    )
    interactions = db.scalars(
        select(Interaction)
        .where(
            Interaction.id.in_(mine),
            Interaction.kind == "email",
            Interaction.is_internal.is_(False),
        )
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
    ).all()
    people = _participants(db, [i.id for i in interactions])
    return [_message(i, people[i.id]) for i in interactions]


def _participants(db: Session, ids: list[int]) -> dict[int, dict[str, list[dict[str, str]]]]:
    found: dict[int, dict[str, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
    if not ids:
        return found
    rows = db.execute(
        select(
            Participant.interaction_id, Participant.role, EmailAddress.address, Person.display_name
        )
        .join(EmailAddress, EmailAddress.id == Participant.address_id)
        .join(Person, Person.id == EmailAddress.person_id)
        .where(Participant.interaction_id.in_(ids), Participant.role.in_(SHOWN_ROLES))
        .order_by(Participant.interaction_id, EmailAddress.id)
    ).all()
    for row in rows:
        found[row.interaction_id][row.role].append(
            {"name": row.display_name or "", "email": row.address}
        )
    return found


def _message(interaction: Interaction, roles: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    sender = roles.get("from") or [{"name": "", "email": ""}]
    return {
        "mode": "read",
        "subject": interaction.subject or "",
        "internetMessageId": f"<{interaction.message_id}>" if interaction.message_id else None,
        "conversationId": interaction.conversation_id,
        "date": interaction.occurred_at.isoformat(),
        "from": sender[0],
        "to": roles.get("to", []),
        "cc": roles.get("cc", []),
    }

"""Privacy actions from the add-in: never log an address or domain, mark a thread private.

Each takes effect twice:

- **ingest**: the engine reads the exclusions and private threads of a mailbox's owner when a
  run starts (``storage.mailboxes.exclusion_patterns``, ``private_conversations``), and the
  logging rules skip what they cover (``sync.rules.classify``);
- **what is already stored** is purged now, to what ingest would have stored had the rule
  existed from the start (``storage.purge``).

Removing a rule lets the next full sync bring back what it reads again; nothing purged is kept.
Every change is audited. All functions take the session first and never commit.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.audit import record
from storage.companies import insert_ignore
from storage.models import Colleague, Exclusion, PrivateThread
from storage.purge import Purged, count, purge_exclusion, purge_private_thread
from storage.types import utcnow


def private_conversations(session: Session, colleague_id: int) -> list[str]:
    query = select(PrivateThread.conversation_id).where(PrivateThread.colleague_id == colleague_id)
    return list(session.scalars(query))


def mark_private(session: Session, actor: Colleague, conversation_id: str) -> Purged:
    """Mark the thread private for ``actor``'s mailboxes (idempotent) and purge their copies."""
    session.execute(
        insert_ignore(session, PrivateThread),
        [{"colleague_id": actor.id, "conversation_id": conversation_id, "created_at": utcnow()}],
    )
    purged = purge_private_thread(session, actor.id, conversation_id)
    details = {"conversation_id": conversation_id, "purged": purged.to_dict()}
    record(session, actor, "thread.private", ("colleague", actor.id), details)
    return purged


def unmark_private(session: Session, actor: Colleague, conversation_id: str) -> bool:
    statement = delete(PrivateThread).where(
        PrivateThread.colleague_id == actor.id, PrivateThread.conversation_id == conversation_id
    )
    removed = count(session, statement) > 0
    if removed:
        details = {"conversation_id": conversation_id}
        record(session, actor, "thread.unprivate", ("colleague", actor.id), details)
    return removed


def add_exclusion(
    session: Session, actor: Colleague, pattern: str, *, firm_wide: bool, reason: str
) -> tuple[Exclusion, Purged | None]:
    """The exclusion of ``pattern`` for ``actor`` (or the whole firm), and what adding it
    purged; ``None`` instead of a purge when it already existed."""
    owner = None if firm_wide else actor.id
    row = {
        "pattern": pattern,
        "colleague_id": owner,
        "owner_key": owner or 0,
        "reason": reason,
        "created_by": actor.id,
        "created_at": utcnow(),
    }
    # RETURNING, not rowcount: drivers need not report rows inserted (psycopg 3 through SQLAlchemy
    # answers -1), and a conflict returns no row.
    inserted = insert_ignore(session, Exclusion).values(row).returning(Exclusion.id)
    created = session.execute(inserted).first() is not None
    query = select(Exclusion).where(
        Exclusion.pattern == pattern, Exclusion.owner_key == (owner or 0)
    )
    exclusion = session.scalars(query).one()
    if not created:
        return exclusion, None
    purged = purge_exclusion(session, pattern, owner)
    details = {"pattern": pattern, "firm_wide": firm_wide, "purged": purged.to_dict()}
    record(session, actor, "exclusion.create", ("exclusion", exclusion.id), details)
    return exclusion, purged


def remove_exclusion(session: Session, actor: Colleague, exclusion: Exclusion) -> None:
    details = {"pattern": exclusion.pattern, "firm_wide": exclusion.colleague_id is None}
    session.delete(exclusion)
    record(session, actor, "exclusion.delete", ("exclusion", exclusion.id), details)

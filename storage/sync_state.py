"""Sync cursors: one row per (mailbox, folder, source), written with the page it follows."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import SyncCursor
from storage.types import utcnow


def load_cursor(session: Session, mailbox_id: int, folder: str, source: str) -> str | None:
    return session.scalar(
        select(SyncCursor.cursor).where(
            SyncCursor.mailbox_id == mailbox_id,
            SyncCursor.folder == folder,
            SyncCursor.source == source,
        )
    )


def save_cursor(session: Session, mailbox_id: int, folder: str, source: str, cursor: str) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(SyncCursor).values(
        mailbox_id=mailbox_id, folder=folder, source=source, cursor=cursor, updated_at=utcnow()
    )
    statement = statement.on_conflict_do_update(
        index_elements=["mailbox_id", "folder", "source"],
        set_={"cursor": cursor, "updated_at": utcnow()},
    )
    session.execute(statement)


def reset_cursors(session: Session, mailbox_id: int, source: str | None = None) -> int:
    """Forget where a mailbox stopped, so its next run reads everything again."""
    statement = delete(SyncCursor).where(SyncCursor.mailbox_id == mailbox_id)
    if source is not None:
        statement = statement.where(SyncCursor.source == source)
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]

"""Writing the audit trail: one ``AuditEvent`` per edit, with who, when and what changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from storage.models import AuditEvent, Colleague
from storage.types import utcnow


def record(
    session: Session,
    actor: Colleague,
    action: str,
    target: tuple[str, int | str],
    details: dict[str, Any] | None = None,
) -> None:
    """Add an audit event for ``actor`` doing ``action`` to ``target`` (type, id); no commit."""
    target_type, target_id = target
    session.add(
        AuditEvent(
            at=utcnow(),
            actor_id=actor.id,
            actor=actor.email,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            details=details or {},
        )
    )

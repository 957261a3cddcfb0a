"""Interactions: finding the ones already stored by key, inserting new ones in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from storage.bulk import execute_many, select_in
from storage.companies import insert_ignore
from storage.ids import insert_with_ids
from storage.models import Interaction, InteractionKey
from storage.models.base import table_of
from sync.items import Role

if TYPE_CHECKING:
    from storage.addressbook import AddressBook
    from sync.rules import Verdict

RECIPIENT_ROLES = frozenset({Role.TO, Role.CC, Role.BCC, Role.ATTENDEE})


def find_existing(session: Session, keys: Sequence[str]) -> dict[str, int]:
    """Key -> interaction id for the keys already stored."""
    table = table_of(InteractionKey)
    rows = select_in(session, table, ("key", "interaction_id"), "key", sorted(set(keys)))
    return dict(rows)  # type: ignore[arg-type]  # rows of (key, id)


def _row(verdict: Verdict, book: AddressBook) -> dict[str, object]:
    item = verdict.item
    internal = verdict.outcome == "internal"
    audience = {p.address.email for p in item.participants if p.role in RECIPIENT_ROLES}
    return {
        "kind": item.kind.value,
        "occurred_at": item.sent_at,
        "ended_at": item.end_at,
        # Internal-only mail keeps metadata only: its subject is never stored.
        "subject": None if internal else item.subject[:2000],
        "message_id": item.message_id,
        "ical_uid": item.ical_uid,
        "conversation_id": item.conversation_id,
        "in_reply_to": item.in_reply_to,
        "references": " ".join(item.references)[:8000] or None,
        "sender_address_id": book.get(item.sender.email).address_id if item.sender else None,
        "audience_size": len(audience),
        "is_internal": internal,
        "cancelled": item.markers.cancelled,
    }


def insert_interactions(
    session: Session, fresh: Sequence[tuple[Verdict, list[str]]], book: AddressBook
) -> list[int]:
    """Insert new interactions and their keys; returns their ids in order."""
    if not fresh:
        return []
    ids = insert_with_ids(session, Interaction, [_row(verdict, book) for verdict, _ in fresh])
    key_rows = [
        {"key": key, "interaction_id": iid}
        for (_, keys), iid in zip(fresh, ids, strict=True)
        for key in keys
    ]
    statement = insert_ignore(session, InteractionKey)
    execute_many(session, statement, key_rows, key="insert-ignore interaction_keys")
    return ids

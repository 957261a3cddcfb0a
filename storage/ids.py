"""Bulk inserts that know their new ids without ``RETURNING``.

``INSERT ... RETURNING`` of many rows in parameter order makes SQLAlchemy fall back to one row per
statement on SQLite (it cannot prove the order of returned rows there), which was a third of the
ingest time. Instead the ids are allocated first and inserted explicitly:

- PostgreSQL: ``nextval`` of the table's own sequence, so concurrent writers never collide.
- SQLite: one past the largest id. Every write transaction starts with ``BEGIN IMMEDIATE``
  (``storage.db``), so no other writer can insert between the ``max`` and the insert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from storage.bulk import execute_many, has_json
from storage.models.base import Base, table_of


def insert_with_ids(
    session: Session, model: type[Base], rows: Sequence[Mapping[str, object]]
) -> list[int]:
    """Insert ``rows`` into ``model``'s table; returns their new ids in row order."""
    if not rows:
        return []
    ids = allocate_ids(session, model, len(rows))
    table = table_of(model)
    rows_with_ids = [{**row, "id": i} for row, i in zip(rows, ids, strict=True)]
    if has_json(table):
        session.execute(insert(table), rows_with_ids)
    else:
        execute_many(session, insert(table), rows_with_ids, key=f"insert {table.name}")
    return ids


def allocate_ids(session: Session, model: type[Base], count: int) -> list[int]:
    table = table_of(model)
    if session.get_bind().dialect.name == "postgresql":
        sequence = session.scalar(
            text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
        )
        query = text("SELECT nextval(:s) FROM generate_series(1, :n)")
        return list(session.scalars(query, {"s": sequence, "n": count}))
    start = session.scalar(select(func.max(table.c.id))) or 0
    return list(range(start + 1, start + count + 1))

"""Many-row INSERTs straight through the driver's ``executemany``, for the ingest hot path.

SQLAlchemy's executemany processes every parameter of every row in Python (bind processors,
defaults, type coercion): a third of the ingest time on the Enron data. Here a statement is
compiled once per dialect and column list, and rows go to the driver as they are, with the two
conversions the driver cannot do itself:

- Python-side column defaults (``default=utcnow``) are evaluated once per call;
- on SQLite, datetimes become the text SQLAlchemy stores (``storage.types.UTCDateTime``:
  naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``), so rows written here read back like any other.

Only for tables of plain columns (integers, text, booleans, datetimes); JSON columns go through
the ORM.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

# Compile targets whose placeholders take a dict per row: ":name" and "%(name)s".
_COMPILERS: dict[str, Dialect] = {
    "sqlite": sqlite.dialect(paramstyle="named"),
    "postgresql": postgresql.psycopg.dialect(),  # type: ignore[no-untyped-call]
}


def execute_many(
    session: Session, statement: Insert, rows: Sequence[Mapping[str, Any]], key: str
) -> None:
    """Run ``statement`` (an INSERT, maybe with ON CONFLICT) once per row of ``rows``.

    ``key`` names the statement's shape for the compile cache (the same key must always come
    with the same statement); every row has the keys of the first.
    """
    if not rows:
        return
    name = session.get_bind().dialect.name
    table = statement.table
    assert isinstance(table, Table) and not has_json(table), "JSON columns need the ORM path"
    columns = tuple(rows[0])
    defaults = _defaults(table, columns)
    sql = _compiled(name, key, statement, columns + tuple(defaults))
    fill = {k: v() if callable(v) else v for k, v in defaults.items()}
    if name == "sqlite":
        params = [_sqlite_row(row, fill) for row in rows]
    else:
        params = [{**row, **fill} for row in rows]
    session.connection().exec_driver_sql(sql, params)


def _compiled(name: str, key: str, statement: Insert, columns: tuple[str, ...]) -> str:
    return _compile_cached(name, key, columns, _Uncached(statement))


class _Uncached:
    """Carries a statement through ``functools.cache`` without taking part in its key."""

    def __init__(self, statement: Insert) -> None:
        self.statement = statement

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Uncached)


@functools.cache
def _compile_cached(name: str, key: str, columns: tuple[str, ...], carried: _Uncached) -> str:
    compiled = carried.statement.compile(dialect=_COMPILERS[name], column_keys=list(columns))
    return str(compiled)


def has_json(table: Table) -> bool:
    return any(isinstance(column.type, JSON) for column in table.columns)


def _defaults(table: Table, columns: tuple[str, ...]) -> dict[str, Any]:
    found = {}
    for column in table.columns:
        if column.name in columns or column.default is None or column.primary_key:
            continue
        default = column.default
        if default.is_scalar:
            found[column.name] = default.arg  # type: ignore[attr-defined]
        elif default.is_callable:
            function = default.arg.__wrapped__  # type: ignore[attr-defined]
            found[column.name] = function
    return found


def _sqlite_row(row: Mapping[str, Any], fill: Mapping[str, Any]) -> dict[str, Any]:
    out = {**row, **fill}
    for name, value in out.items():
        if isinstance(value, datetime):
            out[name] = sqlite_datetime(value)
    return out


def sqlite_datetime(value: datetime) -> str:
    """The text SQLAlchemy's SQLite dialect stores for ``value`` as a ``UTCDateTime``."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given to a UTCDateTime column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

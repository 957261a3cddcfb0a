"""Many-row INSERTs straight through the driver's ``executemany``, for the ingest hot path.

SQLAlchemy's executemany processes every parameter of every row in Python (bind processors,
defaults, type coercion): a third of the ingest time on the Enron data. Here a statement is
compiled once per dialect and column list with positional placeholders, and each row goes to
the driver as one tuple, with the two conversions the driver cannot do itself:

- Python-side column defaults (``default=utcnow``) are evaluated once per call;
- on SQLite, datetimes become the text SQLAlchemy stores (``storage.types.UTCDateTime``:
  naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``), so rows written here read back like any other.
  Only the columns typed as datetimes are looked at, and the text of recent values is
  remembered (a page repeats each message's time in several rows).

Rows carry plain values (integers, text, booleans, datetimes, floats); a JSON column may
only be filled by its default, serialized once per call.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, DateTime, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from storage.types import UTCDateTime

# Compile targets with positional placeholders ("?" and "%s"): rows travel as tuples.
_COMPILERS: dict[str, Dialect] = {
    "sqlite": sqlite.dialect(paramstyle="qmark"),
    "postgresql": postgresql.psycopg.dialect(paramstyle="format"),  # type: ignore[no-untyped-call]
}
IN_CHUNK = 500  # values in one IN list (SQLite allows 32,766 parameters a statement)
SQLITE_TEXT_CACHE = 8192  # datetimes whose SQLite text is remembered (about 1 MB at most)
_sqlite_text: dict[datetime, str] = {}

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Plan:
    """A compiled statement and how to turn a row into its parameter tuple."""

    sql: str
    values: Callable[[Row], tuple[Any, ...]]  # the row's values in placeholder order
    defaults: tuple[str, ...]  # columns filled from their defaults
    # Whether the defaults' placeholders come after the row's (tables' trailing created_at
    # and seen_at): then a row is its values plus the defaults, else a merged mapping.
    trailing: bool
    datetimes: tuple[int, ...]  # positions of datetime values (SQLite converts them)


def execute_many(session: Session, statement: Insert, rows: Sequence[Row], key: str) -> None:
    """Run ``statement`` (an INSERT, maybe with ON CONFLICT) once per row of ``rows``.

    ``key`` names the statement's shape for the compile cache (the same key must always come
    with the same statement); every row has the keys of the first.
    """
    if not rows:
        return
    name = session.get_bind().dialect.name
    table = statement.table
    assert isinstance(table, Table)
    plan = _plan(name, key, tuple(rows[0]), _Uncached(statement))
    fill = {column: _default_value(table, column) for column in plan.defaults}
    tail: tuple[Any, ...] = ()
    if not plan.trailing:
        rows = [{**row, **fill} for row in rows]  # datetimes among them are converted below
    elif name == "sqlite":
        tail = tuple(_sqlite_value(value) for value in fill.values())
    else:
        tail = tuple(fill.values())
    values = plan.values
    if name == "sqlite" and plan.datetimes:
        params = [_sqlite_row(values(row), plan.datetimes) + tail for row in rows]
    else:
        params = [values(row) + tail for row in rows]
    session.connection().exec_driver_sql(plan.sql, params)


def select_in(
    session: Session, table: Table, columns: Sequence[str], match: str, values: Sequence[Any]
) -> list[Sequence[Any]]:
    """``columns`` of the rows of ``table`` whose ``match`` column is one of ``values``.

    The ingest's lookups by natural key (interaction keys, addresses, company domains): an
    ``IN`` list built by SQLAlchemy coerces every value and renders the list anew on each
    execution, which cost as much as the query itself. Here the text is built once per list
    length, at most ``IN_CHUNK`` values a statement. For columns the driver returns as they
    are stored (text, integers), not datetimes.
    """
    name = session.get_bind().dialect.name
    connection = session.connection()
    found: list[Sequence[Any]] = []
    for start in range(0, len(values), IN_CHUNK):
        part = tuple(values[start : start + IN_CHUNK])
        sql = _select_sql(name, table.name, tuple(columns), match, len(part))
        found.extend(connection.exec_driver_sql(sql, part))
    return found


@functools.cache
def _select_sql(name: str, table: str, columns: tuple[str, ...], match: str, count: int) -> str:
    # Only quoted names of our own tables and placeholders: no value is ever part of the text.
    quote = _COMPILERS[name].identifier_preparer.quote
    marker = "?" if name == "sqlite" else "%s"
    return (
        f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table)}"  # noqa: S608
        f" WHERE {quote(match)} IN ({', '.join([marker] * count)})"
    )


class _Uncached:
    """Carries a statement through ``functools.cache`` without taking part in its key."""

    def __init__(self, statement: Insert) -> None:
        self.statement = statement

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Uncached)


@functools.cache
def _plan(name: str, key: str, columns: tuple[str, ...], carried: _Uncached) -> _Plan:
    table = carried.statement.table
    assert isinstance(table, Table)
    if set(columns) & _json_columns(table):
        raise ValueError(f"{key}: JSON values need the ORM path")
    defaults = tuple(c for c in _defaulted(table) if c not in columns)
    compiled = carried.statement.compile(
        dialect=_COMPILERS[name], column_keys=list(columns + defaults), for_executemany=True
    )
    order = tuple(compiled.positiontup or ())
    if set(order) != set(columns + defaults):
        raise ValueError(f"{key}: unexpected placeholders {order}")
    split = len(order) - len(defaults)
    trailing = set(order[split:]) == set(defaults)
    from_row = order[:split] if trailing else order
    dated = {c.name for c in table.columns if isinstance(c.type, (UTCDateTime, DateTime))}
    return _Plan(
        sql=str(compiled),
        values=_getter(from_row),
        defaults=order[split:] if trailing else defaults,
        trailing=trailing,
        datetimes=tuple(i for i, column in enumerate(from_row) if column in dated),
    )


def _getter(names: tuple[str, ...]) -> Callable[[Row], tuple[Any, ...]]:
    if len(names) == 1:
        only = names[0]
        return lambda row: (row[only],)
    return itemgetter(*names)


def has_json(table: Table) -> bool:
    return bool(_json_columns(table))


@functools.cache
def _json_columns(table: Table) -> frozenset[str]:
    return frozenset(c.name for c in table.columns if isinstance(c.type, JSON))


def _defaulted(table: Table) -> list[str]:
    """Columns with a Python-side value or function default, in table order (primary keys
    excluded)."""
    return [
        c.name
        for c in table.columns
        if c.default is not None
        and (c.default.is_scalar or c.default.is_callable)
        and not c.primary_key
    ]


def _default_value(table: Table, column: str) -> Any:
    default = table.c[column].default
    assert default is not None
    arg = default.arg  # type: ignore[attr-defined]
    value = arg if default.is_scalar else arg.__wrapped__()
    # What SQLAlchemy's JSON type sends (PostgreSQL's statement casts the text to JSON).
    return json.dumps(value) if column in _json_columns(table) else value


def _sqlite_row(values: tuple[Any, ...], datetimes: tuple[int, ...]) -> tuple[Any, ...]:
    if not datetimes:
        return values
    out = list(values)
    for i in datetimes:
        if out[i] is not None:
            out[i] = sqlite_datetime(out[i])
    return tuple(out)


def _sqlite_value(value: Any) -> Any:
    return sqlite_datetime(value) if isinstance(value, datetime) else value


def sqlite_datetime(value: datetime) -> str:
    """The text SQLAlchemy's SQLite dialect stores for ``value`` as a ``UTCDateTime``."""
    text = _sqlite_text.get(value)
    if text is None:
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTCDateTime column")
        if len(_sqlite_text) >= SQLITE_TEXT_CACHE:
            _sqlite_text.clear()
        text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        _sqlite_text[value] = text
    return text

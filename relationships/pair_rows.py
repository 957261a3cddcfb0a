"""The stored rows of given pairs, with their two people, in one query whatever the count.

A listing (connectors, coverage, paths) shows a few ties, each scored afresh from its row
(``relationships.ties``), under the names of the people at both ends: reading the rows and
the people together is one round trip to the database, not two or three.

Each dialect is given the keys in the form its planner turns into primary-key lookups:
PostgreSQL two arrays (``unnest``: one statement text for any number of keys, so psycopg
prepares it once and the server stops planning it), SQLite a VALUES list joined on the key
(a row-value ``IN`` list made it scan the whole table). Only numbered placeholders go into
the text; the ids are bound parameters.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, String, column, text
from sqlalchemy.orm import Session

from relationships.ties import PairRow
from storage.models import Relationship
from storage.models.base import table_of

Key = tuple[int, int]  # (a_id, b_id) with a_id < b_id, as the rows are stored


@dataclass(frozen=True, slots=True)
class End:
    """One of a pair's people as a listing shows them."""

    name: str  # display name, "" when none
    title: str | None
    colleague_id: int | None  # their colleague record, when they are one of the firm
    email: str | None  # the colleague's address


PEOPLE_COLUMNS = "{s}.display_name, {s}.title, c{s}.id, c{s}.email"
PEOPLE_JOINS = (
    " LEFT JOIN people {s} ON {s}.id = k.{s} LEFT JOIN colleagues c{s} ON c{s}.person_id = k.{s}"
)
KEYS_PG = "WITH k(a, b) AS (SELECT * FROM unnest(CAST(:a AS INTEGER[]), CAST(:b AS INTEGER[])))"


def load_pairs(
    session: Session, keys: Sequence[Key], people: Sequence[int] = ()
) -> tuple[dict[Key, PairRow], dict[int, End]]:
    """The stored rows of ``keys`` (a pair without a row is left out: it may have been purged
    since the graph was built), and both people of every key and ``people``, in one query."""
    # A person on their own is read as the key (p, p), which no row has (a_id < b_id).
    wanted = sorted({*keys, *((p, p) for p in people)})
    if not wanted:
        return {}, {}
    source, params = _keys(session, wanted)
    rows = session.execute(text(source + _select()).columns(*_columns()), params)
    pairs: dict[Key, PairRow] = {}
    ends: dict[int, End] = {}
    for row in rows:
        if row.a_id is not None:
            pairs[(row.a_id, row.b_id)] = cast(PairRow, row)
        ends[row.key_a] = End(row.a_name or "", row.a_title, row.a_colleague, row.a_email)
        ends[row.key_b] = End(row.b_name or "", row.b_title, row.b_colleague, row.b_email)
    return pairs, ends


@functools.cache
def _select() -> str:
    """The query after its ``WITH k(a, b)`` clause: the same for every call."""
    pair = ", ".join(f"r.{c.name}" for c in table_of(Relationship).c)
    people = ", ".join(PEOPLE_COLUMNS.format(s=s) for s in "ab")
    joins = "".join(PEOPLE_JOINS.format(s=s) for s in "ab")
    return (
        f" SELECT k.a, k.b, {pair}, {people} FROM k"  # noqa: S608
        " LEFT JOIN relationships r ON r.a_id = k.a AND r.b_id = k.b" + joins
    )


def _keys(session: Session, keys: list[Key]) -> tuple[str, dict[str, Any]]:
    """The ``WITH k(a, b)`` clause that lists the keys, and its parameters."""
    if session.get_bind().dialect.name == "postgresql":
        return KEYS_PG, {"a": [a for a, _ in keys], "b": [b for _, b in keys]}
    values = ", ".join(f"(:a{i}, :b{i})" for i in range(len(keys)))
    params = {f"{side}{i}": key[j] for i, key in enumerate(keys) for j, side in enumerate("ab")}
    return f"WITH k(a, b) AS (VALUES {values})", params


@functools.cache
def _columns() -> list[ColumnElement[Any]]:
    """The result's columns and types (the pair's own read back as the model stores them:
    datetimes on SQLite are text)."""
    people: list[ColumnElement[Any]] = []
    for side in "ab":
        people += [
            column(f"{side}_name", String),
            column(f"{side}_title", String),
            column(f"{side}_colleague", Integer),
            column(f"{side}_email", String),
        ]
    keys: list[ColumnElement[Any]] = [column("key_a", Integer), column("key_b", Integer)]
    return [*keys, *table_of(Relationship).c, *people]

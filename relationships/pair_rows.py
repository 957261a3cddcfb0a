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
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, TextualSelect, column, text
from sqlalchemy.orm import Session

from storage.models import Relationship
from storage.models.base import table_of

Key = tuple[int, int]  # (a_id, b_id) with a_id < b_id, as the rows are stored


@dataclass(slots=True)
class Pair:
    """A ``relationships`` row as plain values (``relationships.ties.PairRow``): a tie reads
    some twenty of them, each a slot instead of a lookup in a result row's key map."""

    a_id: int
    b_id: int
    email_ab: int
    email_ba: int
    meetings: int
    first_at: datetime
    last_at: datetime
    last_ab_at: datetime | None
    last_ba_at: datetime | None
    ab_warm: float
    ab_history: float
    ba_warm: float
    ba_history: float
    mtg_warm: float
    mtg_history: float
    recent_ab: str | None
    recent_ba: str | None
    recent_mtg: str | None


@dataclass(frozen=True, slots=True)
class End:
    """One of a pair's people as a listing shows them."""

    name: str  # display name, "" when none
    title: str | None
    colleague_id: int | None  # their colleague record, when they are one of the firm
    # The colleague's address, else the person's first (SMTP) address: half of Enron's
    # contacts have no display name, and a listing must still say who they are. None for
    # someone known only by an Exchange X.500 name.
    email: str | None


# Each field of a pair's person is a scalar subquery on a unique key: PostgreSQL plans each
# on its own, where joining six tables took it longer to plan (1.1 ms) than to run.
# A person's address as listings show it (`End.email`) for the person id expression {p}:
# the colleague's (unless an X.500 name stands in for it, `storage.addressbook`; the test is
# `sync.normalize.addresses.is_x500`'s), else their first SMTP address. api.people reads it
# the same way.
ADDRESS_OF = (
    "coalesce((SELECT email FROM colleagues WHERE person_id = {p}"
    " AND substr(email, 1, 3) <> '/O='),"
    " (SELECT address FROM email_addresses WHERE person_id = {p} AND kind = 'smtp'"
    " ORDER BY id LIMIT 1))"
)
PERSON_COLUMNS = (
    "(SELECT display_name FROM people WHERE id = k.{s}) AS {s}_name,"  # noqa: S608 (constant)
    " (SELECT title FROM people WHERE id = k.{s}) AS {s}_title,"
    " (SELECT id FROM colleagues WHERE person_id = k.{s}) AS {s}_colleague, "
    + ADDRESS_OF.format(p="k.{s}")  # constant text: {s} is filled by the query builder
    + " AS {s}_email"
)
KEYS_PG = "WITH k(a, b) AS (SELECT * FROM unnest(CAST(:a AS INTEGER[]), CAST(:b AS INTEGER[])))"
WIDTH = len(Pair.__slots__)  # the pair's columns, after the key's two


def load_pairs(
    session: Session, keys: Sequence[Key], people: Sequence[int] = ()
) -> tuple[dict[Key, Pair], dict[int, End]]:
    """The stored rows of ``keys`` (a pair without a row is left out: it may have been purged
    since the graph was built), and both people of every key and ``people``, in one query."""
    # A person on their own is read as the key (p, p), which no row has (a_id < b_id).
    wanted = sorted({*keys, *((p, p) for p in people)})
    if not wanted:
        return {}, {}
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        params: dict[str, Any] = {"a": [a for a, _ in wanted], "b": [b for _, b in wanted]}
    else:
        params = {f"{s}{i}": key[j] for i, key in enumerate(wanted) for j, s in enumerate("ab")}
    pairs: dict[Key, Pair] = {}
    ends: dict[int, End] = {}
    for row in session.execute(_query(0 if postgres else len(wanted)), params).tuples():
        key_a, key_b, *values = row
        if values[0] is not None:
            pairs[(key_a, key_b)] = Pair(*values[:WIDTH])
        ends[key_a] = End(values[WIDTH] or "", *values[WIDTH + 1 : WIDTH + 4])
        ends[key_b] = End(values[WIDTH + 4] or "", *values[WIDTH + 5 : WIDTH + 8])
    return pairs, ends


@functools.lru_cache(maxsize=64)
def _query(count: int) -> TextualSelect:
    """The statement for ``count`` keys listed as VALUES, or for keys given as two arrays
    (``count`` 0, PostgreSQL): built and typed once, not per request."""
    if count:
        values = ", ".join(f"(:a{i}, :b{i})" for i in range(count))
        source = f"WITH k(a, b) AS (VALUES {values})"
    else:
        source = KEYS_PG
    pair = ", ".join(f"r.{name}" for name in Pair.__slots__)
    people = ", ".join(PERSON_COLUMNS.format(s=s) for s in "ab")
    query = text(
        f"{source} SELECT k.a, k.b, {pair}, {people} FROM k"  # noqa: S608
        " LEFT JOIN relationships r ON r.a_id = k.a AND r.b_id = k.b"
    )
    return query.columns(*_columns())


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
    pair = table_of(Relationship).c
    return [*keys, *(pair[name] for name in Pair.__slots__), *people]

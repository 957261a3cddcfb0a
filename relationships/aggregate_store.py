"""Writing pair aggregates: the additive upsert used at ingest, and rebuilds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from relationships.aggregates import (
    DECAYED_FIELDS,
    RECENT_FIELDS,
    PairDeltas,
    Role,
    add_interaction,
)
from relationships.recent import KEEP
from relationships.settings import load_weights, mark_rebuilt
from storage.addressbook import chunks
from storage.bulk import execute_many
from storage.models import (
    Colleague,
    EmailAddress,
    Interaction,
    Participant,
    Relationship,
    RelationshipDeletion,
    Setting,
    StaleAggregate,
)
from storage.models.base import table_of
from storage.types import utcnow

VERSION_KEY = "relationships.version"  # relationships.graph reads it
# Bumped when every row is deleted (a full rebuild): a worker's graph builds anew
# (relationships.graph.refresh). Rows deleted a few at a time (a partial rebuild, a purge)
# are logged in ``relationship_deletions`` instead, which a refresh reads like changed rows.
EPOCH_KEY = "relationships.epoch"
# How long a deleted pair stays in that log: longer than a worker's copy lives between full
# builds (relationships.graph.MAX_AGE, 6 hours), so no refresh can miss one.
KEEP_DELETIONS = timedelta(days=1)


def _earliest(dialect: str, a: ColumnElement[object], b: ColumnElement[object]) -> object:
    pick = func.least if dialect == "postgresql" else func.min
    return pick(func.coalesce(a, b), func.coalesce(b, a))


def _latest(dialect: str, a: ColumnElement[object], b: ColumnElement[object]) -> object:
    pick = func.greatest if dialect == "postgresql" else func.max
    return pick(func.coalesce(a, b), func.coalesce(b, a))


# The union of the stored and the new list, its KEEP largest values (relationships.recent):
# merged inside the upsert, so concurrent pages never lose each other's events.
_MERGE_RECENT = {
    "sqlite": (
        "(SELECT json_group_array(v) FROM (SELECT DISTINCT value AS v FROM"
        " (SELECT value FROM json_each({old}) UNION ALL SELECT value FROM json_each({new}))"
        " ORDER BY v DESC LIMIT {keep}))"
    ),
    "postgresql": (
        "(SELECT jsonb_agg(v ORDER BY v DESC)::text FROM (SELECT DISTINCT v FROM"
        " jsonb_array_elements({old}::jsonb || {new}::jsonb) AS e(v)"
        " ORDER BY v DESC LIMIT {keep}) AS t)"
    ),
}


def _merged_recent(dialect: str, column: str) -> ColumnElement[str]:
    old, new = f"relationships.{column}", f"excluded.{column}"
    merge = _MERGE_RECENT[dialect].format(old=old, new=new, keep=KEEP)
    return literal_column(
        f"CASE WHEN {new} IS NULL THEN {old} WHEN {old} IS NULL THEN {new} ELSE {merge} END"
    )


def apply(session: Session, deltas: PairDeltas) -> int:
    """Add ``deltas`` to the stored aggregates in one statement; returns the pairs touched."""
    stamp = utcnow()  # the row's changed_at: API workers re-read the rows changed since
    rows = [{**row, "changed_at": stamp} for row in deltas.rows()]
    if not rows:
        return 0
    name = session.get_bind().dialect.name
    insert = (postgresql if name == "postgresql" else sqlite).insert(table_of(Relationship))
    old, new = table_of(Relationship).c, insert.excluded
    statement = insert.on_conflict_do_update(
        index_elements=[old.a_id, old.b_id],
        set_={
            "email_ab": old.email_ab + new.email_ab,
            "email_ba": old.email_ba + new.email_ba,
            "meetings": old.meetings + new.meetings,
            "first_at": _earliest(name, old.first_at, new.first_at),
            "last_at": _latest(name, old.last_at, new.last_at),
            "last_ab_at": _latest(name, old.last_ab_at, new.last_ab_at),
            "last_ba_at": _latest(name, old.last_ba_at, new.last_ba_at),
            **{field: old[field] + new[field] for field in DECAYED_FIELDS},
            **{field: _merged_recent(name, field) for field in RECENT_FIELDS},
            "changed_at": new.changed_at,
        },
    )
    execute_many(session, statement, list(rows), key="upsert relationships")
    _advance_clocks(session, rows)
    bump_version(session)
    return len(rows)


def _advance_clocks(session: Session, rows: list[dict[str, object]]) -> None:
    """Move each colleague's ``last_sent_at`` up to their newest email in ``rows`` (people
    who are not colleagues match no row): a maximum, so pages may come in any order."""
    newest = newest_sent(
        side
        for row in rows
        for side in _sides(row["a_id"], row["last_ab_at"], row["b_id"], row["last_ba_at"])
    )
    if not newest:
        return
    table = table_of(Colleague)
    sent_at = bindparam("sent_at", type_=table.c.last_sent_at.type)
    later = or_(table.c.last_sent_at.is_(None), table.c.last_sent_at < sent_at)
    statement = (
        update(table)
        .where(table.c.person_id == bindparam("person"))
        .values(last_sent_at=case((later, sent_at), else_=table.c.last_sent_at))
    )
    params = [{"person": p, "sent_at": at} for p, at in sorted(newest.items())]
    session.execute(statement, params)


def _sides(a: object, ab: object, b: object, ba: object) -> tuple[tuple[object, object], ...]:
    """A pair row's two sides: (person, their last email to the other)."""
    return (a, ab), (b, ba)


def newest_sent(sides: Iterable[tuple[object, object]]) -> dict[int, datetime]:
    """Each person's newest email among (person, last email) sides; a side that never wrote
    (None) counts for nothing."""
    newest: dict[int, datetime] = {}
    for person, sent in sides:
        if not isinstance(person, int) or not isinstance(sent, datetime):
            continue
        if person not in newest or newest[person] < sent:
            newest[person] = sent
    return newest


def clocks_from_pairs(
    session: Session, people: Iterable[int], moment: datetime | None = None
) -> dict[int, datetime]:
    """The newest of each person's side's last emails over their pairs (not later than
    ``moment`` when given): what ``colleagues.last_sent_at`` keeps, read from the rows."""
    if moment is None:
        return _clocks(session, people, ())[0]
    return clocks_at(session, people, (moment,))[0]


def clocks_at(
    session: Session, people: Iterable[int], moments: Sequence[datetime]
) -> list[dict[int, datetime]]:
    """`clocks_from_pairs` at each of ``moments``, in one read of the people's pairs (a past
    graph needs its moment's clocks and the trend base's, 90 days earlier): each person's
    newest email to anyone then, as near as the pairs tell, the newest of their side's last
    emails not later than the moment (a pair they wrote to again after it tells nothing of
    before). Not ``min(clock, moment)``: a mailbox idle before the moment (Enron's have gaps
    of months) would read as active then."""
    return _clocks(session, people, tuple(moments))


def _clocks(
    session: Session, people: Iterable[int], moments: tuple[datetime, ...]
) -> list[dict[int, datetime]]:
    r = table_of(Relationship).c
    wanted = sorted(set(people))
    found: list[dict[int, datetime]] = [{} for _ in moments or (None,)]

    def newest(column: ColumnElement[Any]) -> list[ColumnElement[Any]]:
        if not moments:
            return [func.max(column).label("s0")]
        return [
            func.max(case((column <= moment, column))).label(f"s{i}")
            for i, moment in enumerate(moments)
        ]

    for part in chunks(wanted):
        a_side = select(r.a_id.label("person"), *newest(r.last_ab_at)).where(r.a_id.in_(part))
        b_side = select(r.b_id.label("person"), *newest(r.last_ba_at)).where(r.b_id.in_(part))
        sides = union_all(a_side.group_by(r.a_id), b_side.group_by(r.b_id)).subquery()
        columns = [func.max(sides.c[f"s{i}"]) for i in range(len(found))]
        query = select(sides.c.person, *columns).group_by(sides.c.person)
        for person, *sent in session.execute(query).tuples():
            for clocks, at in zip(found, sent, strict=True):
                if at is not None:
                    clocks[person] = at
    return found


def settle_clocks(session: Session, deleted: Mapping[int, datetime]) -> None:
    """After rows were deleted and written again: the clock (``colleagues.last_sent_at``) of
    each colleague whose newest email was in a deleted row (``deleted``: each person's side's
    newest email among them, from `delete_pairs`) is set to what their pairs now hold. The
    upsert keeps a clock as a maximum (`_advance_clocks`), which never takes a deleted email
    back. Colleagues whose newest email lies elsewhere are not read: a removal of one email
    to a client whom hundreds of colleagues know reads only the sender's pairs."""
    table = table_of(Colleague)
    clocks = dict(session.execute(select(table.c.person_id, table.c.last_sent_at)).tuples().all())
    stale = sorted(p for p, at in deleted.items() if p in clocks and _not_after(clocks[p], at))
    if not stale:
        return
    found = clocks_from_pairs(session, stale)
    statement = (
        update(table)
        .where(table.c.person_id == bindparam("person"))
        .values(last_sent_at=bindparam("sent_at", type_=table.c.last_sent_at.type))
    )
    session.execute(statement, [{"person": p, "sent_at": found.get(p)} for p in stale])


def _not_after(clock: datetime | None, sent: datetime) -> bool:
    return clock is None or clock <= sent


def bump_version(session: Session) -> None:
    """Tell every API worker's in-memory graph (relationships.graph) that pairs changed."""
    _stamp(session, VERSION_KEY)


def rows_deleted(session: Session) -> None:
    """Tell every API worker's graph that every pair was deleted (it must build anew)."""
    _stamp(session, EPOCH_KEY)
    _stamp(session, VERSION_KEY)


def delete_pairs(session: Session, where: ColumnElement[bool]) -> dict[int, datetime]:
    """Delete the pair rows matching ``where``, each logged in ``relationship_deletions`` for
    the workers' next refresh (log entries older than ``KEEP_DELETIONS`` go). Returns each
    person's newest email among the deleted rows (their side's last email), for
    `settle_clocks`."""
    now = utcnow()
    rows, log = table_of(Relationship), table_of(RelationshipDeletion)
    c = rows.c
    statement = delete(rows).where(where).returning(c.a_id, c.last_ab_at, c.b_id, c.last_ba_at)
    gone = session.execute(statement).tuples().all()
    session.execute(delete(log).where(log.c.deleted_at < now - KEEP_DELETIONS))
    if not gone:
        return {}
    logged = [{"a_id": a, "b_id": b, "deleted_at": now} for a, _, b, _ in gone]
    session.execute(insert(log), logged)
    bump_version(session)
    return newest_sent(side for row in gone for side in _sides(*row))


def _stamp(session: Session, key: str) -> None:
    name = session.get_bind().dialect.name
    insert = (postgresql if name == "postgresql" else sqlite).insert(table_of(Setting))
    value = utcnow().isoformat()
    statement = insert.values(key=key, value=value, updated_at=utcnow())
    session.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


def rebuild(session: Session, person_ids: Iterable[int] | None = None) -> int:
    """Recompute aggregates from stored interactions: all of them, or those of some people.

    With ``person_ids``, only rows touching those people are deleted and recomputed, so the
    cost is proportional to their interactions.
    """
    only = frozenset(person_ids) if person_ids is not None else None
    table = table_of(Relationship)
    deleted: dict[int, datetime] = {}  # each person's newest email in the rows deleted
    if only is None:
        session.execute(delete(table))
        session.execute(delete(table_of(RelationshipDeletion)))  # every graph builds anew
        session.execute(update(table_of(Colleague)).values(last_sent_at=None))  # `apply` keeps it
        rows_deleted(session)
    else:
        ids = sorted(only)
        deleted = delete_pairs(session, or_(table.c.a_id.in_(ids), table.c.b_id.in_(ids)))
    weights = load_weights(session)
    deltas = PairDeltas(only, weights)
    for kind, at, roles in _interactions(session, only):
        add_interaction(deltas, kind, at, roles)
    if only is None:
        mark_rebuilt(session, weights)
    written = apply(session, deltas)
    settle_clocks(session, deleted)
    return written


def rebuild_stale(session: Session) -> int:
    """Recompute the aggregates of every person a merge marked stale; returns pairs written."""
    table = table_of(StaleAggregate)
    stale = set(session.scalars(select(table.c.person_id)))
    if not stale:
        return 0
    pairs = rebuild(session, stale)
    session.execute(delete(table).where(table.c.person_id.in_(sorted(stale))))
    return pairs


def _interactions(
    session: Session, only: frozenset[int] | None
) -> Iterable[tuple[str, datetime, list[Role]]]:
    """(kind, occurred_at, [(role, person id, response)]) per non-cancelled interaction."""
    i, p, a = table_of(Interaction).c, table_of(Participant).c, table_of(EmailAddress).c
    query = (
        select(i.id, i.kind, i.occurred_at, p.role, a.person_id, p.response)
        .join(table_of(Participant), p.interaction_id == i.id)
        .join(table_of(EmailAddress), a.id == p.address_id)
        .where(i.cancelled.is_(False))
        .order_by(i.id)
    )
    if only is not None:
        touching = (
            select(p.interaction_id)
            .join(table_of(EmailAddress), a.id == p.address_id)
            .where(a.person_id.in_(sorted(only)))
        )
        query = query.where(i.id.in_(touching))
    current: int | None = None
    kind, at = "", datetime.min
    roles: list[Role] = []
    for iid, ikind, iat, role, pid, resp in session.execute(query).yield_per(5000):
        if iid != current and current is not None:
            yield kind, at, roles
            roles = []
        current, kind, at = iid, ikind, iat
        roles.append((role, pid, resp))
    if current is not None:
        yield kind, at, roles

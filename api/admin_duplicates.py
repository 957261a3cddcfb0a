"""``GET /api/v1/admin/duplicates``: the pairs of people that may be one, for an admin's review.

The last duplicate-people run (`sync.dedupe`: after an import, ``python app.py dedupe``, and
daily) merged what it could tell and stored the likely pairs it could not
(`storage.candidates`); this lists them, without a pair one of whose people was merged since
or that was marked distinct since. An admin merges one (``POST /admin/people/merge``) or marks
it distinct (``POST /admin/people/distinct``), and either way it leaves the list at once.
Each pair comes with evidence read from the pair aggregates, never from mail: each record's
first and last mail with the firm, the colleagues who know both, and whether one record's
mail ended before the other's began. Names and addresses are returned as stored, as JSON
strings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from flask import Blueprint
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.admin import require_admin
from api.params import iso, paging
from storage.candidates import stored_candidates
from storage.duplicates import Duplicate
from storage.models import Colleague, EmailAddress, Person, Relationship
from storage.models.base import table_of
from storage.web import session

blueprint = Blueprint("admin_duplicates", __name__, url_prefix="/admin")
blueprint.before_request(require_admin)

MAX_LIMIT = 200


@blueprint.get("/duplicates")
def list_duplicates() -> dict[str, Any]:
    limit, offset = paging(default=50, high=MAX_LIMIT)
    db = session()
    listed = stored_candidates(db, limit, offset)
    page = listed.candidates
    people = _people(db, [p for d in page for p in (d.keep, d.drop)])
    return {
        "items": [_json(d, people) for d in page],
        "total": listed.total,
        "next_offset": offset + limit if listed.total > offset + limit else None,
        "found_at": iso(listed.found_at),
    }


def _json(duplicate: Duplicate, people: dict[int, dict[str, Any]]) -> dict[str, Any]:
    keep, drop = people[duplicate.keep], people[duplicate.drop]
    return {
        "keep": {k: v for k, v in keep.items() if k != "known_by"},
        "drop": {k: v for k, v in drop.items() if k != "known_by"},
        "tier": duplicate.tier,
        "similarity": round(duplicate.similarity, 1),
        "reason": duplicate.reason,
        "shared_colleagues": len(keep["known_by"] & drop["known_by"]),
        "one_after_the_other": _one_after_the_other(keep, drop),
    }


def _one_after_the_other(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether one record's mail ended before the other's began: a person who moved."""
    if not (a["first_seen"] and b["first_seen"]):
        return False
    return bool(a["last_seen"] < b["first_seen"] or b["last_seen"] < a["first_seen"])


def _people(db: Session, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each person's name, addresses, first and last mail with anyone of the firm's mailboxes
    and the colleagues who have a tie with them (from the pair aggregates: no mail is read)."""
    wanted = sorted(set(ids))
    addresses: dict[int, list[str]] = defaultdict(list)
    rows = db.execute(
        select(EmailAddress.person_id, EmailAddress.address)
        .where(EmailAddress.person_id.in_(wanted))
        .order_by(EmailAddress.address)
    )
    for person, address in rows.tuples():
        addresses[int(person)].append(str(address))
    seen = _seen(db, wanted)
    names = db.execute(select(Person.id, Person.display_name).where(Person.id.in_(wanted)))
    return {
        int(pid): {
            "id": int(pid),
            "name": name or "",
            "addresses": addresses[int(pid)],
            **seen.get(int(pid), {"first_seen": None, "last_seen": None, "known_by": set()}),
        }
        for pid, name in names.tuples()
    }


def _seen(db: Session, people: list[int]) -> dict[int, dict[str, Any]]:
    pair = table_of(Relationship).c
    rows = db.execute(
        select(pair.a_id, pair.b_id, pair.first_at, pair.last_at).where(
            or_(pair.a_id.in_(people), pair.b_id.in_(people))
        )
    ).tuples()
    ties = [(int(a), int(b), first, last) for a, b, first, last in rows]
    others = {b if a in people else a for a, b, _, _ in ties}
    colleagues = set(
        db.scalars(select(Colleague.person_id).where(Colleague.person_id.in_(sorted(others))))
    )
    found: dict[int, dict[str, Any]] = {}
    for a, b, first, last in ties:
        for person, other in ((a, b), (b, a)):
            if person not in people:
                continue
            entry = found.setdefault(
                person, {"first_seen": first, "last_seen": last, "known_by": set()}
            )
            entry["first_seen"] = min(entry["first_seen"], first)
            entry["last_seen"] = max(entry["last_seen"], last)
            if other in colleagues:
                entry["known_by"].add(other)
    for entry in found.values():
        entry["first_seen"], entry["last_seen"] = iso(entry["first_seen"]), iso(entry["last_seen"])
    return found

"""``GET /api/v1/admin/duplicates``: the pairs of people that may be one, for an admin's review.

The same-tier pairs are merged by the daily job (`sync.dedupe`); what a request finds of
them was met since its last run. Likely pairs are only listed: an admin merges one
(``POST /admin/people/merge``) or marks it distinct (``POST /admin/people/distinct``), and
either way it leaves the list. Each request runs the finding afresh over every outside person
(`storage.duplicates.find_duplicates`: 0.4 s for Enron's 21,000 people), so the list is never
stale after a merge or an undo. Names and addresses are returned as stored, as JSON strings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.admin import require_admin
from api.errors import BadRequest
from api.params import bounded_int
from storage.duplicates import LIKELY, SAME, Duplicate, find_duplicates
from storage.models import EmailAddress, Person
from storage.web import session

blueprint = Blueprint("admin_duplicates", __name__, url_prefix="/admin")
blueprint.before_request(require_admin)

MAX_LIMIT = 200
TIERS = {"likely": (LIKELY,), "same": (SAME,), "all": (SAME, LIKELY)}


@blueprint.get("/duplicates")
def list_duplicates() -> dict[str, Any]:
    tier = request.args.get("tier", "likely")
    if tier not in TIERS:
        raise BadRequest(f"tier: one of {', '.join(TIERS)}, got {tier[:20]!r}")
    limit = bounded_int(request.args.get("limit"), default=50, low=1, high=MAX_LIMIT)
    offset = bounded_int(request.args.get("offset"), default=0, low=0, high=10**9)
    db = session()
    found = [d for d in find_duplicates(db) if d.tier in TIERS[tier]]
    page = found[offset : offset + limit]
    people = _people(db, [p for d in page for p in (d.keep, d.drop)])
    return {
        "items": [_json(d, people) for d in page],
        "total": len(found),
        "next_offset": offset + limit if len(found) > offset + limit else None,
    }


def _json(duplicate: Duplicate, people: dict[int, dict[str, Any]]) -> dict[str, Any]:
    return {
        "keep": people[duplicate.keep],
        "drop": people[duplicate.drop],
        "tier": duplicate.tier,
        "similarity": round(duplicate.similarity, 1),
        "reason": duplicate.reason,
    }


def _people(db: Session, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    wanted = sorted(set(ids))
    addresses: dict[int, list[str]] = defaultdict(list)
    rows = db.execute(
        select(EmailAddress.person_id, EmailAddress.address)
        .where(EmailAddress.person_id.in_(wanted))
        .order_by(EmailAddress.address)
    )
    for person, address in rows.tuples():
        addresses[int(person)].append(str(address))
    names = db.execute(select(Person.id, Person.display_name).where(Person.id.in_(wanted)))
    return {
        int(pid): {"id": int(pid), "name": name or "", "addresses": addresses[int(pid)]}
        for pid, name in names.tuples()
    }

"""``GET /api/v1/paths``: warm-introduction paths to a person (relationships.paths)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, g, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import BadRequest
from api.params import as_of, iso
from api.people import survivor
from relationships.explain import evidence, summary
from relationships.graph import Graph, GraphCache, build
from relationships.paths import Path, find_paths
from relationships.settings import load_weights
from relationships.strength import Weights
from relationships.ties import Tie, tie
from storage.models import Colleague, EmailAddress, Person, Relationship
from storage.web import session
from sync.normalize.addresses import normalize_email

blueprint = Blueprint("paths", __name__)
CACHE = "rapport.graph"


def init_app(app: Any) -> None:
    app.extensions[CACHE] = GraphCache()


@blueprint.get("/paths")
def get_paths() -> dict[str, Any]:
    db = session()
    target = _person(db, request.args.get("to"), "to")
    source = _person(db, request.args.get("from"), "from") if request.args.get("from") else None
    source_id = source.id if source is not None else g.user.person_id
    if db.scalar(select(Colleague.id).where(Colleague.person_id == source_id)) is None:
        raise BadRequest("from: paths start at a colleague of the firm")
    graph, at = _graph(db)
    found = find_paths(graph, source_id, target.id)
    names = _names(db, {p for path in found for p in path.people} | {source_id, target.id})
    return {
        "from": {"id": source_id, "display_name": names.get(source_id, "")},
        "to": {"id": target.id, "display_name": target.display_name},
        "as_of": at.isoformat(),
        "paths": [_path_json(db, path, names, graph, at) for path in found],
    }


def _graph(db: Session) -> tuple[Graph, datetime]:
    if request.args.get("at"):
        at = as_of(request.args.get("at"))
        return build(db, at), at  # a past moment: built for this request, not cached
    graph: Graph = current_app.extensions[CACHE].get(db)
    return graph, graph.built_at


def _person(db: Session, raw: str | None, name: str) -> Person:
    value = (raw or "").strip()
    if not value:
        raise BadRequest(f"{name}: give a person id or an email address")
    if value.isdigit() and len(value) < 19:
        return survivor(db, int(value))
    email = normalize_email(value)
    if email is None:
        raise BadRequest(f"{name}: not a person id or an email address: {value[:100]!r}")
    person_id = db.scalar(select(EmailAddress.person_id).where(EmailAddress.address == email))
    if person_id is None:
        raise BadRequest(f"{name}: no one with the address {email} is known")
    return survivor(db, person_id)


def _names(db: Session, ids: set[int]) -> dict[int, str]:
    rows = db.execute(select(Person.id, Person.display_name).where(Person.id.in_(sorted(ids))))
    return {pid: name or "" for pid, name in rows.tuples()}


def _path_json(
    db: Session, path: Path, names: dict[int, str], graph: Graph, at: datetime
) -> dict[str, Any]:
    hops = []
    weights = load_weights(db)
    for a, b in zip(path.people, path.people[1:], strict=False):
        row = db.get(Relationship, (min(a, b), max(a, b)))
        seen = _edge_side(row, (a, b), graph, at, weights) if row is not None else None
        both_colleagues = a in graph.colleagues and b in graph.colleagues
        hop: dict[str, Any] = {
            "from": {"id": a, "display_name": names.get(a, "")},
            "to": {"id": b, "display_name": names.get(b, "")},
            "relation": "colleagues" if both_colleagues else "knows",
            "strength": seen.score if seen else 0.0,
            "tier": seen.tier if seen else "none",
            "last_contact": iso(seen.last_at) if seen else None,
            "summary": "",
            "evidence": "",
        }
        if seen is not None:
            me, other = (a, b) if seen.other_id == b else (b, a)
            me_name, other_name = names.get(me) or "They", names.get(other) or "them"
            hop["summary"] = summary(seen, me_name, other_name)
            hop["evidence"] = evidence(seen, me_name, other_name)
        hops.append(hop)
    return {"score": round(100 * path.score, 1), "hops": hops}


def _edge_side(
    row: Relationship, hop: tuple[int, int], graph: Graph, at: datetime, weights: Weights
) -> Tie:
    """The hop seen from the side the graph scored it from (relationships.graph.edge_scores)."""
    a, b = hop
    firm = graph.colleagues | graph.opted_out
    if (a in firm) != (b in firm):
        return tie(row, a if a in firm else b, at, weights)
    return max(tie(row, a, at, weights), tie(row, b, at, weights), key=lambda t: t.score)

"""``GET /api/v1/paths``: warm-introduction paths to a person (relationships.paths)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, g, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import BadRequest
from api.graphs import init_app, request_graph
from api.params import iso
from api.people import Current, current
from relationships.explain import evidence, summary
from relationships.graph import Graph
from relationships.pair_rows import load_pairs
from relationships.past import rows_at
from relationships.paths import Path, find_paths
from relationships.strength import Weights, stored_score
from relationships.ties import PairRow, Tie, side_sums, tie
from storage.models import Colleague, EmailAddress, Person
from storage.web import session
from sync.normalize.addresses import normalize_email

blueprint = Blueprint("paths", __name__)
__all__ = ["blueprint", "init_app"]  # init_app: the graph cache (api.graphs), registered here
MIN_NAME_WORDS = 2  # a name this long, or longer, tells a namesake (`_namesakes`)


@blueprint.get("/paths")
def get_paths() -> dict[str, Any]:
    db = session()
    target = _person(db, request.args.get("to"), "to")
    source = _person(db, request.args.get("from"), "from") if request.args.get("from") else None
    source_id = source.id if source is not None else g.user.person_id
    source_name = db.scalar(
        select(Person.display_name)
        .join(Colleague, Colleague.person_id == Person.id)
        .where(Person.id == source_id)
    )
    if source_name is None:
        raise BadRequest("from: paths start at a colleague of the firm")
    graph, at = request_graph(db, target.opted_out)
    avoid = _namesakes(db, (target.display_name, source_name), (target.id, source_id))
    found = find_paths(graph, source_id, target.id, avoid)
    return {
        "from": {"id": source_id, "display_name": source_name},
        "to": {"id": target.id, "display_name": target.display_name, "email": target.email},
        "as_of": at.isoformat(),
        "paths": _paths_json(db, found, graph, at),
    }


def _namesakes(db: Session, names: tuple[str, ...], ends: tuple[int, ...]) -> frozenset[int]:
    """Other records under the full name of the target or the requester: most likely the same
    person under another address, which no rule could join. On the Enron import a path asked
    Lisa Gillette, the former colleague, to reach Lisa Gillette at her new firm, and one asked
    Susan Scott to ask herself. A name of one word (or none) is too common to tell."""
    full = sorted({n for n in names if len(n.split()) >= MIN_NAME_WORDS})
    if not full:
        return frozenset()
    found = db.scalars(
        select(Person.id).where(
            Person.display_name.in_(full), Person.merged_into_id.is_(None), Person.id.not_in(ends)
        )
    )
    return frozenset(found)


def _person(db: Session, raw: str | None, name: str) -> Current:
    value = (raw or "").strip()
    if not value:
        raise BadRequest(f"{name}: give a person id or an email address")
    if value.isdigit() and len(value) < 19:
        return current(db, int(value))
    email = normalize_email(value)
    if email is None:
        raise BadRequest(f"{name}: not a person id or an email address: {value[:100]!r}")
    person_id = db.scalar(select(EmailAddress.person_id).where(EmailAddress.address == email))
    if person_id is None:
        raise BadRequest(f"{name}: no one with the address {email} is known")
    return current(db, person_id)


def _paths_json(db: Session, found: list[Path], graph: Graph, at: datetime) -> list[Any]:
    """Every path with its hops explained: one query for all the hops' pairs and people."""
    steps = [list(zip(path.people, path.people[1:], strict=False)) for path in found]
    keys = {(min(a, b), max(a, b)) for hops in steps for a, b in hops}
    loaded, people = load_pairs(db, list(keys))
    rows = rows_at(loaded, graph)  # a past moment's graph: the rows as they stood then
    names = {pid: end.name for pid, end in people.items()}
    addresses = {pid: end.email for pid, end in people.items()}
    seen = {  # paths share hops (the last one, to the target): each is explained once
        key: _edge_side(row, key, graph, at, graph.weights) for key, row in rows.items()
    }
    return [
        {
            "score": path_score(path.score),
            "hops": [
                _hop_json((a, b), seen.get((min(a, b), max(a, b))), (names, addresses), graph)
                for a, b in hops
            ],
        }
        for path, hops in zip(found, steps, strict=True)
    ]


def _relation(hop: tuple[int, int], seen: Tie | None, both_colleagues: bool) -> str:
    """The hop's relation: "colleagues", else `Tie.relation` seen from the hop's first person
    (the tie may be scored from either side)."""
    if both_colleagues:
        return "colleagues"
    if seen is None:
        return "knows"
    return seen.relation(from_me=seen.other_id == hop[1])


def _hop_json(
    hop: tuple[int, int],
    seen: Tie | None,
    people: tuple[dict[int, str], dict[int, str | None]],
    graph: Graph,
) -> dict[str, Any]:
    """One hop with its two people (name and address: many contacts have no name), its
    strength and its explanation."""
    a, b = hop
    names, addresses = people
    both_colleagues = a in graph.colleagues and b in graph.colleagues
    found: dict[str, Any] = {
        "from": {"id": a, "display_name": names.get(a, ""), "email": addresses.get(a)},
        "to": {"id": b, "display_name": names.get(b, ""), "email": addresses.get(b)},
        "relation": _relation(hop, seen, both_colleagues),
        "strength": seen.score if seen else 0.0,
        "tier": seen.tier if seen else "none",
        "last_contact": iso(seen.last_at) if seen else None,
        "last_contact_estimated": seen.estimated[2] if seen else False,
        "summary": "",
        "evidence": "",
    }
    if seen is not None:
        me, other = (a, b) if seen.other_id == b else (b, a)
        me_name = names.get(me) or addresses.get(me) or "They"
        other_name = names.get(other) or addresses.get(other) or "them"
        found["summary"] = summary(seen, me_name, other_name)
        found["evidence"] = evidence(seen, me_name, other_name)
    return found


def path_score(product: float) -> float:
    """A path's score on the 0-100 scale: one decimal, or two significant digits below 1, so
    that paths through dormant ties (Enron: five at 0.036 to 0.0004) do not all read 0.0."""
    score = 100 * product
    return round(score, 1) if score >= 1 else float(f"{score:.2g}")


def _edge_side(
    row: PairRow, hop: tuple[int, int], graph: Graph, at: datetime, weights: Weights
) -> Tie:
    """The pair seen from the side the graph scored it from (relationships.graph.edge_scores):
    the colleague's of a colleague-contact pair, else the stronger side."""
    a, b = hop
    firm = graph.colleagues | graph.opted_out
    if (a in firm) != (b in firm):
        colleague = a if a in firm else b
        return tie(row, colleague, at, weights, graph.side_clocks(colleague))
    stronger = max(
        (a, b), key=lambda side: stored_score(side_sums(row, side, graph.clock(side)), at, weights)
    )
    return tie(row, stronger, at, weights, graph.side_clocks(stronger))

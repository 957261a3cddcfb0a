"""The in-memory relationship graph a request reads (relationships.graph): this worker's cached
copy, or the one for a past moment asked for with ``?at=`` (built once, the last few kept).

Who has opted out is read afresh for every request and laid over the cached copy: an opt-out
takes effect at once, not when the copy is next rebuilt. A view reads it with the record it
looks up first (``OPTED_OUT``, one more column of that query), not in a round trip of its own.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from flask import current_app, request
from sqlalchemy import ScalarSelect, String, cast, func, select
from sqlalchemy.orm import Session

from api.errors import APIError
from api.params import as_of
from config import flag
from relationships.graph import Busy, Graph, GraphCache, PastGraphs
from storage.models import Colleague

CACHE = "rapport.graph"
PAST = "rapport.graph.past"
RETRY = {"Retry-After": "10"}  # seconds: about a full build at 3,000,000 pairs
# Who has opted out, as one text column any query can carry ("3,17"; PostgreSQL string_agg,
# SQLite group_concat): read it with ``opted_out_of``.
OPTED_OUT: ScalarSelect[str | None] = (
    select(func.aggregate_strings(cast(Colleague.person_id, String), ","))
    .where(Colleague.opted_out)
    .scalar_subquery()
)


def opted_out_of(listed: str | None) -> frozenset[int]:
    """The person ids an ``OPTED_OUT`` column lists."""
    return frozenset(int(pid) for pid in listed.split(",")) if listed else frozenset()


def init_app(app: Any) -> None:
    app.extensions[CACHE] = GraphCache(app.extensions["rapport.db"].read_sessions)
    app.extensions[PAST] = PastGraphs()
    if flag(app.config, "RAPPORT_GRAPH_WARM"):
        app.extensions[CACHE].warm()


def request_graph(db: Session, opted_out: frozenset[int] | None = None) -> tuple[Graph, datetime]:
    """The graph for this request and the moment its strengths are for; ``opted_out``: who
    has opted out, when the view has read it already (``OPTED_OUT``)."""
    graph: Graph
    if request.args.get("at"):
        moment = as_of(request.args.get("at"))
        try:
            graph = current_app.extensions[PAST].get(db, moment)  # another moment: built once
        except Busy as busy:
            raise APIError(str(busy), status=503, code="busy", headers=RETRY) from busy
    else:
        graph = current_app.extensions[CACHE].get(db)
        moment = graph.built_at
    # The few who opted out, read now; everyone the copy knew as a colleague is one still.
    if opted_out is None:
        opted_out = frozenset(db.scalars(select(Colleague.person_id).where(Colleague.opted_out)))
    firm = graph.colleagues | graph.opted_out
    fresh = dataclasses.replace(graph, colleagues=firm - opted_out, opted_out=opted_out)
    return fresh, moment

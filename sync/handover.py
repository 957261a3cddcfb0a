"""Queue what Graph notifications (and a weight change) ask for on a scheduler, from this
process or another.

A process with a scheduler (``python app.py serve``, the sync worker) queues the work at
once: delta runs through the webhook's `Coalescer` (a burst makes one run), renewals, the
subscription upkeep and the rebuild of every aggregate as jobs. API processes under gunicorn
have no scheduler: they record the work in the store (``storage.handover``), and the sync
worker (``python app.py worker``) claims it every ``RAPPORT_WEBHOOK_POLL`` seconds and queues
it here. A claim is deleted in the transaction that queues it, so an error while queueing
puts the rows back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from storage.db import Database
from storage.handover import claim
from storage.models import HandoverKind
from sync.graph_subscriptions import UPKEEP_NOW, number, upkeep_job
from sync.scheduler import Coalescer, Scheduler

JOB = "graph.handovers"  # the worker's periodic claim
RENEW_JOB = "graph.subscription.renew."  # + graph_subscriptions row id
REBUILD_JOB = "relationships.rebuild"
MIN_POLL = 0.2  # seconds


def dispatch(
    work: Iterable[tuple[HandoverKind, int]],
    scheduler: Scheduler,
    coalescer: Coalescer,
    db: Database,
    config: Mapping[str, Any],
) -> None:
    for kind, target in sorted(set(work)):
        if kind == HandoverKind.DELTA:
            coalescer.trigger(target)
        elif kind == HandoverKind.RENEW:
            renewal = partial(upkeep_job, db, config, coalescer.trigger, renew_row=target)
            scheduler.enqueue(f"{RENEW_JOB}{target}", renewal)
        elif kind == HandoverKind.REBUILD:
            scheduler.enqueue(REBUILD_JOB, partial(rebuild_all, db))
        else:
            # The upkeep creates what Graph removed (then runs those mailboxes' delta: what
            # changed meanwhile reaches us only through it) and deletes what disabled
            # mailboxes still have.
            scheduler.enqueue(UPKEEP_NOW, lambda: upkeep_job(db, config, coalescer.trigger))


def rebuild_all(db: Database) -> None:
    """Every relationship aggregate recomputed from the stored interactions (new weights)."""
    from relationships.aggregate_store import rebuild

    with db.transaction() as session:
        rebuild(session)


def take(
    scheduler: Scheduler, coalescer: Coalescer, db: Database, config: Mapping[str, Any]
) -> int:
    """Claim every handed-over item and queue it; the number claimed."""
    with db.transaction() as session:
        work = claim(session)
        dispatch(work, scheduler, coalescer, db, config)
    return len(work)


def watch(
    scheduler: Scheduler, coalescer: Coalescer, db: Database, config: Mapping[str, Any]
) -> None:
    """Claim handed-over work every ``RAPPORT_WEBHOOK_POLL`` seconds."""
    seconds = max(MIN_POLL, number(config, "RAPPORT_WEBHOOK_POLL") or 2.0)
    scheduler.every(JOB, seconds, lambda: take(scheduler, coalescer, db, config))

"""Queue what Graph notifications (and a weight change) ask for on a scheduler, from this
process or another.

A process with a scheduler (``python app.py serve``, the sync worker) queues the work at
once: delta runs through the webhook's `Coalescer` (a burst makes one run), renewals, the
subscription upkeep and the rebuild of every aggregate as jobs. API processes under gunicorn
have no scheduler: they record the work in the store (``storage.handover``), and the sync
worker (``python app.py worker``) claims it every ``RAPPORT_WEBHOOK_POLL`` seconds and queues
it here (`Claims`). A claimed row stays in the store under a lease until its work has run;
the worker extends the lease at every poll. A worker stopped by SIGTERM
(`sync.scheduler.stop_for_app`) records again what it had queued and not started (a delta
waiting out the debounce, work claimed while it was stopping) and releases its claims, so the
next worker claims them at once. A worker killed outright (SIGKILL, out of memory) extends
nothing: ``RAPPORT_HANDOVER_LEASE`` seconds later the next worker claims its rows again
(docs/deployment.md).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from relationships.settings import rebuild_due
from storage.db import Database
from storage.handover import claim, extend, finish, record, release
from storage.models import HandoverKind
from storage.types import utcnow
from sync.graph_subscriptions import UPKEEP_NOW, number, upkeep_job
from sync.scheduler import Coalescer, Scheduler

log = logging.getLogger(__name__)

JOB = "graph.handovers"  # the worker's periodic claim
RENEW_JOB = "graph.subscription.renew."  # + graph_subscriptions row id
REBUILD_JOB = "relationships.rebuild"
MIN_POLL = 0.2  # seconds
LEASE = 120.0  # seconds a claim holds unless its worker, alive, extends it at its next poll
RECONCILE_JOB = "relationships.reconcile"
RECONCILE = 60.0  # seconds between looks for a weight change whose rebuild never ran
_REBUILDING = threading.Lock()  # one rebuild of every aggregate at a time in this process
UNSTARTED = "rapport.handover.unstarted"  # app.extensions key of the process's `Unstarted`
CLAIMS = "rapport.handover.claims"  # app.extensions key of the sync worker's `Claims`

Work = tuple[HandoverKind, int]


class Unstarted:
    """The renewals, upkeeps and rebuilds this process queued that have not started yet (delta
    runs are the `Coalescer`'s to track): what a stopping worker hands back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: set[Work] = set()

    def track(self, item: Work, job: Callable[[], Any]) -> Callable[[], Any]:
        """``job``, noted as owed until it starts."""
        with self._lock:
            self._items.add(item)

        def run() -> Any:
            with self._lock:
                self._items.discard(item)
            return job()

        return run

    def items(self) -> set[Work]:
        with self._lock:
            return set(self._items)


class Claims:
    """The handed-over rows this process holds (``storage.handover``): claimed under a lease
    of ``lease`` seconds that every poll extends, each deleted once its work has run (a delta
    run of the ``coalescer``, or a queued job), all released when the process stops."""

    def __init__(self, db: Database, coalescer: Coalescer, lease: float = LEASE) -> None:
        self.db, self.lease = db, max(MIN_POLL, lease)
        self.holder = uuid.uuid4().hex
        # What this process claimed and has not seen deleted: every delta run of the
        # coalescer reports here, and only these need a write to the store.
        self._held: set[Work] = set()
        self._lock = threading.Lock()
        coalescer.on_run(lambda key, started: self.finished((HandoverKind.DELTA, key), started))

    def claim(self, session: Session) -> list[Work]:
        """Extend this process's leases and claim what nobody holds, in ``session``."""
        extend(session, self.holder, self.lease)
        work = claim(session, self.holder, self.lease)
        with self._lock:
            self._held.update(work)
        return work

    def finished(self, item: Work, started: datetime) -> None:
        """The work ``item`` asks for ran from ``started``: its row, if this process holds it
        and nobody asked again since, goes (a row asked for again stays held until a later
        run's end deletes it, or the process releases it)."""
        with self._lock:
            if item not in self._held:
                return
        with self.db.transaction() as session:
            deleted = finish(session, self.holder, item, started)
        if deleted:
            with self._lock:
                self._held.discard(item)

    def release(self) -> int:
        with self.db.transaction() as session:
            released = release(session, self.holder)
        with self._lock:
            self._held.clear()
        return released


def dispatch(
    work: Iterable[Work],
    scheduler: Scheduler,
    coalescer: Coalescer,
    db: Database,
    config: Mapping[str, Any],
    *,
    unstarted: Unstarted | None = None,
    finished: Callable[[Work, datetime], None] | None = None,
) -> None:
    """Queue each item's work; ``finished(item, started)`` is told when a queued job has run
    (delta runs tell the coalescer's listeners)."""

    def queue(item: Work, job_id: str, job: Callable[[], Any]) -> None:
        if finished is not None:
            job = _reporting(job, partial(finished, item))
        scheduler.enqueue(job_id, unstarted.track(item, job) if unstarted else job)

    for kind, target in sorted(set(work)):
        item = (kind, target)
        if kind == HandoverKind.DELTA:
            coalescer.trigger(target)
        elif kind == HandoverKind.RENEW:
            renewal = partial(upkeep_job, db, config, coalescer.trigger, renew_row=target)
            queue(item, f"{RENEW_JOB}{target}", renewal)
        elif kind == HandoverKind.REBUILD:
            queue(item, REBUILD_JOB, partial(rebuild_all, db))
        else:
            # The upkeep creates what Graph removed (then runs those mailboxes' delta: what
            # changed meanwhile reaches us only through it) and deletes what disabled
            # mailboxes still have.
            queue(item, UPKEEP_NOW, partial(upkeep_job, db, config, coalescer.trigger))


def _reporting(job: Callable[[], Any], done: Callable[[datetime], None]) -> Callable[[], Any]:
    def run() -> Any:
        started = utcnow()
        try:
            return job()
        finally:
            done(started)

    return run


def rebuild_all(db: Database, *, only_if_due: bool = False) -> bool:
    """Every relationship aggregate recomputed from the stored interactions (new weights);
    False when another rebuild runs in this process, or, with ``only_if_due``, when the
    aggregates already have the current weights (`relationships.settings.rebuild_due`)."""
    from relationships.aggregate_store import rebuild

    if not _REBUILDING.acquire(blocking=False):
        return False
    try:
        with db.transaction() as session:
            if only_if_due and not rebuild_due(session):
                return False
            rebuild(session)
        return True
    finally:
        _REBUILDING.release()


def reconcile(scheduler: Scheduler, db: Database) -> bool:
    """Queue a rebuild when the weights changed and their rebuild never ran (the process
    that was to run it stopped first); True when one was queued. The scheduler's processes
    look every ``RECONCILE`` seconds, so no crash leaves aggregates on old weights for long."""
    if _REBUILDING.locked():
        return False
    with db.transaction() as session:
        if not rebuild_due(session):
            return False
    log.warning("relationship weights changed without a rebuild: rebuilding every aggregate")
    scheduler.enqueue(REBUILD_JOB, partial(rebuild_all, db, only_if_due=True))
    return True


def take(
    scheduler: Scheduler,
    coalescer: Coalescer,
    claims: Claims,
    config: Mapping[str, Any],
    *,
    unstarted: Unstarted | None = None,
) -> int:
    """Extend this process's leases, claim every handed-over item nobody holds (or whose
    holder stopped extending its lease) and queue it; the number claimed."""
    with claims.db.transaction() as session:
        work = claims.claim(session)
        dispatch(
            work,
            scheduler,
            coalescer,
            claims.db,
            config,
            unstarted=unstarted,
            finished=claims.finished,
        )
    return len(work)


def watch(
    scheduler: Scheduler,
    coalescer: Coalescer,
    db: Database,
    config: Mapping[str, Any],
    *,
    unstarted: Unstarted | None = None,
) -> Claims:
    """Claim handed-over work every ``RAPPORT_WEBHOOK_POLL`` seconds, on the scheduler's
    light thread (long runs never delay the lease); the process's claims."""
    seconds = max(MIN_POLL, number(config, "RAPPORT_WEBHOOK_POLL") or 2.0)
    claims = Claims(db, coalescer, number(config, "RAPPORT_HANDOVER_LEASE") or LEASE)
    scheduler.every(
        JOB,
        seconds,
        partial(take, scheduler, coalescer, claims, config, unstarted=unstarted),
        light=True,
    )
    return claims


def hand_back(
    db: Database,
    coalescer: Coalescer | None,
    unstarted: Unstarted | None,
    claims: Claims | None = None,
) -> int:
    """Record for the next worker what this stopped process owed and never started, and
    release what it still holds; the number of items. Call it after the scheduler has
    stopped (nothing starts any more)."""
    work: set[Work] = unstarted.items() if unstarted else set()
    if coalescer is not None:
        work |= {(HandoverKind.DELTA, key) for key in coalescer.unstarted()}
    if work:
        with db.transaction() as session:
            record(session, work)
    return len(work) + (claims.release() if claims is not None else 0)

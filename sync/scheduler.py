"""The in-process scheduler (the embedded default): periodic work and queued jobs.

A small interface, so a distributed runner (Celery) can take its place later:
``every(job_id, seconds, fn)`` runs ``fn`` periodically; ``enqueue(job_id, fn, delay)`` runs it
once, and enqueuing the same ``job_id`` again before it ran replaces it (a debounce: ten
change notifications for one mailbox make one sync run). Built on APScheduler's background
scheduler rather than hand-written threads and timers.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from storage.types import utcnow

log = logging.getLogger(__name__)
WORKERS = 4  # concurrent jobs; one sync pass per mailbox at a time (max_instances=1)
LIGHT = "light"  # the executor of short periodic jobs that must not wait behind long ones


class Scheduler(Protocol):
    def every(
        self, job_id: str, seconds: float, fn: Callable[[], Any], *, light: bool = False
    ) -> None: ...

    def enqueue(self, job_id: str, fn: Callable[[], Any], delay: float = 0.0) -> None: ...

    def shutdown(self) -> None: ...


class InProcessScheduler:
    def __init__(self, workers: int = WORKERS) -> None:
        self._scheduler = BackgroundScheduler(
            # A light job (a claim poll extending its leases) has a thread of its own: four
            # long delta runs must not hold it back until another worker takes its claims.
            executors={"default": ThreadPoolExecutor(workers), LIGHT: ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
            timezone="UTC",
        )
        self._scheduler.start()

    def every(
        self, job_id: str, seconds: float, fn: Callable[[], Any], *, light: bool = False
    ) -> None:
        self._scheduler.add_job(
            _logged(job_id, fn),
            "interval",
            seconds=seconds,
            id=job_id,
            replace_existing=True,
            executor=LIGHT if light else "default",
        )

    def enqueue(self, job_id: str, fn: Callable[[], Any], delay: float = 0.0) -> None:
        self._scheduler.add_job(
            _logged(job_id, fn),
            "date",
            run_date=utcnow() + timedelta(seconds=delay),
            id=job_id,
            replace_existing=True,
        )

    def pending(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())

    def shutdown(self) -> None:
        self._scheduler.shutdown(wait=True)


def _logged(job_id: str, fn: Callable[[], Any]) -> Callable[[], None]:
    """A job that never takes the scheduler down: failures are logged with the job's id."""

    def run() -> None:
        try:
            fn()
        except Exception:
            log.exception("job %s failed", job_id)

    return run


def start_for_app(app: Any) -> InProcessScheduler | None:
    """Start the scheduler for a served app unless RAPPORT_SCHEDULER=0."""
    from config import flag

    if not flag(app.config, "RAPPORT_SCHEDULER"):
        return None
    scheduler = InProcessScheduler()
    app.extensions["rapport.scheduler"] = scheduler
    start_graph_subscriptions(app, scheduler)
    schedule_graph_sync(scheduler, app.extensions["rapport.db"], app.config)
    schedule_reconcile(scheduler, app.extensions["rapport.db"])
    schedule_dedupe(scheduler, app.extensions["rapport.db"])
    coalescer = app.extensions.get("rapport.graph_webhooks")
    if coalescer is not None:
        from sync.handover import CLAIMS, UNSTARTED, Unstarted, watch

        # What API processes without a scheduler received (gunicorn workers).
        unstarted = app.extensions.setdefault(UNSTARTED, Unstarted())
        app.extensions[CLAIMS] = watch(
            scheduler, coalescer, app.extensions["rapport.db"], app.config, unstarted=unstarted
        )
    return scheduler


def stop_for_app(app: Any) -> int:
    """Stop the scheduler `start_for_app` started, waiting for the jobs that are running, and
    hand back to the store what was queued and never started and what it still held
    (`sync.handover.hand_back`), so a restarted worker runs it; the number of items."""
    from sync.handover import CLAIMS, UNSTARTED, hand_back

    scheduler = app.extensions.get("rapport.scheduler")
    if scheduler is None:
        return 0
    coalescer = app.extensions.get("rapport.graph_webhooks")
    if coalescer is not None:
        coalescer.close()
    scheduler.shutdown()
    return hand_back(
        app.extensions["rapport.db"],
        coalescer,
        app.extensions.get(UNSTARTED),
        app.extensions.get(CLAIMS),
    )


def schedule_reconcile(scheduler: Scheduler, db: Any) -> None:
    """Look for a weight change whose rebuild never ran, at start and every minute after
    (`sync.handover.reconcile`)."""
    from sync.handover import RECONCILE, RECONCILE_JOB, reconcile

    scheduler.every(RECONCILE_JOB, RECONCILE, lambda: reconcile(scheduler, db))
    scheduler.enqueue(f"{RECONCILE_JOB}.start", lambda: reconcile(scheduler, db))


def schedule_dedupe(scheduler: Scheduler, db: Any) -> None:
    """Merge duplicate people once a day (`sync.dedupe`)."""
    from sync.dedupe import DEDUPE_EVERY, DEDUPE_JOB, dedupe

    scheduler.every(DEDUPE_JOB, DEDUPE_EVERY, lambda: dedupe(db))


def schedule_graph_sync(scheduler: Scheduler, db: Any, config: Any) -> None:
    """A delta pass over every due Graph mailbox every RAPPORT_SYNC_INTERVAL seconds (the
    safety net under change notifications; `sync.graph.run_due`). One pass at a time."""
    from sync.graph import run_due

    seconds = max(1.0, float(config.get("RAPPORT_SYNC_INTERVAL") or 300))
    scheduler.every("graph-sync", seconds, lambda: run_due(db, config))


def start_graph_subscriptions(app: Any, scheduler: Scheduler) -> None:
    """Keep the Graph subscriptions alive; ``api.webhooks`` receives what they deliver and
    queues delta runs through its `Coalescer`."""
    from sync.graph_subscriptions import schedule

    coalescer = app.extensions.get("rapport.graph_webhooks")
    if coalescer is not None:
        schedule(scheduler, app.extensions["rapport.db"], app.config, coalescer.trigger)


class Coalescer:
    """Runs ``run(key)`` on a scheduler shortly after ``trigger(key)``, once per burst.

    Triggers while a run of the key is queued join it; triggers while it runs make exactly one
    more run afterwards (the running one may already have read past the change). So a burst of
    change notifications for one mailbox makes one delta run, a steady stream at most one run
    per ``delay`` plus run time, and no change is left unread. ``run`` returns False when it
    could not run now (another pass of the key, such as the periodic one, is running); it is
    then tried again after ``delay``, at most ``retries`` times in a row. The state lives in
    this process: it coalesces what this process's scheduler runs. A stopping process closes
    it first (`close`) and then hands what never started (`unstarted`) to the next process.
    Listeners (`on_run`) hear of each key's run once it is over (a sync worker then deletes
    the handed-over row the run answered).
    """

    def __init__(
        self,
        scheduler: Callable[[], Scheduler | None],
        prefix: str,
        run: Callable[[int], bool],
        delay: float,
        retries: int = 100,
    ) -> None:
        self._scheduler, self._prefix, self._run = scheduler, prefix, run
        self.delay, self.retries = delay, retries
        self._lock = threading.Lock()
        self._queued: set[int] = set()
        self._running: set[int] = set()
        self._again: set[int] = set()
        self._refused: dict[int, int] = {}  # key -> runs in a row that could not run
        self._left: set[int] = set()  # triggered after close: never queued
        self._closed = False
        self._runs = itertools.count(1)
        self._listeners: list[Callable[[int, datetime], None]] = []

    def on_run(self, listener: Callable[[int, datetime], None]) -> None:
        """Call ``listener(key, started)`` after each run of a key that ran, or that was
        refused as busy for the last time (the pass that held the key did the work)."""
        self._listeners.append(listener)

    def trigger(self, key: int) -> bool:
        """Make sure a run of ``key`` starts after this call; False if there is no scheduler."""
        scheduler = self._scheduler()
        if scheduler is None:
            return False
        with self._lock:
            if self._closed:
                self._left.add(key)
                return True
            if key in self._running:
                self._again.add(key)
                return True
            if key in self._queued:
                return True
            self._queued.add(key)
        # A new id per run: a re-run queued while its predecessor is still finishing must not
        # meet APScheduler's one-instance-per-id rule (max_instances), which would drop it.
        job_id = f"{self._prefix}{key}#{next(self._runs)}"
        try:
            scheduler.enqueue(job_id, lambda: self._job(key), self.delay)
        except Exception:
            with self._lock:
                self._queued.discard(key)
            raise
        return True

    def close(self) -> None:
        """Queue nothing from now on (the scheduler is stopping): a trigger is only noted."""
        with self._lock:
            self._closed = True

    def unstarted(self) -> set[int]:
        """Keys owed a run that has not started: queued, asked again during a run, or
        triggered after `close`. Once the scheduler has stopped, the runs it will never do."""
        with self._lock:
            return self._queued | self._again | self._left

    def _job(self, key: int) -> None:
        with self._lock:
            self._queued.discard(key)
            self._running.add(key)
        busy = False  # an exception is logged by the scheduler and not retried
        started = utcnow()
        try:
            busy = not self._run(key)
        finally:
            again = self._finished(key, busy)
            if not (busy and again):
                self._ran(key, started)
            if again:
                self.trigger(key)

    def _ran(self, key: int, started: datetime) -> None:
        for listener in self._listeners:
            try:
                listener(key, started)
            except Exception:  # the run itself is over; the next pass answers what is owed
                log.exception("%s%s: after-run listener failed", self._prefix, key)

    def _finished(self, key: int, busy: bool) -> bool:
        """Record the end of a run; True if the key must run again."""
        with self._lock:
            self._running.discard(key)
            again = key in self._again
            self._again.discard(key)
            tries = self._refused.pop(key, 0) + 1 if busy else 0
            if busy and tries <= self.retries:
                self._refused[key] = tries
                return True
            if busy:
                log.warning(
                    "%s%s: still busy after %d tries; left to the next pass",
                    self._prefix,
                    key,
                    self.retries,
                )
            return again

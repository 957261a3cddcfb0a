"""The in-process scheduler (the embedded default): periodic work and queued jobs.

A small interface, so a distributed runner (Celery) can take its place later:
``every(job_id, seconds, fn)`` runs ``fn`` periodically; ``enqueue(job_id, fn, delay)`` runs it
once, and enqueuing the same ``job_id`` again before it ran replaces it (a debounce: ten
change notifications for one mailbox make one sync run). Built on APScheduler's background
scheduler rather than hand-written threads and timers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from storage.types import utcnow

log = logging.getLogger(__name__)
WORKERS = 4  # concurrent jobs; one sync pass per mailbox at a time (max_instances=1)


class Scheduler(Protocol):
    def every(self, job_id: str, seconds: float, fn: Callable[[], Any]) -> None: ...

    def enqueue(self, job_id: str, fn: Callable[[], Any], delay: float = 0.0) -> None: ...

    def shutdown(self) -> None: ...


class InProcessScheduler:
    def __init__(self, workers: int = WORKERS) -> None:
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
            timezone="UTC",
        )
        self._scheduler.start()

    def every(self, job_id: str, seconds: float, fn: Callable[[], Any]) -> None:
        self._scheduler.add_job(
            _logged(job_id, fn), "interval", seconds=seconds, id=job_id, replace_existing=True
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
    return scheduler

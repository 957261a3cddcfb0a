"""How Graph requests are retried and how many run at once.

Retries are urllib3's ``Retry``, mounted on the ``requests`` session O365's connection uses
(``GraphConnection.get_session``), with Graph's throttling rules (``concepts/throttling.md``):

- 429 and 503 wait as long as ``Retry-After`` says; a wait longer than ``MAX_INLINE_WAIT`` is
  not slept in the sync thread: the request gives up and the mailbox is retried after that
  time (``sync.errors.Throttled.retry_after``, recorded as its next retry).
- Other transient answers (500, 502, 504, and 429/503 without ``Retry-After``) and network
  errors back off exponentially: ``BACKOFF_FACTOR * 2**n`` seconds plus up to ``JITTER``
  seconds of random jitter (so throttled workers do not retry in step), never more than
  ``BACKOFF_CEILING``; at most ``RETRIES`` retries per request.

Graph allows 4 concurrent requests per app per mailbox (``throttling-limits.md``, Outlook
service limits): every request for a mailbox holds one of its ``MAILBOX_CONCURRENCY`` slots.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

RETRIES = 6
BACKOFF_FACTOR = 0.5  # seconds: 0.5, 1, 2, 4, 8, 16 ...
BACKOFF_CEILING = 30.0  # seconds: no back-off step is longer
JITTER = 0.5  # seconds of random jitter added to each back-off step
MAX_INLINE_WAIT = 60.0  # seconds of Retry-After slept inside a pass; longer: retry the mailbox
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAILBOX_CONCURRENCY = 4  # throttling-limits.md: 4 concurrent requests per app per mailbox

WaitObserver = Callable[[float, int | None], None]  # (seconds waited, HTTP status or None)


class GraphRetry(Retry):
    """``Retry`` that refuses long ``Retry-After`` waits and reports every wait it sleeps."""

    observer: WaitObserver | None = None

    def new(self, **kw: Any) -> GraphRetry:
        fresh: GraphRetry = super().new(**kw)
        fresh.observer = self.observer
        return fresh

    def increment(self, *args: Any, **kwargs: Any) -> GraphRetry:
        response = kwargs.get("response")
        if response is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > MAX_INLINE_WAIT:
                # Raised before any sleep: the caller gets this response and reschedules.
                raise MaxRetryError(
                    kwargs.get("_pool"),  # type: ignore[arg-type]
                    str(kwargs.get("url") or ""),
                    ResponseError(f"Retry-After {wait:.0f} s is longer than {MAX_INLINE_WAIT} s"),
                )
        incremented: GraphRetry = super().increment(*args, **kwargs)
        return incremented

    def get_backoff_time(self) -> float:
        """``BACKOFF_FACTOR * 2**(n-1)`` plus jitter after the n-th consecutive error, capped.

        urllib3 retries the first error at once; a throttled or failing service deserves a
        pause from the first retry on."""
        errors = 0
        for attempt in reversed(self.history):
            if attempt.redirect_location is not None:
                break
            errors += 1
        if errors == 0:
            return 0.0
        delay = self.backoff_factor * 2 ** (errors - 1) + random.random() * self.backoff_jitter
        return float(min(self.backoff_max, delay))

    def sleep(self, response: Any = None) -> None:
        started = time.monotonic()
        super().sleep(response)
        waited = time.monotonic() - started
        status = getattr(response, "status", None)
        log.info("Graph request retried after %.1f s (HTTP %s)", waited, status or "error")
        if self.observer is not None:
            self.observer(waited, status)


def retry_policy(observer: WaitObserver | None = None) -> GraphRetry:
    policy = GraphRetry(
        total=RETRIES,
        connect=RETRIES,
        read=RETRIES,
        status=RETRIES,
        backoff_factor=BACKOFF_FACTOR,
        backoff_max=BACKOFF_CEILING,
        backoff_jitter=JITTER,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "DELETE", "PATCH"}),  # POST creates: not retried
        respect_retry_after_header=True,
        raise_on_status=False,  # the last answer reaches the caller, which maps it to an error
    )
    policy.observer = observer
    return policy


class MailboxLimits:
    """One semaphore of ``MAILBOX_CONCURRENCY`` slots per mailbox, for the whole process."""

    def __init__(self, slots: int = MAILBOX_CONCURRENCY) -> None:
        self.slots = slots
        self._lock = threading.Lock()
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def slot(self, mailbox: str) -> Iterator[None]:
        key = mailbox.lower()
        with self._lock:
            semaphore = self._semaphores.setdefault(key, threading.BoundedSemaphore(self.slots))
        with semaphore:
            yield


LIMITS = MailboxLimits()

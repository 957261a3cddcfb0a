"""Fetch the next page while the engine stores the current one.

A folder's delta pages are sequential (each page names the next), so one page is read ahead:
the network wait and JSON parsing of page n+1 overlap the database work of page n. Reading
ahead never moves a cursor: the engine saves page n's cursor only after storing page n, and a
page read ahead but never stored is simply read again by the next pass.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
POLL_SECONDS = 0.2  # how soon an abandoned producer notices that nobody reads any more
_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(source: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Yield what ``source`` yields, producing up to ``depth`` items ahead in a thread.

    Errors of ``source`` are raised here, in order. Closing this generator early (the engine
    stopped on an error) stops the thread after its current item."""
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(entry, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not put(item):
                    return
        except BaseException as error:  # handed to the consumer, re-raised there
            put(_Failure(error))
            return
        finally:
            close = getattr(source, "close", None)
            if close is not None and stop.is_set():
                close()
        put(_DONE)

    thread = threading.Thread(target=produce, name="graph-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            entry = buffer.get()
            if entry is _DONE:
                return
            if isinstance(entry, _Failure):
                raise entry.error
            yield entry  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()

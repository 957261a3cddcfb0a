"""Imports collect garbage less often, and put the collector back as they found it."""

from __future__ import annotations

import gc
import threading

from sync.gc_tuning import YOUNG_THRESHOLD, fewer_collections


def test_threshold_raised_inside_and_restored_after() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == max(before[0], YOUNG_THRESHOLD)
        assert gc.get_threshold()[1:] == before[1:]
    assert gc.get_threshold() == before


def test_overlapping_imports_restore_only_when_the_last_ends() -> None:
    before = gc.get_threshold()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[tuple[int, int, int]] = []

    def first() -> None:
        with fewer_collections():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with fewer_collections():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.get_threshold())  # the first import ended: still raised here

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [(max(before[0], YOUNG_THRESHOLD), *before[1:])]
    assert gc.get_threshold() == before


def test_an_error_inside_still_restores() -> None:
    before = gc.get_threshold()
    try:
        with fewer_collections():
            raise RuntimeError("page failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before

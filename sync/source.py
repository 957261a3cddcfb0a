"""The ``Source`` protocol: what a provider (files, Microsoft Graph, EWS) gives the engine."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from sync.items import Folder, Page


class Source(Protocol):
    """A mailbox's items, folder by folder, page by page.

    ``folders()`` lists the folders in the order they should be read: Sent folders first, so
    the mailbox owner's aliases are known before inbound mail is attributed.

    ``pages(folder, cursor)`` yields the pages after ``cursor`` (``None``: from the start).
    Each page carries the cursor to resume after it; the engine stores that cursor in the same
    transaction as the page, so a crash between pages never loses or repeats a page's effect.
    A source raises ``sync.errors.CursorExpired`` when a stored cursor is no longer valid.
    """

    name: str  # "files", "graph", "ews": part of the cursor's key

    def folders(self) -> Sequence[Folder]: ...

    def pages(self, folder: Folder, cursor: str | None) -> Iterator[Page]: ...

    def total_size(self, folder: Folder) -> int:
        """Units of ``Page.progress`` in the whole folder (0 if unknown), for progress bars."""
        ...

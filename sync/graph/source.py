"""``GraphSource``: a mailbox's folders and calendar through Graph delta queries.

Mail (``mailFolders/{folder}/messages/delta``), per folder:
- The first round asks for ``$orderby=receivedDateTime desc`` with no ``$filter``. Graph caps a
  delta filtered by ``receivedDateTime`` at 5,000 messages, and a filter can only say ``ge`` or
  ``gt`` (never "before"), so every slice of a window would reach up to now and the cap would
  keep only its newest 5,000: the older mail of a busy window would be unreachable. An
  unfiltered delta has no cap; newest first, the recent mail is stored first (a new user sees
  value in minutes), and messages received before the backfill window are dropped here as they
  arrive (``since`` in the cursor; the round still reaches its deltaLink).
- Every later pass follows the stored deltaLink: only changes, ``@removed`` included.
- ``$select`` names only what the store needs (``sync.graph.messages``); ``Prefer:
  odata.maxpagesize`` sets the page size; ``IdType="ImmutableId"`` comes from the connection.

Calendar (``calendarView/delta``): the window is [now - backfill, now + ``CALENDAR_AHEAD``],
fixed by the first call (Graph keeps it in the tokens). When the window's end comes within
``CALENDAR_REWINDOW`` of the present, the next pass starts a new round with a fresh window.
Every event listed replaces this calendar's copy of it (rescheduled, responses changed); a
cancelled one is skipped by the logging rules and a removed one (``@removed``, a deleted
occurrence) only takes its sighting away.

The cursor of every page is JSON: the link to read next (a nextLink, or the round's deltaLink)
plus the window. 410 and ``syncStateNotFound`` raise ``CursorExpired`` (``GraphClient``) and
the engine reads the folder again from the start; its upserts make that duplicate nothing.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.types import utcnow
from sync.errors import CursorExpired, TransientError
from sync.graph.client import GraphClient
from sync.graph.events import UTC_PREFERENCE, parse_event
from sync.graph.messages import SENSITIVITY_EXPAND, parse_message, select_fields
from sync.graph.prefetch import read_ahead
from sync.graph.wire import timestamp
from sync.items import Folder, FolderKind, MailItem, Page, Unreadable

CALENDAR_KEY = "calendar"
CALENDAR_AHEAD = timedelta(days=365)
CALENDAR_REWINDOW = timedelta(days=335)  # restart the window once its end is this close
DEFAULT_FOLDERS = (
    Folder("SentItems", FolderKind.SENT),  # first: it tells the owner's aliases
    Folder("Inbox", FolderKind.INBOX),
)

FolderLister = Callable[[GraphClient], Sequence[Folder]]
# (folder key, window or None) -> source ids the store holds sightings of in that folder, for
# meetings only those whose time falls inside the window.
StoredIds = Callable[[str, tuple[datetime, datetime] | None], set[str]]


@dataclass(frozen=True)
class Cursor:
    link: str  # the URL to GET next: a nextLink inside a round, or the round's deltaLink
    start: str  # mail: messages received before this are outside the window; calendar: window
    end: str = ""  # calendar only

    def dump(self) -> str:
        return json.dumps({"link": self.link, "start": self.start, "end": self.end})

    @classmethod
    def load(cls, raw: str) -> Cursor:
        try:
            data = json.loads(raw)
            return cls(str(data["link"]), str(data["start"]), str(data.get("end") or ""))
        except (ValueError, KeyError, TypeError) as error:
            raise CursorExpired("unreadable Graph cursor") from error

    @property
    def is_delta(self) -> bool:
        return "$deltatoken=" in self.link or "%24deltatoken=" in self.link


class GraphSource:
    name = "graph"

    def __init__(
        self,
        client: GraphClient,
        *,
        backfill: timedelta,
        page_size: int,
        calendar: bool = True,
        folder_lister: FolderLister | None = None,
        stored_ids: StoredIds | None = None,
        now: datetime | None = None,
    ) -> None:
        self.client = client
        self.backfill, self.page_size, self.calendar = backfill, page_size, calendar
        self._lister = folder_lister
        self._stored_ids = stored_ids
        self._now = now
        self._folders: Sequence[Folder] | None = None

    def now(self) -> datetime:
        return self._now or utcnow()

    def folders(self) -> Sequence[Folder]:
        if self._folders is None:
            mail = self._lister(self.client) if self._lister else DEFAULT_FOLDERS
            calendar = (Folder(CALENDAR_KEY, FolderKind.CALENDAR),) if self.calendar else ()
            self._folders = (*mail, *calendar)
        return self._folders

    def total_size(self, folder: Folder) -> int:
        return 0  # Graph tells no size of a delta round

    def pages(self, folder: Folder, cursor: str | None) -> Iterator[Page]:
        if folder.kind == FolderKind.CALENDAR:
            return read_ahead(self._calendar_pages(cursor))
        return read_ahead(self._mail_pages(folder, cursor))

    # -- mail -------------------------------------------------------------------------------

    def _mail_pages(self, folder: Folder, cursor: str | None) -> Iterator[Page]:
        if cursor:
            state = Cursor.load(cursor)
            since = timestamp(state.start)
            if since is None:
                raise CursorExpired("Graph cursor without a window")
            url, params = state.link, None
        else:
            since = self.now() - self.backfill
            segment = urllib.parse.quote(folder.key, safe="")
            url = self.client.user_url(f"/mailFolders/{segment}/messages/delta")
            params = {
                "$select": select_fields(folder.kind),
                "$expand": SENSITIVITY_EXPAND,
                "$orderby": "receivedDateTime desc",
            }
        start = since.isoformat()
        headers = {"Prefer": f"odata.maxpagesize={self.page_size}"}
        seen = _Seen(folder.key, None, self._stored_ids if cursor is None else None)
        while True:
            body = self.client.get(url, params, headers)
            items: list[MailItem | Unreadable] = []
            removed: list[str] = []
            values = _values(body)
            for value in values:
                seen.add(value)
                if "@removed" in value:
                    removed.append(str(value.get("id") or ""))
                    continue
                received = timestamp(value.get("receivedDateTime"))
                if received is not None and received < since:
                    continue  # before the backfill window
                items.append(parse_message(value))
            link, done = _next_link(body)
            if done:
                removed.extend(seen.gone())
            yield Page(tuple(items), Cursor(link, start).dump(), len(values), tuple(removed))
            if done:
                return
            url, params = link, None

    # -- calendar ---------------------------------------------------------------------------

    def _calendar_pages(self, cursor: str | None) -> Iterator[Page]:
        state = Cursor.load(cursor) if cursor else None
        now = self.now()
        seen = _Seen(CALENDAR_KEY, None, None)
        if state is None or (state.is_delta and _window_stale(state, now)):
            window = (now - self.backfill, now + CALENDAR_AHEAD)
            start, end = _graph_time(window[0]), _graph_time(window[1])
            url = self.client.user_url("/calendarView/delta")
            params: dict[str, str] | None = {"startDateTime": start, "endDateTime": end}
            seen = _Seen(CALENDAR_KEY, window, self._stored_ids)
        else:
            start, end, url, params = state.start, state.end, state.link, None
        headers = {"Prefer": f"odata.maxpagesize={self.page_size}, {UTC_PREFERENCE}"}
        owner = self.client.mailbox.lower()
        while True:
            body = self.client.get(url, params, headers)
            items: list[MailItem | Unreadable] = []
            values = _values(body)
            # Every event listed replaces this calendar's copy (a change may have moved it,
            # changed who attends, or cancelled it); removing a copy never stored does nothing.
            removed = [str(value.get("id") or "") for value in values]
            for value in values:
                seen.add(value)
                parsed = None if "@removed" in value else parse_event(value, owner)
                if parsed is not None:
                    items.append(parsed)
            link, done = _next_link(body)
            if done:
                removed.extend(seen.gone())
            cursor_now = Cursor(link, start, end).dump()
            yield Page(tuple(items), cursor_now, len(values), tuple(removed))
            if done:
                return
            url, params = link, None


class _Seen:
    """The ids a complete round listed, to find what the store holds that the folder no longer
    has. Only a round read from its very start in this process knows every id it listed (a
    round resumed from a nextLink does not), so only such a round sweeps: after a resync (410),
    what was deleted while the token had expired leaves the store too."""

    def __init__(
        self, key: str, window: tuple[datetime, datetime] | None, stored: StoredIds | None
    ) -> None:
        self.key, self.window, self._stored = key, window, stored
        self._ids: set[str] = set()

    def add(self, value: dict[str, Any]) -> None:
        if self._stored is not None:
            self._ids.add(str(value.get("id") or ""))

    def gone(self) -> list[str]:
        if self._stored is None:
            return []
        return sorted(self._stored(self.key, self.window) - self._ids)


def _values(body: dict[str, Any]) -> list[dict[str, Any]]:
    value = body.get("value")
    if not isinstance(value, list):
        raise TransientError("Graph delta page without a value list")
    return [v for v in value if isinstance(v, dict)]


def _next_link(body: dict[str, Any]) -> tuple[str, bool]:
    """(link to store as the cursor, whether the round is complete)."""
    following, delta = body.get("@odata.nextLink"), body.get("@odata.deltaLink")
    if isinstance(following, str) and following:
        return following, False
    if isinstance(delta, str) and delta:
        return delta, True
    raise TransientError("Graph delta page with neither nextLink nor deltaLink")


def _graph_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _window_stale(state: Cursor, now: datetime) -> bool:
    end = timestamp(state.end)
    return end is None or end - now < CALENDAR_REWINDOW

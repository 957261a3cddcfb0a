"""Graph delta rounds over the change log of `tests.emulators.mailstore.Store`.

A round covers the changes in ``(since, upto]``: the first round of a collection has
``since == 0`` and lists what exists (no ``@removed``); a round started from a deltaLink lists
what changed since the previous round ended. Pages of a round are offsets into one ordered list
of candidates, so a nextLink replays exactly. Tokens are base64url JSON of `DeltaState`: opaque
to clients, like Graph's, and carrying every query option of the first call.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, overload

from tests.emulators.errors import GraphError
from tests.emulators.mailstore import CALENDAR, Store, parse_time

# concepts/delta-query-messages.md, reference notes §1.1: a delta with $filter (only
# `receivedDateTime ge|gt`) returns at most 5,000 messages. We keep the newest 5,000 of a round.
FILTERED_DELTA_CAP = 5_000
DEFAULT_PAGE_SIZE = 10  # what Graph uses for message delta without `Prefer: odata.maxpagesize`
MAX_PAGE_SIZE = 1_000
CHANGE_TYPES = ("created", "updated", "deleted")
_FILTER = re.compile(r"^\s*receivedDateTime\s+(ge|gt)\s+(\S+)\s*$", re.IGNORECASE)
_ORDERBY = re.compile(r"^\s*receivedDateTime\s+desc\s*$", re.IGNORECASE)
# The one $expand the emulator serves: single-value extended properties picked by id, e.g.
# singleValueExtendedProperties($filter=id eq 'Integer 0x0036') (PidTagSensitivity).
_EXPAND = re.compile(
    r"^\s*singleValueExtendedProperties\(\$filter=id eq '([^']+)'\)\s*$", re.IGNORECASE
)
# Properties of microsoft.graph.message (resources/message.md) that $select may name.
MESSAGE_PROPERTIES = frozenset(
    p.lower()
    for p in (
        "id",
        "bccRecipients",
        "body",
        "bodyPreview",
        "categories",
        "ccRecipients",
        "changeKey",
        "conversationId",
        "conversationIndex",
        "createdDateTime",
        "flag",
        "from",
        "hasAttachments",
        "importance",
        "inferenceClassification",
        "internetMessageHeaders",
        "internetMessageId",
        "isDeliveryReceiptRequested",
        "isDraft",
        "isRead",
        "isReadReceiptRequested",
        "lastModifiedDateTime",
        "parentFolderId",
        "receivedDateTime",
        "replyTo",
        "sender",
        "sentDateTime",
        "subject",
        "toRecipients",
        "uniqueBody",
        "webLink",
    )
)
FIRST_CALL_OPTIONS = (
    "$select",
    "$filter",
    "$orderby",
    "$expand",
    "changeType",
    "startDateTime",
    "endDateTime",
)
ROUND_CACHE_SIZE = 64  # candidate lists kept per (mailbox, folder, round, query)


@dataclass(frozen=True)
class DeltaState:
    kind: str  # "skip" (inside a round, a nextLink) or "delta" (a deltaLink)
    mailbox: str
    collection: str  # folder id or CALENDAR
    epoch: int
    since: int
    upto: int
    offset: int
    query: dict[str, str]  # $select, $filter, changeType, startDateTime, endDateTime


@dataclass(frozen=True)
class Candidate:
    item_id: str
    current: dict[str, Any] | None  # None: gone from the collection
    created: bool  # arrived inside this round
    reason: str = "deleted"  # the @removed reason when current is None


def encode(state: DeltaState) -> str:
    raw = json.dumps(asdict(state), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str) -> DeltaState:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return DeltaState(**json.loads(raw))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise GraphError(400, "BadRequest", "The delta token is malformed.") from exc


def page_size(prefer: str) -> int:
    """`Prefer: odata.maxpagesize=N`, clamped to what Graph serves."""
    for preference in prefer.split(","):
        name, _, value = preference.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize" and value.strip().isdigit():
            return max(1, min(int(value), MAX_PAGE_SIZE))
    return DEFAULT_PAGE_SIZE


def first_query(args: dict[str, str], calendar: bool) -> dict[str, str]:
    """Validate the options of a round's first call; later calls take them from the token."""
    query = {k: v for k, v in args.items() if k in FIRST_CALL_OPTIONS}
    if query.get("changeType", "created") not in CHANGE_TYPES:
        raise GraphError(400, "ErrorInvalidParameter", "changeType must be created|updated|deleted")
    if "$filter" in query and not _FILTER.match(query["$filter"]):
        raise GraphError(
            400,
            "ErrorInvalidUrlQueryFilter",
            "Delta supports only $filter=receivedDateTime ge|gt {value}.",
        )
    if "$orderby" in query and not _ORDERBY.match(query["$orderby"]):
        raise GraphError(
            400, "ErrorInvalidUrlQuery", "Delta supports only $orderby=receivedDateTime desc."
        )
    if "$expand" in query and not _EXPAND.match(query["$expand"]):
        raise GraphError(400, "BadRequest", f"Unsupported $expand: {query['$expand']}")
    if not calendar and "$select" in query:
        unknown = [
            name
            for name in (n.strip() for n in query["$select"].split(","))
            if name and name.lower() not in MESSAGE_PROPERTIES
        ]
        if unknown:
            raise GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{unknown[0]}' on type "
                "'microsoft.graph.message'.",
            )
    if calendar:
        try:
            parse_time(query["startDateTime"]), parse_time(query["endDateTime"])
        except (KeyError, ValueError) as exc:
            raise GraphError(
                400,
                "ErrorInvalidParameter",
                "calendarView delta needs startDateTime and endDateTime.",
            ) from exc
    return query


def expanded_property(query: dict[str, str]) -> str | None:
    """The extended property id a round's ``$expand`` asks for, if any."""
    match = _EXPAND.match(query.get("$expand", ""))
    return match.group(1) if match else None


class _MessageCandidates(Sequence[Candidate]):
    """A round's candidates, made only for the page asked for: a round of 100,000 messages
    would otherwise build 100,000 objects for every page of 1,000."""

    def __init__(self, store: Store, state: DeltaState, ids: list[str]) -> None:
        self._store, self._state, self._ids = store, state, ids

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> Candidate: ...

    @overload
    def __getitem__(self, index: slice) -> list[Candidate]: ...

    def __getitem__(self, index: int | slice) -> Candidate | list[Candidate]:
        if isinstance(index, slice):
            return [self._candidate(i) for i in self._ids[index]]
        return self._candidate(self._ids[index])

    def _candidate(self, message_id: str) -> Candidate:
        m, state = self._store.messages[message_id], self._state
        return Candidate(
            m.data["id"],
            None if m.removed or m.folder_id != state.collection else m.data,
            m.arrived_seq > state.since,
            m.removed or "deleted",
        )


def message_candidates(store: Store, state: DeltaState) -> Sequence[Candidate]:
    return _MessageCandidates(store, state, _round_ids(store, state))


def _round_ids(store: Store, state: DeltaState) -> list[str]:
    """The ordered message ids of a round. The change log is append-only and
    ``receivedDateTime`` never changes, so the list (and every page of the round) is stable;
    it is computed once per round, not once per page."""
    key = (
        state.mailbox,
        state.collection,
        state.since,
        state.upto,
        state.query.get("$filter", ""),
        state.query.get("$orderby", ""),
    )
    cached = store.round_cache.get(key)
    if cached is not None:
        return cached
    ids = dict.fromkeys(
        c.item_id for c in store.changes(state.mailbox, state.collection, state.since, state.upto)
    )
    messages = [store.messages[i] for i in ids]
    match = _FILTER.match(state.query.get("$filter", ""))
    if match:
        # A filtered delta returns at most FILTERED_DELTA_CAP messages: the newest ones.
        cutoff, strict = parse_time(match.group(2)), match.group(1).lower() == "gt"
        messages = [m for m in messages if _after(m.data["receivedDateTime"], cutoff, strict)]
        messages.sort(key=lambda m: m.data["receivedDateTime"], reverse=True)
        messages = messages[:FILTERED_DELTA_CAP]
    elif _ORDERBY.match(state.query.get("$orderby", "")):
        messages.sort(key=lambda m: m.data["receivedDateTime"], reverse=True)
    result = [m.data["id"] for m in messages]
    if len(store.round_cache) >= ROUND_CACHE_SIZE:
        store.round_cache.pop(next(iter(store.round_cache)))
    store.round_cache[key] = result
    return result


def _after(received: str, cutoff: datetime, strict: bool) -> bool:
    value = parse_time(received)
    return value > cutoff if strict else value >= cutoff


def event_candidates(store: Store, state: DeltaState) -> list[Candidate]:
    start = parse_time(state.query["startDateTime"])
    end = parse_time(state.query["endDateTime"])
    touched: dict[str, bool] = {}  # instance id -> its event was created in this round
    current: dict[str, dict[str, Any]] = {}
    for change in store.changes(state.mailbox, CALENDAR, state.since, state.upto):
        event = store.events[change.item_id]
        now = {i["id"]: i for i in event.instances(start, end)}
        before = {i["id"]: i for i in change.prior.instances(start, end)} if change.prior else {}
        current |= now
        # Only instances that look different count: cancelling one occurrence reports one.
        for instance_id in [i for i in before | now if before.get(i) != now.get(i)]:
            touched.setdefault(instance_id, event.created_seq > state.since)
    return [Candidate(i, current.get(i), created) for i, created in touched.items()]


def build_page(
    candidates: Sequence[Candidate],
    state: DeltaState,
    size: int,
    render: Callable[[dict[str, Any]], dict[str, Any]],
    odata_type: str,
) -> tuple[list[dict[str, Any]], DeltaState]:
    """One page of a round and the state of the link that follows it (skip or delta)."""
    end = state.offset + size
    total = len(candidates)
    window = candidates[state.offset : end]
    change_type = state.query.get("changeType")
    value = []
    for candidate in window:
        kind = (
            "deleted"
            if candidate.current is None
            else "created"
            if candidate.created
            else "updated"
        )
        if change_type not in (None, kind):
            continue
        if candidate.current is not None:
            value.append(render(candidate.current))
        elif state.since > 0:  # the first round lists what exists, never removals
            value.append(
                {
                    "@odata.type": odata_type,
                    "id": candidate.item_id,
                    "@removed": {"reason": candidate.reason},
                }
            )
    if end < total:
        return value, replace(state, kind="skip", offset=end)
    return value, replace(state, kind="delta", since=state.upto, offset=0)

"""Query parameters shared by the API's views: times, bounded integers, ISO output."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import request

from api.errors import BadRequest
from storage.types import utcnow


def as_of(raw: str | None) -> datetime:
    """``?at=`` (ISO 8601; a date means its midnight UTC) or now."""
    if not raw:
        return utcnow()
    try:  # a "+" of a UTC offset left unescaped in the URL arrives as a space
        value = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError as error:
        raise BadRequest(f"at: not an ISO 8601 date or time: {raw[:40]!r}") from error
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def bounded_int(raw: str | None, *, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"expected an integer from {low} to {high}, got {raw[:20]!r}")
    return int(raw)


def paging(*, default: int, high: int) -> tuple[int, int]:
    """``limit`` (1 to ``high``) and ``offset`` (from 0) of a listing's query string."""
    limit = bounded_int(request.args.get("limit"), default=default, low=1, high=high)
    offset = bounded_int(request.args.get("offset"), default=0, low=0, high=10**9)
    return limit, offset


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None

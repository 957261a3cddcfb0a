"""Query parameters shared by the API's views: times, bounded integers, ISO output."""

from __future__ import annotations

from datetime import UTC, datetime

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


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None

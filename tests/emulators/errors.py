"""Graph's error body, shared by every part of the emulator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


def graph_error(code: str, message: str, status: int) -> dict[str, Any]:
    """``{"error": {"code", "message", "innerError"}}`` as Graph answers (throttling.md sample)."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "code": str(status),
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": str(uuid.uuid4()),
                "client-request-id": str(uuid.uuid4()),
                "status": str(status),
            },
        }
    }


class GraphError(Exception):
    """An error answer (status, Graph error code, message) raised inside a handler."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

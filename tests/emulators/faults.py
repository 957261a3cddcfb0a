"""Faults a test queues on the Graph emulator: error answers and delays for the next requests."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from tests.emulators.routes import error_response

FAULT_ERRORS = {  # status -> Graph error code and message for injected faults
    401: ("InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
    403: ("ErrorAccessDenied", "Access is denied. Check credentials and try again."),
    410: ("syncStateNotFound", "The sync state generation is not found."),
    429: ("TooManyRequests", "Please retry again later."),
    500: ("InternalServerError", "An internal server error occurred."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
}


@dataclass
class Fault:
    status: int | None  # None: only delay, then answer normally
    retry_after: int | None
    delay: float
    path: str | None
    code: str | None
    remaining: int


class FaultQueue:
    """Faults in the order queued; each matches a path substring, or any ``/v1.0`` request."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if (fault.path in path) if fault.path else path.startswith("/v1.0/"):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None


def fault_response(fault: Fault, request: Request) -> Response:
    """Graph's answer for an injected status: its error code, Retry-After, 410's Location."""
    assert fault.status is not None
    code, message = FAULT_ERRORS.get(fault.status, ("BadRequest", "Injected failure."))
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    if fault.status == 410:
        headers["Location"] = f"{request.host_url.rstrip('/')}{request.path}"
    return error_response(fault.status, fault.code or code, message, headers)

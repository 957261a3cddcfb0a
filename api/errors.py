"""One JSON error contract for the whole API: ``{"error": code, "message": text}``.

Every error goes through these handlers; the catch-all logs and answers 500, but re-raises
under testing so a test sees the real exception.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger(__name__)


class APIError(Exception):
    """An error the API reports to the caller as is."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status or self.status
        self.code = code or self.code
        self.headers = headers or {}


class BadRequest(APIError):
    status, code = 400, "bad_request"


class Unauthorized(APIError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str) -> None:
        # RFC 6750 section 3: the challenge names the error; quotes in the text are dropped.
        description = message.replace('"', "'")
        challenge = (
            f'Bearer realm="rapport", error="invalid_token", error_description="{description}"'
        )
        super().__init__(message, headers={"WWW-Authenticate": challenge})


class Forbidden(APIError):
    status, code = 403, "forbidden"


class NotFound(APIError):
    status, code = 404, "not_found"


class Conflict(APIError):
    status, code = 409, "conflict"


class TooLarge(APIError):
    status, code = 413, "too_large"


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> ResponseReturnValue:
    body = {"error": code, "message": message, **extra}
    return jsonify(body), status, headers or {}


def _api_error(error: APIError) -> ResponseReturnValue:
    return error_response(error.status, error.code, error.message, error.headers)


def _http_error(error: HTTPException) -> ResponseReturnValue:
    code = (error.name or "error").lower().replace(" ", "_")
    headers = dict(error.get_response().headers)
    headers.pop("Content-Type", None)
    headers.pop("Content-Length", None)
    return error_response(error.code or 500, code, error.description or error.name, headers)


def _too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    # Werkzeug raises this while reading a body past the limit (api.limits sets it).
    return _api_error(TooLarge(f"the request body is over {request.max_content_length} bytes"))


def _unexpected(error: Exception) -> ResponseReturnValue:
    if current_app.testing and not current_app.config.get("RAPPORT_HIDE_ERRORS"):
        raise error
    log.exception("unhandled error")
    return error_response(500, "internal_error", "Something went wrong on our side.")


def init_app(app: Flask) -> None:
    app.register_error_handler(APIError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(Exception, _unexpected)

"""What every request must satisfy before a view sees it, on every route (the API, the Graph
webhook, the add-in's files): a body no larger than ``RAPPORT_MAX_REQUEST_BYTES`` (413), and
text the databases can store (400).

PostgreSQL refuses NUL (U+0000) in text and both databases refuse strings that are not valid
UTF-8 (an unpaired surrogate such as ``"\\ud800"``, which JSON can spell): either reaching a
query would be a 500. So they are refused where they enter, in the path, the query string
(`check_request`) and any JSON body as Flask parses it (`CheckedJSON`), with a 400 that says
where. JSON nested deeper than the parser's recursion limit is a 400 too, not a crash.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider

from api.errors import BadRequest, TooLarge
from config import ConfigError

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, and surrogates (never valid UTF-8)
UNSTORABLE_MESSAGE = "text with NUL control characters or unpaired surrogates cannot be stored"


def init_app(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = max_request_bytes(app.config)
    app.json = CheckedJSON(app)
    app.before_request(check_request)


def max_request_bytes(config: Any) -> int:
    raw = str(config.get("RAPPORT_MAX_REQUEST_BYTES") or "").strip()
    if not raw.isdigit() or int(raw) < 1024:
        raise ConfigError(f"RAPPORT_MAX_REQUEST_BYTES must be a number of bytes >= 1024: {raw!r}")
    return int(raw)


def check_request() -> None:
    """413 for a declared body over the limit, even on a route that never reads its body (a
    body sent without a length is cut off at the limit as it is read); 400 for unstorable text
    in the path or the query string."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise TooLarge(f"the request body is over {limit} bytes")
    if UNSTORABLE.search(request.path):
        raise BadRequest(f"path: {UNSTORABLE_MESSAGE}")
    for name, value in request.args.items(multi=True):
        if UNSTORABLE.search(name) or UNSTORABLE.search(value):
            raise BadRequest(f"{name[:40]!r} in the query string: {UNSTORABLE_MESSAGE}")


class CheckedJSON(DefaultJSONProvider):
    """Flask's JSON, whose ``loads`` refuses what no store can hold. It raises `BadRequest`,
    not a ValueError, so ``request.get_json(silent=True)`` cannot mistake it for a missing
    body: the caller is told what is wrong and where."""

    sort_keys = False  # responses keep the order the views build

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError as error:
            raise BadRequest("the JSON body is nested too deeply") from error
        if (where := unstorable_at(value)) is not None:
            raise BadRequest(f"{where}: {UNSTORABLE_MESSAGE}")
        return value


def unstorable_at(value: Any) -> str | None:
    """The JSON path (``$.items[2].name``) of the first key or string holding a NUL or a
    surrogate, or None. Iterative: a deeply nested body cannot exhaust the stack."""
    pending: list[tuple[str, Any]] = [("$", value)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, str):
            if UNSTORABLE.search(item):
                return where
        elif isinstance(item, dict):
            for key, child in item.items():
                if UNSTORABLE.search(key):
                    return f"{where} (a key)"
                pending.append((f"{where}.{key[:40]}", child))
        elif isinstance(item, list):
            pending.extend((f"{where}[{i}]", child) for i, child in enumerate(item))
    return None

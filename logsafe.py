"""Secrets never reach a log: bearer tokens, client secrets and assertions, clientState and
validationToken values are blanked out of every log record, whichever library logs it.

At DEBUG, O365 logs its session headers (``'Authorization': 'Bearer eyJ...'``) and request
bodies (a subscription's ``clientState``), msal its token requests, werkzeug every request line
(``?validationToken=...``). A filter on a logger sees only that logger's own records, and one on
a handler only what reaches that handler, so `install` wraps the log record factory instead:
every record is redacted as it is made, before any filter or handler (pytest's too) sees it.
The message and its arguments are covered, and a traceback's text; a handler that formats
``exc_info`` itself sees the exception as raised.

``create_app`` and the CLI call `install`; the CLI also sets up its log (`configure`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

MASK = "***"
# Names whose values are secrets, as JSON or Python keys ("clientState": "x", 'secret': 'x'),
# form fields and query parameters (client_secret=x&...), or headers.
HIDDEN_KEYS = (
    "access_token|refresh_token|id_token|client_secret|client_assertion|assertion|"
    "clientState|client_state|validationToken|password|secret"
)
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # RFC 6750 bearer tokens, in a header or anywhere in a message ("bearer token" is no token).
    (re.compile(r"\b(Bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE), rf"\1 {MASK}"),
    # A key, its closing quote (maybe escaped), ':' or '=', then a quoted or a bare value.
    (
        re.compile(
            rf"""((?<![A-Za-z0-9])(?:{HIDDEN_KEYS})\\?["']?\s*[:=]\s*)"""
            r"""(\\?["'])?((?(2)[^"'\\]*|[^\s&,;"'\\)\]}]+))""",
            re.IGNORECASE,
        ),
        rf"\1\2{MASK}",
    ),
    # A JSON Web Token on its own (an id token or an assertion in a dump).
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), MASK),
    # The password of a URL (a database URL).
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@", re.IGNORECASE), rf"\1{MASK}@"),
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
        ),
        f"-----BEGIN PRIVATE KEY-----{MASK}-----END PRIVATE KEY-----",
    ),
)


def redact(text: str) -> str:
    """``text`` with every secret the patterns know replaced by ``***``."""
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Redacts a record in place; never drops one. Also usable on a handler of its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a format that does not fit its arguments
            message = f"{record.msg} {record.args!r}"  # logging would print both as they are
        if (clean := redact(message)) != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            if (clean := redact(text)) != text:
                record.exc_text = clean  # formatters use it instead of formatting exc_info
        return True


def install() -> None:
    """Redact every log record of this process from now on (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacts_secrets", False):
        return
    logging.setLogRecordFactory(_redacting(factory))


def _redacting(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    redactor = RedactSecrets()

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        redactor.filter(record)
        return record

    make.redacts_secrets = True  # type: ignore[attr-defined]
    return make


def configure(config: Mapping[str, Any]) -> None:
    """The CLI's log: ``RAPPORT_LOG_LEVEL`` (a level name) to standard error, redacted. Under
    gunicorn or another host, the host configures handlers; `install` still redacts."""
    install()
    level = str(config.get("RAPPORT_LOG_LEVEL") or "WARNING").strip().upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ValueError(f"RAPPORT_LOG_LEVEL: not a level name: {level!r}")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

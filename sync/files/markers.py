"""The header facts the logging rules need (``sync.items.Markers``), read from a message.

Bounce: a delivery status report (RFC 3464 ``multipart/report; report-type=delivery-status``),
a sender that is a mail system (MAILER-DAEMON, postmaster), or the subjects mail systems use.
Auto-reply: ``Auto-Submitted`` other than ``no`` (RFC 3834), ``X-Autoreply``/``X-Autorespond``,
Exchange and Notes out-of-office subjects, delivery and read receipts.
Bulk: ``List-Id``/``List-Unsubscribe`` (RFC 2919/2369) or ``Precedence: bulk|list|junk``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from sync.items import Markers
from sync.normalize.addresses import normalize_email

MAILER_LOCAL_PARTS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliverable|undelivered mail|delivery status notification|returned mail|"
    r"mail delivery (failed|failure|system)|delivery failure|failure notice|"
    r"non[- ]?delivery|nondeliverable)",
    re.IGNORECASE,
)
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(out of (the )?office(\s*(auto ?reply\b|:)|\s*$)|automatic reply\b|"
    r"auto(matic)?[- ]?re(ply|sponse)\b|"
    r"autoreply\b|i (will be|am) out of (the )?office|delivered:|read:|abwesenheitsnotiz|"
    r"r[ée]ponse automatique)|\bis out of (the )?office\.?\s*$",
    re.IGNORECASE,
)
PRIVATE_SENSITIVITY = {
    "private": "private",
    "personal": "personal",
    "company-confidential": "confidential",
    "confidential": "confidential",
}
# Postfix and qmail reports list each failed address on a line of its own: "<a@b.com>: ...".
LISTED_RECIPIENT = re.compile(rb"^<([^\s<>@]+@[^\s<>]+)>:", re.MULTILINE)
FINAL_RECIPIENT = re.compile(
    rb"^(?:Final|Original)-Recipient:\s*rfc822;\s*<?([^\s>]+)>?", re.IGNORECASE | re.MULTILINE
)
BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
CACHED_SUBJECTS = 16384


def read_markers(headers: Mapping[str, str], subject: str, sender: str, body: bytes) -> Markers:
    """Markers of one message; ``body`` is (a prefix of) the raw body, scanned for RFC 3464
    recipients only when the message is a bounce."""
    bounce = _is_bounce(headers, subject, sender)
    failed: tuple[str, ...] = ()
    if bounce:
        raw = FINAL_RECIPIENT.findall(body) or LISTED_RECIPIENT.findall(body)
        found = [m.decode("ascii", "replace") for m in raw]
        extra = str(headers.get("x-failed-recipients", "")).replace(",", " ").split()
        # Normalized as stored addresses are; anything else (a NUL in a hostile report) could
        # never match one, and would fail the page's UPDATE on PostgreSQL.
        normalized = (normalize_email(address) for address in found + extra)
        failed = tuple(dict.fromkeys(a for a in normalized if a is not None))
    auto = headers.get("auto-submitted")
    return Markers(
        bulk=_is_bulk(headers),
        auto_reply=(auto is not None and str(auto).strip().lower() != "no")
        or "x-autoreply" in headers
        or "x-autorespond" in headers
        or _auto_reply_subject(subject),
        bounce=bounce,
        sensitivity=PRIVATE_SENSITIVITY.get(
            str(headers.get("sensitivity", "")).strip().lower(), ""
        ),
        failed_recipients=failed,
    )


def _is_bounce(headers: Mapping[str, str], subject: str, sender: str) -> bool:
    content_type = str(headers.get("content-type", "")).lower()
    if "multipart/report" in content_type and "delivery-status" in content_type:
        return True
    if sender.split("@", 1)[0] in MAILER_LOCAL_PARTS:
        return True
    return _bounce_subject(subject)


# Subjects recur (copies in other folders, replies in a thread): each is matched once.
@functools.lru_cache(maxsize=CACHED_SUBJECTS)
def _auto_reply_subject(subject: str) -> bool:
    return bool(AUTO_REPLY_SUBJECT.search(subject))


@functools.lru_cache(maxsize=CACHED_SUBJECTS)
def _bounce_subject(subject: str) -> bool:
    return bool(BOUNCE_SUBJECT.match(subject))


def _is_bulk(headers: Mapping[str, str]) -> bool:
    if "list-id" in headers or "list-unsubscribe" in headers:
        return True
    return str(headers.get("precedence", "")).strip().lower() in BULK_PRECEDENCE

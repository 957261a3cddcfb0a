"""Graph GET requests for one mailbox: one of its request slots each, errors mapped to what
the engine does about them (``sync.errors``).

- 410, or ``syncStateNotFound`` / ``resyncRequired`` / ``SyncStateInvalid``: ``CursorExpired``,
  the engine reads the folder again from the start;
- 401 (after one fresh token was tried), 403, and 404 for the user itself (no such mailbox,
  no Exchange licence): ``AuthFailed``, the mailbox stops until an admin acts;
- 429, 503 once the retry policy gave up: ``Throttled`` with ``Retry-After``, the mailbox is
  retried after that;
- other 5xx, network errors, an unreadable body: ``TransientError``, retried with back-off;
- other 4xx: ``SyncError``, retried with back-off; the reason says what Graph refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests
from O365 import Account

from sync.errors import AuthFailed, CursorExpired, SyncError, Throttled, TransientError
from sync.graph.auth import renew_token
from sync.graph.transport import LIMITS, MailboxLimits

EXPIRED_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
MAILBOX_GONE_CODES = frozenset(
    {
        "errorinvaliduser",
        "mailboxnotenabledforrestapi",
        "resourcenotfound",
        "request_resourcenotfound",
    }
)


class GraphClient:
    """GETs against Graph on behalf of one mailbox, through an authenticated O365 account."""

    def __init__(
        self, account: Account, mailbox: str, base_url: str, limits: MailboxLimits = LIMITS
    ) -> None:
        self.account, self.mailbox, self.base_url = account, mailbox, base_url.rstrip("/")
        self._limits = limits
        self.requests = 0  # made through this client, retries included only once

    def user_url(self, path: str) -> str:
        """``{graph}/users/{mailbox}{path}``."""
        return f"{self.base_url}/users/{self.mailbox}{path}"

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The JSON body of a successful GET, else the mapped error (module docstring).

        A 401 is answered once by a fresh token (``renew_token``) and the request again."""
        with self._limits.slot(self.mailbox):
            self.requests += 1
            try:
                response = self._send(url, params, headers)
            except requests.HTTPError as error:
                if error.response is None or error.response.status_code != 401:
                    raise _mapped(error.response) from None
                renew_token(self.account)
                try:
                    response = self._send(url, params, headers)
                except requests.HTTPError as again:
                    raise _mapped(again.response) from None
        try:
            body = response.json()
        except (ValueError, json.JSONDecodeError) as error:
            raise TransientError(f"Graph answered {response.status_code} with no JSON") from error
        if not isinstance(body, dict):
            raise TransientError("Graph answered with JSON that is not an object")
        return body

    def _send(
        self, url: str, params: Mapping[str, str] | None, headers: Mapping[str, str] | None
    ) -> requests.Response:
        try:
            response: requests.Response = self.account.con.get(
                url, params=dict(params) if params else None, headers=dict(headers or {})
            )
        except requests.HTTPError:
            raise
        except requests.RequestException as error:
            reason = f"Graph unreachable: {type(error).__name__}: {error}"[:500]
            raise TransientError(reason) from error
        return response


def _error_of(response: requests.Response | None) -> tuple[str, str]:
    """(code, message) of Graph's error body, both possibly empty."""
    if response is None:
        return "", ""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return "", ""
    if not isinstance(error, dict):
        return str(error)[:100], ""
    return str(error.get("code") or "")[:100], str(error.get("message") or "")[:300]


def _mapped(response: requests.Response | None) -> SyncError:
    status = response.status_code if response is not None else 0
    code, message = _error_of(response)
    reason = f"Graph answered {status} {code}: {message}".strip()
    if status == 410 or code.lower() in EXPIRED_CODES:
        return CursorExpired(reason)
    if status in (401, 403):
        return AuthFailed(reason)
    if status == 404 and code.lower() in MAILBOX_GONE_CODES:
        return AuthFailed(f"mailbox not available to the app: {reason}")
    if status in (429, 503):
        return Throttled(reason, _retry_after(response))
    if status >= 500 or status == 0:
        return TransientError(reason)
    return SyncError(reason)


def _retry_after(response: requests.Response | None) -> float | None:
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None

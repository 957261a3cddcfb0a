"""A local Microsoft Graph v1.0 and identity platform for tests, over real HTTP(S).

    with GraphEmulator() as graph:
        graph.add_message("alice@firm.example", "inbox", subject="Hi", sender="bob@x.example")
        graph.fail_next(status=429, retry_after=1, path="messages/delta")
        ...  # point msal at graph.authority (verify=graph.ca_file), Graph clients at graph.url

Two servers share one WSGI app and one in-memory tenant: ``url`` is plain HTTP for Graph clients;
``https_url`` serves the same routes over TLS with a throw-away CA (``ca_file``), because MSAL
only accepts https authorities. (Give MSAL a ``requests.Session`` with ``verify=ca_file`` and
``trust_env = False``: a ``REQUESTS_CA_BUNDLE`` in the environment overrides a session's
``verify``.) Every ``/v1.0`` request needs a bearer token issued by the token
endpoint (or `GraphEmulator.issue_token`). Faults queued with `GraphEmulator.fail_next` apply to
``/v1.0`` requests unless a ``path`` substring says otherwise. Like Graph, more than
``MAILBOX_CONCURRENCY`` requests in flight for one mailbox get 429 (``peak_concurrency`` records
the most seen). The token endpoint takes the client secret or a certificate's client assertion
(`GraphEmulator.add_certificate`). Endpoints: `routes.ROUTES`; delta semantics (the 5,000 cap on
filtered deltas, ``$orderby``, ``$expand``, ``$select`` checks): `tests.emulators.delta`; the data
model: `tests.emulators.mailstore`; realistic mailboxes: `tests.emulators.seed`; a seeded
emulator in its own process: `tests.emulators.serve`.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request

from tests.emulators.faults import Fault, FaultQueue, fault_response
from tests.emulators.identity import Identity
from tests.emulators.mailstore import Address, Mailbox, Recurrence, Store, recipient
from tests.emulators.routes import GraphApi, error_response
from tests.emulators.server import LocalServer
from tests.emulators.subscriptions import VALIDATION_TIMEOUT_SECONDS, Delivery, Subscriptions
from tests.emulators.tls import make_server_context

TENANT_ID = "7f3c2a10-5b4e-4c1d-9a8f-0e6d5c4b3a21"
CLIENT_ID = "d2b1c0a9-8f7e-4d6c-b5a4-938271605f4e"
CLIENT_SECRET = "emulator-secret"  # a fixed test credential
# throttling-limits.md, Outlook service limits: 4 concurrent requests per app per mailbox.
MAILBOX_CONCURRENCY = 4
SENSITIVITY_CODES = {"normal": "0", "personal": "1", "private": "2", "confidential": "3"}
_USER = re.compile(r"^/v1\.0/users/([^/]+)/", re.IGNORECASE)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names as sent; see `header`
    status: int

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class GraphEmulator:
    """Graph v1.0 mail, calendar and subscriptions plus the token endpoint, for one tenant."""

    def __init__(
        self,
        *,
        tenant_id: str = TENANT_ID,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        validation_timeout: float = VALIDATION_TIMEOUT_SECONDS,
    ) -> None:
        self.tenant_id, self.client_id, self.client_secret = tenant_id, client_id, client_secret
        self.store = Store()
        self.identity = Identity(tenant_id, client_id, client_secret)
        self.subscriptions = Subscriptions(tenant_id, client_id, validation_timeout)
        self.log: list[RecordedRequest] = []
        self._faults = FaultQueue()
        self._lock = threading.RLock()
        self._api = GraphApi(self.store, self._lock, self.identity, self.subscriptions)
        self._servers: list[LocalServer] = []
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        # Requests in flight per mailbox, the most seen at once, and (when set) the limit
        # above which Graph answers 429 MailboxConcurrency.
        self.in_flight: dict[str, int] = {}
        self.peak_concurrency: dict[str, int] = {}
        self.concurrency_limit: int | None = MAILBOX_CONCURRENCY

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> GraphEmulator:
        self._tmp = tempfile.TemporaryDirectory(prefix="graph-emulator-")
        context, self.ca_file = make_server_context(Path(self._tmp.name))
        self._servers = [LocalServer(self), LocalServer(self, context)]
        self.url, self.https_url = self._servers[0].url, self._servers[1].url
        self.graph_url = f"{self.url}/v1.0"
        self.authority = f"{self.https_url}/{self.tenant_id}"
        return self

    def close(self) -> None:
        for server in self._servers:
            server.close()
        if self._tmp:
            self._tmp.cleanup()

    def __enter__(self) -> GraphEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- seeding and mutating mailboxes ---------------------------------------------------

    def add_mailbox(self, address: str, name: str | None = None) -> Mailbox:
        with self._lock:
            return self.store.add_mailbox(address, name)

    def add_message(
        self,
        mailbox: str,
        folder: str = "inbox",
        *,
        subject: str = "",
        sender: Address | None = None,
        to: Sequence[Address] = (),
        cc: Sequence[Address] = (),
        bcc: Sequence[Address] = (),
        received: datetime | None = None,
        headers: dict[str, str] | None = None,
        sensitivity: str | None = None,
        odata_type: str | None = None,
        **fields: Any,
    ) -> str:
        """Add a message and return its id. ``sender`` defaults to the owner (right for
        sentitems); ``fields`` override Graph properties (``conversationId``, ``isDraft``...);
        ``sensitivity`` sets PidTagSensitivity (served through ``$expand``); ``odata_type``
        makes it, say, a ``#microsoft.graph.eventMessageRequest``."""
        fields["subject"] = subject
        if headers:
            fields["internetMessageHeaders"] = [{"name": k, "value": v} for k, v in headers.items()]
        if sensitivity is not None:
            code = SENSITIVITY_CODES[sensitivity]
            fields["singleValueExtendedProperties"] = [{"id": "Integer 0x36", "value": code}]
        if odata_type is not None:
            fields["@odata.type"] = odata_type
        with self._lock:
            return self.store.add_message(
                mailbox,
                folder,
                sender=sender,
                to=to,
                cc=cc,
                bcc=bcc,
                received=received,
                fields=fields,
            )

    def add_folder(self, mailbox: str, name: str, parent: str | None = None) -> str:
        """A custom mail folder (``parent``: a folder name or id); returns its id. Messages are
        added to it by its name in lower case or its id."""
        with self._lock:
            return self.store.add_folder(mailbox, name, parent)

    def update_message(self, message_id: str, **fields: Any) -> None:
        with self._lock:
            self.store.update_message(message_id, fields)

    def move_message(self, message_id: str, folder: str) -> None:
        with self._lock:
            self.store.move_message(message_id, folder)

    def delete_message(self, message_id: str, *, reason: str = "deleted") -> None:
        """Delete; the folder's next delta round reports ``@removed`` with ``reason``."""
        with self._lock:
            self.store.delete_message(message_id, reason)

    def add_event(
        self,
        mailbox: str,
        *,
        subject: str,
        start: datetime,
        end: datetime,
        organizer: Address | None = None,
        attendees: Sequence[str | tuple[str, str]] = (),
        recurrence: Recurrence | None = None,
        **fields: Any,
    ) -> str:
        """Add an event (a series master when ``recurrence`` is given); attendees are
        ``"Name <addr>"`` strings or (that, response) pairs: ``("bob@x.example", "accepted")``."""
        fields["subject"] = subject
        fields["attendees"] = [_attendee(a) for a in attendees]
        if organizer:
            fields["organizer"] = recipient(organizer)
        with self._lock:
            return self.store.add_event(
                mailbox, start=start, end=end, recurrence=recurrence, fields=fields
            )

    def update_event(
        self,
        event_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        **fields: Any,
    ) -> None:
        with self._lock:
            self.store.update_event(event_id, start=start, end=end, fields=fields)

    def cancel_occurrence(self, event_id: str, day: date) -> None:
        with self._lock:
            self.store.cancel_occurrence(event_id, day)

    def delete_event(self, event_id: str) -> None:
        with self._lock:
            self.store.delete_event(event_id)

    def expire_delta_tokens(self, mailbox: str) -> None:
        """Invalidate every delta/skip token of a mailbox: they now answer 410."""
        with self._lock:
            key = self.store.add_mailbox(mailbox).address
            self.store.epochs[key] = self.store.epochs.get(key, 0) + 1

    # -- tokens, faults, log, notifications ------------------------------------------------

    def add_certificate(self) -> str:
        """Give the app a certificate credential; returns its private key and certificate as
        one PEM (the client secret keeps working too)."""
        return self.identity.add_certificate(self.client_id)

    def issue_token(self) -> str:
        """A bearer token for raw calls, as if from the client-credentials flow."""
        return self.identity.issue()

    def expire_tokens(self) -> None:
        self.identity.expire_all()

    def fail_next(
        self,
        status: int | None = None,
        *,
        times: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
        path: str | None = None,
        code: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (after ``delay`` s).

        ``path`` is a substring of the request path; without it only ``/v1.0`` requests match.
        ``status=None`` with a delay slows requests down without failing them."""
        self._faults.add(Fault(status, retry_after, delay, path, code, times))

    def delay_next(self, seconds: float, *, times: int = 1, path: str | None = None) -> None:
        self.fail_next(None, times=times, delay=seconds, path=path)

    def requests(self, path_contains: str = "", method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.log
                if path_contains in r.path and (method is None or r.method == method.upper())
            ]

    def notify(
        self,
        subscription_id: str,
        resource_id: str,
        *,
        change_type: str = "created",
        client_state: str | None = None,
    ) -> Delivery:
        """POST a change notification to the subscriber (its own clientState unless given)."""
        return self.subscriptions.notify(subscription_id, resource_id, change_type, client_state)

    def lifecycle(self, subscription_id: str, event: str) -> Delivery:
        """POST reauthorizationRequired, subscriptionRemoved (which drops it) or missed."""
        return self.subscriptions.lifecycle(subscription_id, event)

    # -- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        user = _USER.match(request.path)
        mailbox = user.group(1).lower() if user else None
        over_limit = self._enter(mailbox)
        try:
            response = self._answer(request, over_limit)
        finally:
            self._leave(mailbox)
        with self._lock:
            self.log.append(
                RecordedRequest(
                    request.method,
                    request.path,
                    dict(request.args),
                    dict(request.headers),
                    response.status_code,
                )
            )
        return response(environ, start_response)

    def _answer(self, request: Request, over_limit: bool) -> Any:
        fault = self._faults.take(request.path)
        if fault and fault.delay:
            time.sleep(fault.delay)
        if over_limit:
            return error_response(
                429,
                "ApplicationThrottled",
                "Application is over its MailboxConcurrency limit.",
                {"Retry-After": "1"},
            )
        if fault and fault.status:
            return fault_response(fault, request)
        return self._api.dispatch(request)

    def _enter(self, mailbox: str | None) -> bool:
        """Count a request in flight for ``mailbox``; True when it is over the limit."""
        if mailbox is None:
            return False
        with self._lock:
            now = self.in_flight[mailbox] = self.in_flight.get(mailbox, 0) + 1
            self.peak_concurrency[mailbox] = max(self.peak_concurrency.get(mailbox, 0), now)
            return self.concurrency_limit is not None and now > self.concurrency_limit

    def _leave(self, mailbox: str | None) -> None:
        if mailbox is not None:
            with self._lock:
                self.in_flight[mailbox] -= 1


def _attendee(value: str | tuple[str, str]) -> dict[str, Any]:
    address, response = value if isinstance(value, tuple) else (value, "none")
    return {
        "type": "required",
        "status": {"response": response, "time": "0001-01-01T00:00:00Z"},
        **recipient(address),
    }


@pytest.fixture(name="graph")
def graph_fixture() -> Iterator[GraphEmulator]:
    """A fresh emulator per test (starting one takes a few milliseconds)."""
    with GraphEmulator() as emulator:
        yield emulator

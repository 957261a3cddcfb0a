"""The Graph emulator behaves like Graph for the real msal and O365 libraries, over HTTP.

If these pass, a sync test that runs our Graph client against `GraphEmulator` exercises the
same wire behaviour (paging, deltaLinks, 410, 429, subscriptions) that production will see.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msal
import pytest
import requests
from O365 import Account, MSGraphProtocol
from O365.calendar import Event
from O365.utils.token import MemoryTokenBackend
from werkzeug.wrappers import Request, Response

from tests.emulators import (
    GraphEmulator,
    Recurrence,
    graph_fixture,  # noqa: F401 - provides the `graph` fixture
)
from tests.emulators.server import LocalServer

ALICE = "alice@firm.example"
GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]
SELECT = "subject,from,toRecipients,internetMessageId,conversationId,receivedDateTime"


def msal_app(graph: GraphEmulator, session: requests.Session) -> msal.ConfidentialClientApplication:
    # MSAL only takes https authorities; instance discovery would call login.microsoftonline.com.
    return msal.ConfidentialClientApplication(
        graph.client_id,
        client_credential=graph.client_secret,
        authority=graph.authority,
        instance_discovery=False,
        http_client=session,
    )


@pytest.fixture
def session(graph: GraphEmulator) -> Iterator[requests.Session]:
    """The HTTP session MSAL uses; it trusts the emulator's throw-away CA."""
    with requests.Session() as http:
        http.verify = str(graph.ca_file)
        http.trust_env = False  # else REQUESTS_CA_BUNDLE overrides `verify` (requests#3829)
        yield http


@pytest.fixture
def token(graph: GraphEmulator, session: requests.Session) -> str:
    result = msal_app(graph, session).acquire_token_for_client(scopes=GRAPH_SCOPE)
    return str(result["access_token"])


@pytest.fixture
def account(graph: GraphEmulator, session: requests.Session) -> Iterator[Account]:
    """An O365 app-only account on the emulator: the documented credentials flow, unpatched."""

    class LocalGraph(MSGraphProtocol):  # type: ignore[misc]  # O365 ships no types
        _protocol_url = f"{graph.url}/"  # MSGraphProtocol ignores a protocol_url argument

    account = Account(
        (graph.client_id, graph.client_secret),
        auth_flow_type="credentials",
        tenant_id=graph.tenant_id,
        protocol=LocalGraph(default_resource=ALICE),
        token_backend=MemoryTokenBackend(),
        requests_delay=0,
    )
    # Connection.msal_client builds its own app with instance discovery on; give it ours.
    app = msal_app(graph, session)
    app.token_cache = account.con.token_backend
    account.con._msal_client = app
    assert account.authenticate(requested_scopes=GRAPH_SCOPE)
    yield account
    if account.con.session is not None:
        account.con.session.close()


def get(url: str, token: str, *, pagesize: int | None = None, **params: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if pagesize:
        headers["Prefer"] = f"odata.maxpagesize={pagesize}"
    return requests.get(url, params=params or None, headers=headers, timeout=5)


def run_round(
    url: str, token: str, pagesize: int, **params: str
) -> tuple[list[dict[str, Any]], str, int]:
    """Follow nextLinks to the deltaLink: (all items, deltaLink, number of pages)."""
    items: list[dict[str, Any]] = []
    for pages in range(1, 10_000):
        body = get(url, token, pagesize=pagesize, **params).json()
        items += body["value"]
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"], pages
        url, params = body["@odata.nextLink"], {}
    raise AssertionError("no deltaLink")


def inbox_delta(graph: GraphEmulator) -> str:
    return f"{graph.graph_url}/users/{ALICE}/mailFolders/inbox/messages/delta"


# -- identity --------------------------------------------------------------------------------


def test_msal_gets_a_client_credentials_token_and_graph_accepts_it(
    graph: GraphEmulator, session: requests.Session
) -> None:
    result = msal_app(graph, session).acquire_token_for_client(scopes=GRAPH_SCOPE)

    assert result["token_type"] == "Bearer"
    assert [r.path for r in graph.requests(graph.tenant_id)] == [
        f"/{graph.tenant_id}/v2.0/.well-known/openid-configuration",
        f"/{graph.tenant_id}/oauth2/v2.0/token",
    ]
    graph.add_mailbox(ALICE)
    assert get(inbox_delta(graph), result["access_token"]).status_code == 200


def test_msal_reports_a_wrong_secret(graph: GraphEmulator, session: requests.Session) -> None:
    app = msal.ConfidentialClientApplication(
        graph.client_id,
        client_credential="wrong",
        authority=graph.authority,
        instance_discovery=False,
        http_client=session,
    )
    result = app.acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert result["error"] == "invalid_client"


@pytest.mark.parametrize("authorization", [None, "Bearer not-one-of-ours"])
def test_graph_refuses_requests_without_an_issued_token(
    graph: GraphEmulator, authorization: str
) -> None:
    graph.add_mailbox(ALICE)
    headers = {"Authorization": authorization} if authorization else {}
    answer = requests.get(inbox_delta(graph), headers=headers, timeout=5)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


# -- message delta -------------------------------------------------------------------------


def test_o365_reads_a_delta_page_and_parses_messages(graph: GraphEmulator, account: Any) -> None:
    graph.add_message(
        ALICE,
        "inbox",
        subject="Intro",
        sender="Bob Smith <bob@client.example>",
        to=[ALICE],
        headers={"X-Mailer": "test"},
    )
    folder = account.mailbox().inbox_folder()  # folder_id "Inbox": names are case-insensitive
    url = folder.build_url(f"/mailFolders/{folder.folder_id}/messages/delta")

    answer = account.con.get(
        url, params={"$select": SELECT}, headers={"Prefer": "odata.maxpagesize=5"}
    )

    body = answer.json()
    assert "@odata.deltaLink" in body
    [raw] = body["value"]
    assert "internetMessageHeaders" not in raw  # only when $select asks for them
    message = folder.message_constructor(parent=folder, **{folder._cloud_data_key: raw})
    assert message.subject == "Intro"
    assert message.sender.address == "bob@client.example"
    assert message.sender.name == "Bob Smith"
    assert [r.address for r in message.to] == [ALICE]


def test_paging_yields_every_message_exactly_once(graph: GraphEmulator, token: str) -> None:
    ids = {graph.add_message(ALICE, "inbox", subject=f"m{i}") for i in range(23)}
    graph.add_message(ALICE, "sentitems", subject="not in the inbox")

    items, _, pages = run_round(inbox_delta(graph), token, 5, **{"$select": SELECT})

    assert pages == 5
    assert [i["id"] for i in items if i["id"] in ids] == [i["id"] for i in items]
    assert sorted(i["id"] for i in items) == sorted(ids)


def test_page_size_defaults_to_ten_and_a_replayed_next_link_repeats_its_page(
    graph: GraphEmulator, token: str
) -> None:
    for i in range(15):
        graph.add_message(ALICE, "inbox", subject=f"m{i}")
    first = get(inbox_delta(graph), token).json()
    second = get(first["@odata.nextLink"], token).json()

    again = get(first["@odata.nextLink"], token).json()

    assert len(first["value"]) == 10
    assert again == second


def test_delta_link_returns_only_later_changes(graph: GraphEmulator, token: str) -> None:
    kept, edited, dropped = (graph.add_message(ALICE, "inbox", subject=s) for s in "abc")
    _, delta_link, _ = run_round(inbox_delta(graph), token, 2)
    graph.update_message(edited, subject="b (edited)", isRead=True)
    graph.delete_message(dropped)
    added = graph.add_message(ALICE, "inbox", subject="d")
    moved_in = graph.add_message(ALICE, "sentitems", subject="e")
    graph.move_message(moved_in, "inbox")

    changes, next_delta, _ = run_round(delta_link, token, 2)

    by_id = {c["id"]: c for c in changes}
    assert set(by_id) == {edited, dropped, added, moved_in}
    assert kept not in by_id
    assert by_id[edited]["subject"] == "b (edited)"
    assert by_id[dropped]["@removed"] == {"reason": "deleted"}
    assert run_round(delta_link, token, 2)[0] == changes  # replaying a deltaLink is harmless
    assert run_round(next_delta, token, 2)[0] == []


def test_change_type_created_lists_only_arrivals(graph: GraphEmulator, token: str) -> None:
    old = graph.add_message(ALICE, "inbox", subject="old")
    _, delta_link, _ = run_round(inbox_delta(graph), token, 10, changeType="created")
    graph.update_message(old, subject="old, edited")
    new = graph.add_message(ALICE, "inbox", subject="new")

    changes, _, _ = run_round(delta_link, token, 10)

    assert [c["id"] for c in changes] == [new]


def test_filtered_delta_returns_at_most_5000_messages(graph: GraphEmulator, token: str) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(5_010):
        graph.add_message(ALICE, "inbox", received=start + timedelta(minutes=i))
    graph.add_message(ALICE, "inbox", received=start - timedelta(days=1))  # before the filter

    items, _, pages = run_round(
        inbox_delta(graph),
        token,
        1_000,
        **{"$filter": "receivedDateTime ge 2025-01-01T00:00:00Z", "$select": "receivedDateTime"},
    )

    assert (len(items), pages) == (5_000, 5)
    assert min(i["receivedDateTime"] for i in items) == "2025-01-01T00:10:00Z"  # the newest kept


def test_delta_refuses_filters_graph_does_not_support(graph: GraphEmulator, token: str) -> None:
    graph.add_mailbox(ALICE)
    answer = get(inbox_delta(graph), token, **{"$filter": "subject eq 'x'"})  # type: ignore[arg-type]
    assert answer.status_code == 400


# -- faults ----------------------------------------------------------------------------------


def test_expired_delta_token_answers_410_sync_state_not_found(
    graph: GraphEmulator, token: str
) -> None:
    graph.add_message(ALICE, "inbox", subject="a")
    _, delta_link, _ = run_round(inbox_delta(graph), token, 10, **{"$select": SELECT})
    graph.expire_delta_tokens(ALICE)

    answer = get(delta_link, token)

    assert answer.status_code == 410
    assert answer.json()["error"]["code"] == "syncStateNotFound"
    assert run_round(inbox_delta(graph), token, 10)[0][0]["subject"] == "a"  # a resync works


def test_injected_410_carries_a_location_for_resync(graph: GraphEmulator, token: str) -> None:
    graph.add_mailbox(ALICE)
    graph.fail_next(status=410, path="messages/delta")

    gone = get(inbox_delta(graph), token)

    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "syncStateNotFound"
    assert gone.headers["Location"] == inbox_delta(graph)
    assert get(inbox_delta(graph), token).status_code == 200  # only the next request failed


def test_o365_waits_for_retry_after_on_429(graph: GraphEmulator, account: Any) -> None:
    graph.add_message(ALICE, "inbox", subject="a")
    graph.fail_next(status=429, retry_after=1, path="messages/delta")
    started = time.monotonic()

    answer = account.con.get(f"{graph.graph_url}/users/{ALICE}/mailFolders/Inbox/messages/delta")

    assert answer.status_code == 200
    assert time.monotonic() - started >= 1.0
    assert [r.status for r in graph.requests("messages/delta")] == [429, 200]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, "InvalidAuthenticationToken"),
        (403, "ErrorAccessDenied"),
        (503, "ServiceUnavailable"),
    ],
)
def test_injected_faults_answer_like_graph(
    graph: GraphEmulator, token: str, status: int, code: str
) -> None:
    graph.add_mailbox(ALICE)
    graph.fail_next(status=status, retry_after=2, times=2)

    answers = [get(inbox_delta(graph), token) for _ in range(3)]

    assert [a.status_code for a in answers] == [status, status, 200]
    assert answers[0].json()["error"]["code"] == code
    assert answers[0].headers["Retry-After"] == "2"


def test_delay_slows_only_matching_requests(graph: GraphEmulator, token: str) -> None:
    graph.add_mailbox(ALICE)
    graph.delay_next(0.3, path="calendarView")
    window = {"startDateTime": "2025-03-01T00:00:00Z", "endDateTime": "2025-03-02T00:00:00Z"}

    started = time.monotonic()
    assert get(inbox_delta(graph), token).status_code == 200
    fast = time.monotonic() - started
    assert get(f"{graph.graph_url}/users/{ALICE}/calendarView/delta", token, **window).ok  # type: ignore[arg-type]
    slow = time.monotonic() - started - fast

    assert fast < 0.3 <= slow


# -- calendar --------------------------------------------------------------------------------


def test_calendar_view_delta_expands_series_and_reports_removals(
    graph: GraphEmulator, token: str, account: Any
) -> None:
    monday = datetime(2025, 3, 3, 9, tzinfo=UTC)
    series = graph.add_event(
        ALICE,
        subject="Weekly",
        start=monday,
        end=monday + timedelta(hours=1),
        attendees=[("bob@client.example", "accepted")],
        recurrence=Recurrence("weekly", count=10),
    )
    single = graph.add_event(
        ALICE,
        subject="Lunch",
        start=monday + timedelta(days=1, hours=3),
        end=monday + timedelta(days=1, hours=4),
    )
    url = f"{graph.graph_url}/users/{ALICE}/calendarView/delta"
    window = {"startDateTime": "2025-03-01T00:00:00Z", "endDateTime": "2025-03-29T00:00:00Z"}

    items, delta_link, _ = run_round(url, token, 3, **window)

    occurrences = [i for i in items if i["type"] == "occurrence"]
    assert len(occurrences) == 4 and {i["seriesMasterId"] for i in occurrences} == {series}
    assert [i["id"] for i in items if i["type"] == "singleInstance"] == [single]
    schedule = account.schedule()
    event = Event(parent=schedule, **{schedule._cloud_data_key: occurrences[1]})
    assert event.start == datetime(2025, 3, 10, 9, tzinfo=UTC)
    assert event.attendees[0].response_status.status.value == "accepted"

    graph.cancel_occurrence(series, date(2025, 3, 17))
    changes, _, _ = run_round(delta_link, token, 3)
    assert changes == [
        {
            "@odata.type": "#microsoft.graph.event",
            "id": f"{series}_20250317",
            "@removed": {"reason": "deleted"},
        }
    ]


def test_calendar_view_delta_needs_a_window(graph: GraphEmulator, token: str) -> None:
    graph.add_mailbox(ALICE)
    answer = get(f"{graph.graph_url}/users/{ALICE}/calendarView/delta", token)
    assert answer.status_code == 400


# -- subscriptions ---------------------------------------------------------------------------


class Receiver:
    """A webhook endpoint: echoes validation tokens (unless told not to), records the rest."""

    def __init__(self, echo: bool = True) -> None:
        self.echo = echo
        self.posts: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        token = request.args.get("validationToken")
        if token is not None:
            reply = Response(token if self.echo else "nope", content_type="text/plain")
        else:
            self.posts.append(json.loads(request.get_data()))
            reply = Response(status=202)
        return reply(environ, start_response)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    app = Receiver()
    server = LocalServer(app)
    yield app, server.url
    server.close()


def test_subscription_is_created_after_the_validation_handshake(
    graph: GraphEmulator, account: Any, receiver: Any
) -> None:
    app, url = receiver
    graph.add_mailbox(ALICE)
    subscriptions = account.subscriptions()

    created = subscriptions.create_subscription(
        f"{url}/webhooks/graph",
        f"/users/{ALICE}/mailFolders('inbox')/messages",
        ["created", "updated"],
        client_state="s3cret",
        lifecycle_notification_url=f"{url}/webhooks/lifecycle",
        expiration_minutes=60,
    )
    delivery = graph.notify(created["id"], "AAkALgMSG1")
    lifecycle = graph.lifecycle(created["id"], "missed")
    renewed = subscriptions.renew_subscription(created["id"], expiration_minutes=120)

    assert delivery.status == 202 and lifecycle.status == 202
    notification, missed = (post["value"][0] for post in app.posts)
    assert notification["clientState"] == "s3cret"
    assert notification["resourceData"]["id"] == "AAkALgMSG1"
    assert missed["lifecycleEvent"] == "missed"
    assert renewed["expirationDateTime"] > created["expirationDateTime"]
    assert subscriptions.delete_subscription(created["id"])
    assert graph.subscriptions.active == {}


def test_subscription_fails_when_the_endpoint_does_not_echo_the_token(
    graph: GraphEmulator, token: str, receiver: Any
) -> None:
    app, url = receiver
    app.echo = False
    body = {
        "changeType": "created",
        "notificationUrl": f"{url}/hook",
        "resource": f"/users/{ALICE}/messages",
        "expirationDateTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }

    answer = requests.post(
        f"{graph.graph_url}/subscriptions",
        json=body,
        timeout=15,
        headers={"Authorization": f"Bearer {token}"},
    )

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "ValidationError"
    assert graph.subscriptions.active == {}


def late_echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    time.sleep(0.5)
    token = Request(environ).args.get("validationToken", "")
    return Response(token, content_type="text/plain")(environ, start_response)


def test_subscription_fails_when_the_endpoint_is_too_slow() -> None:
    # The real limit is 10 s; a short one keeps the test fast and exercises the same path.
    with GraphEmulator(validation_timeout=0.2) as graph, requests.Session() as http:
        graph.add_mailbox(ALICE)
        slow = LocalServer(late_echo)
        body = {
            "changeType": "created",
            "notificationUrl": f"{slow.url}/hook",
            "resource": f"/users/{ALICE}/messages",
            "expirationDateTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        }
        answer = http.post(
            f"{graph.graph_url}/subscriptions",
            json=body,
            timeout=15,
            headers={"Authorization": f"Bearer {graph.issue_token()}"},
        )
        slow.close()
    assert answer.status_code == 400

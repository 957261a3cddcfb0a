"""Graph v1.0 and identity endpoints of the emulator: routing, handlers and rendering.

Paths match case-insensitively (Graph's are; O365 sends ``mailFolders/Inbox``), and the OData
key form ``mailFolders('inbox')`` is read as ``mailFolders/inbox``. Every ``/v1.0`` request needs
a bearer token from `tests.emulators.identity.Identity`.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.emulators import delta
from tests.emulators.errors import GraphError, graph_error
from tests.emulators.identity import Identity
from tests.emulators.mailstore import CALENDAR, Mailbox, Store
from tests.emulators.subscriptions import Subscriptions

JSON = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"


Handler = Callable[..., Response]
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern + "$", re.IGNORECASE), name)
    for method, pattern, name in [
        ("GET", r"/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration", "openid"),
        ("POST", r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token", "token"),
        (
            "GET",
            r"/v1\.0/users/(?P<user>[^/]+)/mailFolders/(?P<folder>[^/]+)/messages/delta",
            "message_delta",
        ),
        (
            "GET",
            r"/v1\.0/users/(?P<user>[^/]+)/mailFolders/(?P<folder>[^/]+)/messages",
            "message_list",
        ),
        ("GET", r"/v1\.0/users/(?P<user>[^/]+)/mailFolders", "folder_list"),
        (
            "GET",
            r"/v1\.0/users/(?P<user>[^/]+)/mailFolders/(?P<folder>[^/]+)/childFolders",
            "folder_children",
        ),
        ("GET", r"/v1\.0/users/(?P<user>[^/]+)/mailFolders/(?P<folder>[^/]+)", "folder_get"),
        ("GET", r"/v1\.0/users/(?P<user>[^/]+)/messages/(?P<message_id>[^/]+)", "message_get"),
        ("GET", r"/v1\.0/users/(?P<user>[^/]+)/calendarView/delta", "event_delta"),
        ("GET", r"/v1\.0/subscriptions", "subscription_list"),
        ("POST", r"/v1\.0/subscriptions", "subscription_create"),
        ("GET", r"/v1\.0/subscriptions/(?P<sub_id>[^/]+)", "subscription_get"),
        ("PATCH", r"/v1\.0/subscriptions/(?P<sub_id>[^/]+)", "subscription_update"),
        ("DELETE", r"/v1\.0/subscriptions/(?P<sub_id>[^/]+)", "subscription_delete"),
        ("POST", r"/v1\.0/subscriptions/(?P<sub_id>[^/]+)/reauthorize", "subscription_reauth"),
    ]
]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    payload = "" if body is None else json.dumps(body)
    return Response(payload, status, headers=headers, content_type=JSON)


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return json_response(status, graph_error(code, message, status), headers)


HIDDEN = ("internetMessageHeaders", "singleValueExtendedProperties", "@odata.type")


def _render_message(
    data: dict[str, Any], select: str | None, expand: str | None = None
) -> dict[str, Any]:
    """A message as Graph returns it: ``id`` always; headers only when ``$select`` names them;
    extended properties only when ``$expand`` asks for them (by id, as `delta` parses it)."""
    wanted = {s.strip().lower() for s in select.split(",")} if select else None
    fields = {k: v for k, v in data.items() if k == "id" or _shown(k, wanted)}
    if expand is not None:
        found = [p for p in data.get("singleValueExtendedProperties", []) if _same(p["id"], expand)]
        if found:
            fields["singleValueExtendedProperties"] = found
    etag = f'W/"{abs(hash(data["lastModifiedDateTime"] + data["id"])) % 10**12:012d}"'
    odata_type = data.get("@odata.type", "#microsoft.graph.message")
    return {"@odata.type": odata_type, "@odata.etag": etag, **fields}


def _shown(name: str, wanted: set[str] | None) -> bool:
    if name.startswith("@") or name == "singleValueExtendedProperties":
        return False  # the type is rendered apart; extended properties only through $expand
    return name.lower() in wanted if wanted is not None else name not in HIDDEN


def _same(property_id: str, wanted: str) -> bool:
    """Extended property ids compare by kind and tag number ("Integer 0x36" is "Integer 0x0036")."""
    kind, _, tag = property_id.partition(" ")
    other_kind, _, other_tag = wanted.partition(" ")
    try:
        return kind.lower() == other_kind.lower() and int(tag, 16) == int(other_tag, 16)
    except ValueError:
        return property_id.lower() == wanted.lower()


def _render_event(data: dict[str, Any]) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.event", **data}


class GraphApi:
    """The request handlers over one tenant's store; `dispatch` answers one request."""

    def __init__(
        self, store: Store, lock: threading.RLock, identity: Identity, subscriptions: Subscriptions
    ) -> None:
        self.store, self._lock = store, lock
        self.identity, self.subscriptions = identity, subscriptions

    def dispatch(self, request: Request) -> Response:
        path = re.sub(r"\('([^']*)'\)", r"/\1", request.path)  # mailFolders('inbox') form
        if path.startswith("/v1.0/"):
            problem = self.identity.check(request.headers.get("Authorization"))
            if problem:
                return error_response(401, "InvalidAuthenticationToken", problem)
        for method, pattern, name in ROUTES:
            match = pattern.match(path)
            if match and method == request.method:
                handler: Handler = getattr(self, f"_on_{name}")
                try:
                    return handler(request, **match.groupdict())
                except GraphError as exc:
                    return error_response(exc.status, exc.code, exc.message)
        return error_response(400, "BadRequest", f"Resource not found for the segment '{path}'.")

    # -- identity ---------------------------------------------------------------------------

    def _on_openid(self, request: Request, tenant: str) -> Response:
        if tenant.lower() != self.identity.tenant_id.lower():
            return json_response(
                400,
                {
                    "error": "invalid_tenant",
                    "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
                },
            )
        return json_response(200, self.identity.openid_configuration(request.host_url.rstrip("/")))

    def _on_token(self, request: Request, tenant: str) -> Response:
        if tenant.lower() != self.identity.tenant_id.lower():
            return json_response(
                400,
                {
                    "error": "invalid_request",
                    "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
                },
            )
        status, body = self.identity.token(dict(request.form), request.base_url)
        return json_response(status, body, {"Cache-Control": "no-store"})

    # -- mail -------------------------------------------------------------------------------

    def _mailbox(self, user: str) -> Mailbox:
        found = self.store.find_mailbox(urllib.parse.unquote(user))
        if found is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
        return found

    def _folder(self, user: str, folder: str) -> tuple[Mailbox, str]:
        mailbox = self._mailbox(user)
        folder_id = self.store.folder_id(mailbox, folder)
        if folder_id is None:
            raise GraphError(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        return mailbox, folder_id

    def _on_folder_get(self, request: Request, user: str, folder: str) -> Response:
        with self._lock:
            mailbox, folder_id = self._folder(user, folder)
            return json_response(200, self._folder_json(mailbox, folder_id))

    def _folder_json(self, mailbox: Mailbox, folder_id: str) -> dict[str, Any]:
        inside = [
            m for m in self.store.messages.values() if m.folder_id == folder_id and not m.removed
        ]
        name = self.store.names.get(folder_id) or next(
            k for k, v in mailbox.folders.items() if v == folder_id
        )
        return {
            "id": folder_id,
            "displayName": name if folder_id in self.store.names else name.title(),
            "parentFolderId": self.store.parents.get(folder_id),
            "childFolderCount": sum(p == folder_id for p in self.store.parents.values()),
            "totalItemCount": len(inside),
            "unreadItemCount": sum(not m.data["isRead"] for m in inside),
            "isHidden": False,
        }

    def _folders_page(self, request: Request, mailbox: Mailbox, parent: str | None) -> Response:
        top = int(request.args.get("$top", delta.DEFAULT_PAGE_SIZE))
        skip = int(request.args.get("$skip", 0))
        with self._lock:
            ids = [f for f in mailbox.folders.values() if self.store.parents.get(f) == parent]
            value = [self._folder_json(mailbox, f) for f in ids[skip : skip + top]]
        body: dict[str, Any] = {"value": value}
        if skip + top < len(ids):
            query = dict(request.args) | {"$skip": str(skip + top), "$top": str(top)}
            body["@odata.nextLink"] = f"{request.base_url}?{urllib.parse.urlencode(query)}"
        return json_response(200, body)

    def _on_folder_list(self, request: Request, user: str) -> Response:
        with self._lock:
            mailbox = self._mailbox(user)
        return self._folders_page(request, mailbox, None)

    def _on_folder_children(self, request: Request, user: str, folder: str) -> Response:
        with self._lock:
            mailbox, folder_id = self._folder(user, folder)
        return self._folders_page(request, mailbox, folder_id)

    def _on_message_list(self, request: Request, user: str, folder: str) -> Response:
        top = int(request.args.get("$top", delta.DEFAULT_PAGE_SIZE))
        skip = int(request.args.get("$skip", 0))
        with self._lock:
            _, folder_id = self._folder(user, folder)
            inside = sorted(
                (
                    m.data
                    for m in self.store.messages.values()
                    if m.folder_id == folder_id and not m.removed
                ),
                key=lambda d: d["receivedDateTime"],
                reverse=True,
            )
            value = [
                _render_message(d, request.args.get("$select")) for d in inside[skip : skip + top]
            ]
        body: dict[str, Any] = {"value": value}
        if skip + top < len(inside):
            query = dict(request.args) | {"$skip": str(skip + top)}
            body["@odata.nextLink"] = f"{request.base_url}?{urllib.parse.urlencode(query)}"
        return json_response(200, body)

    def _on_message_get(self, request: Request, user: str, message_id: str) -> Response:
        with self._lock:
            mailbox = self._mailbox(user)
            found = self.store.messages.get(message_id)
            if found is None or found.removed or found.mailbox != mailbox.address:
                return error_response(
                    404, "ErrorItemNotFound", "The specified object was not found in the store."
                )
            return json_response(200, _render_message(found.data, request.args.get("$select")))

    def _on_message_delta(self, request: Request, user: str, folder: str) -> Response:
        with self._lock:
            mailbox, folder_id = self._folder(user, folder)
        state = self._delta_state(request, mailbox, folder_id, calendar=False)

        expand = delta.expanded_property(state.query)

        def render(data: dict[str, Any]) -> dict[str, Any]:
            return _render_message(data, state.query.get("$select"), expand)

        return self._delta_page(
            request,
            state,
            delta.message_candidates,
            render,
            "#microsoft.graph.message",
        )

    def _on_event_delta(self, request: Request, user: str) -> Response:
        with self._lock:
            mailbox = self._mailbox(user)
        state = self._delta_state(request, mailbox, CALENDAR, calendar=True)
        return self._delta_page(
            request, state, delta.event_candidates, _render_event, "#microsoft.graph.event"
        )

    def _delta_state(
        self, request: Request, mailbox: Mailbox, collection: str, calendar: bool
    ) -> delta.DeltaState:
        token = request.args.get("$skiptoken") or request.args.get("$deltatoken")
        with self._lock:
            epoch, now = self.store.epochs.get(mailbox.address, 0), self.store.seq
        if not token:
            query = delta.first_query(dict(request.args), calendar)
            return delta.DeltaState("skip", mailbox.address, collection, epoch, 0, now, 0, query)
        state = delta.decode(token)
        if (state.mailbox, state.collection) != (mailbox.address, collection):
            raise GraphError(400, "BadRequest", "The token belongs to another collection.")
        if state.epoch != epoch:
            raise GraphError(410, "syncStateNotFound", "The sync state generation is not found.")
        # A deltaLink starts a new round ending now; a nextLink continues its own round.
        return replace(state, kind="skip", upto=now) if state.kind == "delta" else state

    def _delta_page(
        self,
        request: Request,
        state: delta.DeltaState,
        candidates: Callable[[Store, delta.DeltaState], Sequence[delta.Candidate]],
        render: Callable[[dict[str, Any]], dict[str, Any]],
        odata_type: str,
    ) -> Response:
        size = delta.page_size(request.headers.get("Prefer", ""))
        with self._lock:
            value, following = delta.build_page(
                candidates(self.store, state),
                state,
                size,
                render,
                odata_type,
            )
        link, param = (
            ("@odata.nextLink", "$skiptoken")
            if following.kind == "skip"
            else ("@odata.deltaLink", "$deltatoken")
        )
        body = {link: f"{request.base_url}?{param}={delta.encode(following)}", "value": value}
        return json_response(200, body, {"Preference-Applied": f"odata.maxpagesize={size}"})

    # -- subscriptions ----------------------------------------------------------------------

    def _on_subscription_list(self, request: Request) -> Response:
        return json_response(200, {"value": list(self.subscriptions.active.values())})

    def _on_subscription_create(self, request: Request) -> Response:
        return json_response(
            *self.subscriptions.create(request.get_json(force=True, silent=True) or {})
        )

    def _on_subscription_get(self, request: Request, sub_id: str) -> Response:
        return json_response(*self.subscriptions.get(sub_id))

    def _on_subscription_update(self, request: Request, sub_id: str) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        return json_response(*self.subscriptions.update(sub_id, body))

    def _on_subscription_delete(self, request: Request, sub_id: str) -> Response:
        return json_response(*self.subscriptions.delete(sub_id))

    def _on_subscription_reauth(self, request: Request, sub_id: str) -> Response:
        status, body = self.subscriptions.get(sub_id)
        return json_response(status, None if status == 200 else body)

"""Graph change-notification subscriptions: the validation handshake, renewal and delivery.

Sources: ``change-notifications-delivery-webhooks.md``,
``includes/change-notifications-delivery-notificationurl-validation.md`` and
``change-notifications-lifecycle-events.md`` (reference notes §1.5). Unlike Graph, plain
``http://127.0.0.1`` notification URLs are accepted so tests need no TLS receiver.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.emulators.errors import graph_error
from tests.emulators.mailstore import parse_time

VALIDATION_TIMEOUT_SECONDS = 10.0  # the subscriber must echo the token within 10 s
DELIVERY_TIMEOUT_SECONDS = 10.0
MAX_LIFETIME = timedelta(minutes=4230)  # Outlook messages and events (lifetime table)
MIN_LIFETIME = timedelta(minutes=45)  # shorter requests are raised to this
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")

Answer = tuple[int, dict[str, Any] | None]


@dataclass(frozen=True)
class Delivery:
    """What a subscriber answered to one POST from the emulator."""

    status: int  # 0 when the endpoint could not be reached in time
    body: str
    content_type: str
    seconds: float


def post(url: str, payload: dict[str, Any] | None, timeout: float) -> Delivery:
    data = json.dumps(payload).encode() if payload is not None else b""
    kind = "application/json" if payload is not None else "text/plain"
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": kind})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body, status = response.read().decode(), response.status
            content_type = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        with exc:
            body, status = exc.read().decode(errors="replace"), exc.code
            content_type = exc.headers.get("Content-Type", "")
    except (urllib.error.URLError, OSError) as exc:
        body, status, content_type = str(exc), 0, ""
    return Delivery(status, body, content_type, time.monotonic() - started)


def validate_endpoint(url: str, timeout: float) -> bool:
    """Graph's handshake: POST ``?validationToken=`` and expect it echoed as text/plain, 200."""
    token = (
        f"Validation: Testing client application reachability for subscription "
        f"Request-Id: {uuid.uuid4()}"
    )
    query = urllib.parse.urlencode({"validationToken": token}, quote_via=urllib.parse.quote)
    answer = post(f"{url}{'&' if '?' in url else '?'}{query}", None, timeout)
    return (
        answer.status == 200
        and answer.body == token
        and answer.content_type.lower().startswith("text/plain")
    )


def _bad_request(code: str, message: str) -> Answer:
    return 400, graph_error(code, message, 400)


def _expiry(text: str | None) -> datetime | str:
    """The granted expiry, or the error message for a refused one."""
    if not text:
        return "expirationDateTime is required."
    now = datetime.now(UTC)
    wanted = parse_time(text)
    if wanted <= now:
        return "Subscription expiration must be in the future."
    if wanted - now > MAX_LIFETIME:
        minutes = int(MAX_LIFETIME.total_seconds() // 60)
        return f"Subscription expiration can only be {minutes} minutes in the future."
    return max(wanted, now + MIN_LIFETIME)


class Subscriptions:
    def __init__(self, tenant_id: str, application_id: str, validation_timeout: float) -> None:
        self.tenant_id = tenant_id
        self.application_id = application_id
        self.validation_timeout = validation_timeout
        self.active: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def create(self, body: dict[str, Any]) -> Answer:
        missing = [k for k in ("changeType", "notificationUrl", "resource") if not body.get(k)]
        if missing:
            return _bad_request("InvalidRequest", f"Missing property: {missing[0]}.")
        if any(c not in ("created", "updated", "deleted") for c in body["changeType"].split(",")):
            return _bad_request("InvalidRequest", "changeType must be created, updated, deleted.")
        if len(body.get("clientState") or "") > 128:
            return _bad_request("InvalidRequest", "clientState is longer than 128 characters.")
        expiry = _expiry(body.get("expirationDateTime"))
        if isinstance(expiry, str):
            return _bad_request("InvalidRequest", expiry)
        for url in (body["notificationUrl"], body.get("lifecycleNotificationUrl")):
            if url and not validate_endpoint(url, self.validation_timeout):
                return _bad_request(
                    "ValidationError",
                    "Subscription validation request failed. "
                    "Notification endpoint must respond with 200 OK to "
                    "validation request.",
                )
        subscription = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": str(uuid.uuid4()),
            "resource": body["resource"],
            "applicationId": self.application_id,
            "changeType": body["changeType"],
            "clientState": body.get("clientState"),
            "notificationUrl": body["notificationUrl"],
            "lifecycleNotificationUrl": body.get("lifecycleNotificationUrl"),
            "expirationDateTime": expiry.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "creatorId": str(uuid.uuid4()),
            "includeResourceData": body.get("includeResourceData", False),
            "latestSupportedTlsVersion": "v1_2",
        }
        with self._lock:
            self.active[subscription["id"]] = subscription
        return 201, subscription

    def get(self, subscription_id: str) -> Answer:
        with self._lock:
            found = self.active.get(subscription_id)
        return (200, found) if found else _not_found(subscription_id)

    def update(self, subscription_id: str, body: dict[str, Any]) -> Answer:
        status, found = self.get(subscription_id)
        if found is None or status != 200:
            return status, found
        expiry = _expiry(body.get("expirationDateTime") or found["expirationDateTime"])
        if isinstance(expiry, str):
            return _bad_request("InvalidRequest", expiry)
        url = body.get("notificationUrl")
        if url and not validate_endpoint(url, self.validation_timeout):
            return _bad_request("ValidationError", "Subscription validation request failed.")
        with self._lock:
            found["notificationUrl"] = url or found["notificationUrl"]
            found["expirationDateTime"] = expiry.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return 200, found

    def delete(self, subscription_id: str) -> Answer:
        with self._lock:
            found = self.active.pop(subscription_id, None)
        return (204, None) if found else _not_found(subscription_id)

    def notify(
        self, subscription_id: str, resource_id: str, change_type: str, client_state: str | None
    ) -> Delivery:
        subscription = self.active[subscription_id]
        user = subscription["resource"].strip("/").split("/")[1].split("'")[0]
        kind = "Event" if "event" in subscription["resource"].lower() else "Message"
        path = f"Users/{user}/{kind}s/{resource_id}"
        item = {
            "id": str(uuid.uuid4()),
            "subscriptionId": subscription_id,
            "subscriptionExpirationDateTime": subscription["expirationDateTime"],
            "clientState": subscription["clientState"] if client_state is None else client_state,
            "changeType": change_type,
            "resource": path,
            "tenantId": self.tenant_id,
            "resourceData": {
                "@odata.type": f"#Microsoft.Graph.{kind}",
                "@odata.id": path,
                "id": resource_id,
            },
        }
        return post(subscription["notificationUrl"], {"value": [item]}, DELIVERY_TIMEOUT_SECONDS)

    def lifecycle(self, subscription_id: str, event: str) -> Delivery:
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"lifecycle event must be one of {LIFECYCLE_EVENTS}")
        subscription = self.active[subscription_id]
        url = subscription.get("lifecycleNotificationUrl")
        if not url:
            raise ValueError("the subscription has no lifecycleNotificationUrl")
        if event == "subscriptionRemoved":
            self.delete(subscription_id)
        item = {
            "subscriptionId": subscription_id,
            "subscriptionExpirationDateTime": subscription["expirationDateTime"],
            "tenantId": self.tenant_id,
            "clientState": subscription["clientState"],
            "lifecycleEvent": event,
        }
        return post(url, {"value": [item]}, DELIVERY_TIMEOUT_SECONDS)


def _not_found(subscription_id: str) -> Answer:
    message = f"The object was not found: subscription {subscription_id}."
    return 404, graph_error("ResourceNotFound", message, 404)

"""App-only access to Graph: msal's ConfidentialClientApplication inside O365's connection.

``connect`` builds, for the tenant stored by ``python app.py graph-tenant``:
- an msal ``ConfidentialClientApplication`` on ``{RAPPORT_AUTHORITY}/{tenant}`` with the client
  secret or certificate, instance discovery off (the authority is configured, not guessed) and
  its own ``requests`` session (trusting ``RAPPORT_GRAPH_CA_FILE`` when set);
- an O365 ``Account`` (``auth_flow_type="credentials"``) whose connection uses that msal app,
  our retry policy (``sync.graph.transport``) and ``Prefer: IdType="ImmutableId"`` on every
  request, with the protocol pointed at ``RAPPORT_GRAPH_URL``.

The token is acquired before ``connect`` yields, so a refused credential surfaces as
``AuthFailed`` at once. Tokens are cached per process and credential (``_TOKEN_CACHES``), so
the scheduler's passes reuse one token until msal finds it near expiry, and msal's discovery
answers (``_HTTP_CACHES``, kept in the store by ``sync.graph.discovery`` for the next process)
so that they fetch the tenant's OpenID configuration once a day.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import msal
import requests
from O365 import Account, MSGraphProtocol
from O365.connection import Connection
from O365.utils.token import MemoryTokenBackend
from requests.adapters import HTTPAdapter
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from sync.errors import AuthFailed, TransientError
from sync.graph import discovery
from sync.graph.settings import GRAPH_SCOPE, GraphSettings
from sync.graph.tenant import Credentials, load_credentials
from sync.graph.transport import MAILBOX_CONCURRENCY, WaitObserver, retry_policy

TIMEOUT = (10.0, 120.0)  # seconds to connect, and to wait for a page (a 1,000-message page)
POOL_SIZE = MAILBOX_CONCURRENCY * 2  # kept-alive connections per host
# OAuth 2.0 errors (RFC 6749 5.2 and Entra) that say "try again later", not "you are refused".
TRANSIENT_REFUSALS = frozenset({"temporarily_unavailable", "server_error"})
IMMUTABLE_IDS = {"Prefer": 'IdType="ImmutableId"'}  # ids survive folder moves (reference §1.3)

_TOKEN_CACHES: dict[tuple[str, ...], MemoryTokenBackend] = {}
# msal's cache of discovery answers (the tenant's OpenID configuration, kept 24 h), per
# authority: a new msal app in this process then asks the identity platform for tokens only.
_HTTP_CACHES: dict[str, dict[Any, Any]] = {}
_TOKEN_CACHES_LOCK = threading.Lock()


class GraphConnection(Connection):  # type: ignore[misc]  # O365 ships no type hints
    """O365's connection with a prepared msal app and our retry policy and TLS trust."""

    def __init__(
        self,
        credentials: tuple[str, str],
        *,
        msal_app: msal.ConfidentialClientApplication,
        ca_file: str | None,
        observer: WaitObserver | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(credentials, **kwargs)
        self._msal_client = msal_app  # Connection.msal_client would build one without our hooks
        self._ca_file = ca_file
        self._observer = observer

    def get_session(self, load_token: bool = False) -> requests.Session:
        """O365's ``Connection.get_session`` with our CA trust and retry policy."""
        if load_token and not self.token_backend.has_data:
            self.load_token_from_backend()
        token = self.token_backend.get_access_token(username=self.username)
        session = http_session(self._ca_file)
        if token is not None:
            session.headers.update({"Authorization": f"Bearer {token['secret']}"})
        session.proxies = self.proxy
        adapter = HTTPAdapter(
            max_retries=retry_policy(self._observer),
            pool_connections=POOL_SIZE,
            pool_maxsize=POOL_SIZE,
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def close(self) -> None:
        for name in ("session", "naive_session"):
            session: requests.Session | None = getattr(self, name)
            if session is not None:
                session.close()
            setattr(self, name, None)


class GraphAccount(Account):  # type: ignore[misc]
    connection_constructor = GraphConnection


class _PinnedTrust(requests.Session):
    """A session that verifies TLS against one CA bundle whatever the environment says:
    ``REQUESTS_CA_BUNDLE`` would otherwise override ``Session.verify`` (requests#3829). Proxy
    variables still apply."""

    def __init__(self, ca_file: str) -> None:
        super().__init__()
        self.verify = self._ca_file = ca_file

    def merge_environment_settings(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        settings: dict[str, Any] = super().merge_environment_settings(*args, **kwargs)
        settings["verify"] = self._ca_file
        return settings


def http_session(ca_file: str | None) -> requests.Session:
    """A ``requests`` session trusting ``ca_file`` (RAPPORT_GRAPH_CA_FILE) when one is set."""
    return _PinnedTrust(ca_file) if ca_file else requests.Session()


def _protocol(settings: GraphSettings) -> MSGraphProtocol:
    # MSGraphProtocol ignores a protocol_url argument and reads the class attribute.
    class ConfiguredGraph(MSGraphProtocol):  # type: ignore[misc]
        _protocol_url = settings.protocol_url

    return ConfiguredGraph(api_version=settings.api_version, default_resource="")


def _token_cache(settings: GraphSettings, credentials: Credentials) -> MemoryTokenBackend:
    key = (settings.authority, credentials.tenant_id, credentials.client_id, credentials.version)
    with _TOKEN_CACHES_LOCK:
        return _TOKEN_CACHES.setdefault(key, MemoryTokenBackend())


def _http_cache(authority: str) -> dict[Any, Any]:
    with _TOKEN_CACHES_LOCK:
        return _HTTP_CACHES.setdefault(authority, {})


def _keep_discovery(db: Database, authority: str, http_cache: dict[Any, Any]) -> None:
    """Store msal's discovery answers for the next process (``sync.graph.discovery``); a
    concurrent process storing them first is fine, this is a cache."""
    try:
        with db.transaction() as session:
            discovery.save(session, authority, http_cache)
    except IntegrityError:
        pass


def forget_tokens() -> None:
    """Drop every cached token of this process (tests; after a credential is replaced)."""
    with _TOKEN_CACHES_LOCK:
        _TOKEN_CACHES.clear()
        _HTTP_CACHES.clear()


def describe_refusal(result: Mapping[str, Any]) -> str:
    """The identity platform's reason, first line only (the rest is trace and correlation
    ids); never includes the credential."""
    description = str(result.get("error_description") or "").strip().splitlines()
    first = description[0] if description else ""
    return f"{result.get('error', 'error')}: {first}".strip()[:500]


@contextmanager
def connect(
    db: Database, config: Mapping[str, Any], *, observer: WaitObserver | None = None
) -> Iterator[Account]:
    """An authenticated app-only O365 ``Account`` for the configured tenant.

    ``account.con.get(url)`` reaches any Graph URL; resources are absolute
    (``/users/{address}/...``) because app-only access has no ``me``. Raises ``AuthFailed`` when
    no tenant is configured or the credential is refused, ``TransientError`` when the identity
    platform cannot be reached. Closes its HTTP sessions on exit."""
    settings = GraphSettings.from_config(config)
    with db.transaction() as session:
        credentials = load_credentials(session, config, settings)
        authority = f"{settings.authority}/{credentials.tenant_id}"
        http_cache = _http_cache(authority)
        if not http_cache:
            http_cache.update(discovery.load(session, authority))
    http = http_session(settings.ca_file)
    account: Account | None = None
    try:
        token_cache = _token_cache(settings, credentials)
        app = _msal_app(settings, credentials, token_cache, http, http_cache)
        _acquire(app)
        _keep_discovery(db, authority, http_cache)
        account = GraphAccount(
            (credentials.client_id, ""),
            auth_flow_type="credentials",
            tenant_id=credentials.tenant_id,
            protocol=_protocol(settings),
            token_backend=token_cache,
            msal_app=app,
            ca_file=settings.ca_file,
            observer=observer,
            requests_delay=0,  # pacing is Retry-After's job, not a fixed sleep
            request_retries=0,  # our HTTPAdapter replaces O365's retry policy
            timeout=TIMEOUT,
            default_headers=dict(IMMUTABLE_IDS),
        )
        yield account
    finally:
        if account is not None:
            account.con.close()
        http.close()


def _msal_app(
    settings: GraphSettings,
    credentials: Credentials,
    token_cache: MemoryTokenBackend,
    http: requests.Session,
    http_cache: dict[Any, Any],
) -> msal.ConfidentialClientApplication:
    try:
        return msal.ConfidentialClientApplication(
            credentials.client_id,
            client_credential=credentials.for_msal(),
            authority=f"{settings.authority}/{credentials.tenant_id}",
            token_cache=token_cache,
            http_client=http,
            http_cache=http_cache,
            instance_discovery=False,
            timeout=TIMEOUT[1],
        )
    except requests.RequestException as error:
        raise TransientError(f"identity platform unreachable: {type(error).__name__}") from error
    except ValueError as error:  # msal: tenant unknown to the authority, malformed key ...
        raise AuthFailed(f"the identity platform refused the tenant: {error}"[:500]) from error


def renew_token(account: Account) -> None:
    """Replace the account's access token with a fresh one, after Graph refused it (401)
    while msal still thought it valid: revoked, or signed with a rotated key. The stale token
    leaves the shared cache so no other pass reuses it."""
    app: msal.ConfidentialClientApplication = account.con.msal_client
    cache = app.token_cache
    for token in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
        cache.remove_at(token)
    token = _acquire(app)
    account.con.update_session_auth_header(access_token=token)


def _acquire(app: msal.ConfidentialClientApplication) -> str:
    try:
        result = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
    except requests.RequestException as error:
        raise TransientError(f"identity platform unreachable: {type(error).__name__}") from error
    if result.get("error") in TRANSIENT_REFUSALS:
        raise TransientError(f"identity platform busy: {describe_refusal(result)}")
    if "access_token" not in result:
        raise AuthFailed(f"the app's credential was refused: {describe_refusal(result)}")
    return str(result["access_token"])

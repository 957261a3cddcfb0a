"""Office single sign-on: Entra ID access tokens for our own API (docs/sso.md).

The task pane gets an access token for ``api://<host>/<client id>/access_as_user`` (nested app
authentication, or ``Office.auth.getAccessToken``) and sends it as a bearer token. For every
tenant in ``RAPPORT_ALLOWED_TENANTS`` two issuers are registered with ``api.auth``, exactly:

- v1 tokens: ``https://sts.windows.net/{tid}/`` (audience usually the App ID URI);
- v2 tokens: ``{RAPPORT_AUTHORITY}/{tid}/v2.0`` (audience usually the client id).

Either audience is accepted for either version. Signatures are RS256 only, checked with the
keys the tenant publishes (JWKS): fetched once, cached for ``JWKS_LIFESPAN``, and fetched again
when a token names a key we do not have (key rotation), at most once per ``JWKS_COOLDOWN`` so a
stream of forged key ids cannot make us hammer the identity provider. Beyond the signature a
token must carry ``tid`` equal to its issuer's tenant, an ``oid``, and ``access_as_user`` in
``scp`` (an app-only token has no ``scp`` and is refused).

The caller is then found by (tid, oid) once bound, else by ``preferred_username`` (v2), ``upn``
(v1) or ``email``, binding (tid, oid) at that first sign-in (``api.auth``). The app role
``Rapport.Admin`` in ``roles`` makes the caller an admin.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import jwt
from flask import Flask

from addin.manifest import settings_from_config
from api.auth import Claims, Issuer, register_hint, register_issuer
from api.errors import APIError, Unauthorized
from config import ConfigError

ALGORITHMS = ("RS256",)  # Entra ID signs access tokens with RS256 only
SCOPE = "access_as_user"
ADMIN_ROLE = "Rapport.Admin"  # an app role defined in the app registration (docs/sso.md)
EMAIL_CLAIMS = ("preferred_username", "upn", "email")
REQUIRED = ("exp", "iat", "iss", "aud", "sub", "tid", "oid")
V1_ISSUER = "https://sts.windows.net/{tenant}/"
JWKS_LIFESPAN = 3600.0  # seconds a fetched key set is trusted before it is fetched again
JWKS_COOLDOWN = 30.0  # at most one fetch per this many seconds for an unknown key id
HTTP_TIMEOUT = 10.0  # seconds for a discovery or JWKS request
TENANT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
UNAVAILABLE = "the identity provider's signing keys could not be fetched; try again shortly"


class IdentityProviderUnavailable(APIError):
    status, code = 503, "unavailable"


@dataclass(frozen=True)
class EntraSettings:
    authority: str  # https://login.microsoftonline.com, no tenant, no trailing slash
    tenants: tuple[str, ...]  # lower-case GUIDs
    audiences: tuple[str, str]  # client id, App ID URI
    jwks_url: str  # empty: discovered
    ca_file: str

    def v2_issuer(self, tenant: str) -> str:
        return f"{self.authority}/{tenant}/v2.0"

    @property
    def discovery_url(self) -> str:
        return f"{self.authority}/{self.tenants[0]}/v2.0/.well-known/openid-configuration"


def entra_settings(config: Mapping[str, Any]) -> EntraSettings | None:
    """The SSO settings, or None when no tenant is allowed (SSO off); ConfigError if unsafe."""
    raw = [t.strip().lower() for t in str(config.get("RAPPORT_ALLOWED_TENANTS", "")).split(",")]
    tenants = tuple(t for t in raw if t)
    if not tenants:
        return None
    for tenant in tenants:
        if not TENANT.fullmatch(tenant):
            raise ConfigError(f"RAPPORT_ALLOWED_TENANTS: {tenant!r} is not a tenant id (a GUID)")
    production = str(config.get("RAPPORT_ENV", "")).lower() == "production"
    authority = str(config.get("RAPPORT_AUTHORITY") or "").rstrip("/")
    _check_url("RAPPORT_AUTHORITY", authority, production)
    jwks_url = str(config.get("RAPPORT_JWKS_URL") or "")
    if jwks_url:
        _check_url("RAPPORT_JWKS_URL", jwks_url, production)
    manifest = settings_from_config(config)  # validates the client id and App ID URI
    audiences = (manifest.client_id, manifest.app_id_uri)
    ca_file = str(config.get("RAPPORT_JWKS_CA_FILE") or "")
    return EntraSettings(authority, tenants, audiences, jwks_url, ca_file)


def _check_url(name: str, url: str, production: bool) -> None:
    parts = urlsplit(url)
    plain_ok = not production and parts.hostname in LOOPBACK
    if not parts.hostname or not (parts.scheme == "https" or (plain_ok and parts.scheme == "http")):
        raise ConfigError(f"{name} must be an https URL; got {url!r}")


class SigningKeys:
    """The tenant's signing keys: discovered, fetched, cached and refreshed (thread-safe)."""

    def __init__(self, settings: EntraSettings) -> None:
        self.settings = settings
        self._context = ssl.create_default_context()
        if settings.ca_file:
            self._context.load_verify_locations(settings.ca_file)
        self._client: jwt.PyJWKClient | None = None
        self._failed_at = -JWKS_COOLDOWN  # time.monotonic() of the last failed discovery
        self._refreshed_at = -JWKS_COOLDOWN  # ... of the last fetch forced by an unknown kid
        self._lock = threading.Lock()

    def __call__(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("token names no signing key (kid)")
        client = self._jwks_client()
        try:
            found = client.match_kid(client.get_signing_keys(), kid)
            if found is None and self._may_refresh():  # a rotated key: fetch the set again
                found = client.match_kid(client.get_signing_keys(refresh=True), kid)
        except jwt.PyJWTError as error:  # unreachable, or no usable keys published
            raise IdentityProviderUnavailable(UNAVAILABLE) from error
        if found is None:
            raise Unauthorized("token signed with a key the identity provider does not publish")
        return found.key

    def _may_refresh(self) -> bool:
        """True at most once per ``JWKS_COOLDOWN``: forged key ids cannot make us hammer the
        identity provider, and the first unknown key after a quiet spell is fetched at once."""
        with self._lock:
            now = time.monotonic()
            if now - self._refreshed_at < JWKS_COOLDOWN:
                return False
            self._refreshed_at = now
            return True

    def _jwks_client(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._client is None:
                url = self.settings.jwks_url or self._discover()
                self._client = jwt.PyJWKClient(
                    url,
                    lifespan=JWKS_LIFESPAN,
                    cooldown_duration=0,  # our own limit applies (_may_refresh)
                    timeout=HTTP_TIMEOUT,
                    ssl_context=self._context,
                )
            return self._client

    def _discover(self) -> str:
        """``jwks_uri`` from the OpenID discovery document of the first allowed tenant; after
        a failure, requests during the cooldown fail at once instead of asking again."""
        if time.monotonic() - self._failed_at < JWKS_COOLDOWN:
            raise IdentityProviderUnavailable(UNAVAILABLE)
        try:
            return self._fetch_jwks_uri()
        except IdentityProviderUnavailable:
            self._failed_at = time.monotonic()
            raise

    def _fetch_jwks_uri(self) -> str:
        url = self.settings.discovery_url
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=self._context))
        try:
            with opener.open(url, timeout=HTTP_TIMEOUT) as response:
                document = json.load(response)
        except (OSError, ValueError) as error:
            raise IdentityProviderUnavailable(UNAVAILABLE) from error
        jwks_uri = document.get("jwks_uri") if isinstance(document, dict) else None
        if not isinstance(jwks_uri, str) or urlsplit(jwks_uri).scheme != urlsplit(url).scheme:
            raise IdentityProviderUnavailable(UNAVAILABLE)
        return jwks_uri


def init_app(app: Flask) -> None:
    """Register Entra ID's issuers for every allowed tenant (nothing when SSO is off)."""
    settings = entra_settings(app.config)
    if settings is None:
        return
    keys = SigningKeys(settings)
    for tenant in settings.tenants:
        for iss in (V1_ISSUER.format(tenant=tenant), settings.v2_issuer(tenant)):
            register_issuer(
                app,
                Issuer(
                    iss,
                    ALGORITHMS,
                    keys,
                    settings.audiences,
                    email_claims=EMAIL_CLAIMS,
                    required=REQUIRED,
                    check=partial(_check, tenant),
                    identity=_identity,
                    admin_roles=frozenset({ADMIN_ROLE}),
                ),
            )
    register_hint(app, partial(_tenant_hint, settings))


def _check(tenant: str, claims: Claims) -> None:
    if str(claims.get("tid", "")).lower() != tenant:
        raise Unauthorized("token tenant (tid) does not match its issuer")
    scopes = str(claims.get("scp", "")).split()
    if SCOPE not in scopes:
        raise Unauthorized(f"token lacks the {SCOPE} scope: ask for api://.../{SCOPE}")


def _identity(claims: Claims) -> tuple[str, str]:
    return str(claims["tid"]).lower(), str(claims["oid"]).lower()


_ENTRA_ISSUER = re.compile(
    r"https://sts\.windows\.net/(?P<v1>[0-9A-Za-z-]{1,64})/|"
    r"(?P<authority>https?://[^/]+)/(?P<v2>[0-9A-Za-z-]{1,64})/v2\.0"
)


def _tenant_hint(settings: EntraSettings, iss: str) -> str | None:
    """A clear refusal for an Entra ID token of a tenant that may not sign in here."""
    found = _ENTRA_ISSUER.fullmatch(iss)
    if found is None:
        return None
    if found["v2"] and found["authority"] != settings.authority:
        return None
    tenant = found["v1"] or found["v2"]
    return f"token is from tenant {tenant}, which is not allowed to sign in here"

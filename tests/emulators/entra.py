"""Entra ID as a resource API sees it: OpenID discovery, the tenant's signing keys (JWKS) with
rotation, and user access tokens for our API, v1 and v2, served over HTTPS on 127.0.0.1.

Real Entra ID publishes every key a token may be signed with at
``/{tenant}/discovery/v2.0/keys`` (the same set at ``/common/...``) and rotates them without
notice; tokens name their key by ``kid``. v2 tokens have ``iss = {authority}/{tid}/v2.0`` and,
by default, the client id as ``aud``; v1 tokens ``iss = https://sts.windows.net/{tid}/`` and the
App ID URI as ``aud`` (learn.microsoft.com, "Access tokens in the Microsoft identity platform").
The emulator signs with real RSA keys, so the code under test verifies real signatures.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from storage.types import utcnow
from tests.emulators.server import LocalServer
from tests.emulators.tls import make_server_context

SCOPE = "access_as_user"
V1_ISSUER = "https://sts.windows.net/{tenant}/"


class SigningKey:
    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        thumb = base64.urlsafe_b64encode(hashlib.sha1(self.kid.encode()).digest()).decode()
        return {**public, "use": "sig", "kid": self.kid, "x5t": thumb.rstrip("=")}


class EntraEmulator:
    """One tenant's identity provider; ``url`` is its authority host (``RAPPORT_AUTHORITY``)."""

    def __init__(self, tenant_id: str, directory: Path) -> None:
        self.tenant_id = tenant_id
        self._lock = threading.Lock()
        self._keys = [SigningKey()]  # published; the last one signs
        self.requests: list[str] = []  # paths asked for, in order
        self._routes = Map(
            [
                Rule("/<tenant>/v2.0/.well-known/openid-configuration", endpoint="discovery"),
                Rule("/<tenant>/discovery/v2.0/keys", endpoint="keys"),
            ]
        )
        context, self.ca_file = make_server_context(directory)
        self._server = LocalServer(self._wsgi, context)
        self.url = self._server.url

    def close(self) -> None:
        self._server.close()

    # --- what the app under test reads ---------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.requests.append(request.path)
        try:
            endpoint, args = self._routes.bind_to_environ(environ).match()
        except NotFound as error:
            return error(environ, start_response)
        tenant = args["tenant"]
        if tenant not in (self.tenant_id, "common", "organizations"):
            body = {"error": "invalid_tenant", "error_description": f"AADSTS90002: {tenant}"}
            return _json(body, 400)(environ, start_response)
        if endpoint == "discovery":
            return _json(self.discovery(tenant))(environ, start_response)
        with self._lock:
            keys = [key.jwk() for key in self._keys]
        return _json({"keys": keys})(environ, start_response)

    def discovery(self, tenant: str) -> dict[str, Any]:
        shown = "{tenantid}" if tenant in ("common", "organizations") else tenant
        root = f"{self.url}/{tenant}"
        return {
            "issuer": f"{self.url}/{shown}/v2.0",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
        }

    def fetches(self, kind: str = "keys") -> int:
        suffix = "/discovery/v2.0/keys" if kind == "keys" else "/openid-configuration"
        with self._lock:
            return sum(path.endswith(suffix) for path in self.requests)

    # --- what a test controls -------------------------------------------------------------------

    def rotate(self, *, retire_old: bool = False) -> str:
        """Publish a new signing key and sign with it from now on; returns its kid."""
        key = SigningKey()
        with self._lock:
            self._keys = [key] if retire_old else [*self._keys, key]
        return key.kid

    @property
    def signing_key(self) -> SigningKey:
        with self._lock:
            return self._keys[-1]

    def v2_issuer(self, tenant: str | None = None) -> str:
        return f"{self.url}/{tenant or self.tenant_id}/v2.0"

    def claims(
        self,
        *,
        oid: str | None,
        upn: str,
        audience: str,
        version: str = "2.0",
        scope: str | None = SCOPE,
        roles: Any = None,
        lifetime: timedelta = timedelta(hours=1),
        tenant: str | None = None,
        **override: Any,
    ) -> dict[str, Any]:
        """The claims Entra ID puts in a user's access token for our API."""
        tid = tenant or self.tenant_id
        now = utcnow()
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": self.v2_issuer(tid) if version == "2.0" else V1_ISSUER.format(tenant=tid),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "aio": uuid.uuid4().hex,
            "azp" if version == "2.0" else "appid": str(uuid.uuid4()),
            "name": "Signed In User",
            "oid": oid,
            "sub": hashlib.sha256(f"{oid}{audience}".encode()).hexdigest()[:43],  # pairwise
            "tid": tid,
            "uti": uuid.uuid4().hex[:22],
            "ver": version,
        }
        claims["preferred_username" if version == "2.0" else "upn"] = upn
        if scope is not None:
            claims["scp"] = scope
        if roles is not None:
            claims["roles"] = roles
        claims.update(override)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(self, claims: Mapping[str, Any], *, key: SigningKey | None = None) -> str:
        """``claims`` signed RS256 by the current signing key (or ``key``), with its kid."""
        signer = key or self.signing_key
        headers = {"kid": signer.kid, "x5t": signer.jwk()["x5t"], "typ": "JWT"}
        return jwt.encode(dict(claims), signer.private, algorithm="RS256", headers=headers)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


@pytest.fixture(name="entra")
def entra_fixture(tmp_path: Path) -> Iterator[EntraEmulator]:
    """A fresh tenant per test: its own TLS certificate, signing key and request log."""
    emulator = EntraEmulator(str(uuid.uuid4()), tmp_path)
    yield emulator
    emulator.close()

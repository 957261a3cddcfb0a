"""Bearer-token authentication for every ``/api/`` route, secure by default.

Each trusted issuer is registered with its own fixed algorithm list and key source; a token's
unverified ``iss`` claim only picks the issuer, and the signature is then checked with that
issuer's algorithms alone, so a token can never choose its own algorithm (``alg: none``, or
HS256 signed with a public key, is refused). Today the registry holds the dev issuer
(``api.tokens``) when ``RAPPORT_DEV_AUTH=1``; the Office SSO issue adds Entra ID (RS256, JWKS).

After the signature, the token's address must belong to a colleague of the firm: the caller is
put on ``flask.g.user``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from flask import Flask, current_app, g, request
from sqlalchemy import func, select

from api.errors import Forbidden, Unauthorized
from api.tokens import AUDIENCE, DEV_ALGORITHMS, DEV_ISSUER, dev_signing_key
from config import flag
from storage.models import Colleague
from storage.web import session

LEEWAY_SECONDS = 60  # clock skew tolerated between the token's issuer and us
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss", "aud")
REGISTRY = "rapport.issuers"
API_PREFIX = "/api/"


@dataclass(frozen=True)
class Issuer:
    """One trusted token issuer, keyed by its exact ``iss``. Entra ID would be
    ``Issuer(iss, ("RS256",), lambda t: jwks.get_signing_key_from_jwt(t).key, app_id_uri,
    ("preferred_username", "upn"))`` with a ``jwt.PyJWKClient`` on the tenant's JWKS."""

    issuer: str
    algorithms: tuple[str, ...]  # fixed here, never taken from the token's header
    key: Callable[[str], Any]  # the raw token -> the verification key
    audience: str | tuple[str, ...]
    email_claims: tuple[str, ...] = ("email",)  # the claims naming the caller, first wins


@dataclass(frozen=True)
class User:
    colleague_id: int
    person_id: int
    email: str
    is_admin: bool


def init_app(app: Flask) -> None:
    issuers: dict[str, Issuer] = {}
    if flag(app.config, "RAPPORT_DEV_AUTH"):
        key = dev_signing_key(app.config)
        issuers[DEV_ISSUER] = Issuer(DEV_ISSUER, DEV_ALGORITHMS, lambda _token: key, AUDIENCE)
    app.extensions[REGISTRY] = issuers
    # On the app, not on a blueprint: a route under /api/ registered anywhere is covered, and
    # an unknown /api/ path answers 401 before 404, so routes cannot be probed without a token.
    app.before_request(_require_user_under_api)


def _require_user_under_api() -> None:
    if request.path.startswith(API_PREFIX):
        require_user()


def register_issuer(app: Flask, issuer: Issuer) -> None:
    app.extensions[REGISTRY][issuer.issuer] = issuer


def require_user() -> None:
    """Authenticate the request's bearer token and put the caller on ``g.user``, or answer
    401 (no valid token) or 403 (a valid token for someone outside the firm)."""
    issuer, claims = _verified_claims(_bearer_token())
    g.user = _colleague(issuer, claims)


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    return token.strip()


def _verified_claims(token: str) -> tuple[Issuer, Mapping[str, Any]]:
    issuers: dict[str, Issuer] = current_app.extensions[REGISTRY]
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as error:
        raise Unauthorized(f"malformed token: {error}") from error
    issuer = issuers.get(str(unverified.get("iss", "")))
    if issuer is None:
        raise Unauthorized("token issuer is not trusted here")
    try:
        claims = jwt.decode(
            token,
            issuer.key(token),
            algorithms=list(issuer.algorithms),
            audience=issuer.audience,
            issuer=issuer.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.ExpiredSignatureError as error:
        raise Unauthorized("token expired") from error
    except jwt.InvalidAudienceError as error:
        raise Unauthorized("token is for another audience") from error
    except jwt.InvalidAlgorithmError as error:
        raise Unauthorized(f"token algorithm not allowed for {issuer.issuer}") from error
    except jwt.InvalidTokenError as error:
        raise Unauthorized(f"invalid token: {error}") from error
    return issuer, claims


def _colleague(issuer: Issuer, claims: Mapping[str, Any]) -> User:
    # Only the claims this issuer vouches for name the caller (Entra ID: preferred_username).
    email = next((str(claims[c]) for c in issuer.email_claims if claims.get(c)), "")
    email = email.strip().lower()
    if not email:
        raise Unauthorized("token carries no email address")
    row = (
        session()
        .execute(
            select(Colleague.id, Colleague.person_id, Colleague.is_admin).where(
                func.lower(Colleague.email) == email
            )
        )
        .first()
    )
    if row is None:
        raise Forbidden("not a colleague of this firm")
    roles = claims.get("roles")
    # A list only: "admin" in a string would also match "superadmin".
    is_admin = bool(row.is_admin) or (isinstance(roles, list) and "admin" in roles)
    return User(row.id, row.person_id, email, is_admin)

"""Bearer-token authentication for every ``/api/`` route, secure by default.

Each trusted issuer is registered with its own fixed algorithm list and key source; a token's
unverified ``iss`` claim only picks the issuer, and the signature is then checked with that
issuer's algorithms alone, so a token can never choose its own algorithm (``alg: none``, or
HS256 signed with a public key, is refused). The registry holds the dev issuer (``api.tokens``)
when ``RAPPORT_DEV_AUTH=1`` and Entra ID's v1 and v2 issuers of every allowed tenant when Office
single sign-on is configured (``api.entra``, docs/sso.md).

After the signature, the caller must be a colleague of the firm: found by the identity provider's
ids (tenant and object id) once bound, else by the address in the claims its issuer vouches
for, binding the ids at that first sign-in. The caller is put on ``flask.g.user``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from flask import Flask, current_app, g, request
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import Forbidden, Unauthorized
from api.tokens import AUDIENCE, DEV_ALGORITHMS, DEV_ISSUER, dev_signing_key
from config import flag
from storage.models import AuditEvent, Colleague, EmailAddress
from storage.web import database, session

LEEWAY_SECONDS = 60  # clock skew tolerated between the token's issuer and us
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss", "aud")
REGISTRY = "rapport.issuers"
HINTS = "rapport.issuer_hints"
API_PREFIX = "/api/"

Claims = Mapping[str, Any]


@dataclass(frozen=True)
class Issuer:
    """One trusted token issuer, keyed by its exact ``iss`` (``api.entra`` builds Entra's)."""

    issuer: str
    algorithms: tuple[str, ...]  # fixed here, never taken from the token's header
    key: Callable[[str], Any]  # the raw token -> the verification key
    audience: str | tuple[str, ...]
    email_claims: tuple[str, ...] = ("email",)  # the claims naming the caller, first wins
    required: tuple[str, ...] = REQUIRED_CLAIMS
    check: Callable[[Claims], None] | None = None  # further rules; raises Unauthorized
    # The caller's stable ids at the issuer, (tenant id, object id), or None if it has none.
    identity: Callable[[Claims], tuple[str, str]] | None = None
    admin_roles: frozenset[str] = frozenset({"admin"})


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
    app.extensions[HINTS] = []
    # On the app, not on a blueprint: a route under /api/ registered anywhere is covered, and
    # an unknown /api/ path answers 401 before 404, so routes cannot be probed without a token.
    app.before_request(_require_user_under_api)


def _require_user_under_api() -> None:
    if request.path.startswith(API_PREFIX):
        require_user()


def register_issuer(app: Flask, issuer: Issuer) -> None:
    app.extensions[REGISTRY][issuer.issuer] = issuer


def register_hint(app: Flask, hint: Callable[[str], str | None]) -> None:
    """``hint(iss)`` explains why an untrusted ``iss`` is refused (e.g. a tenant not allowed)."""
    app.extensions[HINTS].append(hint)


def require_user() -> None:
    """Authenticate the request's bearer token and put the caller on ``g.user``, or answer
    401 (no valid token) or 403 (a valid token for someone outside the firm)."""
    issuer, claims = _verified_claims(_bearer_token())
    g.user = _colleague(session(), issuer, claims)


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    return token.strip()


def _issuer_of(token: str) -> Issuer:
    issuers: dict[str, Issuer] = current_app.extensions[REGISTRY]
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.InvalidTokenError as error:
        raise Unauthorized(f"malformed token: {error}") from error
    iss = str(unverified.get("iss", ""))
    issuer = issuers.get(iss)
    if issuer is None:
        hints = (hint(iss) for hint in current_app.extensions[HINTS])
        raise Unauthorized(next((h for h in hints if h), "token issuer is not trusted here"))
    # Checked before any key is fetched: a forged header never makes us call the key server.
    if algorithm not in issuer.algorithms:
        raise Unauthorized(f"token algorithm {str(algorithm)[:20]!r} not allowed for {iss}")
    return issuer


def _verified_claims(token: str) -> tuple[Issuer, Claims]:
    issuer = _issuer_of(token)
    try:
        claims = jwt.decode(
            token,
            issuer.key(token),
            algorithms=list(issuer.algorithms),
            audience=issuer.audience,
            issuer=issuer.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": list(issuer.required)},
        )
    except jwt.ExpiredSignatureError as error:
        raise Unauthorized("token expired") from error
    except jwt.InvalidAudienceError as error:
        raise Unauthorized("token is for another audience") from error
    except jwt.InvalidAlgorithmError as error:
        raise Unauthorized(f"token algorithm not allowed for {issuer.issuer}") from error
    except jwt.InvalidTokenError as error:
        raise Unauthorized(f"invalid token: {error}") from error
    if issuer.check is not None:
        issuer.check(claims)
    return issuer, claims


def _colleague(db: Session, issuer: Issuer, claims: Claims) -> User:
    ids = issuer.identity(claims) if issuer.identity is not None else None
    row = _by_identity(db, ids) if ids is not None else None
    if row is None:
        email = _claimed_email(issuer, claims)
        row = _by_email(db, email)
        if row is None:
            raise Forbidden("not a colleague of this firm")
        if ids is not None:
            _bind(db, row, ids)
    roles = claims.get("roles")
    # A list only: "admin" in a string would also match "superadmin".
    in_role = isinstance(roles, list) and any(r in issuer.admin_roles for r in roles)
    return User(row.id, row.person_id, row.email, bool(row.is_admin) or in_role)


def _claimed_email(issuer: Issuer, claims: Claims) -> str:
    # Only the claims this issuer vouches for name the caller (Entra ID: preferred_username).
    email = next((str(claims[c]) for c in issuer.email_claims if claims.get(c)), "")
    email = email.strip().lower()
    if not email:
        raise Unauthorized("token carries no email address")
    return email


def _by_identity(db: Session, ids: tuple[str, str]) -> Colleague | None:
    tenant, oid = ids
    query = select(Colleague).where(Colleague.tenant_id == tenant, Colleague.object_id == oid)
    return db.scalar(query)


def _by_email(db: Session, email: str) -> Colleague | None:
    """The colleague with this address: their own, or one of their person's other addresses."""
    found = db.scalar(select(Colleague).where(func.lower(Colleague.email) == email))
    if found is not None:
        return found
    alias_of = select(EmailAddress.person_id).where(EmailAddress.address == email)
    return db.scalar(select(Colleague).where(Colleague.person_id.in_(alias_of)))


def _bind(db: Session, row: Colleague, ids: tuple[str, str]) -> None:
    """Store the identity provider's ids on the colleague at first sign-in, in a transaction of
    its own (committed now, so the binding holds even if the request itself fails, and possible
    in a read-only request); refuse a second, different account."""
    if _bound_ids(row) != (None, None):
        if _bound_ids(row) != ids:
            raise Forbidden(
                "this colleague is bound to another sign-in account; an admin must reset it"
            )
        return
    tenant, oid = ids
    colleague_id, email = row.id, row.email
    # Only the caller was read so far: end the request's transaction, which on SQLite holds
    # the write lock the binding's own transaction needs (and read nothing from the expired
    # ``row`` until the binding is stored, or the request's session would begin anew).
    db.rollback()
    try:
        with database().transaction() as writer:
            writer.execute(
                update(Colleague)
                .where(Colleague.id == colleague_id, Colleague.tenant_id.is_(None))
                .values(tenant_id=tenant, object_id=oid)
            )
            writer.add(
                AuditEvent(
                    actor_id=colleague_id,
                    actor=email,
                    action="colleague.sign_in_bound",
                    target_type="colleague",
                    target_id=str(colleague_id),
                    details={"tenant_id": tenant, "object_id": oid},
                )
            )
    except IntegrityError as error:
        raise Forbidden("this sign-in account is bound to another colleague") from error
    db.refresh(row)
    if _bound_ids(row) != ids:  # another account bound it a moment before us
        raise Forbidden("this colleague is bound to another sign-in account")


def _bound_ids(row: Colleague) -> tuple[str | None, str | None]:
    return row.tenant_id, row.object_id

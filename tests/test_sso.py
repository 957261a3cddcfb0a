"""Office single sign-on: Entra ID access tokens checked against a local identity provider
(tests/emulators/entra.py) over HTTPS on 127.0.0.1, with the real PyJWT and JWKS fetching."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from api.tokens import issue_dev_token
from config import ConfigError, load_config
from storage.db import Database
from storage.models import AuditEvent, Colleague, EmailAddress, Person
from tests.conftest import SECRET
from tests.emulators.entra import EntraEmulator, SigningKey, entra_fixture  # noqa: F401 - `entra`

CLIENT_ID = "0b5c1f3e-8d2a-4c7b-9e61-3f4a5b6c7d8e"
APP_ID_URI = f"api://rapport.harbourlaw.example/{CLIENT_ID}"
ALICE = "alice@harbourlaw.example"
ALIAS = "a.hart@harbourlaw.example"
OID = str(uuid.uuid4())


@pytest.fixture
def alice(db: Database) -> int:
    """Alice, a colleague, with a second address of hers."""
    with db.transaction() as session:
        person = Person(display_name="Alice Hart")
        session.add(person)
        session.flush()
        for address in (ALICE, ALIAS):
            session.add(
                EmailAddress(address=address, person_id=person.id, domain="harbourlaw.example")
            )
        colleague = Colleague(person_id=person.id, email=ALICE)
        session.add(colleague)
        session.flush()
        return colleague.id


def sso_config(app_config: dict[str, str], idp: EntraEmulator, **extra: str) -> dict[str, str]:
    return {
        **app_config,
        "RAPPORT_DEV_AUTH": "0",
        "RAPPORT_PUBLIC_URL": "https://rapport.harbourlaw.example",
        "RAPPORT_CLIENT_ID": CLIENT_ID,
        "RAPPORT_APP_ID_URI": APP_ID_URI,
        "RAPPORT_AUTHORITY": idp.url,
        "RAPPORT_ALLOWED_TENANTS": idp.tenant_id.upper(),  # tenant ids compare in any case
        "RAPPORT_JWKS_CA_FILE": str(idp.ca_file),
        **extra,
    }


@pytest.fixture
def make_app(app_config: dict[str, str]) -> Iterator[Callable[..., Flask]]:
    from app import create_app

    made: list[Flask] = []

    def make(config: dict[str, str]) -> Flask:
        application = create_app(config)
        application.testing = True
        made.append(application)
        return application

    yield make
    for application in made:
        application.extensions["rapport.db"].dispose()


@pytest.fixture
def sso(
    make_app: Callable[..., Flask], app_config: dict[str, str], entra: EntraEmulator
) -> FlaskClient:
    return make_app(sso_config(app_config, entra)).test_client()


def token(idp: EntraEmulator, *, version: str = "2.0", **claims: Any) -> str:
    audience = CLIENT_ID if version == "2.0" else APP_ID_URI
    base: dict[str, Any] = {"oid": OID, "upn": ALICE, "audience": audience, "version": version}
    return idp.mint(idp.claims(**{**base, **claims}))


def me(client: FlaskClient, bearer: str) -> TestResponse:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {bearer}"})


def refused(response: TestResponse, fragment: str, status: int = 401) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == ("unauthorized" if status == 401 else "forbidden")
    assert fragment in body["message"], body["message"]
    if status == 401:
        assert fragment.replace('"', "'") in response.headers["WWW-Authenticate"]


def segment(data: dict[str, Any]) -> str:
    raw = json.dumps(data, default=lambda d: int(d.timestamp())).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- accepted -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "audience"),
    [("2.0", CLIENT_ID), ("2.0", APP_ID_URI), ("1.0", APP_ID_URI), ("1.0", CLIENT_ID)],
)
def test_v1_and_v2_tokens_for_either_audience_open_the_api(
    sso: FlaskClient, entra: EntraEmulator, alice: int, version: str, audience: str
) -> None:
    response = me(sso, token(entra, version=version, audience=audience))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {
        "colleague_id": alice,
        "person_id": response.get_json()["person_id"],
        "email": ALICE,
        "name": "Alice Hart",
        "admin": False,
    }


def test_keys_come_from_discovery_once_and_are_cached(
    sso: FlaskClient, entra: EntraEmulator, alice: int
) -> None:
    for _ in range(3):
        assert me(sso, token(entra)).status_code == 200
    assert entra.fetches("discovery") == 1
    assert entra.fetches("keys") == 1
    assert entra.requests[
        0
    ] == f"/{entra.tenant_id.upper()}/v2.0/.well-known/openid-configuration" or (
        entra.requests[0].endswith("/v2.0/.well-known/openid-configuration")
    )


def test_a_configured_jwks_url_needs_no_discovery(
    make_app: Callable[..., Flask], app_config: dict[str, str], entra: EntraEmulator, alice: int
) -> None:
    url = f"{entra.url}/common/discovery/v2.0/keys"
    client = make_app(sso_config(app_config, entra, RAPPORT_JWKS_URL=url)).test_client()
    assert me(client, token(entra)).status_code == 200
    assert entra.fetches("discovery") == 0 and entra.requests == ["/common/discovery/v2.0/keys"]


def test_a_rotated_key_is_picked_up_and_forged_key_ids_are_rate_limited(
    sso: FlaskClient, entra: EntraEmulator, alice: int
) -> None:
    assert me(sso, token(entra)).status_code == 200
    entra.rotate(retire_old=True)
    assert me(sso, token(entra)).status_code == 200  # unknown kid: the set is fetched again
    assert entra.fetches("keys") == 2
    stranger = SigningKey()
    for _ in range(5):
        forged = entra.mint(entra.claims(oid=OID, upn=ALICE, audience=CLIENT_ID), key=stranger)
        refused(me(sso, forged), "does not publish")
    assert entra.fetches("keys") == 2  # at most one forced fetch per cooldown


def test_first_sign_in_binds_the_account_and_later_sign_ins_use_it(
    sso: FlaskClient, entra: EntraEmulator, alice: int, db: Database
) -> None:
    assert me(sso, token(entra, upn=ALIAS)).status_code == 200  # matched through her alias
    with db.transaction() as session:
        colleague = session.get_one(Colleague, alice)
        assert (colleague.tenant_id, colleague.object_id) == (entra.tenant_id, OID)
        events = session.scalars(select(AuditEvent.action)).all()
        assert events == ["colleague.sign_in_bound"]
    # Her UPN changes after a marriage: the bound object id still finds her.
    assert me(sso, token(entra, upn="alice.stone@harbourlaw.example")).get_json()["email"] == ALICE
    # Another account claiming her address is refused: the binding holds.
    refused(me(sso, token(entra, oid=str(uuid.uuid4()))), "bound to another", status=403)


def test_a_first_sign_in_inside_a_write_request_binds_too(
    sso: FlaskClient, entra: EntraEmulator, alice: int, db: Database
) -> None:
    # The binding has its own transaction; on SQLite the request's own (BEGIN IMMEDIATE) must
    # not hold the write lock it needs.
    bearer = {"Authorization": f"Bearer {token(entra)}"}
    response = sso.post("/api/v1/people", json={"email": "not an address"}, headers=bearer)
    assert response.status_code == 400, response.get_json()  # past authentication
    with db.transaction() as session:
        colleague = session.get_one(Colleague, alice)
        assert (colleague.tenant_id, colleague.object_id) == (entra.tenant_id, OID)


def test_the_admin_app_role_makes_an_admin(
    sso: FlaskClient, entra: EntraEmulator, alice: int
) -> None:
    assert me(sso, token(entra, roles=["Rapport.Admin"])).get_json()["admin"] is True
    assert me(sso, token(entra, roles=["Rapport.Reader"])).get_json()["admin"] is False
    assert me(sso, token(entra, roles="Rapport.Admin")).get_json()["admin"] is False  # a list only


def test_a_valid_token_for_someone_outside_the_firm_is_forbidden(
    sso: FlaskClient, entra: EntraEmulator, alice: int
) -> None:
    stranger = token(entra, oid=str(uuid.uuid4()), upn="guest@contoso.example")
    refused(me(sso, stranger), "not a colleague", status=403)


# --- refused ------------------------------------------------------------------------------------


def test_expiry_allows_a_small_clock_skew_only(
    sso: FlaskClient, entra: EntraEmulator, alice: int
) -> None:
    assert me(sso, token(entra, lifetime=timedelta(seconds=-20))).status_code == 200
    refused(me(sso, token(entra, lifetime=timedelta(minutes=-5))), "token expired")


@pytest.mark.parametrize(
    ("claims", "fragment"),
    [
        ({"audience": "api://someone-else"}, "another audience"),
        ({"audience": "00000003-0000-0000-c000-000000000000"}, "another audience"),  # Graph
        ({"scope": "User.Read Mail.Read"}, "access_as_user scope"),
        ({"scope": None, "roles": ["Mail.Read"]}, "access_as_user scope"),  # an app-only token
        ({"oid": None}, 'Token is missing the "oid" claim'),
        ({"iss": "https://evil.example/{tid}/v2.0"}, "issuer is not trusted"),
        ({"tid": str(uuid.uuid4())}, "does not match its issuer"),
        ({"nbf": "later"}, "invalid token"),
    ],
)
def test_bad_claims_are_refused_with_a_clear_message(
    sso: FlaskClient, entra: EntraEmulator, alice: int, claims: dict[str, Any], fragment: str
) -> None:
    if "iss" in claims:
        claims = {"iss": claims["iss"].format(tid=entra.tenant_id)}
    if claims.get("nbf") == "later":
        claims = {"nbf": entra.claims(oid=OID, upn=ALICE, audience=CLIENT_ID)["exp"]}
        fragment = "not yet valid"
    refused(me(sso, token(entra, **claims)), fragment)


def test_a_token_of_another_tenant_is_refused(
    sso: FlaskClient, entra: EntraEmulator, alice: int
) -> None:
    other = str(uuid.uuid4())
    for version in ("2.0", "1.0"):
        refused(
            me(sso, token(entra, version=version, tenant=other)),
            f"token is from tenant {other}, which is not allowed",
        )


def test_algorithm_confusion_and_unsigned_tokens_are_refused(
    sso: FlaskClient, entra: EntraEmulator, alice: int
) -> None:
    claims = entra.claims(oid=OID, upn=ALICE, audience=CLIENT_ID)
    kid = entra.signing_key.kid
    # HS256 "signed" with the tenant's public key as the secret: the classic confusion attack.
    public_pem = entra.signing_key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{segment(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    refused(me(sso, forged), "algorithm 'HS256' not allowed")
    unsigned = f"{segment({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{segment(claims)}."
    refused(me(sso, unsigned), "algorithm 'none' not allowed")
    ps256 = jwt.encode(claims, entra.signing_key.private, algorithm="PS256", headers={"kid": kid})
    refused(me(sso, ps256), "algorithm 'PS256' not allowed")
    # The right algorithm and a published kid, but signed by someone else's key.
    stolen_kid = jwt.encode(claims, SigningKey().private, algorithm="RS256", headers={"kid": kid})
    refused(me(sso, stolen_kid), "Signature verification failed")
    no_kid = jwt.encode(claims, entra.signing_key.private, algorithm="RS256")
    refused(me(sso, no_kid), "names no signing key")


def test_dev_tokens_are_refused_when_only_sso_is_on(
    sso: FlaskClient, app_config: dict[str, str], alice: int
) -> None:
    dev = issue_dev_token({**app_config, "RAPPORT_SECRET_KEY": SECRET}, ALICE)
    refused(me(sso, dev), "issuer is not trusted")


def test_an_unreachable_identity_provider_is_a_503_not_a_401(
    make_app: Callable[..., Flask], app_config: dict[str, str], entra: EntraEmulator, alice: int
) -> None:
    client = make_app(sso_config(app_config, entra)).test_client()
    bearer = token(entra)
    entra.close()
    response = me(client, bearer)
    assert response.status_code == 503
    assert response.get_json()["error"] == "unavailable"
    assert "try again" in response.get_json()["message"]


# --- configuration ------------------------------------------------------------------------------


def test_sso_is_off_without_allowed_tenants(
    make_app: Callable[..., Flask], app_config: dict[str, str], entra: EntraEmulator, alice: int
) -> None:
    client = make_app(sso_config(app_config, entra, RAPPORT_ALLOWED_TENANTS="")).test_client()
    refused(me(client, token(entra)), "issuer is not trusted")
    assert entra.requests == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"RAPPORT_ALLOWED_TENANTS": "contoso.onmicrosoft.com"}, "is not a tenant id"),
        ({"RAPPORT_AUTHORITY": "http://login.example"}, "RAPPORT_AUTHORITY must be an https"),
        ({"RAPPORT_JWKS_URL": "ftp://keys.example/k"}, "RAPPORT_JWKS_URL must be an https"),
        ({"RAPPORT_CLIENT_ID": "rapport"}, "RAPPORT_CLIENT_ID must be an Entra application"),
    ],
)
def test_unsafe_sso_settings_refuse_to_start(
    make_app: Callable[..., Flask],
    app_config: dict[str, str],
    entra: EntraEmulator,
    extra: dict[str, str],
    message: str,
) -> None:
    with pytest.raises(ConfigError, match=message):
        make_app(sso_config(app_config, entra, **extra))


def test_production_refuses_dev_auth_and_plain_http_to_the_identity_provider(
    make_app: Callable[..., Flask], app_config: dict[str, str], entra: EntraEmulator
) -> None:
    with pytest.raises(ConfigError, match="RAPPORT_DEV_AUTH"):
        load_config(
            {"RAPPORT_ENV": "production", "RAPPORT_DEV_AUTH": "1", "RAPPORT_SECRET_KEY": SECRET}
        )
    loopback = entra.url.replace("https://", "http://")
    with pytest.raises(ConfigError, match="RAPPORT_AUTHORITY must be an https"):
        make_app(
            sso_config(app_config, entra, RAPPORT_AUTHORITY=loopback, RAPPORT_ENV="production")
        )

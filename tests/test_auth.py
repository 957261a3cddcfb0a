"""Bearer tokens: only a trusted issuer's algorithm and key, only for colleagues, every route."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import stat
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import update
from werkzeug.test import TestResponse

import api.tokens
from api.tokens import AUDIENCE, DEV_ISSUER, issue_dev_token
from config import ConfigError, load_config
from storage.db import Database
from storage.models import Colleague, EmailAddress, Person
from storage.types import utcnow
from tests.conftest import SECRET

ALICE = "alice@harbourlaw.example"


@pytest.fixture
def alice(db: Database) -> int:
    with db.transaction() as session:
        person = Person(display_name="Alice Hart")
        session.add(person)
        session.flush()
        session.add(EmailAddress(address=ALICE, person_id=person.id, domain="harbourlaw.example"))
        session.add(Colleague(person_id=person.id, email=ALICE))
        return person.id


def claims(**override: object) -> dict[str, object]:
    now = utcnow()
    base: dict[str, object] = {
        "iss": DEV_ISSUER,
        "aud": AUDIENCE,
        "sub": ALICE,
        "email": ALICE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    base.update(override)
    return {k: v for k, v in base.items() if v is not None}


def segment(data: dict[str, object]) -> str:
    raw = json.dumps(data, default=lambda d: int(d.timestamp())).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def get(
    client: FlaskClient, token: str | None, path: str = "/api/v1/people?email=" + ALICE
) -> TestResponse:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get(path, headers=headers)


def assert_refused(response: TestResponse, fragment: str, status: int = 401) -> None:
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] in ("unauthorized", "forbidden")
    assert fragment in body["message"]
    if status == 401:
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="rapport", error="invalid_token"')
        description = challenge.partition('error_description="')[2]
        assert fragment in description


def test_a_dev_token_from_the_cli_opens_the_api(
    app: Flask, client: FlaskClient, alice: int
) -> None:
    token = issue_dev_token(app.config, ALICE)
    response = get(client, token)
    assert response.status_code == 200
    assert response.get_json()["id"] == alice


def test_cli_token_command(
    app: Flask,
    runner: FlaskCliRunner,
    alice: int,
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cli import main

    for name, value in app.config.items():
        if name.startswith(("RAPPORT_", "DATABASE_URL")):
            monkeypatch.setenv(name, str(value))
    result = runner.invoke(main, ["token", "--user", ALICE])
    assert result.exit_code == 0, result.output
    assert get(client, result.output.strip()).status_code == 200


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        (None, "missing bearer token"),
        ("Basic abc", "missing bearer token"),
        ("Bearer ", "missing bearer token"),
        ("Bearer not.a.jwt", "malformed token"),
    ],
)
def test_missing_or_malformed_header(
    client: FlaskClient, alice: int, header: str | None, fragment: str
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    assert_refused(client.get("/api/v1/people/1", headers=headers), fragment)


def test_alg_none_is_refused(client: FlaskClient, alice: int) -> None:
    unsigned = f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims())}."
    assert_refused(get(client, unsigned), "algorithm")


def test_algorithm_confusion_is_refused(client: FlaskClient, alice: int) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rs256 = jwt.encode(claims(), private, algorithm="RS256")
    assert_refused(get(client, rs256), "algorithm")
    hs512 = jwt.encode(claims(), SECRET * 2, algorithm="HS512")
    assert_refused(get(client, hs512), "algorithm")
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # HS256 "signed" with a public key as the secret: the classic confusion attack.
    signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    assert_refused(get(client, forged), "Signature verification failed")


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"exp": utcnow() - timedelta(minutes=5)}, "expired"),
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "https://evil.example"}, "issuer is not trusted"),
        ({"exp": None}, "invalid token"),
        ({"sub": None}, "invalid token"),
    ],
)
def test_bad_claims_are_refused(
    client: FlaskClient, alice: int, override: dict[str, object], fragment: str
) -> None:
    token = jwt.encode(claims(**override), SECRET, algorithm="HS256")
    assert_refused(get(client, token), fragment)


def test_wrong_key_is_refused(client: FlaskClient, alice: int) -> None:
    token = jwt.encode(claims(), "another-key-that-is-long-enough-to-be-a-key", algorithm="HS256")
    assert_refused(get(client, token), "Signature verification failed")


def test_leeway_accepts_small_clock_skew(client: FlaskClient, alice: int) -> None:
    token = jwt.encode(claims(exp=utcnow() - timedelta(seconds=20)), SECRET, algorithm="HS256")
    assert get(client, token).status_code == 200


def test_a_valid_token_for_no_colleague_is_forbidden(client: FlaskClient, alice: int) -> None:
    token = jwt.encode(claims(email="stranger@acme.co.uk"), SECRET, algorithm="HS256")
    assert_refused(get(client, token), "not a colleague", status=403)


def test_dev_tokens_are_refused_when_dev_auth_is_off(
    app_config: dict[str, str], alice: int
) -> None:
    from app import create_app

    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    application = create_app({**app_config, "RAPPORT_DEV_AUTH": "0"})
    try:
        assert_refused(get(application.test_client(), token), "issuer is not trusted")
        with pytest.raises(ConfigError):
            issue_dev_token(application.config, ALICE)
    finally:
        application.extensions["rapport.db"].dispose()


def test_production_refuses_dev_auth() -> None:
    with pytest.raises(ConfigError, match="RAPPORT_DEV_AUTH"):
        load_config(
            {"RAPPORT_ENV": "production", "RAPPORT_DEV_AUTH": "1", "RAPPORT_SECRET_KEY": SECRET}
        )


def test_every_api_route_requires_a_token(app: Flask, client: FlaskClient) -> None:
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")]
    assert rules, "no API routes registered"
    for rule in rules:
        path = re.sub(r"<[^>]+>", "1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            assert response.status_code == 401, (method, rule.rule)


def test_healthz_is_open(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_an_unknown_api_path_needs_a_token_before_it_is_a_404(client: FlaskClient) -> None:
    assert_refused(client.get("/api/v2/anything"), "missing bearer token")


def test_an_opted_out_colleague_can_still_use_the_api(
    app: Flask, db: Database, client: FlaskClient, alice: int
) -> None:
    with db.transaction() as session:
        session.execute(update(Colleague).where(Colleague.email == ALICE).values(opted_out=True))
    assert get(client, issue_dev_token(app.config, ALICE)).status_code == 200


def test_a_token_names_its_colleague_by_email_in_any_case(client: FlaskClient, alice: int) -> None:
    token = jwt.encode(claims(email="Alice@HarbourLaw.example"), SECRET, algorithm="HS256")
    assert get(client, token).status_code == 200


def test_a_dev_token_must_carry_its_email(client: FlaskClient, alice: int) -> None:
    # The dev issuer vouches for `email` only; another claim naming a colleague is not enough.
    token = jwt.encode(claims(email=None, preferred_username=ALICE), SECRET, algorithm="HS256")
    assert_refused(get(client, token), "no email address")


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "var" / "dev-signing-key"
    monkeypatch.setattr(api.tokens, "KEY_FILE", path)
    return path


def test_without_a_secret_key_tokens_survive_a_restart(
    app_config: dict[str, str], alice: int, key_file: Path
) -> None:
    from app import create_app

    config = {**app_config, "RAPPORT_SECRET_KEY": ""}
    first = create_app(config)
    token = issue_dev_token(first.config, ALICE)
    first.extensions["rapport.db"].dispose()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    restarted = create_app(config)
    try:
        assert get(restarted.test_client(), token).status_code == 200
    finally:
        restarted.extensions["rapport.db"].dispose()


def test_an_empty_key_file_is_a_clear_error(key_file: Path) -> None:
    key_file.parent.mkdir(parents=True)
    key_file.write_text("")
    config = {"RAPPORT_DEV_AUTH": "1", "RAPPORT_SECRET_KEY": ""}
    with pytest.raises(ConfigError, match="delete it"):
        issue_dev_token(config, ALICE)


def test_a_short_secret_key_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="at least 32"):
        issue_dev_token({"RAPPORT_DEV_AUTH": "1", "RAPPORT_SECRET_KEY": "short"}, ALICE)

"""The read API: people by address and id, companies, the JSON error contract."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from api.tokens import issue_dev_token
from storage.db import Database
from storage.models import Colleague, Company, CompanyDomain, EmailAddress, Person
from storage.web import EXTENSION

ALICE = "alice@harbourlaw.example"


@pytest.fixture
def people(db: Database) -> dict[str, int]:
    """Alice (a colleague), Jane at Acme with two addresses, and Jane's merged duplicate."""
    with db.transaction() as session:
        acme = Company(name="Acme", primary_domain="acme.co.uk")
        session.add(acme)
        session.flush()
        session.add_all(
            [
                CompanyDomain(domain="acme.co.uk", company_id=acme.id),
                CompanyDomain(domain="acme.com", company_id=acme.id),
            ]
        )
        alice = Person(display_name="Alice Hart")
        jane = Person(display_name="Jane Roe", company_id=acme.id, title="General Counsel")
        old = Person(display_name="J. Roe", company_id=acme.id)
        session.add_all([alice, jane, old])
        session.flush()
        session.add_all(
            [
                EmailAddress(address=ALICE, person_id=alice.id, domain="harbourlaw.example"),
                EmailAddress(address="jane@acme.co.uk", person_id=jane.id, domain="acme.co.uk"),
                EmailAddress(address="jroe@acme.com", person_id=old.id, domain="acme.com"),
                Colleague(person_id=alice.id, email=ALICE),
            ]
        )
        session.flush()
        session.execute(update(Person).where(Person.id == old.id).values(merged_into_id=jane.id))
        return {"alice": alice.id, "jane": jane.id, "old": old.id, "acme": acme.id}


@pytest.fixture
def auth(app: Flask, people: dict[str, int]) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(app.config, ALICE)}"}


def test_person_by_email_any_case_and_form(
    client: FlaskClient, auth: dict[str, str], people: dict[str, int]
) -> None:
    response = client.get("/api/v1/people?email=%20Jane@ACME.co.uk%20", headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == people["jane"]
    assert body["display_name"] == "Jane Roe" and body["title"] == "General Counsel"
    assert body["company"] == {"id": people["acme"], "name": "Acme", "domain": "acme.co.uk"}
    assert body["emails"] == [
        {"address": "jane@acme.co.uk", "kind": "smtp", "is_role": False, "bounced": False}
    ]
    assert body["is_colleague"] is False


def test_merged_people_answer_as_the_survivor(
    client: FlaskClient, auth: dict[str, str], people: dict[str, int]
) -> None:
    by_id = client.get(f"/api/v1/people/{people['old']}", headers=auth).get_json()
    by_email = client.get("/api/v1/people?email=jroe@acme.com", headers=auth).get_json()
    assert by_id["id"] == by_email["id"] == people["jane"]


def test_colleague_flag(client: FlaskClient, auth: dict[str, str], people: dict[str, int]) -> None:
    assert client.get(f"/api/v1/people/{people['alice']}", headers=auth).get_json()["is_colleague"]


def test_company(client: FlaskClient, auth: dict[str, str], people: dict[str, int]) -> None:
    body = client.get(f"/api/v1/companies/{people['acme']}", headers=auth).get_json()
    assert body == {
        "id": people["acme"],
        "name": "Acme",
        "primary_domain": "acme.co.uk",
        "domains": ["acme.co.uk", "acme.com"],
        "people_count": 1,
    }


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/people", 400, "bad_request"),
        ("/api/v1/people?email=", 400, "bad_request"),
        ("/api/v1/people?email=not-an-address", 400, "bad_request"),
        ("/api/v1/people?email=%3Cscript%3E@x", 400, "bad_request"),
        ("/api/v1/people?email=nobody@acme.co.uk", 404, "not_found"),
        ("/api/v1/people/999999", 404, "not_found"),
        ("/api/v1/people/abc", 404, "not_found"),
        ("/api/v1/people/99999999999999999999999", 404, "not_found"),
        ("/api/v1/companies/0", 404, "not_found"),
        ("/api/v1/nothing-here", 404, "not_found"),
    ],
)
def test_errors_follow_the_json_contract(
    client: FlaskClient, auth: dict[str, str], path: str, status: int, code: str
) -> None:
    response = client.get(path, headers=auth)
    assert response.status_code == status
    assert response.is_json
    body = response.get_json()
    assert body["error"] == code and body["message"]


def test_wrong_method_is_a_json_405(
    client: FlaskClient, auth: dict[str, str], people: dict[str, int]
) -> None:
    response = client.delete(f"/api/v1/people/{people['jane']}", headers=auth)
    assert response.status_code == 405 and response.get_json()["error"] == "method_not_allowed"


def test_healthz_answers_503_when_the_database_is_down(app: Flask, client: FlaskClient) -> None:
    working = app.extensions[EXTENSION]
    # A real database URL with nothing listening: the driver fails to connect.
    app.extensions[EXTENSION] = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        response = client.get("/healthz")
    finally:
        app.extensions[EXTENSION].dispose()
        app.extensions[EXTENSION] = working
    assert response.status_code == 503
    assert response.get_json() == {
        "error": "unavailable",
        "message": "the database is unreachable",
        "database": "down",
    }


def test_datetimes_carry_their_offset(
    client: FlaskClient, auth: dict[str, str], people: dict[str, int]
) -> None:
    body = client.get(f"/api/v1/people/{people['jane']}", headers=auth).get_json()
    assert body["created_at"].endswith("+00:00")
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None

"""How requests use the store (storage/db.py, storage/web.py): a read-only request runs in
autocommit on its own engine, takes no write lock on SQLite and refuses to write; a pooled
server connection idle for long is pinged, and a dead one is replaced, not handed out."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from werkzeug.test import TestResponse

from api.tokens import issue_dev_token
from storage import db as db_module
from storage.db import Database
from storage.models import Person
from storage.web import EXTENSION
from tests.test_api import ALICE, people  # noqa: F401 - the `people` fixture


@pytest.fixture
def auth(app: Flask, people: dict[str, int]) -> dict[str, str]:  # noqa: F811
    return {"Authorization": f"Bearer {issue_dev_token(app.config, ALICE)}"}


def test_a_read_request_does_not_wait_for_a_writer_holding_the_store(
    db: Database,
    client: FlaskClient,
    auth: dict[str, str],
    people: dict[str, int],  # noqa: F811
) -> None:
    answers: list[TestResponse] = []
    with db.transaction() as writer:  # a sync page in progress: on SQLite, BEGIN IMMEDIATE
        writer.add(Person(display_name="Written by a sync page"))
        writer.flush()
        reader = threading.Thread(
            target=lambda: answers.append(
                client.get(f"/api/v1/people/{people['jane']}", headers=auth)
            )
        )
        reader.start()
        reader.join(timeout=20)  # the busy timeout is 60 s: a blocked read would still wait
        finished = not reader.is_alive()
    reader.join()
    assert finished, "the read request waited for the writer's lock"
    assert answers[0].status_code == 200
    assert answers[0].get_json()["display_name"] == "Jane Roe"


def test_a_read_only_session_refuses_to_write(db: Database) -> None:
    with db.read_sessions() as session:
        assert session.scalar(select(text("1"))) == 1
        session.add(Person(display_name="Never stored"))
        with pytest.raises(RuntimeError, match="read-only session"):
            session.flush()
    with db.transaction() as session:
        assert session.scalar(select(Person.id)) is None


def test_write_requests_still_commit_as_one_transaction(
    client: FlaskClient,
    auth: dict[str, str],
    people: dict[str, int],  # noqa: F811
) -> None:
    created = client.post(
        "/api/v1/people", json={"email": "new.person@client.example"}, headers=auth
    )
    assert created.status_code == 201, created.get_json()
    found = client.get("/api/v1/people?email=new.person@client.example", headers=auth)
    assert found.status_code == 200 and found.get_json()["id"] == created.get_json()["id"]


def test_an_idle_connection_killed_by_the_server_is_replaced_not_handed_out(
    app: Flask,
    client: FlaskClient,
    auth: dict[str, str],
    people: dict[str, int],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database: Database = app.extensions[EXTENSION]
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server connection to lose")
    url = f"/api/v1/people/{people['jane']}"
    assert client.get(url, headers=auth).status_code == 200  # the read pool holds a connection
    engine: Any = database._read_engine
    with engine.connect() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with database.engine.connect() as killer:
        killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 0.0)  # as if it had sat idle for long

    assert client.get(url, headers=auth).status_code == 200


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://rapport@db/rapport", "postgresql+psycopg://rapport@db/rapport"),
        (
            "postgres://rapport:pw@db:5432/rapport",
            "postgresql+psycopg://rapport:pw@db:5432/rapport",
        ),
        ("postgresql+psycopg://rapport@db/rapport", "postgresql+psycopg://rapport@db/rapport"),
        ("sqlite:///var/rapport.db", "sqlite:///var/rapport.db"),
    ],
)
def test_a_postgresql_url_without_a_driver_names_psycopg_3(given: str, used: str) -> None:
    assert db_module.with_driver(given) == used


def test_a_bare_postgresql_url_connects_with_psycopg_3(db: Database) -> None:
    """The store's own URL written as an operator might (``postgresql://``) reaches the same
    server through the installed driver (SQLAlchemy's default, psycopg2, is not installed)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL URL needs the PostgreSQL server; this run is on SQLite")
    bare = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    other = Database(bare)
    try:
        with other.engine.connect() as connection:
            assert connection.scalar(text("select 1")) == 1
        assert other.engine.dialect.driver == "psycopg"
    finally:
        other.dispose()

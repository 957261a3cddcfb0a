"""Fixtures: a real database (SQLite, or PostgreSQL when RAPPORT_TEST_DATABASE_URL says so),
the Flask ``app``/``client``/``runner``, and a savepoint-rolled-back ``session``.

The schema is created once per test session through the real migrations; every test that uses
``db`` starts from empty tables.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Base

FIRM_DOMAINS = "harbourlaw.example,enron.com"
SECRET = "test-secret-key-that-is-long-enough-for-production"


def _database_url(tmp: Path) -> str:
    return os.environ.get("RAPPORT_TEST_DATABASE_URL") or f"sqlite:///{tmp / 'test.db'}"


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    url = _database_url(tmp_path_factory.mktemp("db"))
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            connection.execute(text("select 1"))
    except OperationalError as error:
        message = f"database {url} unreachable: {error.orig}"
        if os.environ.get("RAPPORT_CI"):
            pytest.fail(message + " (RAPPORT_CI is set: PostgreSQL must be up)")
        pytest.skip(message)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    db.upgrade()
    yield db
    db.dispose()


def clear(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        if db.engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                connection.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def db(database: Database) -> Database:
    """The test database with every table empty."""
    clear(database)
    return database


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session whose work is rolled back at the end of the test, commits included."""
    connection = db.engine.connect()
    transaction = connection.begin()
    with Session(bind=connection, join_transaction_mode="create_savepoint") as s:
        yield s
    transaction.rollback()
    connection.close()


@pytest.fixture
def app_config(db: Database) -> dict[str, str]:
    return {
        "DATABASE_URL": db.url,
        "TESTING": "1",
        "RAPPORT_DEV_AUTH": "1",
        "RAPPORT_FIRM_DOMAINS": FIRM_DOMAINS,
        "RAPPORT_SECRET_KEY": SECRET,
        "RAPPORT_SCHEDULER": "0",
        "RAPPORT_GRAPH_WARM": "0",  # a test's requests build the graph when it says
    }


@pytest.fixture
def app(app_config: dict[str, str]) -> Iterator[Flask]:
    from app import create_app

    application = create_app(app_config)
    application.testing = True
    yield application
    application.extensions["rapport.db"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """A connection leaked by a test is reported against that test, not a random later one."""
    yield
    gc.collect()

"""Alembic, driven from code: the schema is upgraded by ``init-db`` and at app start-up.

Every process upgrades at start-up, and gunicorn starts its workers together: on PostgreSQL
the upgrade holds an advisory lock, so one process runs the migrations and the others, once
it is done, find the schema at head and do nothing (without it, the others failed on the
first migration's tables and gunicorn stopped: ``tests/test_migrations.py``). SQLite needs
no lock of ours: the whole upgrade is one transaction (``migrations/env.py``) that begins with
``BEGIN IMMEDIATE``, so the other processes wait for its commit and then read the version at
head. Alembic would otherwise commit after each migration on SQLite, and a process could read
the version between two of them and run a migration a second time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


# pg_advisory_lock key: "rapport migrate" as a number, so no other use of advisory locks
# in this database collides with it by accident.
MIGRATION_LOCK = 0x7261_7070_6D69_67


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _one_at_a_time(engine):
        command.upgrade(alembic_config(engine), revision)


@contextmanager
def _one_at_a_time(engine: Engine) -> Iterator[None]:
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        # A session-level lock, held by this connection until unlocked: the migrations run on
        # connections of their own.
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)

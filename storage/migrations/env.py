"""Alembic environment: runs on the engine handed over in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from storage.models import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
        # SQLite's DDL is transactional, though Alembic assumes not and commits after every
        # migration. One transaction for the whole upgrade makes it all-or-nothing, and
        # processes starting at once queue on its write lock (BEGIN IMMEDIATE, storage.db).
        # Each finds the version at head once it gets the lock. Per-migration commits let a
        # second process read the version between two of the first one's migrations and
        # then run a migration the first one ran too (tests/test_migrations.py).
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

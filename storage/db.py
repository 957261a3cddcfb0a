"""Engine, sessions and schema upgrades. No I/O happens at import time.

SQLite (the embedded default) runs in WAL mode with foreign keys on. Every transaction starts
with ``BEGIN IMMEDIATE`` so that two writers (the API and a sync pass) queue on the busy timeout
instead of failing on a lock upgrade; PostgreSQL needs none of this.

Durability: ``synchronous=NORMAL`` in WAL mode makes every commit atomic and lets it survive a
crash of the process (a SIGKILL mid-import, tests/test_kill.py): the WAL is written at commit.
It is synced to disk only at checkpoints, so a power cut or an OS crash may roll the store
back to its last checkpoint, never to a torn state. An import loses nothing by that: a page's
rows and its cursor commit together, so a rolled-back page is read again on the next run.
Checkpoints run every ``WAL_CHECKPOINT_PAGES`` pages instead of SQLite's 1,000: an import page
rewrites the same index pages in every transaction (the Enron import writes each page of the
store six times over), and copying them back once per many transactions instead of at nearly
every commit more than halved the commit time on the Enron data (docs/enron.md). The WAL file
may grow to that size during an import and is cut back to ``WAL_SIZE_LIMIT`` afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = f"sqlite:///{ROOT / 'var' / 'rapport.db'}"
SQLITE_BUSY_TIMEOUT_MS = 60_000  # a long sync page may hold the write lock for seconds
WAL_CHECKPOINT_PAGES = 65_536  # 256 MB of 4 KiB pages (SQLite's default: 1,000)
WAL_SIZE_LIMIT = 64 << 20  # bytes the WAL file is truncated to after a checkpoint


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and WAL mode."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see below)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # see the module docstring
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """One engine and its session factory; what the app, the CLI and the worker share."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def upgrade(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from storage.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

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

Requests that only read (``Database.read_sessions``) run in autocommit on an engine of their
own: on SQLite they take no write lock (a read inside ``BEGIN IMMEDIATE`` would queue behind a
sync page for up to the busy timeout), and on PostgreSQL they save the BEGIN and ROLLBACK round
trips, with the same view of the data (under READ COMMITTED every statement takes its own
snapshot inside a transaction too). Such sessions refuse to flush ORM changes.

A pooled connection is pinged (SELECT 1) when it comes out of the pool after more than
``PING_AFTER_IDLE_S`` idle, instead of at every checkout as ``pool_pre_ping`` would: a busy
API worker reuses connections within milliseconds and would pay a round trip per request for
nothing. A server restarted less than that after a connection's last use fails the one
request that meets the dead connection; SQLAlchemy then replaces the whole pool.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = f"sqlite:///{ROOT / 'var' / 'rapport.db'}"
SQLITE_BUSY_TIMEOUT_MS = 60_000  # a long sync page may hold the write lock for seconds
WAL_CHECKPOINT_PAGES = 65_536  # 256 MB of 4 KiB pages (SQLite's default: 1,000)
WAL_SIZE_LIMIT = 64 << 20  # bytes the WAL file is truncated to after a checkpoint
# Seconds a pooled server connection may sit idle and still be trusted without a ping: well
# under any server or firewall idle timeout, well over the gap between a busy worker's requests.
PING_AFTER_IDLE_S = 10.0
AUTOCOMMIT = "AUTOCOMMIT"


def make_engine(url: str, *, autocommit: bool = False, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and WAL mode. With
    ``autocommit`` every statement commits by itself (the engine of read-only requests)."""
    if autocommit:
        kwargs["isolation_level"] = AUTOCOMMIT
    if url.startswith("sqlite"):
        return _sqlite_engine(url, begin_immediate=not autocommit, **kwargs)
    engine = create_engine(with_driver(url), **kwargs)
    _ping_when_idle(engine)
    return engine


def with_driver(url: str) -> str:
    """A PostgreSQL URL without a driver (``postgresql://``, or ``postgres://`` as hosting
    platforms write it) names psycopg 3, the driver installed; SQLAlchemy would reach for
    psycopg2, which is not. The graph's full build reads pairs with psycopg 3's binary COPY
    (``storage.float_copy``). Other URLs are left as they are."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare) :]
    return url


def _ping_when_idle(engine: Engine) -> None:
    """Ping a connection leaving the pool only when it sat idle (see the module docstring)."""

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_conn, None):
                raise exc.DisconnectionError() from error  # the pool connects anew
            raise


def _sqlite_engine(url: str, *, begin_immediate: bool, **kwargs: Any) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see below)
        cursor = dbapi_conn.cursor()
        # First, so that the journal mode switch below waits for another process's lock too.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # see the module docstring
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        cursor.close()

    if begin_immediate:

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read-only session was asked to write: use Database.sessions")


class Database:
    """One engine and its session factory; what the app, the CLI and the worker share."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._engine_kwargs = engine_kwargs
        self._read_engine: Engine | None = None
        self._read_sessions: sessionmaker[Session] | None = None

    @property
    def read_engine(self) -> Engine:
        """The autocommit engine of ``read_sessions``, made at first use (a CLI run never
        opens it)."""
        if self._read_engine is None:
            self._read_engine = make_engine(self.url, autocommit=True, **self._engine_kwargs)
        return self._read_engine

    @property
    def read_sessions(self) -> sessionmaker[Session]:
        """Sessions in autocommit for work that only reads (the module docstring says why)."""
        if self._read_sessions is None:
            self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)
            event.listen(self._read_sessions, "before_flush", _refuse_flush)
        return self._read_sessions

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
        if self._read_engine is not None:
            self._read_engine.dispose()

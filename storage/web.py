"""The store inside Flask: one Database per app, one session per request.

The session's transaction is committed by the view that writes (``session.commit()`` at its
end: one commit per request) and rolled back at teardown otherwise. Requests whose method does
not write (GET, HEAD, OPTIONS) get an autocommit session that refuses to flush
(``Database.read_sessions``): no BEGIN and ROLLBACK round trips on PostgreSQL, no write lock on
SQLite. What such a request must still write (a first sign-in's binding) goes through its own
``Database.transaction()``.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from storage.db import Database

EXTENSION = "rapport.db"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_app(app: Flask) -> None:
    database = Database(app.config["DATABASE_URL"])
    database.upgrade()  # app start-up brings the schema to the newest revision
    app.extensions[EXTENSION] = database
    app.teardown_appcontext(_close_session)


def database() -> Database:
    db: Database = current_app.extensions[EXTENSION]
    return db


def session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        db = database()
        reads = request.method in READ_METHODS
        g.db_session = (db.read_sessions if reads else db.sessions)()
    current: Session = g.db_session
    return current


def _close_session(_error: BaseException | None) -> None:
    current = g.pop("db_session", None)
    if current is not None:
        current.close()  # rolls back anything the view did not commit

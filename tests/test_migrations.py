"""The Alembic history builds exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from bench.scratch_db import drop_database, recreate_database
from storage.db import Database
from storage.migrate import MIGRATIONS
from storage.models import Base
from tests.data_paths import ROOT


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_upgrade_twice_is_harmless(database: Database) -> None:
    database.upgrade()
    database.upgrade()


STARTS = 6  # API workers starting at once, as gunicorn starts them


def test_processes_starting_at_once_upgrade_an_empty_store_once(
    database: Database, tmp_path: Path
) -> None:
    """gunicorn starts its workers together and each brings the schema up at start-up: on an
    empty store (a first deployment, or a release with a new migration) exactly one of them
    may run the migrations, and every worker must start."""
    url = scratch_url(database, tmp_path, "migrate")
    script = "import sys; from storage.db import Database; Database(sys.argv[1]).upgrade()"
    try:
        starts = [
            subprocess.Popen(
                [sys.executable, "-c", script, url], cwd=ROOT, stderr=subprocess.PIPE, text=True
            )
            for _ in range(STARTS)
        ]
        errors = [start.communicate(timeout=300)[1] for start in starts]
        assert [start.returncode for start in starts] == [0] * STARTS, errors
        fresh = Database(url)
        try:
            with fresh.engine.connect() as connection:
                context = MigrationContext.configure(connection)
                assert compare_metadata(context, Base.metadata) == []
                assert context.get_current_revision() == head_revision()
        finally:
            fresh.dispose()
    finally:
        if url.startswith("postgresql"):
            drop_database(url)


def test_the_colleague_clock_is_filled_from_the_stored_pairs(
    database: Database, tmp_path: Path
) -> None:
    """Migration 0012 adds ``colleagues.last_sent_at`` to a store that already holds pairs: it
    is each colleague's newest email of their side over their pairs (an internal one too)."""
    from datetime import timedelta

    from sqlalchemy import select

    from storage.migrate import downgrade, upgrade
    from storage.models import Colleague
    from tests.factories import INBOX, SENT, T0, email
    from tests.test_engine import ALICE, BOB, CLIENT, mailbox, run

    url = scratch_url(database, tmp_path, "clock")
    store = Database(url)
    try:
        store.upgrade()
        box = mailbox(store, ALICE)
        sent = [
            email(ALICE, [CLIENT], at=T0 + timedelta(2)),
            email(ALICE, [BOB], at=T0 + timedelta(9)),
        ]
        run(store, box, {SENT: sent, INBOX: [email(CLIENT, [ALICE], at=T0 + timedelta(20))]})
        downgrade(store.engine, "0011")
        upgrade(store.engine)
        with store.transaction() as session:
            found = session.execute(select(Colleague.email, Colleague.last_sent_at)).all()
            clocks = {str(row[0]): row[1] for row in found}
        assert clocks[ALICE] == T0 + timedelta(9)  # the client's later email is not hers
        assert clocks[BOB] is None  # Bob never wrote
    finally:
        store.dispose()
        if url.startswith("postgresql"):
            drop_database(url)


def test_companies_made_from_free_mail_domains_go(database: Database, tmp_path: Path) -> None:
    """Migration 0014: a store made with the old, short free-mail list holds "Rr" (rr.com, a
    consumer ISP) and a company that also owns mindspring.com. The free-mail domains leave;
    their people leave those companies unless a colleague set it or they have an address at
    a domain the company keeps; an empty company is deleted."""
    from storage.migrate import downgrade, upgrade

    url = scratch_url(database, tmp_path, "freemail")
    store = Database(url)
    user_set = '{"company": {"source": "user", "by": 1, "at": "2026-01-01T00:00:00+00:00"}}'
    try:
        store.upgrade()
        downgrade(store.engine, "0013")
        with store.engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO companies (id, name, primary_domain, created_at) VALUES"
                    " (1, 'Rr', 'rr.com', '2026-01-01'), (2, 'Rr Home', 'rr-home.example',"
                    " '2026-01-01'), (3, 'Mixco', 'mindspring.com', '2026-01-01')"
                )
            )
            c.execute(
                text(
                    "INSERT INTO company_domains (domain, company_id) VALUES"
                    " ('rr.com', 1), ('mindspring.com', 3), ('mixco.example', 3)"
                )
            )
            people = [
                (10, 1, "{}", "ann@houston.rr.com"),
                (11, 1, user_set, "bo@austin.rr.com"),
                (12, 3, "{}", "cy@mindspring.com"),
                (13, 3, "{}", "di@mindspring.com"),
                (14, 2, "{}", "ed@rr-home.example"),
            ]
            insert_people(c, people)
            c.execute(
                text(
                    "INSERT INTO email_addresses (address, kind, domain, person_id, is_role,"
                    " created_at) VALUES ('di@mixco.example', 'smtp', 'mixco.example', 13,"
                    " false, '2026-01-01')"
                )
            )
        upgrade(store.engine)
        with store.engine.connect() as c:
            companies = pairs_of(c, "SELECT id, primary_domain FROM companies")
            domains = pairs_of(c, "SELECT domain, company_id FROM company_domains")
            of = pairs_of(c, "SELECT id, company_id FROM people")
        assert domains == {"mixco.example": 3}
        assert companies == {1: "rr.com", 2: "rr-home.example", 3: "mixco.example"}
        assert of == {10: None, 11: 1, 12: None, 13: 3, 14: 2}
        with store.engine.begin() as c:  # the colleague's choice goes too: Rr is empty now
            c.execute(text("UPDATE people SET company_id = NULL WHERE id = 11"))
        downgrade(store.engine, "0013")
        with store.engine.begin() as c:
            c.execute(text("INSERT INTO company_domains (domain, company_id) VALUES ('rr.com', 1)"))
        upgrade(store.engine)
        with store.engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM companies WHERE id = 1")).scalar() == 0
    finally:
        store.dispose()
        if url.startswith("postgresql"):
            drop_database(url)


USER_SET = '{"name": {"source": "user", "by": 1, "at": "2026-01-01T00:00:00+00:00"}}'


def names_after_upgrade(
    database: Database, tmp_path: Path, before: str, stored: dict[int, tuple[str, str]]
) -> dict[int, str]:
    """People named as ``stored`` says ({id: (name, provenance JSON)}) in a store at revision
    ``before``, then upgraded: their names after."""
    from storage.migrate import downgrade, upgrade

    with scratch_store(database, tmp_path, f"names{before}") as store:
        store.upgrade()
        downgrade(store.engine, before)
        with store.engine.begin() as c:
            for pid, (name, provenance) in stored.items():
                c.execute(
                    text(
                        "INSERT INTO people (id, display_name, phones, provenance, created_at,"
                        " updated_at) VALUES (:id, :name, '[]', :provenance, '2026-01-01',"
                        " '2026-01-01')"
                    ),
                    {"id": pid, "name": name, "provenance": provenance},
                )
        upgrade(store.engine)
        with store.engine.connect() as c:
            return pairs_of(c, "SELECT id, display_name FROM people")


def test_stored_names_are_cleaned_as_new_ones_are(database: Database, tmp_path: Path) -> None:
    """Migration 0016: names stored before quoted-pairs and Outlook's "(E-mail 2)" tags were
    cleaned at ingest are cleaned the same way; a name a colleague set, a name that would
    become empty and a clean name stay as they are."""
    stored = {
        10: ("David Chandler \\(E-mail\\)", "{}"),
        11: ("Amanda Day (E-mail 2)", "{}"),
        12: ("KNEBEL,ROBERT (HP-Vancouver,ex1)", "{}"),
        13: ("Chris Meyer \\(E-mail\\)", USER_SET),
        14: ("(E-mail)", "{}"),
        15: ("Diana (Ngoc) B. Luu", "{}"),
        16: ("Smith Jones, Ann", "{}"),
        17: ("Jane Roe", "{}"),
    }
    assert names_after_upgrade(database, tmp_path, "0015", stored) == {
        10: "David Chandler",
        11: "Amanda Day",
        12: "ROBERT KNEBEL",
        13: "Chris Meyer \\(E-mail\\)",
        14: "(E-mail)",
        15: "Diana (Ngoc) B. Luu",
        16: "Smith Jones, Ann",
        17: "Jane Roe",
    }


def test_stored_names_lose_directory_tags_book_prefixes_and_stray_quotes(
    database: Database, tmp_path: Path
) -> None:
    """Migration 0019: names as the Enron import stored them before ("Amanda [UBS] Hollis",
    reordered from "Hollis, Amanda [UBS]"; 'NOTES:"Amr Ibrahim') are cleaned as new ones
    are; a name a colleague set, an apostrophe and a clean name with a colon stay."""
    stored = {
        10: ("Amanda [UBS] Hollis", "{}"),
        11: ('NOTES:"Amr Ibrahim', "{}"),
        12: ('William "Bill Bojorquez', "{}"),
        13: ("Scott L [GCO] Flood", USER_SET),
        14: ("Pat O'Brien", "{}"),
        15: ("Mail: Natural Resources", "{}"),
        16: ("'Greg Thorse", "{}"),
    }
    assert names_after_upgrade(database, tmp_path, "0018", stored) == {
        10: "Amanda Hollis",
        11: "Amr Ibrahim",
        12: "William Bill Bojorquez",
        13: "Scott L [GCO] Flood",
        14: "Pat O'Brien",
        15: "Mail: Natural Resources",
        16: "Greg Thorse",
    }


def insert_people(c: Connection, people: list[tuple[int, int, str, str]]) -> None:
    """(id, company id, provenance JSON, address) rows, as a store made before holds them."""
    for pid, company, provenance, address in people:
        c.execute(
            text(
                "INSERT INTO people (id, display_name, phones, company_id, provenance,"
                " created_at, updated_at) VALUES (:id, '', '[]', :company,"
                " :provenance, '2026-01-01', '2026-01-01')"
            ),
            {"id": pid, "company": company, "provenance": provenance},
        )
        c.execute(
            text(
                "INSERT INTO email_addresses (address, kind, domain, person_id,"
                " is_role, created_at) VALUES (:a, 'smtp', :d, :id, false, '2026-01-01')"
            ),
            {"a": address, "d": address.split("@")[1], "id": pid},
        )


def pairs_of(connection: Connection, query: str) -> dict[Any, Any]:
    return {row[0]: row[1] for row in connection.execute(text(query))}


@contextmanager
def scratch_store(database: Database, tmp_path: Path, name: str) -> Iterator[Database]:
    """An empty store of the test's engine (`scratch_url`), disposed of (and its PostgreSQL
    database dropped) after."""
    url = scratch_url(database, tmp_path, name)
    store = Database(url)
    try:
        yield store
    finally:
        store.dispose()
        if url.startswith("postgresql"):
            drop_database(url)


def scratch_url(database: Database, tmp_path: Path, name: str) -> str:
    """An empty store of the test's engine: a fresh PostgreSQL database (drop it after), or a
    SQLite file."""
    if database.engine.dialect.name == "postgresql":
        url = database.url.rsplit("/", 1)[0] + f"/test_{name}_{os.getpid()}"
        recreate_database(url)
        return url
    return f"sqlite:///{tmp_path / f'{name}.db'}"

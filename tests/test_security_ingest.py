"""Attacker-controlled text arriving by mail, on SQLite and PostgreSQL: a Graph message or a
mail file whose sender name, subject or identifiers hold control characters, a NUL, an unpaired
surrogate, a right-to-left override or 100 kB must not stop the mailbox's sync (docs/api.md's
rule: bad input is cleaned or skipped, never a crash).

Ingest stores such text cleaned (``sync.normalize.text``): NUL and the other C0 controls
removed, unpaired surrogates as U+FFFD, identifiers longer than their column as a digest that
keeps copies together and distinct ids apart.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from config import load_config
from storage.db import Database
from storage.models import EmailAddress, Interaction, Person, Sighting
from sync.graph import run_mailbox
from sync.importer import import_paths
from tests.emulators import GraphEmulator, graph_fixture  # noqa: F401 - the `graph` fixture
from tests.emulators.harness import configure, graph_config
from tests.test_graph_sync import ALICE, NOW

CARLA = "carla@client.example"
VALUES = {
    "rtl": "\u202eevil.exe\u202c",
    "escape": "\x1b[31mred\x07",
    "100 kB": "x" * 100_000,
    "nul": "Carla\x00Client",
    "surrogate": "Carla\ud800Client",
}
# What is stored: (subject, display name).
STORED = {
    "rtl": ("\u202eevil.exe\u202c", "\u202eevil.exe\u202c"),
    "escape": ("[31mred", "[31mred"),
    "100 kB": ("x" * 998, "x" * 300),
    "nul": ("CarlaClient", "CarlaClient"),
    "surrogate": ("Carla\ufffdClient", "Carla\ufffdClient"),
}
HOSTILE_IDS = {
    "nul": "abc\x00def@client.example",
    "surrogate": "abc\ud800def@client.example",
    "100 kB": "a" * 100_000 + "@client.example",
}


def subjects(db: Database) -> list[str]:
    with db.transaction() as session:
        return sorted(s or "" for s in session.scalars(select(Interaction.subject)))


def display_name(db: Database, address: str) -> str:
    query = (
        select(Person.display_name)
        .join(EmailAddress, EmailAddress.person_id == Person.id)
        .where(EmailAddress.address == address)
    )
    with db.transaction() as session:
        return session.scalars(query).one()


@pytest.mark.parametrize("field", ["sender name", "subject"])
@pytest.mark.parametrize("kind", sorted(VALUES))
def test_hostile_text_in_mail_never_stops_a_sync(
    db: Database, graph: GraphEmulator, kind: str, field: str
) -> None:
    config: dict[str, Any] = graph_config(db, graph)
    graph.add_mailbox(ALICE)
    (alice,) = configure(db, config, graph, ALICE, calendar=False)
    value = VALUES[kind]
    name, subject = (value, "Hello") if field == "sender name" else ("Carla", value)
    graph.add_message(
        ALICE, subject=subject, sender=(name, CARLA), to=[ALICE], received=NOW - timedelta(hours=2)
    )
    graph.add_message(ALICE, subject="Next", sender=CARLA, to=[ALICE], received=NOW)

    run = run_mailbox(db, config, alice)

    assert run.status == "ok", run.error
    stored_subject, stored_name = STORED[kind]
    if field == "subject":
        assert subjects(db) == sorted(["Next", stored_subject])
    else:
        assert subjects(db) == ["Hello", "Next"]
        assert display_name(db, CARLA) == stored_name


@pytest.mark.parametrize(
    "field", ["conversationId", "internetMessageId", "In-Reply-To", "References"]
)
@pytest.mark.parametrize("kind", sorted(HOSTILE_IDS))
def test_hostile_identifiers_never_stop_a_sync(
    db: Database, graph: GraphEmulator, kind: str, field: str
) -> None:
    config: dict[str, Any] = graph_config(db, graph)
    graph.add_mailbox(ALICE)
    (alice,) = configure(db, config, graph, ALICE, calendar=False)
    value = HOSTILE_IDS[kind]
    common: dict[str, Any] = {"sender": CARLA, "to": [ALICE]}
    if field in ("conversationId", "internetMessageId"):
        common[field] = value if field == "conversationId" else f"<{value}>"
    else:
        common["headers"] = {field: f"<{value}>"}
    graph.add_message(ALICE, subject="Hello", received=NOW - timedelta(hours=2), **common)
    graph.add_message(ALICE, subject="Next", sender=CARLA, to=[ALICE], received=NOW)

    run = run_mailbox(db, config, alice)

    assert run.status == "ok", run.error
    with db.transaction() as session:
        hello = session.scalars(select(Interaction).where(Interaction.subject == "Hello")).one()
        stored = [hello.conversation_id, hello.message_id, hello.in_reply_to, hello.references]
    assert subjects(db) == ["Hello", "Next"]
    for text in filter(None, stored):
        assert "\x00" not in text and "\ud800" not in text and len(text) <= 990
    assert hello.conversation_id is None or len(hello.conversation_id) <= 255


def test_long_identifiers_keep_copies_together_and_other_messages_apart(
    db: Database, graph: GraphEmulator
) -> None:
    """Ids longer than their column are stored as digests of the whole id: a copy with the
    same 100 kB Message-ID is one interaction, a reply keeps its 100 kB conversation id, and
    ids that share a 100 kB prefix stay distinct (truncation would merge them)."""
    config: dict[str, Any] = graph_config(db, graph)
    graph.add_mailbox(ALICE)
    graph.add_folder(ALICE, "Clients")
    (alice,) = configure(db, config, graph, ALICE, calendar=False, all_folders=True)
    prefix = "A" * 100_000

    def add(folder: str, subject: str, thread: str, message: str, hours: int) -> None:
        received = NOW - timedelta(hours=hours)
        ids: dict[str, Any] = {
            "conversationId": prefix + thread,
            "internetMessageId": f"<{prefix}{message}@x>",
        }
        graph.add_message(
            ALICE, folder, subject=subject, sender=CARLA, to=[ALICE], received=received, **ids
        )

    add("inbox", "Hello", thread="1", message="1", hours=3)
    add("clients", "[EXT] Hello", thread="1", message="1", hours=3)  # a gateway's tagged copy
    add("inbox", "Re: Hello", thread="1", message="2", hours=2)
    add("inbox", "Other", thread="3", message="3", hours=1)

    run = run_mailbox(db, config, alice)

    assert run.status == "ok", run.error
    with db.transaction() as session:
        threads = list(session.scalars(select(Interaction.conversation_id)))
        sightings = len(session.scalars(select(Sighting.interaction_id)).all())
    assert sorted(Counter(threads).values()) == [1, 2] and sightings == 4
    assert all(t is not None and t.startswith("sha256:") and len(t) <= 255 for t in threads)


def write_hostile_mbox(path: Path) -> Path:
    long_id = "b" * 100_000
    messages = [
        # NUL in the name, subject and Message-ID; a bare control character in the subject.
        b'From: "Carla\x00Client" <carla@client.example>\nSubject: Hi\x00there\x07\n'
        b"Message-ID: <one\x00@client.example>\n",
        # RFC 2047 UTF-7 decodes to an unpaired surrogate, in the name and the subject.
        b"From: =?utf-7?q?Carla+2AA-?= <carla@client.example>\nSubject: =?utf-7?q?Hi+2AA-?=\n"
        b"Message-ID: <two@client.example>\n",
        # 100 kB identifiers.
        b"From: carla@client.example\nSubject: Long ids\nMessage-ID: <" + long_id.encode() + b">\n"
        b"Thread-Index: " + long_id.encode() + b"\nIn-Reply-To: <" + long_id.encode() + b">\n"
        b"References: <r@x> <" + long_id.encode() + b">\n",
        # A bounce whose failed recipient holds a NUL.
        b"From: MAILER-DAEMON@client.example\nSubject: Undeliverable: Hi\n"
        b"Message-ID: <three@client.example>\n\nFinal-Recipient: rfc822; bo\x00b@client.example\n",
    ]
    with path.open("wb") as file:
        for n, head in enumerate(messages):
            date = f"Date: Mon, 6 Jan 2025 0{n}:00:00 +0000\nTo: alice@harbourlaw.example\n"
            body = b"" if b"\n\n" in head else b"\nHello\n"
            file.write(b"From MAILER-DAEMON Mon Jan  6 00:00:00 2025\n" + date.encode() + head)
            file.write(body + b"\n")
    return path


def test_hostile_headers_in_mail_files_never_stop_an_import(db: Database, tmp_path: Path) -> None:
    path = write_hostile_mbox(tmp_path / "inbox.mbox")
    config = load_config({"DATABASE_URL": db.url, "RAPPORT_FIRM_DOMAINS": "harbourlaw.example"})

    (result,) = import_paths(db, config, [[path]], mailbox=ALICE)

    assert result.stats.read == 4 and result.stats.stored == 3
    assert subjects(db) == sorted(["Hi\ufffd", "Hithere", "Long ids"])
    assert display_name(db, CARLA) == "CarlaClient"
    with db.transaction() as session:
        long = session.scalars(select(Interaction).where(Interaction.subject == "Long ids")).one()
    assert long.message_id is not None and long.message_id.startswith("sha256:")
    assert long.conversation_id is not None and long.conversation_id.startswith("sha256:")
    assert long.references is not None and long.references.startswith("r@x sha256:")

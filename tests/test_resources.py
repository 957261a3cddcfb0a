"""Rooms are not people; a person known only by an Exchange X.500 name is a colleague.

Found on the Enron import: "Conf. Room ECN3125B" (``CN=TEB3125B``) organised a 12-person
forecast meeting and was an external contact with 12 pairs; Mark E Taylor (``CN=MTAYLO1``),
an Enron lawyer never seen under an SMTP address, was an external contact with 51 connectors.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from api.tokens import issue_dev_token
from bench.scratch_db import drop_database
from storage.db import Database
from storage.models import Colleague, EmailAddress, Interaction, Person, StaleAggregate
from sync.files.source import FileSource
from sync.items import Address, AddressKind, ItemKind, MailItem, Participant, Response, Role
from sync.normalize.resources import is_resource, is_room_name
from sync.rules import Exclusions, Outcome, classify
from tests.factories import CALENDAR, INBOX, T0, email
from tests.test_engine import ALICE, BOB, CLIENT, FIRM, mailbox, pair, person_of, run
from tests.test_files import CALENDAR_HEAD, items
from tests.test_migrations import scratch_url

NO_EXCLUSIONS = Exclusions([])
ROOM_DN = "/O=HARBOUR/OU=NA/CN=RECIPIENTS/CN=MBX_CRTHAMES"
ROOM = Address(ROOM_DN, "Conf. Room Thames", AddressKind.X500)
TAYLOR_DN = "/O=HARBOUR/OU=NA/CN=RECIPIENTS/CN=MTAYLO1"
TAYLOR = Address(TAYLOR_DN, "Mark E Taylor", AddressKind.X500)


@pytest.mark.parametrize(
    ("name", "room"),
    [
        ("Conf. Room ECN3125B", True),
        ("Conference Room 4B", True),
        ("Meeting room - Thames", True),
        ("Boardroom 12", True),
        ("Training Room", True),
        ("Room 4.12", True),
        ("Chris Croom", False),
        ("Tricia Roome", False),
        ("Ken Lay- Chairman of the Board", False),
        ("Roomi Khan", False),
        ("Room Service", False),
        ("", False),
    ],
)
def test_room_names(name: str, room: bool) -> None:
    assert is_room_name(name) is room


def test_only_the_firms_own_rooms_are_resources() -> None:
    """The firm's directory names its rooms; an outside sender's name is theirs to choose."""
    assert is_resource(ROOM, FIRM)
    assert is_resource(Address("thames@harbourlaw.example", "Meeting Room Thames"), FIRM)
    assert not is_resource(Address("ceo@acme.co.uk", "Boardroom"), FIRM)
    assert not is_resource(TAYLOR, FIRM)


def _booked_by_the_room() -> MailItem:
    """A meeting request kept as a message, organised under the room's mailbox (as Enron's
    "Fundamentals 2002 Forecast Meeting"), with the room among its attendees too."""
    people = [Address(ALICE, "Alice Hart"), Address(CLIENT, "Jane Roe"), ROOM]
    return MailItem(
        source_id="request-1",
        kind=ItemKind.MEETING,
        sent_at=T0,
        sender=ROOM,
        participants=(
            Participant(ROOM, Role.ORGANIZER, Response.ORGANIZER),
            *(Participant(p, Role.ATTENDEE, Response.ACCEPTED) for p in people),
        ),
        subject="Forecast",
        ical_uid="forecast-1",
    )


def test_a_room_leaves_the_item_as_attendee_and_as_organizer() -> None:
    verdict = classify(_booked_by_the_room(), FIRM, NO_EXCLUSIONS)
    assert verdict.outcome == Outcome.CLIENT
    assert verdict.item.sender is None
    assert [p.address.email for p in verdict.item.participants] == [ALICE, CLIENT]
    outside = email("ceo@acme.co.uk", [ALICE], names={"ceo@acme.co.uk": "Boardroom"})
    assert classify(outside, FIRM, NO_EXCLUSIONS).item is outside  # a client's mail stays whole


def test_an_imported_meeting_booked_by_a_room_stores_its_people_only(db: Database) -> None:
    stats = run(db, mailbox(db), {CALENDAR: [_booked_by_the_room()]})
    assert not stats.skipped
    with db.transaction() as session:
        assert session.scalar(select(EmailAddress).where(EmailAddress.address == ROOM_DN)) is None
        meeting = session.scalars(select(Interaction)).one()
        assert meeting.audience_size == 2  # Alice and Jane: the room was a third attendee
        tie = pair(session, ALICE, CLIENT)
        assert tie is not None and tie.meetings == 1


def test_a_person_known_only_by_an_exchange_name_is_a_colleague_until_the_address_joins(
    db: Database,
) -> None:
    """Mark Taylor is first seen as CN=MTAYLO1 only: a colleague (so never an external
    contact with connectors, nor a company's person), under that name. When his SMTP address
    shows up beside the name, the two people merge and the colleague record takes it."""
    alice = mailbox(db)
    first = email(CLIENT, [ALICE], names={CLIENT: "Jane Roe"})
    first = dataclasses.replace(
        first, participants=(*first.participants, Participant(TAYLOR, Role.CC))
    )
    run(db, alice, {INBOX: [first]})
    with db.transaction() as session:
        taylor = person_of(session, TAYLOR_DN)
        colleague = session.scalar(select(Colleague).where(Colleague.person_id == taylor))
        assert colleague is not None and colleague.email == TAYLOR_DN
        assert session.get_one(Person, taylor).company_id is None
    smtp = "mark.taylor@harbourlaw.example"
    later = email(smtp, [ALICE], at=T0 + timedelta(days=1), links=[(TAYLOR_DN, smtp)])
    assert run(db, alice, {INBOX: [first, later]}).merged_people == 1  # the cursor is past first
    with db.transaction() as session:
        taylor = person_of(session, smtp)
        assert person_of(session, TAYLOR_DN) == taylor
        emails = session.scalars(select(Colleague.email).where(Colleague.person_id == taylor))
        assert list(emails) == [smtp]
        assert session.scalar(select(Colleague).where(Colleague.email == TAYLOR_DN)) is None


ROOM_ICS = (
    CALENDAR_HEAD
    + """BEGIN:VEVENT
UID:room-1
DTSTART:20260302T090000Z
DTEND:20260302T093000Z
SUMMARY:Pitch
ORGANIZER;CN=Alice Hart:mailto:alice@harbourlaw.example
ATTENDEE;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED:mailto:jane@acme.co.uk
ATTENDEE;CUTYPE=ROOM;PARTSTAT=ACCEPTED;CN=Thames:mailto:thames@harbourlaw.example
ATTENDEE;CUTYPE=RESOURCE;CN=Projector:mailto:projector@harbourlaw.example
END:VEVENT
END:VCALENDAR
"""
)


def test_ics_rooms_and_equipment_are_not_attendees(tmp_path: Path) -> None:
    """RFC 5545's CUTYPE says so, whatever the name."""
    path = tmp_path / "calendar.ics"
    path.write_text(ROOM_ICS.replace("\n", "\r\n"))
    (meeting,) = items(FileSource([path]))
    assert isinstance(meeting, MailItem)
    assert [p.address.email for p in meeting.participants] == [ALICE, "jane@acme.co.uk"]


def test_migration_0015_takes_rooms_out_and_makes_exchange_colleagues(
    database: Database, tmp_path: Path
) -> None:
    """A store made before: a room and Mark Taylor, each known only by an X.500 name, came in
    with Alice's meeting with Jane, which the room sent. The room leaves the meeting (which has
    no sender then, and whose audience shrinks) and
    everyone it named is marked for a rebuild; Mark becomes a colleague with his clock."""
    from storage.migrate import downgrade, upgrade

    url = scratch_url(database, tmp_path, "rooms")
    store = Database(url)
    try:
        store.upgrade()
        alice = mailbox(store)
        run(store, alice, {CALENDAR: [_booked_by_the_room()]})
        run(store, alice, {INBOX: [email(BOB, [CLIENT], names={BOB: "Bob"})]})
        downgrade(store.engine, "0014")
        with store.engine.begin() as c:  # as the store was: the room and Mark as people
            last = int(c.execute(text("SELECT max(id) FROM people")).scalar_one())
            room, mark = last + 1, last + 2
            for pid, name, dn in ((room, "Conf. Room Thames", ROOM_DN), (mark, "Mark", TAYLOR_DN)):
                c.execute(
                    text(
                        "INSERT INTO people (id, display_name, phones, provenance, created_at,"
                        " updated_at) VALUES (:id, :name, '[]', '{}', '2026-01-01', '2026-01-01')"
                    ),
                    {"id": pid, "name": name},
                )
                c.execute(
                    text(
                        "INSERT INTO email_addresses (address, kind, domain, person_id, is_role,"
                        " created_at) VALUES (:a, 'x500', '', :id, false, '2026-01-01')"
                    ),
                    {"a": dn, "id": pid},
                )
            meeting = c.execute(text("SELECT id FROM interactions WHERE kind = 'meeting'")).scalar()
            c.execute(
                text(
                    "INSERT INTO participants (interaction_id, address_id, role) SELECT :i, id,"
                    " 'attendee' FROM email_addresses WHERE kind = 'x500'"
                ),
                {"i": meeting},
            )
            c.execute(
                text(
                    "UPDATE interactions SET audience_size = 4, sender_address_id ="
                    " (SELECT id FROM email_addresses WHERE address = :room) WHERE id = :i"
                ),
                {"i": meeting, "room": ROOM_DN},
            )
        upgrade(store.engine)
        with store.transaction() as session:
            listed = session.scalars(
                text("SELECT address_id FROM participants WHERE interaction_id = :i"),
                {"i": meeting},
            ).all()
            room_address = person_address = None
            for address in session.scalars(select(EmailAddress)):
                if address.person_id == room:
                    room_address = address.id
                if address.person_id == mark:
                    person_address = address.id
            assert room_address not in listed and person_address in listed
            stored = session.get_one(Interaction, meeting)
            assert stored.audience_size == 3 and stored.sender_address_id is None
            stale = set(session.scalars(select(StaleAggregate.person_id)))
            assert stale == {
                room,
                mark,
                person_of(session, ALICE),
                person_of(session, CLIENT),
            }
            colleagues = dict(
                session.execute(select(Colleague.person_id, Colleague.email)).tuples().all()
            )
            assert colleagues.get(mark) == TAYLOR_DN and room not in colleagues
            assert session.scalar(select(Colleague).where(Colleague.email == TAYLOR_DN))
    finally:
        store.dispose()
        if url.startswith("postgresql"):
            drop_database(url)


def test_an_exchange_colleague_is_a_connector_without_an_address(
    client: FlaskClient, db: Database, app: Flask
) -> None:
    """Jane copied Mark (CN=MTAYLO1) on her mail to Alice: Mark is one of Jane's connectors,
    and listed with no address (an X.500 name is no address to show or write to)."""
    alice = mailbox(db)
    mail = email(CLIENT, [ALICE], names={CLIENT: "Jane Roe"})
    run(
        db,
        alice,
        {
            INBOX: [
                dataclasses.replace(
                    mail, participants=(*mail.participants, Participant(TAYLOR, Role.CC))
                )
            ]
        },
    )
    with db.transaction() as session:
        jane, mark = person_of(session, CLIENT), person_of(session, TAYLOR_DN)
    at = quote((T0 + timedelta(days=1)).isoformat())
    headers = {"Authorization": f"Bearer {issue_dev_token(app.config, ALICE)}"}
    body = client.get(f"/api/v1/people/{jane}/connectors?at={at}", headers=headers).get_json()
    names = {c["colleague"]["person_id"]: c["colleague"]["name"] for c in body["connectors"]}
    assert names.get(mark) == "Mark E Taylor"
    own = client.get(f"/api/v1/people/{mark}/connectors?at={at}", headers=headers).get_json()
    assert own["person"] == {"id": mark, "display_name": "Mark E Taylor", "email": None}

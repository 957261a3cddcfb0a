"""The ingest engine on a real database: rules, dedup, sightings, aggregates, aliases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.addressbook import AddressBook
from storage.db import Database
from storage.mailboxes import ensure_mailbox
from storage.models import (
    AuditEvent,
    Colleague,
    Company,
    EmailAddress,
    ImportRun,
    Interaction,
    Participant,
    Person,
    Relationship,
    Sighting,
    SkipRecord,
)
from sync.engine import ingest
from sync.items import Folder, MailItem, Markers, Response, Unreadable
from sync.normalize.domains import FirmDomains
from sync.rules import Exclusions
from sync.stats import RunStats
from tests.factories import CALENDAR, INBOX, SENT, T0, ListSource, email, meeting

FIRM = FirmDomains(["harbourlaw.example"])
ALICE = "alice@harbourlaw.example"
BOB = "bob@harbourlaw.example"
CLIENT = "cfo@acme.co.uk"


def mailbox(db: Database, address: str = ALICE) -> int:
    with db.transaction() as session:
        return ensure_mailbox(session, AddressBook(FIRM), address, "files").id


def run(
    db: Database,
    mailbox_id: int,
    folders: Mapping[Folder, Sequence[MailItem | Unreadable]],
    **kw: Any,
) -> RunStats:
    return ingest(db, mailbox_id, ListSource(folders), FIRM, **kw).stats


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def person_of(session: Session, address: str) -> int:
    return session.scalars(
        select(EmailAddress.person_id).where(EmailAddress.address == address)
    ).one()


def pair(session: Session, a: str, b: str) -> Relationship | None:
    x, y = sorted([person_of(session, a), person_of(session, b)])
    return session.get(Relationship, (x, y))


def snapshot(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        models = (Person, EmailAddress, Company, Interaction, Participant, Sighting, Relationship)
        return {m.__tablename__: count(session, m) for m in models}


def test_client_mail_is_stored_with_people_company_sighting_and_aggregate(db: Database) -> None:
    box = mailbox(db)
    sent = email(ALICE, [CLIENT], names={CLIENT: "Jane Roe"}, subject="Terms")
    reply = email(CLIENT, [ALICE], at=T0 + timedelta(hours=3), subject="RE: Terms")
    stats = run(db, box, {SENT: [sent], INBOX: [reply]})
    assert (stats.read, stats.stored, stats.duplicate) == (2, 2, 0)
    with db.transaction() as session:
        client = session.get_one(Person, person_of(session, CLIENT))
        assert client.display_name == "Jane Roe"
        company = session.get_one(Company, client.company_id)
        assert (company.primary_domain, company.name) == ("acme.co.uk", "Acme")
        directions = dict(
            session.execute(select(Sighting.folder, Sighting.direction)).tuples().all()
        )
        assert directions == {"Sent Items": "out", "Inbox": "in"}
        rel = pair(session, ALICE, CLIENT)
        assert rel is not None
        alice_is_a = person_of(session, ALICE) < person_of(session, CLIENT)
        sent_count, received = (
            (rel.email_ab, rel.email_ba) if alice_is_a else (rel.email_ba, rel.email_ab)
        )
        assert (sent_count, received, rel.meetings) == (1, 1, 0)
        assert (rel.first_at, rel.last_at) == (T0, T0 + timedelta(hours=3))
        assert session.scalars(select(Interaction.subject).order_by(Interaction.id)).all() == [
            "Terms",
            "RE: Terms",
        ]


def test_machine_mail_is_skipped_and_counted_by_reason(db: Database) -> None:
    box = mailbox(db)
    items: list[MailItem | Unreadable] = [
        email(CLIENT, [ALICE], markers=Markers(auto_reply=True)),
        email(CLIENT, [ALICE], markers=Markers(bulk=True)),
        email("noreply@acme.co.uk", [ALICE]),
        # an organisation's own mailbox by its display name (Enron: Amazon's gift notices)
        email("gift@amazon.com", [ALICE], names={"gift@amazon.com": "Amazon.com"}),
        # a mailing by its display name (Enron: SCIENTECH's IssueAlert, 28 messages)
        email(
            "issuealert@scientech.com", [ALICE], names={"issuealert@scientech.com": "IssueAlert"}
        ),
        email(CLIENT, [ALICE], markers=Markers(sensitivity="private")),
        Unreadable("inbox.mbox@77", "malformed", "no header block"),
    ]
    stats = run(db, box, {INBOX: items})
    assert stats.read == 7
    assert dict(stats.skipped) == {
        "auto-reply": 1,
        "bulk": 1,
        "role-address": 3,
        "private": 1,
        "malformed": 1,
    }
    with db.transaction() as session:
        assert count(session, Interaction) == 0
        record = session.scalars(select(SkipRecord)).one()
        assert (record.source_item_id, record.reason, record.folder) == (
            "inbox.mbox@77",
            "malformed",
            "Inbox",
        )
        run_row = session.scalars(select(ImportRun)).one()
        assert run_row.status == "done"
        assert run_row.counts["skipped"]["bulk"] == 1


def test_bounce_marks_the_failed_address_and_creates_no_one(db: Database) -> None:
    box = mailbox(db)
    first = email(ALICE, [CLIENT])
    bounce = email(
        "mailer-daemon@harbourlaw.example",
        [ALICE],
        markers=Markers(bounce=True, failed_recipients=(CLIENT,)),
        at=T0 + timedelta(minutes=1),
    )
    stats = run(db, box, {SENT: [first], INBOX: [bounce]})
    assert (stats.skipped["bounce"], stats.bounced_addresses) == (1, 1)
    with db.transaction() as session:
        bounced = session.scalars(select(EmailAddress).where(EmailAddress.address == CLIENT)).one()
        assert bounced.bounced_at == T0 + timedelta(minutes=1)
        assert person_of_or_none(session, "mailer-daemon@harbourlaw.example") is None


def person_of_or_none(session: Session, address: str) -> int | None:
    query = select(EmailAddress.person_id).where(EmailAddress.address == address)
    return session.scalars(query).one_or_none()


def test_internal_only_mail_keeps_metadata_for_colleague_ties_only(db: Database) -> None:
    box = mailbox(db)
    stats = run(db, box, {SENT: [email(ALICE, [BOB], subject="Secret internal matter")]})
    assert (stats.stored, stats.internal) == (0, 1)
    with db.transaction() as session:
        interaction = session.scalars(select(Interaction)).one()
        assert interaction.is_internal and interaction.subject is None
        assert pair(session, ALICE, BOB) is not None
        assert count(session, Colleague) == 2


def test_same_files_twice_add_nothing(db: Database) -> None:
    box = mailbox(db)
    folders = {
        SENT: [email(ALICE, [CLIENT, "gc@acme.co.uk"], cc=[BOB])],
        INBOX: [email(CLIENT, [ALICE], at=T0 + timedelta(days=1)), email(BOB, [ALICE])],
        CALENDAR: [meeting(ALICE, {CLIENT: Response.ACCEPTED, BOB: Response.DECLINED})],
    }
    run(db, box, folders)
    before = snapshot(db)
    again = run(db, box, folders, rescan=True)
    assert snapshot(db) == before
    assert (again.stored, again.internal, again.duplicate) == (0, 0, 4)


def test_two_mailboxes_one_interaction_two_sightings(db: Database) -> None:
    shared = email(ALICE, [CLIENT], cc=[BOB], message_id="shared@x")
    run(db, mailbox(db, ALICE), {SENT: [shared]})
    stats = run(db, mailbox(db, BOB), {INBOX: [shared]})
    assert (stats.stored, stats.duplicate) == (0, 1)
    with db.transaction() as session:
        assert count(session, Interaction) == 1
        assert sorted(session.scalars(select(Sighting.direction))) == ["in", "out"]


def test_copies_with_different_message_ids_are_one_interaction(db: Database) -> None:
    one = email(ALICE, [CLIENT], subject="Draft  SPA", message_id="a@enron")
    other = email(ALICE, [CLIENT], subject="draft spa", message_id="b@enron")
    stats = run(db, mailbox(db), {SENT: [one], INBOX: [other]})
    assert (stats.stored, stats.duplicate) == (1, 1)


def test_sent_folder_senders_become_the_owners_aliases(db: Database) -> None:
    box = mailbox(db)
    old_alias = "k..alice@harbourlaw.example"
    # Someone else's mail mentions the alias first: it becomes a person of its own ...
    run(db, mailbox(db, BOB), {SENT: [email(BOB, [old_alias, CLIENT])]})
    # ... until Alice's Sent folder shows it is hers.
    stats = run(db, box, {SENT: [email(old_alias, [CLIENT], at=T0 + timedelta(days=2))]})
    assert stats.merged_people == 1
    with db.transaction() as session:
        assert person_of(session, old_alias) == person_of(session, ALICE)
        rel = pair(session, ALICE, CLIENT)
        assert rel is not None and rel.email_ab + rel.email_ba == 1
        bob_alice = pair(session, BOB, ALICE)
        assert bob_alice is not None and bob_alice.email_ab + bob_alice.email_ba == 1
        event = session.scalars(select(AuditEvent)).one()
        assert event.action == "person.merge" and old_alias in event.details["addresses"]
        assert session.scalars(select(Sighting.direction)).all()[-1] == "out"


def test_another_mailbox_owner_is_never_folded_into_the_sender(db: Database) -> None:
    run(db, mailbox(db, BOB), {INBOX: [email(CLIENT, [BOB])]})
    box = mailbox(db)
    stats = run(db, box, {SENT: [email(BOB, [CLIENT], message_id="on-behalf@x")]})
    assert stats.merged_people == 0
    with db.transaction() as session:
        assert person_of(session, BOB) != person_of(session, ALICE)


def test_x500_names_link_and_merge_internal_addresses(db: Database) -> None:
    dn = "/O=HARBOUR/OU=NA/CN=RECIPIENTS/CN=CAROL"
    first = email("carol@harbourlaw.example", [ALICE], links=[(dn, "carol@harbourlaw.example")])
    later = email(
        "c.smith@harbourlaw.example",
        [CLIENT],
        at=T0 + timedelta(days=1),
        links=[(dn, "c.smith@harbourlaw.example")],
    )
    stats = run(db, mailbox(db), {INBOX: [first, later]})
    assert stats.merged_people == 1
    with db.transaction() as session:
        carol = person_of(session, "carol@harbourlaw.example")
        assert person_of(session, "c.smith@harbourlaw.example") == carol
        assert person_of(session, dn) == carol


def test_exclusions_remove_addresses_and_skip_mail_left_without_externals(db: Database) -> None:
    box = mailbox(db)
    exclusions = Exclusions(["@acme.co.uk", "lawyer@other.example"])
    assert exclusions.excludes("x@mail.acme.co.uk") and not exclusions.excludes("x@acme.com")
    from storage.models import Exclusion

    with db.transaction() as session:
        session.add(Exclusion(pattern="@acme.co.uk", reason="conflict wall"))
    items = [email(CLIENT, [ALICE]), email(ALICE, [CLIENT, "gc@beta.example"])]
    stats = run(db, box, {INBOX: items})
    assert (stats.skipped["excluded"], stats.stored) == (1, 1)
    with db.transaction() as session:
        assert person_of_or_none(session, CLIENT) is None
        assert person_of_or_none(session, "gc@beta.example") is not None


def test_meetings_count_for_every_attendee_pair_but_not_decliners(db: Database) -> None:
    stats = run(
        db,
        mailbox(db),
        {CALENDAR: [meeting(ALICE, {CLIENT: Response.ACCEPTED, BOB: Response.DECLINED})]},
    )
    assert stats.stored == 1
    with db.transaction() as session:
        rel = pair(session, ALICE, CLIENT)
        assert rel is not None and rel.meetings == 1
        assert pair(session, ALICE, BOB) is None


def test_large_audiences_count_for_identity_not_relationships(db: Database) -> None:
    crowd = [f"p{i}@crowd.example" for i in range(25)]
    run(db, mailbox(db), {SENT: [email(ALICE, crowd)]})
    with db.transaction() as session:
        assert count(session, Person) == 26
        assert count(session, Relationship) == 0
        assert session.scalars(select(Interaction.audience_size)).one() == 25


def test_a_failing_page_rolls_back_whole_and_the_rerun_completes(db: Database) -> None:
    box = mailbox(db)
    good = [email(CLIENT, [ALICE], at=T0 + timedelta(minutes=i)) for i in range(4)]

    class Broken(ListSource):
        def pages(self, folder, cursor):  # type: ignore[no-untyped-def]
            for n, page in enumerate(super().pages(folder, cursor)):
                if n == 1 and cursor is None:
                    raise ConnectionError("network went away")
                yield page

    with pytest.raises(ConnectionError):
        ingest(db, box, Broken({INBOX: good}), FIRM)
    with db.transaction() as session:
        assert count(session, Interaction) == 2  # the first page committed
        statuses = session.scalars(select(ImportRun.status)).all()
        assert statuses == ["failed"]
    stats = ingest(db, box, ListSource({INBOX: good}), FIRM).stats
    assert (stats.read, stats.stored) == (2, 2)  # resumed after the committed page
    with db.transaction() as session:
        assert count(session, Interaction) == 4


def test_a_delegate_sending_from_the_owners_mailbox_is_not_merged(db: Database) -> None:
    box = mailbox(db, ALICE)
    delegate = "pa.jones@harbourlaw.example"  # Alice's assistant, sending on her behalf
    run(db, box, {SENT: [email(delegate, [CLIENT]), email(ALICE, [CLIENT], at=T0 + timedelta(1))]})
    with db.transaction() as session:
        assert person_of(session, delegate) != person_of(session, ALICE)

"""Identity rules inside one page: a merge must not leave the address cache stale.

Found on the Enron data: when a Sent folder's page both revealed an alias of the owner and
showed that alias beside its Exchange X.500 name, the X.500 name was stored on the person the
alias had just been merged away from (a tombstone), and a later page merged that tombstone a
second time: 13 of the 99 merges of the full dev-set import were such repeats.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relationships.aggregate_store import rebuild
from relationships.aggregates import DECAYED_FIELDS
from storage.addressbook import AddressBook
from storage.db import Database
from storage.identity import nickname, same_name
from storage.mailboxes import ensure_mailbox
from storage.models import AuditEvent, EmailAddress, Person, Relationship, StaleAggregate
from sync import writer
from sync.engine import ingest
from sync.normalize.domains import FirmDomains
from tests.factories import INBOX, SENT, T0, ListSource, email

FIRM = FirmDomains(["harbourlaw.example"])
ALICE = "alice@harbourlaw.example"
BOB = "bob@harbourlaw.example"
CLIENT = "cfo@acme.co.uk"
OLD_ALIAS = "k..alice@harbourlaw.example"
DN = "/O=HARBOUR/OU=NA/CN=RECIPIENTS/CN=ALICE"


def _mailbox(db: Database, address: str) -> int:
    with db.transaction() as session:
        return ensure_mailbox(session, AddressBook(FIRM), address, "files").id


def _person(db: Database, address: str) -> int:
    with db.transaction() as session:
        return session.scalars(
            select(EmailAddress.person_id).where(EmailAddress.address == address)
        ).one()


def test_x500_name_seen_with_a_new_alias_joins_the_owner_not_the_merged_alias(
    db: Database,
) -> None:
    bob = _mailbox(db, BOB)
    ingest(db, bob, ListSource({SENT: [email(BOB, [OLD_ALIAS, CLIENT])]}), FIRM)
    alice = _mailbox(db, ALICE)
    later = T0 + timedelta(days=2)
    sent = email(OLD_ALIAS, [CLIENT], at=later, links=[(DN, OLD_ALIAS)])
    reply = email(CLIENT, [DN], at=later + timedelta(hours=1), links=[])
    stats = ingest(db, alice, ListSource({SENT: [sent], INBOX: [reply]}), FIRM).stats

    assert stats.merged_people == 1
    owner = _person(db, ALICE)
    assert _person(db, OLD_ALIAS) == owner
    assert _person(db, DN) == owner
    with db.transaction() as session:
        on_tombstones = session.scalar(
            select(func.count())
            .select_from(EmailAddress)
            .join(Person, Person.id == EmailAddress.person_id)
            .where(Person.merged_into_id.is_not(None))
        )
        merged = [e.details["merged"] for e in session.scalars(select(AuditEvent))]
    assert on_tombstones == 0
    assert len(merged) == len(set(merged)) == 1


def test_a_name_later_in_the_page_names_a_person_first_seen_without_one(db: Database) -> None:
    alice = _mailbox(db, ALICE)
    bare = email(CLIENT, [ALICE], subject="first")
    named = email(
        CLIENT,
        [ALICE],
        subject="second",
        at=T0 + timedelta(hours=1),
        names={CLIENT: "Carla Fox"},
    )
    ingest(db, alice, ListSource({INBOX: [bare, named]}), FIRM)
    with db.transaction() as session:
        name = session.scalar(select(Person.display_name).where(Person.id == _person(db, CLIENT)))
    assert name == "Carla Fox"


@pytest.mark.parametrize("early", [True, False], ids=["rebuilt-at-once", "rebuilt-at-end"])
def test_aggregates_after_a_merge_equal_a_full_recompute(
    db: Database, monkeypatch: pytest.MonkeyPatch, early: bool
) -> None:
    if not early:  # the merge is found late in the run: its rebuild waits for the run's end
        monkeypatch.setattr(writer, "EARLY_REBUILD_ITEMS", 0)
    bob = _mailbox(db, BOB)
    ingest(
        db, bob, ListSource({SENT: [email(BOB, [OLD_ALIAS, CLIENT]), email(BOB, [ALICE])]}), FIRM
    )
    alice = _mailbox(db, ALICE)
    later = T0 + timedelta(days=3)
    sent = [
        email(OLD_ALIAS, [CLIENT], at=later),
        email(ALICE, [CLIENT, BOB], at=later + timedelta(hours=1)),
        email(OLD_ALIAS, [BOB], cc=[CLIENT], at=later + timedelta(hours=2)),
    ]
    inbox = [email(CLIENT, [ALICE, OLD_ALIAS], at=later + timedelta(days=1))]
    stats = ingest(db, alice, ListSource({SENT: sent, INBOX: inbox}), FIRM).stats
    assert stats.merged_people == 1

    with db.transaction() as session:
        incremental = _pairs(session)
        rebuild(session)  # everything recomputed from the stored interactions
        assert _pairs(session) == incremental
        assert session.scalar(select(func.count()).select_from(StaleAggregate)) == 0


def _pairs(session: Session) -> list[tuple[object, ...]]:
    rows = session.scalars(select(Relationship).order_by(Relationship.a_id, Relationship.b_id))
    return [
        (
            r.a_id,
            r.b_id,
            r.email_ab,
            r.email_ba,
            r.meetings,
            r.first_at,
            r.last_at,
            r.last_ab_at,
            r.last_ba_at,
            *(round(getattr(r, f), 9) for f in DECAYED_FIELDS),
        )
        for r in rows
    ]


CAROL = "carol.reed@harbourlaw.example"
CAROL_SHORT = "creed@harbourlaw.example"  # her mailbox alias, as CN=CREED says
CAROL_DN = "/O=HARBOUR/OU=NA/CN=RECIPIENTS/CN=CREED"


def _carol_writes_with_her_exchange_name(db: Database, mailbox: int) -> int:
    """Carol's mail to Alice, her X.500 name beside her address (as Enron's X-From shows)."""
    mail = email(CAROL, [ALICE], names={CAROL: "Carol Reed"}, links=[(CAROL_DN, CAROL)])
    return ingest(db, mailbox, ListSource({INBOX: [mail]}), FIRM).stats.merged_people


def test_an_exchange_alias_joins_the_address_it_names(db: Database) -> None:
    """Alice writes to creed@ (never shown beside an X.500 name) and Carol writes from
    carol.reed@ with CN=CREED: one mailbox, one person, and the pair holds both emails."""
    alice = _mailbox(db, ALICE)
    sent = email(ALICE, [CAROL_SHORT], names={CAROL_SHORT: "Carol Reed"})
    ingest(db, alice, ListSource({SENT: [sent]}), FIRM)
    short = _person(db, CAROL_SHORT)
    assert _carol_writes_with_her_exchange_name(db, alice) == 1
    carol = _person(db, CAROL)
    assert _person(db, CAROL_SHORT) == _person(db, CAROL_DN) == carol
    key = tuple(sorted((_person(db, ALICE), carol)))
    with db.transaction() as session:
        reasons = [e.details.get("reason", "") for e in session.scalars(select(AuditEvent))]
        pair = session.get_one(Relationship, key)
    assert any("is the mailbox of creed@harbourlaw.example" in str(r) for r in reasons)
    assert pair.email_ab + pair.email_ba == 2
    assert short == carol  # the older record is kept (Identity._order)


def test_an_exchange_alias_seen_in_another_mailbox_earlier_is_joined_too(db: Database) -> None:
    """Bob's run saw creed@ and no X.500 name; Alice's later run, which meets CN=CREED, joins
    them (its pass reads the whole store)."""
    bob = _mailbox(db, BOB)
    ingest(db, bob, ListSource({SENT: [email(BOB, [CAROL_SHORT])]}), FIRM)
    assert _carol_writes_with_her_exchange_name(db, _mailbox(db, ALICE)) == 1
    assert _person(db, CAROL_SHORT) == _person(db, CAROL)


def test_an_exchange_alias_at_a_subdomain_of_the_firm_joins_too(db: Database) -> None:
    """Enron's ``mhaedic@ect.enron.com`` is CN=MHAEDIC at a subdomain of the firm's domain:
    an Exchange alias is one per organisation, so it is Carol's address there too. Not so at
    another firm's domain that merely ends alike."""
    alice = _mailbox(db, ALICE)
    legacy, lookalike = "creed@ect.harbourlaw.example", "creed@notharbourlaw.example"
    sent = email(ALICE, [legacy, lookalike], names={legacy: "Carol Reed", lookalike: "C Reed"})
    ingest(db, alice, ListSource({SENT: [sent]}), FIRM)
    assert _carol_writes_with_her_exchange_name(db, alice) == 1
    assert _person(db, legacy) == _person(db, CAROL)
    assert _person(db, lookalike) != _person(db, CAROL)


@pytest.mark.parametrize(
    ("name", "dn"),
    [
        ("Jerry Reed", CAROL_DN),  # another name: someone else, or a name typed wrong
        ("Carol Reed", "/O=HARBOUR/OU=NA/CN=SERVERS/CN=CREED"),  # not a mailbox's name
    ],
)
def test_an_exchange_alias_is_not_joined_when_the_names_differ_or_it_names_no_mailbox(
    db: Database, name: str, dn: str
) -> None:
    alice = _mailbox(db, ALICE)
    sent = email(ALICE, [CAROL_SHORT], names={CAROL_SHORT: name})
    mail = email(CAROL, [ALICE], names={CAROL: "Carol Reed"}, links=[(dn, CAROL)])
    stats = ingest(db, alice, ListSource({SENT: [sent], INBOX: [mail]}), FIRM).stats
    assert stats.merged_people == 0
    assert _person(db, CAROL_SHORT) != _person(db, CAROL)


def test_exchange_names_and_display_names() -> None:
    assert nickname("/O=ENRON/OU=NA/CN=RECIPIENTS/CN=PALLEN") == "pallen"
    online = "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients"
    assert nickname(f"{online}/cn=0123456789abcdef0123456789abcdef-jsmith") == "jsmith"
    assert nickname("/O=ENRON/OU=NA/CN=CONFIGURATION/CN=SERVERS") is None
    assert nickname("/O=ENRON") is None
    assert same_name("Phillip Allen", "Allen, Phillip K.") and same_name("", "Anyone")
    assert not same_name("Mike Driscoll", "Michael M. Driscoll")
    assert not same_name("List Member", "Martin Cuilla")


def test_an_inbox_message_to_another_spelling_of_the_owner_names_the_owner(db: Database) -> None:
    """Enron: Susan M Scott's friends wrote to susan.m.scott@enron.com, an address of hers that
    her Sent folder never shows; she was a colleague of her own, and paths asked her to
    introduce herself. A message of her Inbox that names none of her known addresses has
    her under another: its one recipient at the firm that spells her first and family name.
    A namesake, a message that also names her, two such recipients, a person of another name
    and another mailbox's owner are left alone."""
    owner, other_owner = "susan.scott@harbourlaw.example", "sam.scott@harbourlaw.example"
    _mailbox(db, other_owner)
    susan = _mailbox(db, owner)
    names = {owner: "Susan M Scott", "s.scott@harbourlaw.example": "Sarah Scott"}
    inbox = [
        email(CLIENT, ["susan.m.scott@harbourlaw.example"]),
        email(CLIENT, ["sarah.scott@harbourlaw.example"]),  # a namesake
        email(CLIENT, ["sscott@harbourlaw.example", owner]),  # names her: reached her there
        email(CLIENT, ["susan_m_scott@harbourlaw.example", "sscott@harbourlaw.example"]),
        email(CLIENT, ["s.scott@harbourlaw.example"], names=names),  # another name
        email(CLIENT, ["s_scott@harbourlaw.example", "susan_scott@harbourlaw.example"]),
        email(CLIENT, [other_owner]),  # spells "s scott" too, but owns a mailbox
    ]
    sent = [email(owner, [CLIENT], names=names)]
    stats = ingest(db, susan, ListSource({SENT: sent, INBOX: inbox}), FIRM).stats
    me = _person(db, owner)
    joined = {
        a
        for a in ("susan.m.scott", "sscott", "susan_m_scott", "susan_scott", "s_scott")
        if _person(db, f"{a}@harbourlaw.example") == me
    }
    assert joined == {"susan.m.scott"}
    for other in ("sarah.scott", "s.scott", "sam.scott"):
        assert _person(db, f"{other}@harbourlaw.example") != me, other
    assert stats.merged_people == 1
    with db.transaction() as session:
        reasons = [e.details["reason"] for e in session.scalars(select(AuditEvent))]
    assert reasons == ["inbox alias susan.m.scott@harbourlaw.example"]


def test_an_exchange_name_of_an_outside_address_is_a_contact_not_a_colleague(
    db: Database,
) -> None:
    """Exchange lists mail contacts of other firms under X.500 names too. Alice wrote to
    Jane's name alone (a colleague until more is known, `storage.addressbook`); Jane's reply
    shows the name beside her acme.co.uk address: one person, a contact. A name beside an
    address of the firm's stays a colleague (Carol)."""
    from sync.items import Address, AddressKind, Participant, Role

    jane_dn = "/O=HARBOUR/OU=NA/CN=RECIPIENTS/CN=JANE ROE (ACME)"
    alice = _mailbox(db, ALICE)
    sent = email(ALICE, [BOB], names={BOB: "Bob"})
    named = Participant(Address(jane_dn, "Jane Roe", AddressKind.X500), Role.TO)
    sent = dataclasses.replace(sent, participants=(*sent.participants, named))
    ingest(db, alice, ListSource({SENT: [sent]}), FIRM)
    with db.transaction() as session:
        assert _colleague_of(session, _person(db, jane_dn)) == jane_dn
    reply = email(CLIENT, [ALICE], names={CLIENT: "Jane Roe"}, links=[(jane_dn, CLIENT)])
    carol = email(CAROL, [ALICE], names={CAROL: "Carol Reed"}, links=[(CAROL_DN, CAROL)])
    ingest(db, alice, ListSource({INBOX: [reply, carol]}), FIRM)
    jane, carol_person = _person(db, CLIENT), _person(db, CAROL)
    assert _person(db, jane_dn) == jane
    with db.transaction() as session:
        assert _colleague_of(session, jane) is None
        assert _colleague_of(session, carol_person) == CAROL
        (settled,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "colleague.settle")
        ).all()
        assert settled.target_id == str(jane) and settled.details["email"] == jane_dn


def _colleague_of(session: Session, person: int) -> str | None:
    from storage.models import Colleague

    return session.scalar(select(Colleague.email).where(Colleague.person_id == person))

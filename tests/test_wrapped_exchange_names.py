"""An Exchange X.500 name wrapped in an SMTP address is the name (migration 0018).

Found on the Enron import: 20 addresses such as ``/o=enron/ou=na/cn=recipients/cn=jcasas@enron.com``
(the DN with the domain appended, in large distribution lists) were each a person beside the
DN's, so Joe A. Casas, Tracy Ngo, Matthew Frank and Mauricio Trejo were two colleagues each,
and two people were named by a DN ("/O=ENRON/OU=NA/cn=Recipients/cn=rsmith25"). Exchange's
IMCEAEX encapsulation wraps a DN the same way. Only an address at one of the firm's domains
is the firm's name: Enron's mail also wraps CAISO's and Vinson & Elkins's.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import select, text

from relationships.aggregate_store import rebuild_stale
from storage.db import Database
from storage.migrate import downgrade, upgrade
from storage.models import AuditEvent, Colleague, EmailAddress, Interaction, Person, StaleAggregate
from storage.models import Participant as Listed
from sync import rules
from sync.items import Address, AddressKind, MailItem, Participant, Role
from sync.normalize.addresses import normalize_email, normalize_name
from tests.factories import INBOX, T0, email
from tests.test_engine import ALICE, CLIENT, FIRM, mailbox, pair, person_of, run
from tests.test_migrations import scratch_store

BOB_DN = "/O=HARBOUR/OU=NA/CN=RECIPIENTS/CN=BHART"
BOB_WRAPPED = "/o=harbour/ou=na/cn=recipients/cn=bhart@harbourlaw.example"
CAROL_DN = "/O=HARBOUR/OU=NA/CN=RECIPIENTS/CN=CLEE"
CAROL_WRAPPED = "imceaex-_o=harbour_ou=na_cn=recipients_cn=clee@harbourlaw.example"
CAROL_SHOWN = "/O=HARBOUR/OU=NA/cn=Recipients/cn=clee"
# Another organisation's name wrapped at its own domain: an external address, as it was.
FOREIGN_WRAPPED = "imceaex-_o=acme_ou=corporate_cn=distribution+20lists_cn=traders@acme.co.uk"


def test_a_name_that_is_a_dn_is_no_name() -> None:
    assert normalize_name(CAROL_SHOWN) == ""
    assert normalize_name("IMCEAEX-_O=HARBOUR_CN=CLEE@harbourlaw.example") == ""
    assert normalize_name("Bob Hart") == "Bob Hart"


def test_the_rules_unwrap_the_firms_names_only() -> None:
    """Bob's wrapped DN (as sender and, beside his DN, as addressee) and Carol's IMCEAEX
    address are their Exchange names, each listed once per role; another organisation's
    wrapped name stays an external address, and a link from a wrapped address goes."""
    item = email(
        BOB_WRAPPED,
        [ALICE, BOB_WRAPPED, CAROL_WRAPPED, FOREIGN_WRAPPED],
        names={BOB_WRAPPED: "Bob Hart"},
        links=[(BOB_DN, BOB_WRAPPED), (CAROL_DN, "carol.lee@harbourlaw.example")],
    )
    item = _with(item, Participant(Address(BOB_DN, "Bob Hart", AddressKind.X500), Role.TO))
    verdict = rules.classify(item, FIRM, rules.Exclusions([]))
    listed = [
        (p.address.email, p.address.kind.value, p.role.value) for p in verdict.item.participants
    ]
    assert listed == [
        (BOB_DN, "x500", "from"),
        (ALICE, "smtp", "to"),
        (BOB_DN, "x500", "to"),
        (CAROL_DN, "x500", "to"),
        (FOREIGN_WRAPPED, "smtp", "to"),
    ]
    assert verdict.item.sender == Address(BOB_DN, "Bob Hart", AddressKind.X500)
    assert verdict.item.address_links == ((CAROL_DN, "carol.lee@harbourlaw.example"),)
    assert verdict.outcome == rules.Outcome.CLIENT  # the foreign list is outside the firm
    only_ours = email(ALICE, [BOB_WRAPPED])
    assert rules.classify(only_ours, FIRM, rules.Exclusions([])).outcome == rules.Outcome.INTERNAL


def _with(item: MailItem, *extra: Participant) -> MailItem:
    return dataclasses.replace(item, participants=(*item.participants, *extra))


def _stored_as_before(store: Database, stand_ins: dict[str, str]) -> None:
    """Give addresses the text they had before the rules unwrapped them: mail names each by a
    stand-in the rules leave alone, renamed here to the wrapped form an older store holds."""
    with store.engine.begin() as c:
        for stand_in, wrapped in stand_ins.items():
            for table, column in (("email_addresses", "address"), ("colleagues", "email")):
                c.execute(
                    text(f"UPDATE {table} SET {column} = :wrapped WHERE {column} = :stand_in"),
                    {"wrapped": wrapped, "stand_in": stand_in},
                )


def test_migration_0018_joins_wrapped_names_to_their_dn(database: Database, tmp_path: Path) -> None:
    """A store made before the rules unwrapped them: Jane wrote to Alice and to Bob twice,
    once naming him by his DN and his wrapped DN together, once by the wrapped DN alone; and
    once to Carol, known only by her IMCEAEX address under a DN for a name, and to a list of
    another organisation's. After the migration Bob is one person with his three emails,
    counted once in each; Carol's address is her DN, and her name is gone; the list is as it
    was."""
    with scratch_store(database, tmp_path, "wrapped") as store:
        store.upgrade()
        alice = mailbox(store)
        bob_dn = Participant(Address(BOB_DN, "Bob Hart", AddressKind.X500), Role.TO)
        bob_then, carol_then = "bob.then@harbourlaw.example", "carol.then@harbourlaw.example"
        both = _with(email(CLIENT, [ALICE, bob_then]), bob_dn)
        alone = email(CLIENT, [ALICE], [bob_then], at=T0.replace(day=T0.day + 1))
        # His DN in To and his wrapped DN in Cc: listed in both roles, counted once.
        mixed = _with(email(CLIENT, [ALICE], [bob_then], subject="Mixed"), bob_dn)
        carol = email(CLIENT, [ALICE, carol_then, FOREIGN_WRAPPED], names={carol_then: CAROL_SHOWN})
        run(store, alice, {INBOX: [both, alone, mixed, carol]})
        _stored_as_before(store, {bob_then: BOB_WRAPPED, carol_then: CAROL_WRAPPED})
        with store.transaction() as session:
            bob, wrapped = person_of(session, BOB_DN), person_of(session, BOB_WRAPPED)
            assert bob != wrapped  # two people, as before the fix
            first = session.scalars(
                select(Interaction.id).where(Interaction.occurred_at == T0)
            ).all()
            audiences = {i: session.get_one(Interaction, i).audience_size for i in first}
            carol_person = person_of(session, CAROL_WRAPPED)
        downgrade(store.engine, "0017")
        upgrade(store.engine)
        with store.transaction() as session:
            addresses = {a.address: a for a in session.scalars(select(EmailAddress))}
            assert BOB_WRAPPED not in addresses and CAROL_WRAPPED not in addresses
            assert addresses[FOREIGN_WRAPPED].kind == "smtp"
            assert addresses[CAROL_DN].kind == "x500"
            assert addresses[CAROL_DN].person_id == carol_person
            assert session.get_one(Person, carol_person).display_name == ""
            assert (
                session.scalar(select(Colleague.email).where(Colleague.person_id == carol_person))
                == CAROL_DN
            )
            assert session.get_one(Person, wrapped).merged_into_id == bob
            assert session.scalars(
                select(Colleague.email).where(Colleague.person_id.in_([bob, wrapped]))
            ).all() == [BOB_DN]
            merge = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "person.merge")
            ).one()
            assert merge.target_id == str(bob) and merge.details["merged"] == wrapped
            # Two emails named Bob twice: each now names him once per role, and counts him
            # as one addressee.
            roles = {}
            for i, before in audiences.items():
                interaction = session.get_one(Interaction, i)
                named = session.execute(
                    select(Listed.address_id, Listed.role).where(Listed.interaction_id == i)
                ).all()
                bob_roles = sorted(r for a, r in named if a == addresses[BOB_DN].id)
                if bob_roles:
                    assert interaction.audience_size == before - 1
                    roles[interaction.id] = bob_roles
            assert sorted(roles.values()) == [["cc", "to"], ["to"]]
            assert {bob, wrapped} <= set(session.scalars(select(StaleAggregate.person_id)))
            rebuild_stale(session)
        with store.transaction() as session:
            tie = pair(session, CLIENT, BOB_DN)
            assert tie is not None and tie.email_ab + tie.email_ba == 3


KRISTI = "kristi.l.albaugh@us.andersen.com"
KRISTI_NOTES = "imceanotes-kristi+2el+2ealbaugh+40us+2eandersen+2ecom+40harbour@harbourlaw.example"
FAX = "imceafax-denise+20hicks+40+28713+29+20866-8437@harbourlaw.example"


def test_an_encapsulated_smtp_address_is_the_address_it_holds() -> None:
    """Lotus Notes' gateway wrote an Andersen auditor as an address at the firm's domain."""
    assert normalize_email(KRISTI_NOTES) == KRISTI
    assert normalize_email("IMCEASMTP-john+40example+2Ecom@contoso.com") == "john@example.com"
    assert normalize_email(FAX) == FAX  # a fax number holds no address: as it was


def test_migration_0020_reads_encapsulated_addresses(database: Database, tmp_path: Path) -> None:
    """A store made before: Jane copied the Notes form of Kristi's address (a colleague, by its
    domain) on one email and Kristi's own address on another. After the migration Kristi is one
    person, a contact with both emails; the fax address stays."""
    with scratch_store(database, tmp_path, "notes") as store:
        store.upgrade()
        alice = mailbox(store)
        notes = email(CLIENT, [ALICE], [KRISTI_NOTES, FAX])
        direct = email(CLIENT, [ALICE], [KRISTI], at=T0.replace(day=T0.day + 1))
        run(store, alice, {INBOX: [notes, direct]})  # the factories store addresses as given
        with store.transaction() as session:
            wrapped, kristi = person_of(session, KRISTI_NOTES), person_of(session, KRISTI)
            assert session.scalar(select(Colleague.id).where(Colleague.person_id == wrapped))
        downgrade(store.engine, "0019")
        upgrade(store.engine)
        with store.transaction() as session:
            addresses = {a.address: a for a in session.scalars(select(EmailAddress))}
            assert KRISTI_NOTES not in addresses and FAX in addresses
            assert session.get_one(Person, wrapped).merged_into_id == kristi
            assert (
                session.scalar(
                    select(Colleague.id).where(Colleague.person_id.in_([kristi, wrapped]))
                )
                is None
            )
            actions = set(session.scalars(select(AuditEvent.action)))
            assert {"person.merge", "colleague.settle"} <= actions
            assert kristi in set(session.scalars(select(StaleAggregate.person_id)))
            rebuild_stale(session)
        with store.transaction() as session:
            tie = pair(session, CLIENT, KRISTI)
            assert tie is not None and tie.email_ab + tie.email_ba == 2

"""Duplicate people: one outside person under several addresses, found and merged.

The cases come from the Enron import (docs/data-quality.md): Michael Cyrus as
``michael.cyrus@`` and ``mcyrus@cinergy.com``, Sean Mayers's ``smmayers@`` at three ISPs,
Jeanne Bennett's ``jbennett@``/``jbennet@gmssr.com``, two John Adamses as ``jadams@`` at ERCOT
and at Hunton & Williams, and a mailing's per-message senders.
"""

from __future__ import annotations

from typing import Any

import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api.tokens import issue_dev_token
from storage.db import Database
from storage.duplicates import LIKELY, SAME, Duplicate, find_duplicates
from storage.models import AuditEvent, DuplicateCandidate, EmailAddress
from sync.dedupe import dedupe
from sync.normalize.matching import (
    first_names_agree,
    fits_name,
    middles_conflict,
    name_key,
    numbered_apart,
    one_edit_apart,
    same_organisation,
    usual_local,
)
from tests.factories import INBOX, SENT, T0, email
from tests.test_engine import ALICE, BOB, mailbox, pair, person_of, run
from tests.test_openapi import DOCUMENT, check

DUPLICATES = "/api/v1/admin/duplicates"

CYRUS = "michael.cyrus@cinergy.com"
CYRUS_SHORT = "mcyrus@cinergy.com"
MAYERS = ("smmayers@earthlink.net", "smmayers@attbi.com")
BENNETT, BENNET = "jbennett@gmssr.com", "jbennet@gmssr.com"
ADAMS = ("jadams@ercot.com", "jadams@hunton.com")
NAMES = {
    CYRUS: "Michael Cyrus",
    CYRUS_SHORT: "Michael Cyrus",
    MAYERS[0]: "Sean Mayers",
    MAYERS[1]: "Sean M. Mayers",
    BENNETT: "Jeanne Bennett",
    ADAMS[0]: "John Adams",
    ADAMS[1]: "John Adams",
    "ron.jones@acme.example": "Ron Jones",
    "rjones@globex.example": "Ron Jones",
}


def test_names_compare_across_scripts_titles_and_initials() -> None:
    assert name_key("Иван Петров") == name_key("Ivan Petrov") == ("ivan", "petrov")
    assert name_key("José Núñez") == name_key("Jose Nunez")
    assert name_key("Judge Sherry Radack") == name_key("Sherry Radack")
    assert name_key("Robert Turner/El Paso Energy") == ("robert", "turner")
    assert name_key("Dana & Cecil Smith") is None  # a household
    assert name_key("Kristi and Mike Oldham") is None
    assert name_key("Travis") is None
    assert middles_conflict("John D. Smith", "John R Smith")
    assert not middles_conflict("Michael J Britt", "Michael Britt")
    assert first_names_agree("jeff", "jeffrey") and first_names_agree("stephen", "stephan")
    assert not first_names_agree("mark", "mary") and not first_names_agree("al", "alan")


def test_addresses_compare_by_organisation_and_typo() -> None:
    assert same_organisation("constellaion.com", "constellation.com")
    assert same_organisation("howellcorp.com", "howellcorporation.com")
    assert not same_organisation("home.com", "attbi.com")
    assert not same_organisation("rcn.com", "rcnx.com")  # too short to call a typo
    assert one_edit_apart("jbennett", "jbennet")
    assert not one_edit_apart("jsmith1", "jsmith2")  # numbered: two people
    assert not one_edit_apart("agarner", "mgarner")  # other initials: two people
    assert numbered_apart("john.smith", "john.smith2") and not numbered_apart("jsmith", "jsmith")
    assert usual_local("jadams", ("john", "adams")) and usual_local("john.adams", ("john", "adams"))
    assert not usual_local("smmayers", ("sean", "mayers"))  # a middle initial: more than the name
    assert fits_name("taylam", ("andy", "taylor"))  # Exchange truncates
    assert not fits_name("dcastro", ("michael", "kirby"))  # an assistant's mailbox


def _exchange(db: Database, addresses: list[str], *, together: bool = False) -> None:
    """Alice writes to each address and each writes back (or one message names them all)."""
    box = mailbox(db)
    sent, received = [], []
    for i, address in enumerate(addresses):
        day = T0.replace(day=1 + i)
        sent.append(email(ALICE, [address], at=day, names=NAMES))
        received.append(email(address, [ALICE], at=day.replace(hour=15), names=NAMES))
    if together:
        sent = [email(ALICE, addresses, names=NAMES)]
    run(db, box, {SENT: sent, INBOX: received})


def _found(db: Database) -> dict[frozenset[str], Duplicate]:
    """Every candidate pair, by the two addresses (each person has one before a merge)."""
    with db.transaction() as session:
        rows = session.execute(select(EmailAddress.person_id, EmailAddress.address))
        address_of = {int(person): str(address) for person, address in rows}
        return {
            frozenset({address_of[d.keep], address_of[d.drop]}): d for d in find_duplicates(session)
        }


def test_one_person_at_one_firm_or_one_mailbox_name_is_merged(db: Database) -> None:
    _exchange(db, [CYRUS, CYRUS_SHORT, *MAYERS, BENNETT, BENNET])
    found = _found(db)
    assert found[frozenset({CYRUS, CYRUS_SHORT})].tier == SAME
    assert "at cinergy.com" in found[frozenset({CYRUS, CYRUS_SHORT})].reason
    assert found[frozenset(MAYERS)].tier == SAME  # "Sean M. Mayers": a middle initial agrees
    assert found[frozenset({BENNETT, BENNET})].tier == SAME  # one nameless, one letter apart


def test_the_same_name_elsewhere_is_only_listed(db: Database) -> None:
    """Two Ron Joneses at two firms may be one person who moved, or two people: an admin
    decides. ``jadams@`` at two firms under "John Adams" is listed too when Adams is a common
    family name among the records (five first names); Sean Mayers's ``smmayers@``, under a
    rare one, is merged (the test above)."""
    others = {f"{n}.adams@acme.example": f"{n.title()} Adams" for n in ("amy", "bo", "cy", "di")}
    NAMES.update(others)
    try:
        _exchange(db, ["ron.jones@acme.example", "rjones@globex.example", *ADAMS, *others])
        found = _found(db)
    finally:
        for address in others:
            del NAMES[address]
    assert found[frozenset({"ron.jones@acme.example", "rjones@globex.example"})].tier == LIKELY
    assert found[frozenset(ADAMS)].tier == LIKELY
    assert found[frozenset(ADAMS)].reason == "John Adams: jadams at two organisations"


def test_a_firms_numbered_namesake_is_another_person(db: Database) -> None:
    """Cinergy gave its second Michael Cyrus ``michael.cyrus2@``: listed, not merged."""
    NAMES["michael.cyrus2@cinergy.com"] = "Michael Cyrus"
    try:
        _exchange(db, [CYRUS, "michael.cyrus2@cinergy.com"])
        found = _found(db)
    finally:
        del NAMES["michael.cyrus2@cinergy.com"]
    assert found[frozenset({CYRUS, "michael.cyrus2@cinergy.com"})].tier == LIKELY


def test_two_nameless_addresses_one_letter_apart_are_only_listed(db: Database) -> None:
    """``tim.neuman@`` and ``tim.newman@`` (both real family names) with no name to tell."""
    pair = ["tim.neuman@williams.example", "tim.newman@williams.example"]
    _exchange(db, pair)
    assert _found(db)[frozenset(pair)].tier == LIKELY


def test_two_addresses_on_one_message_are_two_mailboxes(db: Database) -> None:
    _exchange(db, [BENNETT, BENNET], together=True)
    found = _found(db)
    assert found[frozenset({BENNETT, BENNET})].tier == LIKELY
    assert "both on one message" in found[frozenset({BENNETT, BENNET})].reason


def test_colleagues_and_mailings_are_never_candidates(db: Database) -> None:
    """A colleague's addresses are the identity rules' to join; a mailing's per-message
    senders (no address spells the name) are no person at all."""
    travel = [f"6.{n}.04-k9w0wmeh{n}@mail3.travelocity.com" for n in (207, 317)]
    for address in travel:
        NAMES[address] = "Travelocity Member Services"
    NAMES[BOB] = "Alice Hart"
    try:
        _exchange(db, [*travel, BOB])
        assert _found(db) == {}
    finally:
        for address in (*travel, BOB):
            del NAMES[address]


def test_dedupe_merges_and_the_strength_follows(db: Database) -> None:
    """Alice's mail with Michael Cyrus under two addresses becomes one tie holding all of it,
    audited as the dedupe's merge; the two Ron Joneses stay two people."""
    _exchange(db, [CYRUS, CYRUS_SHORT, "ron.jones@acme.example", "rjones@globex.example"])
    with db.transaction() as session:
        before = [pair(session, ALICE, a) for a in (CYRUS, CYRUS_SHORT)]
        sent_each = [p.email_ab + p.email_ba for p in before if p is not None]
    result = dedupe(db)
    assert len(result.merged) == 1 and result.for_review == 1
    with db.transaction() as session:
        assert person_of(session, CYRUS) == person_of(session, CYRUS_SHORT)
        tie = pair(session, ALICE, CYRUS)
        assert tie is not None and tie.email_ab + tie.email_ba == sum(sent_each) == 4
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "person.merge"))
        (event,) = [e for e in audit if e.actor == "dedupe"]
        assert event.details["reason"] == "Michael Cyrus at cinergy.com"
        jones = {person_of(session, a) for a in ("ron.jones@acme.example", "rjones@globex.example")}
        assert len(jones) == 2
    assert dedupe(db).merged == []  # nothing left to merge: a second run changes nothing


def test_an_admin_reviews_the_list_and_each_answer_takes_a_pair_off_it(
    db: Database, app: Flask, client: FlaskClient
) -> None:
    """The run merges Michael Cyrus and stores the Ron Joneses for review; GET
    /admin/duplicates lists them with names, addresses and evidence as stored (the document
    says so); marking them distinct takes them off the list at once."""
    _exchange(db, [CYRUS, CYRUS_SHORT, "ron.jones@acme.example", "rjones@globex.example"])
    admin = {"Authorization": f"Bearer {issue_dev_token(app.config, ALICE, admin=True)}"}
    document = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))

    def listed() -> dict[str, Any]:
        response = client.get(DUPLICATES, headers=admin)
        assert response.status_code == 200, response.get_json()
        check(document, DUPLICATES, "get", 200, response.get_json())
        body: dict[str, Any] = response.get_json()
        return body

    assert listed() == {"items": [], "total": 0, "next_offset": None, "found_at": None}
    dedupe(db)
    body = listed()
    assert body["found_at"] is not None and body["total"] == 1
    (jones,) = body["items"]
    assert (jones["tier"], jones["reason"]) == (LIKELY, "Ron Jones at different organisations")
    assert {jones["keep"]["name"], *jones["keep"]["addresses"]} == {
        "Ron Jones",
        "ron.jones@acme.example",
    }
    # Alice wrote with both, the first Ron Jones on 3 March, the second on 4 March.
    assert jones["shared_colleagues"] == 1 and jones["one_after_the_other"]
    assert jones["keep"]["last_seen"] < jones["drop"]["first_seen"]
    colleague = {"Authorization": f"Bearer {issue_dev_token(app.config, ALICE)}"}
    assert client.get(DUPLICATES, headers=colleague).status_code == 403
    assert client.get(f"{DUPLICATES}?limit=0", headers=admin).status_code == 400
    marked = client.post(
        "/api/v1/admin/people/distinct",
        json={"a": jones["keep"]["id"], "b": jones["drop"]["id"], "reason": "two Rons"},
        headers=admin,
    )
    assert marked.status_code == 200, marked.get_json()
    assert listed()["items"] == []
    dedupe(db)
    assert listed()["total"] == 0  # the next run does not list them again either


def test_a_likely_pair_of_a_merged_record_is_stored_under_its_survivor(db: Database) -> None:
    """Michael Cyrus's two Cinergy records become one; the Michael Cyrus at Duke (the same
    usual local part at another firm) is listed once, beside the survivor, with no second
    search."""
    duke = "michael.cyrus@duke.example"
    NAMES[duke] = "Michael Cyrus"
    try:
        _exchange(db, [CYRUS, CYRUS_SHORT, duke])
    finally:
        del NAMES[duke]
    result = dedupe(db)
    with db.transaction() as session:
        stored = session.scalars(select(DuplicateCandidate)).all()
        survivor = person_of(session, CYRUS)
        assert [(c.keep_id, c.drop_id) for c in stored] == [
            tuple(sorted((survivor, person_of(session, duke))))
        ]
    assert result.for_review == 1 and len(result.merged) == 1

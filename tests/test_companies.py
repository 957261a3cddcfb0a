"""Which company an address says a person works for, and what it is called.

Found on the Enron import: consumer ISPs of 2001 (home.com, pdq.net, ev1.net) were companies of
dozens of unrelated subscribers; "Ca" (ca.gov) held the CPUC with the Department of Water
Resources, and "Fed" (fed.us) held FERC with the Forest Service.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from api.tokens import issue_dev_token
from bench.scratch_db import drop_database
from storage.company_edits import add_domain
from storage.db import Database
from storage.migrations.companies import rename_guesses
from storage.models import AuditEvent, Colleague, Company, Person
from sync.engine import ingest
from sync.items import Folder, FolderKind, Page
from sync.normalize.domains import company_domain, company_name, is_free_mail, is_umbrella
from tests.factories import INBOX, T0, ListSource, email
from tests.test_engine import ALICE, FIRM, mailbox, person_of, run
from tests.test_migrations import insert_people, pairs_of, scratch_url


@pytest.mark.parametrize(
    ("domain", "key", "name"),
    [
        ("acme.co.uk", "acme.co.uk", "Acme"),
        ("mail.acme-steel.co.uk", "acme-steel.co.uk", "Acme Steel"),
        ("cpuc.ca.gov", "cpuc.ca.gov", "CPUC (ca.gov)"),
        ("mail.water.ca.gov", "water.ca.gov", "Water (ca.gov)"),
        ("ca.gov", "ca.gov", "CA"),
        ("energy.state.ca.us", "energy.state.ca.us", "Energy (state.ca.us)"),
        ("puc.state.tx.us", "puc.state.tx.us", "PUC (state.tx.us)"),
        ("ferc.fed.us", "ferc.fed.us", "FERC (fed.us)"),
        ("ec.europa.eu", "ec.europa.eu", "EC (europa.eu)"),
        ("co.harris.tx.us", "harris.tx.us", "Harris"),  # a county: not an umbrella
        ("nyc.gov", "nyc.gov", "NYC"),  # a city, not a state
        ("sec.gov", "sec.gov", "SEC"),
        ("bp.com", "bp.com", "BP"),
        ("aep.com", "aep.com", "AEP"),
        ("kpmg.com", "kpmg.com", "KPMG"),  # five letters or fewer, no vowel
        ("hess.com", "hess.com", "Hess"),
        ("ercot.com", "ercot.com", "Ercot"),
        ("duke-energy.com", "duke-energy.com", "Duke Energy"),
    ],
)
def test_company_key_and_name(domain: str, key: str, name: str) -> None:
    assert company_domain(domain) == key
    assert company_name(key) == name


def test_umbrellas() -> None:
    assert is_umbrella("ca.gov") and is_umbrella("state.tx.us") and is_umbrella("fed.us")
    assert not is_umbrella("nyc.gov") and not is_umbrella("state.zz.us")
    assert not is_umbrella("harris.tx.us") and not is_umbrella("gov")


def test_consumer_isps_of_the_enron_years_are_free_mail() -> None:
    for domain in ("home.com", "pdq.net", "ev1.net", "ix.netcom.com", "alumni.utexas.net"):
        assert is_free_mail(domain), domain
    assert not is_free_mail("utexas.edu") and not is_free_mail("williams.com")


def test_agencies_under_one_umbrella_are_companies_of_their_own(db: Database) -> None:
    cpuc, water, also_cpuc = "lynch@cpuc.ca.gov", "hart@water.ca.gov", "wood@mail.cpuc.ca.gov"
    isp = "jwills@home.com"
    run(db, mailbox(db), {INBOX: [email(x, [ALICE]) for x in (cpuc, water, also_cpuc, isp)]})
    with db.transaction() as session:
        company_of = {
            a: session.get_one(Person, person_of(session, a)).company_id
            for a in (cpuc, water, also_cpuc, isp)
        }
        assert company_of[cpuc] == company_of[also_cpuc] != company_of[water]
        assert company_of[isp] is None
        names = dict(session.execute(select(Company.primary_domain, Company.name)).tuples().all())
        assert names == {"cpuc.ca.gov": "CPUC (ca.gov)", "water.ca.gov": "Water (ca.gov)"}


def test_migration_0017_splits_umbrellas_drops_isps_and_renames_guesses(
    database: Database, tmp_path: Path
) -> None:
    """A store made before: "Ca" (ca.gov) holds two CPUC people, one of Water Resources, one at
    ca.gov itself and one a colleague put there by hand; "Home" holds an ISP subscriber; "Bp"
    is named as the first rule guessed, "British Petroleum" (bp.co.uk) by someone."""
    from storage.migrate import downgrade, upgrade

    url = scratch_url(database, tmp_path, "umbrellas")
    store = Database(url)
    user_set = '{"company": {"source": "user", "by": 1, "at": "2026-01-01T00:00:00+00:00"}}'
    companies = [
        (1, "Ca", "ca.gov"),
        (2, "Home", "home.com"),
        (3, "Bp", "bp.com"),
        (4, "Bp", "bp.co.uk"),
        (5, "California PUC", "cpuc.ca.gov"),
    ]
    people = [
        (10, 1, "{}", "lynch@cpuc.ca.gov"),
        (11, 1, "{}", "wood@mail.cpuc.ca.gov"),
        (12, 1, "{}", "hart@water.ca.gov"),
        (13, 1, "{}", "info2@ca.gov"),
        (14, 1, user_set, "kahl@energy.ca.gov"),
        (15, 2, "{}", "jwills@home.com"),
        (16, 3, "{}", "ann@bp.com"),
    ]
    try:
        store.upgrade()
        downgrade(store.engine, "0016")
        with store.engine.begin() as c:
            for cid, name, domain in companies:
                c.execute(
                    text(
                        "INSERT INTO companies (id, name, primary_domain, created_at) VALUES"
                        " (:id, :name, :domain, '2026-01-01')"
                    ),
                    {"id": cid, "name": name, "domain": domain},
                )
                c.execute(
                    text("INSERT INTO company_domains (domain, company_id) VALUES (:d, :id)"),
                    {"d": domain, "id": cid},
                )
            c.execute(text("UPDATE companies SET name = 'British Petroleum' WHERE id = 4"))
            insert_people(c, people)
            if url.startswith("postgresql"):  # explicit ids leave the sequence behind
                c.execute(text("SELECT setval('companies_id_seq', 5)"))
        upgrade(store.engine)
        with store.engine.connect() as c:
            rows = c.execute(text("SELECT id, name, primary_domain FROM companies")).all()
            by_domain = {str(d): (int(i), str(n)) for i, n, d in rows}
            keys = pairs_of(c, "SELECT domain, company_id FROM company_domains")
            of = pairs_of(c, "SELECT id, company_id FROM people")
        water = by_domain["water.ca.gov"][0]
        assert by_domain["water.ca.gov"][1] == "Water (ca.gov)"
        assert by_domain["cpuc.ca.gov"] == (5, "California PUC")  # found by its domain
        assert by_domain["ca.gov"] == (1, "CA")
        assert by_domain["bp.com"] == (3, "BP") and by_domain["bp.co.uk"][1] == "British Petroleum"
        assert "home.com" not in by_domain and "home.com" not in keys
        assert of == {10: 5, 11: 5, 12: water, 13: 1, 14: 1, 15: None, 16: 3}
        assert keys["water.ca.gov"] == water and keys["ca.gov"] == 1
    finally:
        store.dispose()
        if url.startswith("postgresql"):
            drop_database(url)


RELIANT, ENERGY, LATER_ENERGY, KEPT = (
    "ann@reliant.com",
    "bo@reliantenergy.com",
    "cy@mail.reliantenergy.com",
    "di@reliantenergy.com",
)


def _token(app: Flask, admin: bool = False) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(app.config, ALICE, admin=admin)}"}


def _company_of(db: Database, address: str) -> int | None:
    with db.transaction() as session:
        return session.get_one(Person, person_of(session, address)).company_id


def test_an_admin_gives_a_domain_to_a_company_and_takes_it_back(
    db: Database, app: Flask, client: FlaskClient
) -> None:
    """Enron's "Reliant" and "Reliantenergy": the domain joins Reliant with Bo, not with Di
    (a colleague set Di's company by hand); Cy, met at the domain later, joins Reliant too;
    taking the domain back returns Bo and Cy to Reliantenergy. Each step is audited."""
    alice = mailbox(db)
    run(db, alice, {INBOX: [email(x, [ALICE]) for x in (RELIANT, ENERGY, KEPT)]})
    reliant, energy = _company_of(db, RELIANT), _company_of(db, ENERGY)
    assert reliant is not None and energy is not None and reliant != energy
    admin, colleague = _token(app, admin=True), _token(app)
    di = client.get(f"/api/v1/people?email={KEPT}", headers=colleague).get_json()["id"]
    for company in ("reliant-trading.com", "reliantenergy.com"):  # moved, then put back by hand
        by_hand = client.patch(f"/api/v1/people/{di}", json={"company": company}, headers=colleague)
        assert by_hand.status_code == 200

    url = f"/api/v1/admin/companies/{reliant}/domains"
    refused = client.post(url, json={"domain": "reliantenergy.com"}, headers=colleague)
    assert refused.status_code == 403
    answer = client.post(url, json={"domain": "Mail.ReliantEnergy.com"}, headers=admin)
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["domain"] == "reliantenergy.com" and body["moved_people"] == 1
    assert body["from_company"] == energy and body["to_company"] == reliant
    assert not body["from_company_deleted"]  # Di is still there
    assert body["company"]["domains"] == ["reliant.com", "reliantenergy.com"]
    assert (_company_of(db, ENERGY), _company_of(db, KEPT)) == (reliant, energy)

    later = email(LATER_ENERGY, [ALICE], at=T0 + timedelta(days=1))
    run(db, alice, {Folder("New mail", FolderKind.INBOX): [later]})  # a fresh cursor
    assert _company_of(db, LATER_ENERGY) == reliant
    coverage = client.get(f"/api/v1/companies/{reliant}/coverage", headers=colleague).get_json()
    assert coverage["people"]["total"] == 3

    for wrong in ("harbourlaw.example", "gmail.com", "reliant.com", "", "not a domain"):
        answer = client.post(url, json={"domain": wrong}, headers=admin)
        assert answer.status_code == 400, wrong

    back = client.delete(f"{url}/reliantenergy.com", headers=admin)
    assert back.status_code == 200, back.get_json()
    assert back.get_json()["to_company"] == energy and back.get_json()["moved_people"] == 2
    assert {_company_of(db, a) for a in (ENERGY, LATER_ENERGY, KEPT)} == {energy}
    assert client.delete(f"{url}/reliant.com", headers=admin).status_code == 400  # the last one

    with db.transaction() as session:
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("company.%")).order_by(AuditEvent.id)
        ).all()
        assert [(a.action, a.details["moved"]) for a in audit] == [
            ("company.add_domain", [person_of(session, ENERGY)]),
            (
                "company.remove_domain",
                sorted([person_of(session, ENERGY), person_of(session, LATER_ENERGY)]),
            ),
        ]


def test_a_company_left_with_nothing_is_deleted_and_the_domain_finds_a_new_one(
    db: Database, app: Flask, client: FlaskClient
) -> None:
    run(db, mailbox(db), {INBOX: [email(x, [ALICE]) for x in (RELIANT, ENERGY)]})
    reliant, energy = _company_of(db, RELIANT), _company_of(db, ENERGY)
    admin = _token(app, admin=True)
    url = f"/api/v1/admin/companies/{reliant}/domains"
    body = client.post(url, json={"domain": "reliantenergy.com"}, headers=admin).get_json()
    assert body["from_company_deleted"] and body["moved_people"] == 1
    assert client.get(f"/api/v1/companies/{energy}", headers=admin).status_code == 404
    back = client.delete(f"{url}/reliantenergy.com", headers=admin).get_json()
    fresh = back["to_company"]
    assert fresh != reliant and _company_of(db, ENERGY) == fresh  # SQLite may reuse the id
    company = client.get(f"/api/v1/companies/{fresh}", headers=admin).get_json()
    assert company["name"] == "Reliantenergy" and company["domains"] == ["reliantenergy.com"]
    new = client.post(url, json={"domain": "reliant-trading.com"}, headers=admin).get_json()
    assert new["from_company"] is None and new["moved_people"] == 0


def test_a_colleague_renames_a_company_and_finds_companies(
    db: Database, app: Flask, client: FlaskClient
) -> None:
    run(db, mailbox(db), {INBOX: [email(x, [ALICE]) for x in (RELIANT, ENERGY, KEPT)]})
    reliant, energy = _company_of(db, RELIANT), _company_of(db, ENERGY)
    headers = _token(app)
    found = client.get("/api/v1/companies?q=RELI", headers=headers).get_json()["items"]
    assert [c["id"] for c in found] == [energy, reliant]  # two people before one
    by_domain = client.get("/api/v1/companies?q=reliantenergy.c", headers=headers).get_json()
    assert [c["id"] for c in by_domain["items"]] == [energy]
    assert client.get("/api/v1/companies?q=%25", headers=headers).get_json()["items"] == []
    assert client.get("/api/v1/companies?q=_", headers=headers).get_json()["items"] == []

    renamed = client.patch(
        f"/api/v1/companies/{reliant}", json={"name": "  Reliant Energy  "}, headers=headers
    )
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Reliant Energy"
    for bad in ({"name": ""}, {"name": "a\nb"}, {"name": 7}, {"domain": "x.com"}, {}):
        answer = client.patch(f"/api/v1/companies/{reliant}", json=bad, headers=headers)
        assert answer.status_code == 400, bad
    assert (
        client.patch("/api/v1/companies/999999", json={"name": "X"}, headers=headers).status_code
        == 404
    )
    with db.transaction() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "company.rename")
        ).one()
        assert event.details == {"old": "Reliant", "new": "Reliant Energy"}
        assert event.target_id == str(reliant)
        rename_guesses(session.connection())  # a later migration keeps a name set by hand
        assert session.get_one(Company, reliant).name == "Reliant Energy"


def test_a_sync_run_under_way_puts_new_people_where_the_domain_went(db: Database) -> None:
    """The admin moves reliantenergy.com to Reliant between two pages of one run: the person
    met on the second page joins Reliant, not the company the first page found."""
    alice = mailbox(db)
    run(db, alice, {INBOX: [email(RELIANT, [ALICE])]})
    reliant = _company_of(db, RELIANT)
    items = [email(ENERGY, [ALICE]), email(KEPT, [ALICE]), email(LATER_ENERGY, [ALICE])]

    def move_after_the_first_page(folder: Folder, page: Page) -> None:
        if page.items[0] is items[0]:
            with db.transaction() as session:
                actor = session.scalars(select(Colleague)).first()
                assert actor is not None
                add_domain(
                    session, actor, session.get_one(Company, reliant), "reliantenergy.com", FIRM
                )

    folder = Folder("New mail", FolderKind.INBOX)
    ingest(
        db, alice, ListSource({folder: items}, page_size=2), FIRM, on_page=move_after_the_first_page
    )
    assert {_company_of(db, a) for a in (ENERGY, KEPT, LATER_ENERGY)} == {reliant}

"""Which company an address says a person works for, and what it is called.

Found on the Enron import: consumer ISPs of 2001 (home.com, pdq.net, ev1.net) were companies of
dozens of unrelated subscribers; "Ca" (ca.gov) held the CPUC with the Department of Water
Resources, and "Fed" (fed.us) held FERC with the Forest Service.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from bench.scratch_db import drop_database
from storage.db import Database
from storage.models import Company, Person
from sync.normalize.domains import company_domain, company_name, is_free_mail, is_umbrella
from tests.factories import INBOX, email
from tests.test_engine import ALICE, mailbox, person_of, run
from tests.test_migrations import pairs_of, scratch_url


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
                        " is_role, created_at) VALUES (:a, 'smtp', :d, :id, false,"
                        " '2026-01-01')"
                    ),
                    {"a": address, "d": address.split("@")[1], "id": pid},
                )
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

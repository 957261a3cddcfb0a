"""Duplicate people on real mail: five Enron custodians imported, then the duplicate run.

Facts anyone can check in ../shared/data/enron/mbox: Benjamin Rogers wrote to Michael Cyrus of
Cinergy as ``mcyrus@`` and as ``michael.cyrus@``; Darron Giron's friend Sean Mayers wrote from
``smmayers@`` at Earthlink, @Home and AT&T Broadband; ``jadams@ercot.com`` (Forney's mail) and
``jadams@hunton.com`` (Thomas's) are both "John Adams", at two firms. Skipped with a clear
message when the data is absent; a failure under RAPPORT_CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import load_config
from storage.db import Database
from storage.models import AuditEvent, DuplicateCandidate, EmailAddress, Relationship
from sync.dedupe import dedupe
from sync.importer import import_paths
from tests.data_paths import require_data

CUSTODIANS = ("rogers-b", "giron-d", "forney-j", "thomas-p", "hain-m")
ROGERS = "benjamin.rogers@enron.com"
CYRUS = ("mcyrus@cinergy.com", "michael.cyrus@cinergy.com")
MAYERS = ("smmayers@earthlink.net", "smmayers@home.com", "smmayers@attbi.com")
ADAMS = ("jadams@ercot.com", "jadams@hunton.com")


@pytest.fixture(scope="module")
def enron() -> Path:
    return require_data("enron/mbox")


def person(session: Session, address: str) -> int:
    return session.scalars(
        select(EmailAddress.person_id).where(EmailAddress.address == address)
    ).one()


def emails_between(session: Session, a: str, b: str) -> int:
    x, y = sorted((person(session, a), person(session, b)))
    tie = session.get(Relationship, (x, y))
    return 0 if tie is None else tie.email_ab + tie.email_ba


def test_the_run_merges_one_persons_addresses_and_lists_namesakes(
    db: Database, enron: Path
) -> None:
    config = load_config({"DATABASE_URL": db.url, "RAPPORT_FIRM_DOMAINS": "enron.com"})
    import_paths(db, config, [[enron / c] for c in CUSTODIANS])
    with db.transaction() as session:
        split = [emails_between(session, ROGERS, address) for address in CYRUS]
        assert len({person(session, a) for a in (*CYRUS, *MAYERS)}) == 5
    assert all(split)  # Rogers wrote to Cyrus under both addresses

    result = dedupe(db)

    with db.transaction() as session:
        assert len({person(session, a) for a in CYRUS}) == 1
        assert len({person(session, a) for a in MAYERS}) == 1
        assert emails_between(session, ROGERS, CYRUS[0]) == sum(split)  # one tie holds all
        reasons = session.scalars(
            select(AuditEvent.details["reason"].as_string()).where(AuditEvent.actor == "dedupe")
        ).all()
        assert "Michael Cyrus at cinergy.com" in reasons
        assert reasons.count("Sean Mayers: smmayers at two domains") == 2  # three addresses
        adams = [person(session, a) for a in ADAMS]
        assert adams[0] != adams[1]
        listed = session.get(DuplicateCandidate, tuple(sorted(adams)))
        assert listed is not None and listed.reason == "John Adams: jadams at two organisations"
    assert len(result.merged) == len(reasons) and result.for_review > 0

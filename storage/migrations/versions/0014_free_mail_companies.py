"""Companies made from free and consumer mail domains go: since the free-mail list is HubSpot's
(4,778 domains, `sync.normalize.domains.free_mail_domains`) instead of 76 of our own, domains
such as ``rr.com`` and ``mindspring.com`` say nothing about an employer. The Enron import had
made 48 such companies ("Rr" with 124 people, each a Road Runner subscriber).

Each free-mail domain leaves its company; a person leaves a company that way unless a
colleague set their company (provenance ``user``) or one of their addresses is at a domain the
company keeps; a company left with no domain and no person is deleted. Nothing to undo: a
downgrade keeps the store as it is.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

from storage.migrations.provenance import set_by_user
from sync.normalize.domains import is_free_mail, registrable_domain

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    domains = bind.execute(sa.text("SELECT domain, company_id FROM company_domains")).all()
    free = [(str(d), int(c)) for d, c in domains if is_free_mail(str(d))]
    if not free:
        return
    touched = sorted({c for _, c in free})
    kept: dict[int, set[str]] = defaultdict(set)
    for domain, company in domains:
        if company in touched and not is_free_mail(str(domain)):
            kept[int(company)].add(str(domain))
    bind.execute(
        sa.text("DELETE FROM company_domains WHERE domain = :domain"),
        [{"domain": d} for d, _ in free],
    )
    leaving = [
        {"pid": pid}
        for pid, company, provenance in _people(bind, touched)
        if not set_by_user(provenance, "company")
        and not (kept[company] and _work_domains(bind, pid) & kept[company])
    ]
    if leaving:
        bind.execute(sa.text("UPDATE people SET company_id = NULL WHERE id = :pid"), leaving)
    for company in touched:
        if kept[company]:
            bind.execute(
                sa.text(
                    "UPDATE companies SET primary_domain = :domain"
                    " WHERE id = :id AND primary_domain NOT IN :kept"
                ).bindparams(sa.bindparam("kept", expanding=True)),
                {"id": company, "domain": min(kept[company]), "kept": sorted(kept[company])},
            )
            continue
        people = bind.execute(
            sa.text("SELECT count(*) FROM people WHERE company_id = :id"), {"id": company}
        ).scalar_one()
        if not people:
            bind.execute(sa.text("DELETE FROM companies WHERE id = :id"), {"id": company})


def _people(bind: sa.Connection, companies: list[int]) -> list[tuple[int, int, Any]]:
    query = sa.text(
        "SELECT id, company_id, provenance FROM people WHERE company_id IN :ids"
    ).bindparams(sa.bindparam("ids", expanding=True))
    return [(int(r[0]), int(r[1]), r[2]) for r in bind.execute(query, {"ids": companies})]


def _work_domains(bind: sa.Connection, person: int) -> set[str]:
    rows = bind.execute(
        sa.text("SELECT domain FROM email_addresses WHERE person_id = :id"), {"id": person}
    )
    return {registrable_domain(str(r[0])) for r in rows if r[0]}


def downgrade() -> None:
    pass

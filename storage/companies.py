"""Companies from work domains: one per `company_domain` (the registrable domain, an agency under
an umbrella such as ca.gov) unless a domain is mapped to one."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from storage.bulk import execute_many, select_in
from storage.models import Company, CompanyDomain
from storage.models.base import Base, table_of
from sync.normalize.domains import company_domain, company_name


def insert_ignore(session: Session, model: type[Base]) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the session's dialect, on the Core table (the
    ORM's bulk path costs several times more per row and we need none of its features)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table_of(model)).on_conflict_do_nothing()
    return sqlite.insert(table_of(model)).on_conflict_do_nothing()


class CompanyBook:
    """Domain -> company id, creating companies for work domains seen for the first time."""

    def __init__(self) -> None:
        self._by_domain: dict[str, int] = {}

    def forget(self) -> None:
        self._by_domain.clear()

    def resolve(self, session: Session, domains: Iterable[str]) -> dict[str, int]:
        """Company ids for the given full domains ("" ignored); created when missing."""
        wanted = {d: company_domain(d) for d in set(domains) if d}
        missing = sorted({r for r in wanted.values() if r not in self._by_domain})
        if missing:
            self._load(session, missing)
        absent = [r for r in missing if r not in self._by_domain]
        if absent:
            self._create(session, absent)
        return {d: self._by_domain[r] for d, r in wanted.items()}

    def _load(self, session: Session, registrables: list[str]) -> None:
        table = table_of(CompanyDomain)
        rows = select_in(session, table, ("domain", "company_id"), "domain", registrables)
        self._by_domain.update((domain, company_id) for domain, company_id in rows)

    def _create(self, session: Session, registrables: list[str]) -> None:
        rows = [{"name": company_name(r), "primary_domain": r} for r in registrables]
        execute_many(session, insert_ignore(session, Company), rows, key="insert-ignore companies")
        query = select(Company.primary_domain, Company.id).where(
            Company.primary_domain.in_(registrables)
        )
        ids = dict(session.execute(query).tuples().all())
        links = [{"domain": d, "company_id": ids[d]} for d in registrables]
        statement = insert_ignore(session, CompanyDomain)
        execute_many(session, statement, links, key="insert-ignore company_domains")
        self._by_domain.update(ids)

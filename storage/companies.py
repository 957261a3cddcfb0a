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
    """Domain -> company id, creating companies for work domains seen for the first time.

    Nothing is remembered between calls: an admin may give a domain to another company
    (`storage.company_edits`) while a sync run is under way, and the run's next page must
    put the people it meets there. One query per call, for the domains of new people only."""

    def resolve(self, session: Session, domains: Iterable[str]) -> dict[str, int]:
        """Company ids for the given full domains ("" ignored); created when missing."""
        wanted = {d: company_domain(d) for d in set(domains) if d}
        keys = sorted(set(wanted.values()))
        found = self._load(session, keys) if keys else {}
        absent = [k for k in keys if k not in found]
        if absent:
            found.update(self._create(session, absent))
        return {d: found[k] for d, k in wanted.items()}

    @staticmethod
    def _load(session: Session, keys: list[str]) -> dict[str, int]:
        table = table_of(CompanyDomain)
        rows = select_in(session, table, ("domain", "company_id"), "domain", keys)
        return {str(row[0]): int(row[1]) for row in rows}

    def _create(self, session: Session, keys: list[str]) -> dict[str, int]:
        rows = [{"name": company_name(k), "primary_domain": k} for k in keys]
        execute_many(session, insert_ignore(session, Company), rows, key="insert-ignore companies")
        query = select(Company.primary_domain, Company.id).where(Company.primary_domain.in_(keys))
        ids = dict(session.execute(query).tuples().all())
        links = [{"domain": k, "company_id": ids[k]} for k in keys]
        statement = insert_ignore(session, CompanyDomain)
        execute_many(session, statement, links, key="insert-ignore company_domains")
        # Another transaction may have linked a key first: its link wins.
        return self._load(session, keys)

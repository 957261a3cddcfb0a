"""Correcting companies: a colleague renames one; an admin gives a domain to another company
or takes it back. Each edit is one audit event (``storage.audit``).

A company is first made from a domain (``storage.companies.CompanyBook``), so one firm may be
several companies: Enron's import had "Reliant" (reliant.com, 55 people) beside
"Reliantenergy" (reliantenergy.com, 45), and "Utilicorp" beside its new name "Aquila".
Coverage of "Reliant" missed the 45. Giving reliantenergy.com to "Reliant" moves them, and
every person met later at that domain joins "Reliant" too; taking the domain back undoes it.

A person moves with their domain unless a colleague set their company by hand (provenance
``user``) or another of their addresses is at a domain their company keeps. A company left
with no domain and no person is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.addressbook import chunks
from storage.audit import record
from storage.corrections import InvalidEdit, clean_text
from storage.migrations.provenance import set_by_user
from storage.models import Colleague, Company, CompanyDomain, EmailAddress, Person
from sync.normalize.addresses import normalize_email
from sync.normalize.domains import FirmDomains, company_domain, company_name, is_free_mail

MAX_NAME = 300  # companies.name
SEARCH_LIMIT = 50


@dataclass(frozen=True)
class Moved:
    """What a domain edit did: the domain, the company it left (none for a domain no company
    had) and the one it joined, the people who moved with it, and whether the company it left
    was deleted (nothing was left in it)."""

    domain: str
    source: int | None
    target: int
    people: tuple[int, ...]
    source_deleted: bool

    def details(self, source_name: str | None, target_name: str) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "from": None if self.source is None else {"id": self.source, "name": source_name},
            "to": {"id": self.target, "name": target_name},
            "moved": list(self.people),
            "from_deleted": self.source_deleted,
        }


def rename(session: Session, actor: Colleague, company: Company, raw: Any) -> None:
    name = clean_text("name", raw, MAX_NAME)
    if not name:
        raise InvalidEdit("name: may not be empty")
    if name == company.name:
        return
    details = {"old": company.name, "new": name}
    company.name = name
    record(session, actor, "company.rename", ("company", company.id), details)


def add_domain(
    session: Session, actor: Colleague, company: Company, raw: Any, firm: FirmDomains
) -> Moved:
    """``company`` takes the domain, and the people of the company that held it who are
    there by that domain alone."""
    domain = _domain(raw, firm)
    holder = session.scalar(select(CompanyDomain).where(CompanyDomain.domain == domain))
    if holder is not None and holder.company_id == company.id:
        raise InvalidEdit(f"domain: {domain} is already this company's")
    if holder is None:
        session.add(CompanyDomain(domain=domain, company_id=company.id))
        moved = Moved(domain, None, company.id, (), False)
        details = moved.details(None, company.name)
        record(session, actor, "company.add_domain", ("company", company.id), details)
        return moved
    source = session.get_one(Company, holder.company_id)
    source_name = source.name
    holder.company_id = company.id
    if source.primary_domain == domain:
        source.primary_domain = _primary(session, _domains(session, source.id), domain)
    session.flush()
    moved = _move(session, domain, source, company)
    details = moved.details(source_name, company.name)
    record(session, actor, "company.add_domain", ("company", company.id), details)
    return moved


def remove_domain(session: Session, actor: Colleague, company: Company, raw: Any) -> Moved:
    """The domain leaves ``company`` for a company of its own (the one it came from, if that
    still exists), with the people who are in ``company`` by that domain alone."""
    domain = raw.strip().lower() if isinstance(raw, str) else ""
    holder = session.scalar(
        select(CompanyDomain).where(
            CompanyDomain.domain == domain, CompanyDomain.company_id == company.id
        )
    )
    if holder is None:
        raise InvalidEdit(f"domain: {domain[:255]} is not one of this company's")
    others = _domains(session, company.id) - {domain}
    if not others:
        raise InvalidEdit("domain: a company keeps at least one domain; rename it instead")
    session.delete(holder)
    if company.primary_domain == domain:
        company.primary_domain = _primary(session, others, domain)
    session.flush()
    target = session.scalar(select(Company).where(Company.primary_domain == domain))
    if target is None:
        target = Company(name=company_name(domain), primary_domain=domain)
        session.add(target)
        session.flush()
    session.add(CompanyDomain(domain=domain, company_id=target.id))
    session.flush()
    moved = _move(session, domain, company, target)
    details = moved.details(company.name, target.name)
    record(session, actor, "company.remove_domain", ("company", company.id), details)
    return moved


def search(session: Session, query: str, limit: int = SEARCH_LIMIT) -> list[Company]:
    """Companies whose name holds ``query`` or one of whose domains starts with it, largest
    first (people in them), then by name."""
    text = query.strip().lower()
    pattern = "%" + _escaped(text) + "%"
    by_domain = exists().where(
        CompanyDomain.company_id == Company.id,
        CompanyDomain.domain.like(_escaped(text) + "%", escape="\\"),
    )
    size = (
        select(func.count())
        .where(Person.company_id == Company.id, Person.merged_into_id.is_(None))
        .correlate(Company)
        .scalar_subquery()
    )
    found = session.scalars(
        select(Company)
        .where(or_(func.lower(Company.name).like(pattern, escape="\\"), by_domain))
        .order_by(size.desc(), Company.name, Company.id)
        .limit(limit)
    )
    return list(found)


def _domain(raw: Any, firm: FirmDomains) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidEdit("domain: expected a web domain such as acme.com")
    email = normalize_email(f"x@{raw.strip().removeprefix('@')}")
    if email is None or "." not in email:
        raise InvalidEdit(f"domain: not a domain: {raw[:100]!r}")
    domain = email.rsplit("@", 1)[1]
    if firm.is_internal(domain):
        raise InvalidEdit(f"domain: {domain} is the firm's own")
    if is_free_mail(domain):
        raise InvalidEdit(f"domain: {domain} is a free-mail domain, not a company")
    return company_domain(domain)


def _primary(session: Session, domains: set[str], current: str) -> str:
    """The first of ``domains`` no other company has as its primary domain (that column is
    unique), else ``current``."""
    taken = set(
        session.scalars(select(Company.primary_domain).where(Company.primary_domain.in_(domains)))
    )
    free = sorted(domains - taken)
    return free[0] if free else current


def _domains(session: Session, company_id: int) -> set[str]:
    query = select(CompanyDomain.domain).where(CompanyDomain.company_id == company_id)
    return set(session.scalars(query))


def _move(session: Session, domain: str, source: Company, target: Company) -> Moved:
    """People of ``source`` with an address keyed by ``domain`` and none at a domain
    ``source`` keeps go to ``target``, unless a colleague set their company; ``source`` goes
    if it is left with no domain and no person."""
    kept = _domains(session, source.id)
    rows = session.execute(
        select(Person.id, Person.provenance, EmailAddress.domain)
        .join(EmailAddress, EmailAddress.person_id == Person.id)
        .where(Person.company_id == source.id)
    ).all()
    keys: dict[int, set[str]] = {}
    by_hand: set[int] = set()
    for pid, provenance, address_domain in rows:
        keys.setdefault(pid, set())
        if address_domain:
            keys[pid].add(company_domain(address_domain))
        if set_by_user(provenance, "company"):
            by_hand.add(pid)
    people = sorted(
        pid
        for pid, found in keys.items()
        if domain in found and not found & kept and pid not in by_hand
    )
    for part in chunks(people):  # a large company: IN lists of bounded size
        session.execute(update(Person).where(Person.id.in_(part)).values(company_id=target.id))
    deleted = False
    if not kept and not _has_people(session, source.id):
        try:
            with session.begin_nested():  # a sync page may have just put someone there
                session.execute(delete(Company).where(Company.id == source.id))
            deleted = True
        except IntegrityError:
            deleted = False
    return Moved(domain, source.id, target.id, tuple(people), deleted)


def _has_people(session: Session, company_id: int) -> bool:
    return bool(session.scalar(select(exists().where(Person.company_id == company_id))))


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

"""Read views of people and companies: ``/api/v1/people`` and ``/api/v1/companies``.

Views are thin: queries live in the small functions below, and nothing here writes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from flask import Blueprint, g, request
from sqlalchemy import String, func, literal_column, select
from sqlalchemy.orm import Session

from api.errors import BadRequest, NotFound
from api.graphs import OPTED_OUT, opted_out_of, request_graph
from api.params import bounded_int, iso
from relationships.connectors import connectors
from relationships.coverage import CompanyTie, coverage
from relationships.explain import details
from relationships.pair_rows import ADDRESS_OF
from storage.company_edits import SEARCH_LIMIT, search
from storage.models import Colleague, Company, CompanyDomain, EmailAddress, Person
from storage.notes import follow_up_of
from storage.web import session
from sync.normalize.addresses import normalize_email

MAX_MERGE_HOPS = 20  # a merge chain longer than this is corrupt data, not a person
MAX_QUERY = 255  # a company search's text: a domain at most

blueprint = Blueprint("people", __name__)


@blueprint.get("/people")
def find_person() -> dict[str, Any]:
    raw = request.args.get("email", "")
    if not raw.strip():
        raise BadRequest("give ?email=<address>")
    email = normalize_email(raw)
    if email is None:
        raise BadRequest(f"not an email address: {raw[:100]!r}")
    person_id = session().scalar(
        select(EmailAddress.person_id).where(EmailAddress.address == email)
    )
    if person_id is None:
        raise NotFound(f"no one with the address {email} is known")
    return person_json(session(), survivor(session(), person_id), g.user.colleague_id)


@blueprint.get("/people/<id:person_id>")
def get_person(person_id: int) -> dict[str, Any]:
    return person_json(session(), survivor(session(), person_id), g.user.colleague_id)


@blueprint.get("/people/<id:person_id>/connectors")
def get_connectors(person_id: int) -> dict[str, Any]:
    """Colleagues who know the person, strongest tie first (docs/api.md)."""
    person = current(session(), person_id)
    limit = bounded_int(request.args.get("limit"), default=20, low=1, high=200)
    graph, at = request_graph(session(), person.opted_out)
    total, found = connectors(session(), graph, person.id, limit)
    name = person.display_name or person.email or "this person"
    return {
        "person": {"id": person.id, "display_name": person.display_name, "email": person.email},
        "as_of": at.isoformat(),
        "total": total,
        "connectors": [
            {
                "colleague": {
                    "id": c.colleague_id,
                    "person_id": c.person_id,
                    "name": c.name,
                    "email": c.email or None,
                },
                "score": c.tie.score,
                "tier": c.tie.tier,
                "trend": c.tie.trend,
                "last_contact": iso(c.tie.last_at),
                "last_contact_estimated": c.tie.estimated[2],
                "relation": c.tie.relation(),
                "explanation": details(c.tie, c.name, name),
            }
            for c in found
        ],
    }


@blueprint.get("/companies/<id:company_id>/coverage")
def get_coverage(company_id: int) -> dict[str, Any]:
    """How well the firm knows the company, and its people with their best connector."""
    company = (
        session()
        .execute(
            select(Company.id, Company.name, Company.primary_domain, OPTED_OUT).where(
                Company.id == company_id
            )
        )
        .first()
    )
    if company is None:
        raise NotFound(f"no company {company_id}")
    limit = bounded_int(request.args.get("limit"), default=50, low=1, high=500)
    offset = bounded_int(request.args.get("offset"), default=0, low=0, high=10**9)
    graph, at = request_graph(session(), opted_out_of(company[3]))
    found = coverage(session(), graph, company.id, (offset, limit))
    return {
        "company": {"id": company.id, "name": company.name, "domain": company.primary_domain},
        "as_of": at.isoformat(),
        "coverage": found.coverage,
        "trend": found.trend,
        "breadth": {"colleagues": found.colleagues, "contacts": found.contacts},
        "single_threaded": found.single_threaded,
        "best_connector": _company_tie(found.best),
        "people": {
            "total": found.people_total,
            "offset": offset,
            "limit": limit,
            "items": [
                {
                    "id": pid,
                    "display_name": name,
                    "email": email,
                    "title": title,
                    "best": _company_tie(best),
                }
                for pid, name, email, title, best in found.people
            ],
        },
    }


def _company_tie(found: CompanyTie | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "colleague": {
            "person_id": found.colleague_person_id,
            "name": found.colleague_name,
            "email": found.colleague_email,
        },
        "person_id": found.person_id,
        "score": found.tie.score,
        "tier": found.tie.tier,
        "trend": found.tie.trend,
        "last_contact": iso(found.tie.last_at),
        "last_contact_estimated": found.tie.last_estimated,
    }


@blueprint.get("/companies")
def find_companies() -> dict[str, Any]:
    """Companies by name or domain (``?q=reli``: "Reliant", reliantenergy.com), largest
    first: how an admin finds the companies that are one firm."""
    query = request.args.get("q", "")
    if not query.strip():
        raise BadRequest("give ?q=<part of a company's name, or the start of a domain>")
    if len(query) > MAX_QUERY:
        raise BadRequest(f"q: at most {MAX_QUERY} characters")
    limit = bounded_int(request.args.get("limit"), default=20, low=1, high=SEARCH_LIMIT)
    found = search(session(), query, limit)
    return {"items": [company_json(session(), c) for c in found]}


@blueprint.get("/companies/<id:company_id>")
def get_company(company_id: int) -> dict[str, Any]:
    company = session().get(Company, company_id)
    if company is None:
        raise NotFound(f"no company {company_id}")
    return company_json(session(), company)


# A person's address as listings show it, beside or instead of a name
# (`relationships.pair_rows.ADDRESS_OF`: the colleague's, else their first SMTP address).
FIRST_ADDRESS = literal_column(ADDRESS_OF.format(p="people.id"), String)


def first_address(db: Session, person_id: int) -> str | None:
    found: str | None = db.scalar(select(FIRST_ADDRESS).where(Person.id == person_id))
    return found


class Current(NamedTuple):
    """A person as a listing names them, and who has opted out (read in the same query)."""

    id: int
    display_name: str
    opted_out: frozenset[int]
    email: str | None  # their first address (`relationships.pair_rows.End.email`)


def current(db: Session, person_id: int) -> Current:
    """The person itself, or the record it was merged into, with who has opted out from the
    same query (``api.graphs.OPTED_OUT``): a listing's first read, one round trip."""
    columns = (Person.id, Person.display_name, Person.merged_into_id, OPTED_OUT, FIRST_ADDRESS)
    for _ in range(MAX_MERGE_HOPS):
        row = db.execute(select(*columns).where(Person.id == person_id)).first()
        if row is None:
            raise NotFound(f"no person {person_id}")
        if row.merged_into_id is None:
            return Current(row.id, row.display_name, opted_out_of(row[3]), row[4])
        person_id = row.merged_into_id
    raise NotFound(f"no person {person_id}")


def survivor(db: Session, person_id: int) -> Person:
    """The person itself, or the record it was merged into."""
    for _ in range(MAX_MERGE_HOPS):
        person = db.get(Person, person_id)
        if person is None:
            raise NotFound(f"no person {person_id}")
        if person.merged_into_id is None:
            return person
        person_id = person.merged_into_id
    raise NotFound(f"no person {person_id}")


def person_json(db: Session, person: Person, viewer_id: int) -> dict[str, Any]:
    """The person as the API shows it to colleague ``viewer_id`` (whose follow-up it carries)."""
    addresses = db.scalars(
        select(EmailAddress).where(EmailAddress.person_id == person.id).order_by(EmailAddress.id)
    ).all()
    company = db.get(Company, person.company_id) if person.company_id else None
    colleague = db.scalar(select(Colleague.id).where(Colleague.person_id == person.id))
    return {
        "id": person.id,
        "display_name": person.display_name,
        "title": person.title,
        "phones": person.phones,
        "address": person.postal_address,
        "company": (
            {"id": company.id, "name": company.name, "domain": company.primary_domain}
            if company
            else None
        ),
        "emails": [
            {
                "address": a.address,
                "kind": a.kind,
                "is_role": a.is_role,
                "bounced": a.bounced_at is not None,
            }
            for a in addresses
        ],
        "is_colleague": colleague is not None,
        "provenance": person.provenance,
        "follow_up": follow_up_of(db, viewer_id, person.id),
        "created_at": iso(person.created_at),
        "updated_at": iso(person.updated_at),
    }


def company_json(db: Session, company: Company) -> dict[str, Any]:
    domains = db.scalars(
        select(CompanyDomain.domain)
        .where(CompanyDomain.company_id == company.id)
        .order_by(CompanyDomain.domain)
    ).all()
    people = db.scalar(
        select(func.count())
        .select_from(Person)
        .where(Person.company_id == company.id, Person.merged_into_id.is_(None))
    )
    return {
        "id": company.id,
        "name": company.name,
        "primary_domain": company.primary_domain,
        "domains": list(domains),
        "people_count": people or 0,
    }

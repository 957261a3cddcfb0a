"""Correcting companies: ``PATCH /companies/<id>`` (any colleague: the name) and
``POST``/``DELETE /admin/companies/<id>/domains`` (admins: which domains make the company,
which moves the people met at them). `storage.company_edits` says what each does."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g

from api.body import caller, firm, json_object
from api.errors import BadRequest, Forbidden, NotFound
from api.people import company_json
from storage.company_edits import Moved, add_domain, remove_domain, rename
from storage.corrections import InvalidEdit
from storage.models import Company
from storage.web import session

blueprint = Blueprint("company_writes", __name__)


@blueprint.patch("/companies/<id:company_id>")
def patch_company(company_id: int) -> dict[str, Any]:
    body = json_object()
    unknown = sorted(set(body) - {"name"})
    if unknown or "name" not in body:
        raise BadRequest('send {"name": "..."}: the name is the one field a colleague sets')
    db = session()
    company = _company(company_id)
    try:
        rename(db, caller(), company, body["name"])
    except InvalidEdit as error:
        raise BadRequest(str(error)) from error
    db.commit()
    return company_json(db, company)


@blueprint.post("/admin/companies/<id:company_id>/domains")
def post_domain(company_id: int) -> tuple[dict[str, Any], int]:
    _admin_only()
    body = json_object()
    if "domain" not in body:
        raise BadRequest('send {"domain": "acme.com"}')
    db = session()
    company = _company(company_id)
    try:
        moved = add_domain(db, caller(), company, body["domain"], firm())
    except InvalidEdit as error:
        raise BadRequest(str(error)) from error
    db.commit()
    return _answer(company, moved), 201


@blueprint.delete("/admin/companies/<id:company_id>/domains/<domain>")
def delete_domain(company_id: int, domain: str) -> dict[str, Any]:
    _admin_only()
    db = session()
    company = _company(company_id)
    try:
        moved = remove_domain(db, caller(), company, domain)
    except InvalidEdit as error:
        raise BadRequest(str(error)) from error
    db.commit()
    return _answer(company, moved)


def _answer(company: Company, moved: Moved) -> dict[str, Any]:
    return {
        "company": company_json(session(), company),
        "domain": moved.domain,
        "moved_people": len(moved.people),
        "from_company": moved.source,
        "to_company": moved.target,
        "from_company_deleted": moved.source_deleted,
    }


def _company(company_id: int) -> Company:
    company = session().get(Company, company_id)
    if company is None:
        raise NotFound(f"no company {company_id}")
    return company


def _admin_only() -> None:
    if not g.user.is_admin:
        raise Forbidden("admin only")

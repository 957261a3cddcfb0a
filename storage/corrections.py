"""People created and corrected by colleagues, with field provenance and an audit trail.

Every field a colleague sets is recorded twice: ``Person.provenance[field]`` says where the
current value came from (``{"source": "user", "by": colleague id, "at": ISO time}``; a field
without an entry came from mail), and an ``AuditEvent`` keeps the old and the new value. Ingest
only fills a person's empty fields (``storage.addressbook.AddressBook.fill_names``), so a
user's correction is never overwritten by later mail; a value a user set can only be changed by
another edit. All functions take the session first and never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.addressbook import AddressBook
from storage.audit import record
from storage.companies import CompanyBook
from storage.models import Colleague, Company, Person
from storage.types import utcnow
from sync.items import Address
from sync.normalize.addresses import normalize_email
from sync.normalize.domains import FirmDomains, is_free_mail

# Request field -> (person JSON field, longest value accepted, several lines allowed).
FIELDS: dict[str, tuple[str, int, bool]] = {
    "name": ("display_name", 300, False),
    "title": ("title", 300, False),
    "phone": ("phones", 50, False),
    "address": ("address", 1000, True),
    "company": ("company", 255, False),
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_LINE_BREAK = re.compile(r"[\r\n\t]")
# Neither database stores an unpaired surrogate (a JSON "\ud800" decodes to one).
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_PHONE = re.compile(r"\+?[0-9][0-9 ()./-]{1,38}[0-9)]( *(x|ext\.?) *[0-9]{1,6})?", re.IGNORECASE)


class InvalidEdit(ValueError):
    """A field value a colleague may not set; the message says which and why."""


class AddressKnown(ValueError):
    def __init__(self, person_id: int) -> None:
        super().__init__(f"the address already belongs to person {person_id}")
        self.person_id = person_id


@dataclass(frozen=True)
class Change:
    field: str  # the person JSON field
    old: Any
    new: Any


def clean_text(name: str, value: Any, limit: int, *, multiline: bool = False) -> str:
    """``value`` as plain text: a string, trimmed, at most ``limit`` characters, no control
    characters (line breaks and tabs only where several lines are allowed), no surrogates."""
    if not isinstance(value, str):
        raise InvalidEdit(f"{name}: expected a string")
    text = value.strip()
    if len(text) > limit:
        raise InvalidEdit(f"{name}: at most {limit} characters")
    if _CONTROL.search(text) or (not multiline and _LINE_BREAK.search(text)):
        raise InvalidEdit(f"{name}: control characters or line breaks are not allowed")
    if _SURROGATE.search(text):
        raise InvalidEdit(f"{name}: unpaired surrogates are not allowed")
    return text


def create_person(
    session: Session, actor: Colleague, firm: FirmDomains, raw_email: Any, fields: dict[str, Any]
) -> Person:
    """A new external person owning ``raw_email``, with the given fields typed by ``actor``;
    the company defaults to the one of the address's work domain, as for people from mail."""
    email = normalize_email(raw_email) if isinstance(raw_email, str) else None
    if email is None:
        raise InvalidEdit("email: not an email address")
    if firm.is_internal(email.rsplit("@", 1)[1]):
        raise InvalidEdit("email: an address of the firm is a colleague, created by mailbox sync")
    book = AddressBook(firm)
    book.resolve_existing(session, [email])
    known = book.lookup(email)
    if known is not None:
        raise AddressKnown(known.person_id)
    cleaned = _cleaned(fields)
    # Created nameless: the name typed is then applied, and stamped, like every other field.
    book.resolve(session, {email: Address(email)})
    person = session.get_one(Person, book.get(email).person_id)
    changes = _apply(session, person, cleaned)
    _stamp(person, actor, changes)
    details = {"email": email, "source": "user", "changes": _changes_json(changes)}
    record(session, actor, "person.create", ("person", person.id), details)
    return person


def edit_person(
    session: Session, actor: Colleague, person: Person, fields: dict[str, Any]
) -> list[Change]:
    """Apply a colleague's corrections; returns what changed (nothing is audited when a value
    is set to what it already was)."""
    changes = _apply(session, person, _cleaned(fields))
    if changes:
        _stamp(person, actor, changes)
        details = {"source": "user", "changes": _changes_json(changes)}
        record(session, actor, "person.update", ("person", person.id), details)
    return changes


def _cleaned(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidEdit(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(FIELDS)}")
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        _, limit, multiline = FIELDS[name]
        text = "" if value is None else clean_text(name, value, limit, multiline=multiline)
        if name == "name" and not text:
            raise InvalidEdit("name: may not be empty")
        if name == "phone" and text and not _PHONE.fullmatch(text):
            raise InvalidEdit("phone: digits, spaces and + ( ) . / - only, with an optional ext")
        cleaned[name] = text
    return cleaned


def _apply(session: Session, person: Person, cleaned: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []

    def change(field: str, old: Any, new: Any) -> None:
        if old != new:
            changes.append(Change(field, old, new))

    if "name" in cleaned:
        change("display_name", person.display_name, cleaned["name"])
        person.display_name = cleaned["name"]
    if "title" in cleaned:
        change("title", person.title, cleaned["title"] or None)
        person.title = cleaned["title"] or None
    if "address" in cleaned:
        change("address", person.postal_address, cleaned["address"] or None)
        person.postal_address = cleaned["address"] or None
    if "phone" in cleaned:
        phones = _with_first_phone(list(person.phones or []), cleaned["phone"])
        change("phones", list(person.phones or []), phones)
        person.phones = phones
    if "company" in cleaned:
        company_id = _company_id(session, cleaned["company"])
        if company_id != person.company_id:
            old = _company_ref(session, person.company_id)
            changes.append(Change("company", old, _company_ref(session, company_id)))
            person.company_id = company_id
    return changes


def _with_first_phone(phones: list[Any], phone: str) -> list[Any]:
    """The phone the card shows is the first: a correction replaces it, "" removes it."""
    rest = [p for p in phones[1:] if p != phone]
    return [phone, *rest] if phone else rest


def _company_id(session: Session, value: str) -> int | None:
    """The company a colleague named: by web domain (created if new, never a free-mail
    domain) or by the exact name of a known company."""
    if not value:
        return None
    as_domain = normalize_email(f"x@{value.removeprefix('@')}") if " " not in value else None
    if as_domain is not None and "." in value:
        domain = as_domain.rsplit("@", 1)[1]
        if is_free_mail(domain):
            raise InvalidEdit(f"company: {domain} is a free-mail domain, not a company")
        return CompanyBook().resolve(session, [domain])[domain]
    query = select(Company.id).where(func.lower(Company.name) == value.lower()).limit(2)
    found = list(session.scalars(query))
    if len(found) != 1:
        known = "several companies have" if found else "no company has"
        raise InvalidEdit(
            f"company: {known} that name; give its web domain (acme.com) to pick or create it"
        )
    return found[0]


def _company_ref(session: Session, company_id: int | None) -> dict[str, Any] | None:
    if company_id is None:
        return None
    return {"id": company_id, "name": session.get_one(Company, company_id).name}


def _stamp(person: Person, actor: Colleague, changes: list[Change]) -> None:
    provenance = dict(person.provenance or {})  # a new dict: JSON columns track reassignment
    at = utcnow().isoformat()
    for change in changes:
        provenance[change.field] = {"source": "user", "by": actor.id, "at": at}
    person.provenance = provenance
    person.updated_at = utcnow()


def _changes_json(changes: list[Change]) -> dict[str, dict[str, Any]]:
    return {c.field: {"old": c.old, "new": c.new} for c in changes}

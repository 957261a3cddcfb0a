"""Addresses to people: look up, create in bulk, and remember what is already known.

``AddressBook`` is the ingest engine's view of the ``email_addresses`` table. It keeps a cache
of address -> (address id, person id) for the life of one run; the cache only ever holds rows
that exist in the current transaction or committed ones, so the engine calls ``forget()`` after
a rollback. New addresses get a new person each, a company when their domain is a work domain,
and a colleague row when their domain is the firm's.

The run's own merges repoint the cache as they are made (``repoint``). Merges and undos made
meanwhile by others (an admin, automatic deduplication: ``storage.merge``, ``storage.unmerge``)
are followed at each page (``follow_moves``): the addresses they moved are read again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from storage.bulk import execute_many, select_in
from storage.companies import CompanyBook
from storage.ids import allocate_ids, insert_with_ids
from storage.merge import MERGE, UNMERGE
from storage.models import AuditEvent, Colleague, EmailAddress, Person
from storage.models.base import table_of
from storage.types import utcnow
from sync.items import Address, AddressKind
from sync.normalize.domains import FirmDomains, is_free_mail, is_role_address

T = TypeVar("T")
IN_CHUNK = 500  # bound on the size of one IN (...) list: SQLite's parameter limit is 32,766
# How far before its previous look ``follow_moves`` reads the audit trail again: a merge's
# event is stamped when it is written and committed after (an admin's merge rebuilds
# aggregates in between); as relationships.graph.CHANGE_SLACK for pair rows.
MOVES_SLACK = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Known:
    address_id: int
    person_id: int


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def domain_of(address: Address) -> str:
    if address.kind != AddressKind.SMTP or "@" not in address.email:
        return ""
    return address.email.rsplit("@", 1)[1]


class AddressBook:
    def __init__(self, firm: FirmDomains) -> None:
        self.firm = firm
        self.companies = CompanyBook()
        self._known: dict[str, Known] = {}
        self._named: set[int] = set()  # people known to have a display name
        self._looked: datetime | None = None  # `follow_moves`' last look
        self._followed: set[int] = set()  # merge and undo events it has read
        # People whose pairs this run may have counted under the wrong person: a cached
        # address had moved (`follow_moves`). Kept for the run: a rollback drops the marks.
        self.miscounted: set[int] = set()

    def forget(self) -> None:
        """Drop the cache (after a rollback, or after people were merged)."""
        self._known.clear()
        self._named.clear()

    def repoint(self, drop: int, keep: int) -> None:
        """Follow a merge (``storage.merge.merge_people``): every address of person ``drop``
        now belongs to ``keep``, in the store and so in the cache (cheaper than ``forget``,
        which makes every later page load its addresses again)."""
        for email, known in self._known.items():
            if known.person_id == drop:
                self._known[email] = Known(known.address_id, keep)
        self._named.discard(drop)

    def follow_moves(self, session: Session) -> set[int]:
        """Point each cached address that a merge or an undo made since the last look moved
        at its person now; returns `miscounted`, for the caller to mark for a rebuild (their
        participations name addresses, so rebuilt pairs are right). The first look only
        notes the time: the cache is empty then."""
        now, since = utcnow(), self._looked
        self._looked = now
        if since is None:
            return self.miscounted
        query = select(AuditEvent.id).where(
            AuditEvent.at >= since - MOVES_SLACK, AuditEvent.action.in_((MERGE, UNMERGE))
        )
        new = sorted(set(session.scalars(query)) - self._followed)
        self._followed.update(new)
        moved: set[str] = set()
        for part in chunks(new):
            for details in session.scalars(
                select(AuditEvent.details).where(AuditEvent.id.in_(part))
            ):
                moved.update(a for a in details.get("addresses") or () if a in self._known)
        columns = ("address", "person_id")
        table = table_of(EmailAddress)
        for address, person in select_in(session, table, columns, "address", sorted(moved)):
            known = self._known[address]
            if known.person_id != person:
                self._known[address] = Known(known.address_id, person)
                self.miscounted.update((known.person_id, person))
        return self.miscounted

    def get(self, email: str) -> Known:
        return self._known[email]

    def lookup(self, email: str) -> Known | None:
        return self._known.get(email)

    def remember(self, email: str, address_id: int, person_id: int) -> None:
        """Cache an address the caller has just stored."""
        self._known[email] = Known(address_id, person_id)

    def resolve_existing(self, session: Session, emails: Sequence[str]) -> None:
        """Load the given addresses into the cache if stored; never creates any."""
        missing = [email for email in emails if email not in self._known]
        if missing:
            self._load(session, missing)

    def resolve(self, session: Session, addresses: Mapping[str, Address]) -> None:
        """Make sure every address exists; afterwards ``get(email)`` answers for each."""
        missing = [email for email in addresses if email not in self._known]
        if missing:
            self._load(session, missing)
        new = [addresses[email] for email in missing if email not in self._known]
        if new:
            self._create(session, new)

    def _load(self, session: Session, emails: Sequence[str]) -> None:
        columns = ("address", "id", "person_id")
        for address, address_id, person_id in select_in(
            session, table_of(EmailAddress), columns, "address", emails
        ):
            self._known[address] = Known(address_id, person_id)

    def _create(self, session: Session, new: Sequence[Address]) -> None:
        work_domains = [self._work_domain(a) for a in new]
        company_ids = self.companies.resolve(session, work_domains)
        person_ids = allocate_ids(session, Person, len(new))
        people = [
            {"id": pid, "display_name": a.name[:300], "company_id": company_ids.get(domain)}
            for a, domain, pid in zip(new, work_domains, person_ids, strict=True)
        ]
        execute_many(session, insert(table_of(Person)), people, key="insert people")
        rows = [
            {
                "address": a.email,
                "kind": a.kind.value,
                "domain": domain_of(a),
                "person_id": pid,
                "is_role": is_role_address(a.email),
            }
            for a, pid in zip(new, person_ids, strict=True)
        ]
        address_ids = insert_with_ids(session, EmailAddress, rows)
        for a, aid, pid in zip(new, address_ids, person_ids, strict=True):
            self._known[a.email] = Known(aid, pid)
            if a.name:
                self._named.add(pid)
        self._add_colleagues(session, new)

    def _work_domain(self, address: Address) -> str:
        """The registrable domain a company is made from, or "" (free mail, the firm, X.500)."""
        domain = domain_of(address)
        if not domain or self.firm.is_internal(domain) or is_free_mail(domain):
            return ""
        return domain

    def _add_colleagues(self, session: Session, new: Sequence[Address]) -> None:
        """Everyone at the firm's domains is a colleague, and so is everyone known by an
        Exchange X.500 name: Exchange writes one only for a recipient of its own organisation,
        and the logging rules count such mail as internal (`sync.rules.is_external`). Until an
        SMTP address joins the name, the colleague's email is the name (Enron: Mark E Taylor,
        ``CN=MTAYLO1``, had been an external contact with 51 connectors). Rooms never get here
        (`sync.normalize.resources`)."""
        rows = [
            {"person_id": self._known[a.email].person_id, "email": a.email}
            for a in new
            if a.kind == AddressKind.X500 or (domain_of(a) and self.firm.is_internal(domain_of(a)))
        ]
        execute_many(session, insert(table_of(Colleague)), rows, key="insert colleagues")

    def fill_names(self, session: Session, addresses: Iterable[Address]) -> None:
        """Give a name to people known only by address, the first time a name shows up."""
        named: dict[int, str] = {}
        for a in addresses:
            pid = self._known[a.email].person_id
            if a.name and pid not in self._named:
                named.setdefault(pid, a.name[:300])
        if not named:
            return
        table = table_of(Person)
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("pid"),
                or_(table.c.display_name == "", table.c.display_name.is_(None)),
            )
            .values(display_name=bindparam("name"))
        )
        rows = [{"pid": pid, "name": name} for pid, name in sorted(named.items())]
        session.connection().execute(statement, rows)
        self._named.update(named)

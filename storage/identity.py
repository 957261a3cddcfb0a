"""Who is who: the mailbox owner's aliases and X.500 names learned from the data.

Rules (each merge is audited, see ``storage.merge``):
- a sender of the owner's Sent folders is the owner when it carries the owner's family name
  (``sync.normalize.aliases``: delegates also send from a partner's mailbox);
- a message of the owner's Inbox that names none of the owner's addresses reached them at
  another: its one recipient at the firm's domains that spells the owner's name, first and
  family (``susan.m.scott@``), is the owner;
- an X.500 distinguished name and an SMTP address shown together in one header are one
  mailbox; an X.500 name seen with two internal SMTP addresses ties those addresses together.
  A name joined to an address outside the firm's domains is a contact the firm's Exchange
  lists, not a colleague (`storage.merge.settle_colleague`).
- an X.500 name's mailbox alias (its last CN under ``CN=RECIPIENTS``: ``PALLEN``) is the local
  part of that mailbox's address at the firm's domains (``pallen@enron.com``), when both people
  carry the same name or one has none (`Identity.link_nicknames`);
- two people who each own a synced mailbox are never merged by these rules: a delegate sending
  on behalf of a partner must not fold the partner into the delegate.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.addressbook import AddressBook
from storage.bulk import select_in
from storage.ids import insert_with_ids
from storage.merge import merge_people, settle_colleague
from storage.models import EmailAddress, Person
from storage.models.base import table_of
from sync.items import Address, AddressKind
from sync.normalize.aliases import is_owner_alias, spells_owner
from sync.normalize.domains import FirmDomains

# Exchange Online writes a mailbox's alias after a 32-digit hex prefix: cn=<hex>-alias.
_ONLINE_ALIAS = re.compile(r"^[0-9a-f]{32}-(.+)$")
_NAME_TOKEN = re.compile(r"[^\W\d_]{2,}")  # words of two letters or more: initials left out


# An X.500 name's alias at a domain, computed by the database so that the unique index on
# addresses finds the candidates: the text after CN=RECIPIENTS/CN=, or after Exchange
# Online's 32-digit prefix and its dash (names are stored upper case, addresses lower case).
_AFTER = "{find}(x.address, '/CN=RECIPIENTS/CN=')"
_NICKNAME = (
    "SELECT x.address, s.address FROM email_addresses x JOIN email_addresses s ON s.address IN"
    " (lower(substr(x.address, {after} + 18)) || {mark}, lower(substr(x.address, {after} + 51))"
    " || {mark}) WHERE x.kind = 'x500' AND {after} > 0 AND s.person_id <> x.person_id"
)
NICKNAME_SQL = {
    "sqlite": _NICKNAME.format(after=_AFTER.format(find="instr"), mark="?"),
    "postgresql": _NICKNAME.format(after=_AFTER.format(find="strpos"), mark="%s"),
}
# The X.500 names whose alias, read either way, is among {marks} (a chunk of local parts).
_NAMES_FOR = (
    "SELECT x.address, x.person_id FROM email_addresses x WHERE x.kind = 'x500' AND {after} > 0"
    " AND (lower(substr(x.address, {after} + 18)) IN ({{marks}})"
    " OR lower(substr(x.address, {after} + 51)) IN ({{marks}}))"
)
NAMES_FOR_SQL = {
    "sqlite": _NAMES_FOR.format(after=_AFTER.format(find="instr")),
    "postgresql": _NAMES_FOR.format(after=_AFTER.format(find="strpos")),
}
_MARK = {"sqlite": "?", "postgresql": "%s"}
ALIAS_CHUNK = 500  # local parts per statement: two parameters each


def nickname(dn: str) -> str | None:
    """The mailbox alias an Exchange X.500 name carries, lower case: its last CN when the one
    before is ``CN=RECIPIENTS`` (``/O=ENRON/OU=NA/CN=RECIPIENTS/CN=PALLEN``: ``pallen``);
    else None (a server, a group's container)."""
    parts = dn.lower().split("/")
    if len(parts) < 3 or parts[-2] != "cn=recipients" or not parts[-1].startswith("cn="):
        return None
    alias = parts[-1][3:]
    online = _ONLINE_ALIAS.match(alias)
    return (online.group(1) if online else alias) or None


def _subdomain_candidates(session: Session, firm: FirmDomains) -> set[tuple[str, str]]:
    """(X.500 name, address) pairs of two people where the address is the name's alias at a
    stored subdomain of the firm's (``mhaedic@ect.enron.com`` for CN=MHAEDIC: an Exchange
    alias is one per organisation, whatever domain it is written at). Such addresses are
    few (62 of 26,520 in the Enron import), so they are read by the domain's index and the
    X.500 names matched to them here, instead of an index lookup per name and subdomain."""
    if not firm.domains:
        return set()
    under = or_(*(EmailAddress.domain.endswith(f".{d}", autoescape=True) for d in firm.domains))
    rows = session.execute(select(EmailAddress.address, EmailAddress.person_id).where(under))
    by_alias: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for address, person in rows:
        by_alias[address.split("@", 1)[0]].append((address, person))
    if not by_alias:
        return set()
    found = set()
    aliases = sorted(by_alias)
    connection = session.connection()
    dialect = session.get_bind().dialect.name
    for start in range(0, len(aliases), ALIAS_CHUNK):
        chunk = aliases[start : start + ALIAS_CHUNK]
        marks = ", ".join([_MARK[dialect]] * len(chunk))
        statement = NAMES_FOR_SQL[dialect].format(marks=marks)
        for dn, person in connection.exec_driver_sql(statement, tuple(chunk + chunk)):
            for address, other in by_alias.get(nickname(dn) or "", ()):
                if other != person:
                    found.add((dn, address))
    return found


def same_name(one: str, other: str) -> bool:
    """Whether two display names can be one person's: either is empty, or the words of one
    are all among the other's (``Phillip Allen`` and ``Allen, Phillip K.``)."""
    a, b = (set(_NAME_TOKEN.findall(name.casefold())) for name in (one, other))
    return not a or not b or a <= b or b <= a


class Identity:
    def __init__(
        self,
        book: AddressBook,
        owner_person_id: int,
        owners: Iterable[int],
        owner_email: str = "",
        owner_name: str = "",
    ) -> None:
        self.book = book
        self.owner_person_id = owner_person_id
        self.owner_email = owner_email
        self.owner_name = owner_name
        self.protected = frozenset(owners) | {owner_person_id}
        self._confirmed: set[str] = set()  # addresses known to be the owner's
        self.saw_exchange_names = False  # this run met an X.500 name (`link_nicknames`)

    def learn_aliases(self, session: Session, senders: Sequence[Address]) -> int:
        """Attach the Sent-folder senders that are the owner to the owner; returns the merges."""
        merged, dropped = 0, set()
        for sender in senders:
            email = sender.email
            if email in self._confirmed:
                continue
            if not is_owner_alias(sender, self.owner_email, self.owner_name):
                self._confirmed.add(email)  # decided once per run: a delegate, not the owner
                continue
            person = self.book.get(email).person_id
            if person != self.owner_person_id and person not in dropped:
                if person in self.protected:
                    continue  # another mailbox's owner: see the module docstring
                merge_people(session, self.owner_person_id, person, f"sent-folder alias {email}")
                self.book.repoint(person, self.owner_person_id)
                dropped.add(person)
                merged += 1
            self._confirmed.add(email)
        return merged

    def learn_recipient_aliases(
        self, session: Session, received: Sequence[Sequence[Address]], firm: FirmDomains
    ) -> int:
        """For each message of the owner's Inbox (its recipients, resolved in ``book``) that
        names none of the owner's known addresses: its one recipient at the firm's domains that
        spells the owner's name (`spells_owner`: ``susan.m.scott@`` for Susan M Scott, who
        was sent mail there), whose person's name agrees (`same_name`), is the owner.
        Returns the merges made. On the Enron import: 17 addresses of 14 custodians
        (``james.steffes@``, ``tgeaccon@``, 14 messages to ``brogers2@ect.enron.com``);
        ``dfarmer@`` ("JERRY FARMER") is not Daren J Farmer's."""
        merged = 0
        for recipients in received:
            people = {self.book.get(a.email).person_id for a in recipients}
            if self.owner_person_id in people:
                continue
            found = [
                a
                for a in recipients
                if a.kind == AddressKind.SMTP
                and firm.is_internal(a.email.rsplit("@", 1)[-1])
                and spells_owner(a, self.owner_email, self.owner_name)
            ]
            if len(found) != 1:
                continue
            person = self.book.get(found[0].email).person_id
            if person in self.protected:
                continue  # another mailbox's owner: see the module docstring
            names = dict(
                session.execute(
                    select(Person.id, Person.display_name).where(
                        Person.id.in_([person, self.owner_person_id])
                    )
                )
                .tuples()
                .all()
            )  # the owner's as it is now: this run may have named them
            if not same_name(names.get(self.owner_person_id) or "", names.get(person) or ""):
                continue
            merge_people(session, self.owner_person_id, person, f"inbox alias {found[0].email}")
            self.book.repoint(person, self.owner_person_id)
            merged += 1
        return merged

    def learn_links(self, session: Session, links: Sequence[tuple[str, str]]) -> int:
        """Record X.500 names for SMTP addresses; returns the merges made."""
        pairs = sorted(set(links))
        self.saw_exchange_names |= bool(pairs)
        self.book.resolve_existing(session, [address for pair in pairs for address in pair])
        self._store_new_names(session, pairs)
        merged = 0
        for dn, smtp in pairs:
            smtp_known, dn_known = self.book.lookup(smtp), self.book.lookup(dn)
            if smtp_known is None or dn_known is None:  # the address was excluded from the item
                continue
            owner, other = smtp_known.person_id, dn_known.person_id
            if other != owner and self._may_merge(other, owner):
                keep, drop = self._order(other, owner)
                merge_people(session, keep, drop, f"x500 {dn} is also {smtp}")
                merged += 1
                self.book.repoint(drop, keep)
                if not self.book.firm.is_internal(smtp.rsplit("@", 1)[-1]):
                    settle_colleague(session, keep, self.book.firm)
        return merged

    def link_nicknames(self, session: Session, firm: FirmDomains) -> int:
        """Every stored X.500 name whose alias (`nickname`) is the local part of a stored
        address at one of the firm's domains: one mailbox, merged when the two people's names
        agree (`same_name`). The Enron corpus shows ``pallen@enron.com`` beside
        ``phillip.allen@enron.com`` and ``CN=PALLEN`` for one man, but never in one header:
        155 such addresses were a second person each. Run once per import run that met an
        X.500 name (over the whole store, so mail seen by earlier runs is joined too);
        returns the merges made."""
        found = self._nickname_candidates(session, firm)
        self.book.resolve_existing(session, [address for pair in found for address in pair])
        pairs = [(dn, smtp) for dn, smtp in found if self.book.lookup(smtp) is not None]
        ids = sorted({self.book.get(address).person_id for pair in pairs for address in pair})
        rows = select_in(session, table_of(Person), ("id", "display_name"), "id", ids)
        shown: dict[int, str] = {int(row[0]): str(row[1] or "") for row in rows}
        merged = 0
        for dn, smtp in pairs:
            # Looked up afresh: an earlier merge of this pass may have moved either address.
            one, other = self.book.get(dn).person_id, self.book.get(smtp).person_id
            if one == other or not self._may_merge(one, other):
                continue
            if not same_name(shown.get(one) or "", shown.get(other) or ""):
                continue
            keep, drop = self._order(one, other)
            merge_people(session, keep, drop, f"x500 {dn} is the mailbox of {smtp}")
            self.book.repoint(drop, keep)
            shown[keep] = shown.get(keep) or shown.get(drop) or ""  # as the merge fills it
            merged += 1
        return merged

    @staticmethod
    def _nickname_candidates(session: Session, firm: FirmDomains) -> list[tuple[str, str]]:
        """(X.500 name, address) pairs of two different people where the address is the
        name's alias at one of the firm's domains, where the database proposes them by index
        lookups (`NICKNAME_SQL`), or at a subdomain of one (`_subdomain_candidates`);
        `nickname` decides."""
        dialect = session.get_bind().dialect.name
        connection = session.connection()
        found = _subdomain_candidates(session, firm)
        for domain in sorted(firm.domains):
            suffix = f"@{domain}"
            rows = connection.exec_driver_sql(NICKNAME_SQL[dialect], (suffix, suffix))
            for dn, smtp in rows:
                if nickname(dn) is not None and f"{nickname(dn)}{suffix}" == smtp:
                    found.add((dn, smtp))
        return sorted(found)

    def _store_new_names(self, session: Session, pairs: Sequence[tuple[str, str]]) -> None:
        """Each X.500 name seen for the first time becomes an address of its SMTP's person."""
        new: dict[str, int] = {}
        for dn, smtp in pairs:
            smtp_known = self.book.lookup(smtp)
            if smtp_known is not None and self.book.lookup(dn) is None:
                new.setdefault(dn, smtp_known.person_id)
        rows = [
            {"address": dn, "kind": AddressKind.X500.value, "person_id": pid}
            for dn, pid in new.items()
        ]
        for (dn, pid), address_id in zip(
            new.items(), insert_with_ids(session, EmailAddress, rows), strict=True
        ):
            self.book.remember(dn, address_id, pid)

    def _may_merge(self, a: int, b: int) -> bool:
        return not (a in self.protected and b in self.protected)

    def _order(self, a: int, b: int) -> tuple[int, int]:
        """(keep, drop): a mailbox owner always survives, else the older record."""
        if b in self.protected:
            return b, a
        if a in self.protected:
            return a, b
        return (a, b) if a < b else (b, a)

"""Who is who: the mailbox owner's aliases and X.500 names learned from the data.

Rules (each merge is audited, see ``storage.merge``):
- a sender of the owner's Sent folders is the owner when it carries the owner's family name
  (``sync.normalize.aliases``: delegates also send from a partner's mailbox);
- an X.500 distinguished name and an SMTP address shown together in one header are one
  mailbox; an X.500 name seen with two internal SMTP addresses ties those addresses together.
- two people who each own a synced mailbox are never merged by these rules: a delegate sending
  on behalf of a partner must not fold the partner into the delegate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from storage.addressbook import AddressBook
from storage.ids import insert_with_ids
from storage.merge import merge_people
from storage.models import EmailAddress
from sync.items import Address, AddressKind
from sync.normalize.aliases import is_owner_alias


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

    def learn_links(self, session: Session, links: Sequence[tuple[str, str]]) -> int:
        """Record X.500 names for SMTP addresses; returns the merges made."""
        pairs = sorted(set(links))
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
        return merged

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

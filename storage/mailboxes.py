"""Mailboxes and their owners."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.addressbook import AddressBook
from storage.models import Colleague, EmailAddress, Exclusion, Mailbox
from sync.items import Address


class NotAFirmAddress(ValueError):
    """A mailbox must belong to a colleague, i.e. an address in one of the firm's domains."""


def ensure_mailbox(session: Session, book: AddressBook, address: str, provider: str) -> Mailbox:
    """The mailbox for ``address``, created with its owner (person, colleague) when new."""
    mailbox = session.scalar(select(Mailbox).where(Mailbox.address == address))
    if mailbox is not None:
        return mailbox
    domain = address.rsplit("@", 1)[-1]
    if not book.firm.is_internal(domain):
        raise NotAFirmAddress(f"{address} is not in the firm's domains {sorted(book.firm.domains)}")
    book.resolve(session, {address: Address(address)})
    person_id = book.get(address).person_id
    colleague = session.scalar(select(Colleague).where(Colleague.person_id == person_id))
    if colleague is None:  # the address may have been merged into a non-firm person before
        colleague = Colleague(person_id=person_id, email=address)
        session.add(colleague)
        session.flush()
    mailbox = Mailbox(colleague_id=colleague.id, address=address, provider=provider)
    session.add(mailbox)
    session.flush()
    return mailbox


def owner_person_id(session: Session, mailbox: Mailbox) -> int:
    return session.scalars(
        select(Colleague.person_id).where(Colleague.id == mailbox.colleague_id)
    ).one()


def owner_people(session: Session) -> list[int]:
    """Person ids of every colleague who owns a mailbox."""
    query = select(Colleague.person_id).join(Mailbox, Mailbox.colleague_id == Colleague.id)
    return list(session.scalars(query.distinct()))


def exclusion_patterns(session: Session, mailbox: Mailbox) -> list[str]:
    """Firm-wide exclusions plus the mailbox owner's own."""
    query = select(Exclusion.pattern).where(
        (Exclusion.colleague_id.is_(None)) | (Exclusion.colleague_id == mailbox.colleague_id)
    )
    return list(session.scalars(query))


def address_exists(session: Session, address: str) -> bool:
    return (
        session.scalar(select(EmailAddress.id).where(EmailAddress.address == address)) is not None
    )

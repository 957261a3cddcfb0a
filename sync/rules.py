"""The logging rules: what becomes a client interaction, what stays internal, what is skipped.

Pure functions over a ``MailItem``; the engine applies the verdict. The order of the checks
decides which reason a skipped item is counted under, so it goes from the most certain
(a machine wrote it) to the most local (someone excluded an address).

- bounce, auto-reply, bulk: a machine wrote it; it says nothing about a relationship.
- role-address sender (noreply@, postmaster@, info@...), or an organisation's own mailbox by
  its display name ("Amazon.com" from gift@amazon.com), or a mailing by it ("SCIENTECH
  IssueAlert", "WSS Newsletter"): not a person.
- an X.500 name of the firm's own wrapped in an address at one of the firm's domains
  (``IMCEAEX-_O=ENRON_..._CN=JCASAS@enron.com``, ``/o=enron/.../cn=jcasas@enron.com``) is
  the name (``sync.normalize.addresses.wrapped_dn``); at another domain it stays the address
  (another organisation's Exchange name means nothing here).
- rooms of the firm's own are removed from the item, as its participants and as its sender
  (a meeting booked under a room's mailbox keeps its attendees; ``sync.normalize.resources``).
- private / confidential sensitivity: the sender asked for it not to be shared.
- a thread the mailbox's owner marked private in the add-in ("private-thread").
- cancelled meetings never happened.
- excluded addresses and domains are removed from the item; if no one external is left the
  item is skipped as "excluded" (a client's mail stays logged when an excluded address is
  merely copied).
- no external participant: internal-only; stored as metadata for colleague-to-colleague
  aggregates, never shown as an interaction.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sync.items import Address, AddressKind, MailItem, Participant
from sync.normalize.addresses import wrapped_dn
from sync.normalize.domains import (
    FirmDomains,
    is_mailing_name,
    is_organisation_sender,
    is_role_address,
)
from sync.normalize.resources import is_resource

PRIVATE_SENSITIVITIES = frozenset({"private", "confidential"})


class Outcome(enum.StrEnum):
    CLIENT = "client"
    INTERNAL = "internal"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    item: MailItem  # with excluded participants removed
    reason: str = ""


class Exclusions:
    """Addresses (``a@b.com``) and domains (``@b.com``, with subdomains) never to log, and the
    conversations the mailbox's owner marked private (``storage.privacy``)."""

    def __init__(self, patterns: Iterable[str], private_threads: Iterable[str] = ()) -> None:
        cleaned = [p.strip().lower() for p in patterns if p.strip()]
        self.addresses = frozenset(p for p in cleaned if not p.startswith("@"))
        self.domains = FirmDomains(p[1:] for p in cleaned if p.startswith("@"))
        self.private_threads = frozenset(private_threads)

    def __bool__(self) -> bool:
        return bool(self.addresses or self.domains.domains)

    def excludes(self, email: str) -> bool:
        if email in self.addresses:
            return True
        return "@" in email and self.domains.is_internal(email.rsplit("@", 1)[1])


def is_external(email: str, kind: AddressKind, firm: FirmDomains) -> bool:
    """X.500 names live inside the firm's Exchange organisation, so they are never external."""
    return kind == AddressKind.SMTP and firm.is_external_address(email)


def _machine_reason(item: MailItem) -> str:
    markers = item.markers
    checks = (
        (markers.bounce, "bounce"),
        (markers.auto_reply, "auto-reply"),
        (markers.bulk, "bulk"),
        (item.sender is not None and _not_a_person(item.sender), "role-address"),
        (markers.sensitivity in PRIVATE_SENSITIVITIES, "private"),
        (markers.cancelled, "cancelled"),
    )
    return next((reason for matched, reason in checks if matched), "")


def _not_a_person(sender: Address) -> bool:
    """A role address, an organisation's own mailbox by its display name, or a mailing by it."""
    return (
        is_role_address(sender.email)
        or is_organisation_sender(sender.name, sender.email)
        or is_mailing_name(sender.name)
    )


def _without(item: MailItem, unwanted: Callable[[Address], bool]) -> MailItem:
    """``item`` without the addresses ``unwanted`` names, as participants and as sender."""
    kept = tuple(p for p in item.participants if not unwanted(p.address))
    sender = item.sender
    if sender is not None and unwanted(sender):
        sender = None
    if len(kept) == len(item.participants) and sender is item.sender:
        return item
    return dataclasses.replace(item, participants=kept, sender=sender)


def _unwrapped(item: MailItem, firm: FirmDomains) -> MailItem:
    """``item`` with each address that wraps an X.500 name of the firm's own replaced by the
    name, once per role; links from such an address are dropped (it is no SMTP address)."""
    if not any(_wraps(p.address) for p in item.participants) and not (
        item.sender is not None and _wraps(item.sender)
    ):
        return item  # the common case, decided without building anything
    firm_names: dict[str, Address] = {}
    for address in (*(p.address for p in item.participants), item.sender):
        if address is not None and _wraps(address):
            found = wrapped_dn(address.email)
            if found is not None and firm.is_internal(found[1]):
                firm_names[address.email] = Address(found[0], address.name, AddressKind.X500)
    if not firm_names:
        return item
    seen: set[tuple[str, str]] = set()
    participants = []
    for p in item.participants:
        address = firm_names.get(p.address.email, p.address)
        if (address.email, p.role) not in seen:
            seen.add((address.email, p.role))
            participants.append(dataclasses.replace(p, address=address))
    sender = item.sender and firm_names.get(item.sender.email, item.sender)
    links = tuple(link for link in item.address_links if link[1] not in firm_names)
    return dataclasses.replace(
        item, participants=tuple(participants), sender=sender, address_links=links
    )


def _wraps(address: Address) -> bool:
    """A cheap first test for `wrapped_dn` (lower case: SMTP addresses are stored so)."""
    email = address.email
    return address.kind == AddressKind.SMTP and ("/o=" in email or email[:8] == "imceaex-")


def _without_excluded(item: MailItem, exclusions: Exclusions) -> MailItem:
    if not exclusions:
        return item
    return _without(item, lambda address: exclusions.excludes(address.email))


def classify(item: MailItem, firm: FirmDomains, exclusions: Exclusions) -> Verdict:
    """Decide what ``item`` becomes under the logging rules."""
    reason = _machine_reason(item)
    if reason:
        return Verdict(Outcome.SKIP, item, reason)
    item = _without(_unwrapped(item, firm), lambda address: is_resource(address, firm))
    if item.conversation_id is not None and item.conversation_id in exclusions.private_threads:
        return Verdict(Outcome.SKIP, item, "private-thread")
    kept = _without_excluded(item, exclusions)
    if _has_external(kept.participants, firm):
        return Verdict(Outcome.CLIENT, kept)
    if kept is not item and _has_external(item.participants, firm):
        return Verdict(Outcome.SKIP, item, "excluded")
    return Verdict(Outcome.INTERNAL, kept)


def _has_external(participants: Iterable[Participant], firm: FirmDomains) -> bool:
    for participant in participants:  # a loop, not any(): asked for every item of an import
        address = participant.address
        if is_external(address.email, address.kind, firm):
            return True
    return False

"""Stores one page of items: the inner loop of every import and sync.

``PageWriter.write`` runs inside the page's transaction and never commits. For a page it
1. counts and records unreadable items,
2. applies the logging rules (``sync.rules.classify``),
3. learns the mailbox owner's aliases from Sent folders and X.500 links from the data,
4. resolves every address to a person (creating people, companies and colleagues),
5. finds interactions already stored (by Message-ID, iCalUID or content key),
6. inserts the new ones with their keys and participants, a sighting for every item, and
   adds the new interactions to the pair aggregates.
Every step is one bulk statement per table, never one per row; replaying a page changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from relationships.aggregate_store import apply, rebuild_stale
from relationships.aggregates import PairDeltas, add_interaction
from relationships.strength import Weights
from storage.addressbook import AddressBook
from storage.bulk import execute_many
from storage.companies import insert_ignore
from storage.identity import Identity
from storage.interactions import find_existing, insert_interactions
from storage.models import EmailAddress, Participant, Sighting, SkipRecord
from storage.models.base import table_of
from sync.items import (
    Address,
    AddressKind,
    Folder,
    FolderKind,
    ItemKind,
    MailItem,
    Page,
    Role,
    Unreadable,
)
from sync.keys import item_keys
from sync.normalize.domains import FirmDomains
from sync.rules import Exclusions, Outcome, Verdict, classify
from sync.stats import RunStats

RECIPIENT_ROLES = (Role.TO, Role.CC, Role.BCC, Role.ATTENDEE)
# Merges found while a run has read at most this many items are followed by a rebuild at once;
# later ones leave their people marked stale for the single rebuild at the end of the run
# (sync.engine), so that a run with merges on many pages never rebuilds on every page.
EARLY_REBUILD_ITEMS = 5_000


@dataclass
class MailboxContext:
    """What a writer knows about the mailbox it writes for."""

    mailbox_id: int
    run_id: int
    firm: FirmDomains
    exclusions: Exclusions
    book: AddressBook
    identity: Identity
    weights: Weights  # the strength weights the stored sums use (relationships.settings)
    lease_owner: str  # this pass's name on the mailbox's lease (storage.leases)


class PageWriter:
    def __init__(self, context: MailboxContext, stats: RunStats) -> None:
        self.ctx = context
        self.stats = stats

    def write(self, session: Session, folder: Folder, page: Page) -> None:
        items = [i for i in page.items if isinstance(i, MailItem)]
        self._record_unreadable(
            session, folder, [i for i in page.items if isinstance(i, Unreadable)]
        )
        self.stats.read += len(page.items)
        verdicts = [classify(item, self.ctx.firm, self.ctx.exclusions) for item in items]
        self._mark_bounces(session, [v for v in verdicts if v.reason == "bounce"])
        kept = [v for v in verdicts if v.outcome != Outcome.SKIP]
        for verdict in verdicts:
            if verdict.outcome == Outcome.SKIP:
                self.stats.skip(verdict.reason)
        if not kept:
            self._resolve_people(session, folder, items, [], [])
            return
        keys = [item_keys(v.item) for v in kept]
        existing = find_existing(session, [k for ks in keys for k in ks])
        stored = [any(k in existing for k in ks) for ks in keys]
        # Copies of stored interactions only need their sender (for the sighting's direction):
        # their people were resolved when the first copy arrived.
        fresh = [v for v, known in zip(kept, stored, strict=True) if not known]
        copies = [v for v, known in zip(kept, stored, strict=True) if known]
        self._resolve_people(session, folder, items, fresh, copies)
        self._store(session, folder, kept, keys, existing)

    def _record_unreadable(
        self, session: Session, folder: Folder, bad: Sequence[Unreadable]
    ) -> None:
        for item in bad:
            self.stats.skip(item.reason)
        if bad:
            rows = [
                {
                    "run_id": self.ctx.run_id,
                    "folder": folder.key,
                    "source_item_id": item.source_id,
                    "reason": item.reason,
                    "detail": item.detail[:2000],
                }
                for item in bad
            ]
            session.execute(insert(table_of(SkipRecord)), rows)

    def _mark_bounces(self, session: Session, bounces: Sequence[Verdict]) -> None:
        """A bounce marks the addresses it reports as failed; it never creates people."""
        table = table_of(EmailAddress)
        for verdict in bounces:
            failed = list(verdict.item.markers.failed_recipients)
            if not failed:
                continue
            statement = (
                update(table)
                .where(table.c.address.in_(failed), table.c.bounced_at.is_(None))
                .values(bounced_at=verdict.item.sent_at)
            )
            self.stats.bounced_addresses += session.execute(statement).rowcount  # type: ignore[attr-defined]

    def _resolve_people(
        self,
        session: Session,
        folder: Folder,
        items: Sequence[MailItem],
        fresh: Sequence[Verdict],
        copies: Sequence[Verdict],
    ) -> None:
        # Each address once, as its first occurrence in the page that carries a name (new
        # people get it, people without one are given it): which names a person ends with
        # must not depend on where pages happen to start.
        addresses: dict[str, Address] = {}
        for verdict in fresh:
            for participant in verdict.item.participants:
                _add(addresses, participant.address)
        for verdict in copies:
            if verdict.item.sender is not None:
                _add(addresses, verdict.item.sender)
        aliases = self._sent_aliases(folder, items)
        for alias in aliases:
            _add(addresses, alias)
        links = [link for v in fresh for link in v.item.address_links]
        book, identity = self.ctx.book, self.ctx.identity
        book.resolve(session, addresses)
        book.fill_names(session, addresses.values())
        if any(a.kind == AddressKind.X500 for a in addresses.values()):
            identity.saw_exchange_names = True  # the run ends with `Identity.link_nicknames`
        # A merge moves addresses to another person; the identity rules repoint the cache.
        merged = identity.learn_aliases(session, aliases) + identity.learn_links(session, links)
        if folder.kind == FolderKind.INBOX:
            received = [_recipients(v.item) for v in (*fresh, *copies)]
            book.resolve_existing(session, [a.email for r in received for a in r])
            received = [r for r in received if all(book.lookup(a.email) for a in r)]
            merged += identity.learn_recipient_aliases(session, received, self.ctx.firm)
        if merged:
            self.stats.merged_people += merged
            if self.stats.read <= EARLY_REBUILD_ITEMS:
                # Most merges come from a mailbox's first Sent pages: rebuilding the merged
                # people's aggregates now replays only what was stored before this run, not
                # the whole run as at its end (2.2 s instead of 3.6 s on the Enron dev set).
                # This page's interactions are added after, on the merged ids.
                rebuild_stale(session)

    @staticmethod
    def _sent_aliases(folder: Folder, items: Sequence[MailItem]) -> list[Address]:
        """Senders of a Sent folder: candidates for the owner's aliases (``Identity``)."""
        if folder.kind != FolderKind.SENT:
            return []
        seen: dict[str, Address] = {}
        for item in items:
            if item.sender is not None:  # an X.500 sender (garbled From) is the owner too
                seen.setdefault(item.sender.email, item.sender)
        return list(seen.values())

    def _store(
        self,
        session: Session,
        folder: Folder,
        kept: Sequence[Verdict],
        keys: Sequence[list[str]],
        existing: Mapping[str, int],
    ) -> None:
        new_index: dict[str, int] = {}  # key -> position in `fresh`, for copies inside the page
        fresh: list[tuple[Verdict, list[str]]] = []
        targets: list[int | tuple[int]] = []  # stored interaction id, or (position in fresh,)
        for verdict, item_key_list in zip(kept, keys, strict=True):
            found = next((existing[k] for k in item_key_list if k in existing), None)
            if found is None:
                found_new = next((new_index[k] for k in item_key_list if k in new_index), None)
                if found_new is None:
                    found_new = len(fresh)
                    fresh.append((verdict, item_key_list))
                    self._count_new(verdict)
                else:
                    self.stats.duplicate += 1
                for key in item_key_list:
                    new_index.setdefault(key, found_new)
                targets.append((found_new,))
            else:
                self.stats.duplicate += 1
                targets.append(found)
        book = self.ctx.book
        ids = insert_interactions(session, [(v, ks) for v, ks in fresh], book)
        resolved = [t if isinstance(t, int) else ids[t[0]] for t in targets]
        self._insert_sightings(session, folder, kept, resolved)
        new = [(verdict.item, i) for (verdict, _), i in zip(fresh, ids, strict=True)]
        self._participants_and_pairs(session, new)

    def _count_new(self, verdict: Verdict) -> None:
        if verdict.outcome == Outcome.INTERNAL:
            self.stats.internal += 1
        else:
            self.stats.stored += 1

    def _participants_and_pairs(
        self, session: Session, stored: Sequence[tuple[MailItem, int]]
    ) -> None:
        """Participant rows of new interactions, and their additions to the pair aggregates."""
        get = self.ctx.book.get
        rows: list[dict[str, object]] = []
        deltas = PairDeltas(weights=self.ctx.weights)
        for item, interaction_id in stored:
            seen: set[tuple[int, str]] = set()
            roles = []
            for p in item.participants:
                known = get(p.address.email)
                role = p.role.value
                response = None if p.response is None else p.response.value
                roles.append((role, known.person_id, response))
                if (known.address_id, role) not in seen:
                    seen.add((known.address_id, role))
                    rows.append(
                        {
                            "interaction_id": interaction_id,
                            "address_id": known.address_id,
                            "role": role,
                            "response": response,
                        }
                    )
            add_interaction(deltas, item.kind.value, item.sent_at, roles)
        if rows:
            statement = insert(table_of(Participant))
            execute_many(session, statement, rows, key="insert participants")
        self.stats.pairs += apply(session, deltas)

    def _insert_sightings(
        self, session: Session, folder: Folder, kept: Sequence[Verdict], ids: Sequence[int]
    ) -> None:
        owner = self.ctx.identity.owner_person_id
        rows = []
        for verdict, interaction_id in zip(kept, ids, strict=True):
            sender = verdict.item.sender
            outbound = sender is not None and self.ctx.book.get(sender.email).person_id == owner
            rows.append(
                {
                    "interaction_id": interaction_id,
                    "mailbox_id": self.ctx.mailbox_id,
                    "folder": folder.key,
                    "direction": "out" if outbound else "in",
                    "source_item_id": verdict.item.source_id,
                }
            )
        statement = insert_ignore(session, Sighting)
        execute_many(session, statement, rows, key="insert-ignore sightings")


def _add(addresses: dict[str, Address], address: Address) -> None:
    known = addresses.get(address.email)
    if known is None or (address.name and not known.name):
        addresses[address.email] = address


__all__ = ["RECIPIENT_ROLES", "ItemKind", "MailboxContext", "PageWriter"]


def _recipients(item: MailItem) -> list[Address]:
    """Whom a message was addressed to (To, Cc, Bcc), each once."""
    seen: dict[str, Address] = {}
    for p in item.participants:
        if p.role in (Role.TO, Role.CC, Role.BCC):
            seen.setdefault(p.address.email, p.address)
    return list(seen.values())

"""Duplicate people: one outside person stored as several records, found and merged.

Every rule compares records pairwise through ``sync.normalize.matching``; candidates come
from three indexes (family name, local part, a domain's one-letter deletions), so the work
grows with the number of addresses, not its square. A pair is

- **same**, merged by ``merge_duplicates`` (``storage.merge.merge_people``: audited, with
  an undo), when
  1. both are at one organisation (``same_organisation``, or one company) under the same
     name (first and family names equal, middle initials and titles aside), and their local
     parts are not one numbered after the other (``john.smith2@``: a firm's second John
     Smith): ``michael.cyrus@cinergy.com`` and ``mcyrus@cinergy.com``, both "Michael Cyrus";
  2. they share a local part of ``MIN_LOCAL`` letters or more at two domains that is more
     than a usual form of the name, their names agree and the name is not a common one:
     ``smmayers@earthlink.net`` and ``smmayers@attbi.com`` (an ISP renamed);
  3. both are at one organisation, their local parts are one edit apart, they have the same
     name or only one has a name, and no message names both (two addresses on one message
     are two mailboxes): ``jbennett@gmssr.com`` and ``jbennet@gmssr.com``. Two nameless
     records one letter apart are only listed: ``tim.neuman@`` and ``tim.newman@`` may be
     two people.
- **likely**, stored for an admin's review (``storage.candidates``), when the names agree and
  nothing above holds: the same name at two organisations may be one person who moved (or
  who writes from home), or two people ("Ron Jones").

Colleagues are never candidates (the identity rules of ``storage.identity`` join a
colleague's addresses, and a colleague's private address is theirs to give), nor are role
addresses, mailings and organisations' own mailboxes, nor a pair an admin marked distinct or
a merge that was undone (``storage.merge.distinct_pairs``). The older record is kept.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations, product

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.merge import distinct_pairs, merge_people
from storage.models import Colleague, EmailAddress, Participant, Person
from storage.models.base import table_of
from sync.normalize.domains import is_mailing_name, is_organisation_sender
from sync.normalize.matching import (
    MIN_LOCAL,
    deletion_keys,
    first_names_agree,
    fits_name,
    middles_conflict,
    name_key,
    names_agree,
    numbered_apart,
    one_edit_apart,
    organisation,
    same_organisation,
    usual_local,
)

SAME = "same"
LIKELY = "likely"
ACTOR = "dedupe"
# A family name this common among the records is compared only where its records share an
# organisation: a block of thousands, most of whose namesakes elsewhere are two people.
CROWDED_FAMILY = 1000
# The same local part at two organisations under agreeing names is one person when it is
# more than a usual form of the name (``usual_local``: ``smmayers@``, ``wright497@``) and
# the name is held at ``COMMON_NAME`` places at most. A usual form (``jadams@``,
# ``bruce_kohrs@``) is listed for review, however rare the name: on the first version of
# bench/duplicates.py's generated store (150,000 people), namesakes of a rare family name
# under one usual form at two firms were 86 of the 129 wrong merges.
# A name held at more places (organisations, or mail providers' domains) than this is a
# common name: its pairs are not listed for review (the rules above still merge those that
# share an organisation or a distinctive local part).
COMMON_NAME = 3
# A local part shared by this many records ("jsmith" at many domains) tells nobody apart.
CROWDED_LOCAL = 20


@dataclass
class Record:
    person: int
    name: str
    company: int | None
    addresses: list[str] = field(default_factory=list)

    @cached_property
    def key(self) -> tuple[str, str] | None:
        return name_key(self.name) if self.name else None

    @cached_property
    def organisations(self) -> set[str]:
        return {o for a in self.addresses if (o := organisation(a.rsplit("@", 1)[1]))}

    @cached_property
    def places(self) -> set[str]:
        """Where the record's addresses are: its organisations, or a mail provider's domain
        for each address there."""
        return self.organisations or {a.rsplit("@", 1)[1] for a in self.addresses}


@dataclass(frozen=True)
class Duplicate:
    keep: int
    drop: int
    tier: str
    similarity: float  # rapidfuzz token-sort ratio of the two names, 0-100
    reason: str


def find_duplicates(session: Session) -> list[Duplicate]:
    """Every candidate pair, same tier first, then by name similarity."""
    records = _records(session)
    # How common each name is: the organisations its holders are at (a person with four
    # addresses at three places holds it at three; ten namesakes at ten firms at ten).
    places: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record in records.values():
        if record.key is not None:
            places[record.key] |= record.places
    names = Counter({key: len(found) for key, found in places.items()})
    blocked = distinct_pairs(session)
    found: dict[tuple[int, int], Duplicate] = {}
    for a, b in _candidate_pairs(records.values()):
        pair = (min(a.person, b.person), max(a.person, b.person))
        if pair in blocked or pair in found:
            continue
        verdict = _compare(a, b, names)
        if verdict is not None and a.key and _common(verdict, names[a.key]):
            continue  # a third "Fan Yang" elsewhere: a common name, not a clue
        if verdict is not None:
            found[pair] = verdict
    _demote_shared_messages(session, found)
    return sorted(found.values(), key=lambda d: (d.tier != SAME, -d.similarity, d.keep, d.drop))


def merge_duplicates(session: Session) -> tuple[list[Duplicate], list[Duplicate]]:
    """Merge every same-tier pair ``find_duplicates`` finds (a group of several into its
    oldest record); the merged people's aggregates are marked stale for ``rebuild_stale``.
    Returns the merges made and the likely pairs left, each person named by the record they
    were merged into (a pair that became one person is gone): the list for review without a
    second search."""
    merged: list[Duplicate] = []
    survivor: dict[int, int] = {}
    candidates = find_duplicates(session)
    for duplicate in candidates:
        if duplicate.tier != SAME:
            continue
        keep = _root(survivor, duplicate.keep)
        drop = _root(survivor, duplicate.drop)
        if keep == drop:
            continue
        keep, drop = min(keep, drop), max(keep, drop)
        merge_people(session, keep, drop, duplicate.reason, actor=ACTOR)
        survivor[drop] = keep
        merged.append(Duplicate(keep, drop, SAME, duplicate.similarity, duplicate.reason))
    left: dict[tuple[int, int], Duplicate] = {}
    for d in candidates:
        a, b = sorted((_root(survivor, d.keep), _root(survivor, d.drop)))
        if d.tier == LIKELY and a != b and (a, b) not in left:
            left[(a, b)] = Duplicate(a, b, LIKELY, d.similarity, d.reason)
    return merged, list(left.values())


def _common(verdict: Duplicate, holders: int) -> bool:
    """A likely pair whose name is held at more than ``COMMON_NAME`` places."""
    return verdict.tier == LIKELY and holders > COMMON_NAME


def _root(survivor: dict[int, int], person: int) -> int:
    while person in survivor:
        person = survivor[person]
    return person


def _records(session: Session) -> dict[int, Record]:
    """Current outside people with an SMTP address of a person (no role address), named
    neither as a mailing nor as an organisation."""
    p, a = table_of(Person).c, table_of(EmailAddress).c
    colleagues = select(Colleague.person_id)
    rows = session.execute(
        select(p.id, p.display_name, p.company_id, a.address)
        .join(table_of(EmailAddress), a.person_id == p.id)
        .where(p.merged_into_id.is_(None), p.id.not_in(colleagues))
        .where(a.kind == "smtp", a.is_role.is_(False))
        .order_by(p.id, a.id)
    )
    records: dict[int, Record] = {}
    for person, name, company, address in rows:
        if name and (is_mailing_name(name) or is_organisation_sender(name, address)):
            continue
        record = records.setdefault(person, Record(person, name or "", company))
        record.addresses.append(address)
    return records


def _candidate_pairs(records: Iterable[Record]) -> Iterable[tuple[Record, Record]]:
    """Pairs sharing a family name, a local part, or (at one organisation) a local part's
    one-letter deletion; a block of one crowded family name only where its records share
    an organisation."""
    by_family: dict[str, list[Record]] = defaultdict(list)
    by_local: dict[str, list[Record]] = defaultdict(list)
    by_org: dict[str, list[tuple[str, Record]]] = defaultdict(list)
    for record in records:
        if (key := record.key) is not None:
            by_family[key[1]].append(record)
        for address in record.addresses:
            local, _, domain = address.partition("@")
            if len(local) >= MIN_LOCAL:
                by_local[local].append(record)
                if (org := organisation(domain)) is not None:
                    by_org[org].append((local, record))
    for family in by_family.values():
        yield from _agreeing(family if len(family) <= CROWDED_FAMILY else [])
        if len(family) > CROWDED_FAMILY:
            yield from _shared_organisation(family)
    yield from _blocks(by_local.values())
    for entries in by_org.values():
        if len(entries) > 1:  # one organisation's deletion index at a time: memory stays small
            by_deletion: dict[str, list[Record]] = defaultdict(list)
            for local, record in entries:
                for deleted in deletion_keys(local):
                    by_deletion[deleted].append(record)
            yield from _blocks(by_deletion.values())


def _blocks(blocks: Iterable[list[Record]]) -> Iterable[tuple[Record, Record]]:
    for block in blocks:
        if len(block) > 1 and len(unique := _unique(block)) <= CROWDED_LOCAL:
            yield from combinations(unique, 2)


def _shared_organisation(block: list[Record]) -> Iterable[tuple[Record, Record]]:
    by_org: dict[str, list[Record]] = defaultdict(list)
    for record in block:
        for org in record.organisations:
            by_org[org].append(record)
    for group in by_org.values():
        yield from _agreeing(_unique(group))


def _agreeing(block: list[Record]) -> Iterable[tuple[Record, Record]]:
    """The pairs of a block of one family name whose first names agree: no rule holds for
    two named people whose names disagree (the others come from the address indexes)."""
    by_first: dict[str, list[Record]] = defaultdict(list)
    for record in block:
        if record.key is not None:
            by_first[record.key[0]].append(record)
    firsts = sorted(by_first)
    for i, one in enumerate(firsts):
        yield from combinations(by_first[one], 2)
        for other in firsts[i + 1 :]:
            if first_names_agree(one, other):
                yield from product(by_first[one], by_first[other])


def _unique(block: list[Record]) -> list[Record]:
    return list({r.person: r for r in block}.values())


def _compare(a: Record, b: Record, names: Counter[tuple[str, str]]) -> Duplicate | None:
    if a.name and b.name and middles_conflict(a.name, b.name):
        return None
    key = a.key or b.key
    if key is not None and not (_fits(a, key) or _fits(b, key)):
        return None  # no address spells the name: a mailing's per-message senders
    verdict = _verdict(a, b, names)
    if verdict is None:
        return None
    keep, drop = sorted((a.person, b.person))
    similarity = fuzz.token_sort_ratio(a.name.lower(), b.name.lower()) if a.name and b.name else 0.0
    return Duplicate(keep, drop, verdict[0], similarity, verdict[1])


def _verdict(a: Record, b: Record, names: Counter[tuple[str, str]]) -> tuple[str, str] | None:
    """(tier, reason) by the rules of the module's docstring, or ``None``."""
    ka, kb = a.key, b.key
    agree = ka is not None and kb is not None and names_agree(ka, kb)
    org = _shared_org(a, b)
    label = a.name or b.name or "no name"
    if org is not None and ka is not None and ka == kb and not _numbered(a, b):
        if _fits(a, ka, every=True) and _fits(b, ka, every=True):
            return SAME, f"{label} at {org}"
        return LIKELY, f"{label} at {org}, an address not in the name"
    shared = _shared_local(a, b)
    if shared is not None and ka is not None and agree:
        if not usual_local(shared, ka) and names[ka] <= COMMON_NAME:
            return SAME, f"{label}: {shared} at two domains"
        return LIKELY, f"{label}: {shared} at two organisations"
    if org is not None and (ka == kb or ka is None or kb is None) and _typo(a, b):
        tier = LIKELY if ka is None and kb is None else SAME  # two nameless: only listed
        return tier, f"{label}: one letter apart at {org}"
    return (LIKELY, f"{label} at {org or 'different organisations'}") if agree else None


def _fits(record: Record, key: tuple[str, str], every: bool = False) -> bool:
    fits = (fits_name(x.partition("@")[0], key) for x in record.addresses)
    return all(fits) if every else any(fits)


def _numbered(a: Record, b: Record) -> bool:
    return any(
        numbered_apart(x.partition("@")[0], y.partition("@")[0])
        for x in a.addresses
        for y in b.addresses
    )


def _shared_org(a: Record, b: Record) -> str | None:
    if a.company is not None and a.company == b.company:
        return next(iter(sorted(a.organisations)), "one company")
    for one in sorted(a.organisations):
        for other in sorted(b.organisations):
            if same_organisation(one, other):
                return one
    return None


def _shared_local(a: Record, b: Record) -> str | None:
    locals_a = {x.partition("@")[0] for x in a.addresses}
    common = sorted(
        local
        for x in b.addresses
        if len(local := x.partition("@")[0]) >= MIN_LOCAL and local in locals_a
    )
    return common[0] if common else None


def _typo(a: Record, b: Record) -> bool:
    """Two addresses at one organisation whose local parts are one edit apart."""
    return any(
        one_edit_apart(x.partition("@")[0], y.partition("@")[0])
        and (ox := organisation(x.rsplit("@", 1)[1])) is not None
        and (oy := organisation(y.rsplit("@", 1)[1])) is not None
        and same_organisation(ox, oy)
        for x in a.addresses
        for y in b.addresses
    )


def _demote_shared_messages(session: Session, found: dict[tuple[int, int], Duplicate]) -> None:
    """A one-letter pair (rule 3) whose two addresses are both on one message is two
    mailboxes: listed for an admin, not merged."""
    typos = {pair: d for pair, d in found.items() if d.tier == SAME and "one letter" in d.reason}
    if not typos:
        return
    people = sorted({p for pair in typos for p in pair})
    part, addr = table_of(Participant).c, table_of(EmailAddress).c
    rows = session.execute(
        select(part.interaction_id, addr.person_id)
        .join(table_of(EmailAddress), addr.id == part.address_id)
        .where(addr.person_id.in_(people))
    )
    on: dict[int, set[int]] = defaultdict(set)
    for interaction, person in rows:
        on[int(person)].add(int(interaction))
    for pair, d in typos.items():
        if on[pair[0]] & on[pair[1]]:
            found[pair] = Duplicate(
                d.keep, d.drop, LIKELY, d.similarity, f"{d.reason}, both on one message"
            )

"""Duplicate people at scale: how fast and how right ``storage.duplicates`` is, against the
usual CRM rule (the same full name is one person) measured in the same run.

Generates a store of outside people (default 300,000) in a scratch SQLite file: names drawn
from 5,000 first names and 150,000 family names with Zipf weights (a few family names held by
thousands, as real ones are), at 6,000 companies of Zipf sizes under the firm's one address
form (``first.family``, ``ffamily`` or ``first_family``; a second namesake's numbered), or at
mail providers as ``firstfamilyNN``. Then plants duplicates, each a second record of one
person:

- ``form``: another address form at the same firm (``jane.roe@`` and ``jroe@``);
- ``moved``: the same local part at a mail provider (an ISP that changed hands, or a firm's
  usual form kept at home);
- ``typo``: the local part one letter off at the same firm, the copy without a name;
- ``home``: a usual-form address at a mail provider (the person's own address at home).

The last kind is what no rule can tell from a namesake; it is there to count, not to find.
Reports the time to find (and peak memory under tracemalloc), the pairs merged and listed,
and for ours and the baseline: recall of the planted pairs and precision of what each would
merge.

    python bench/duplicates.py [--people 300000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from storage.db import Database  # noqa: E402
from storage.duplicates import SAME, find_duplicates  # noqa: E402
from storage.models import EmailAddress, Person  # noqa: E402
from storage.models.base import table_of  # noqa: E402

SYLLABLES = ["ka", "ro", "mi", "lan", "ter", "sol", "vi", "na", "bel", "dor"]
SYLLABLES += ["fen", "gal", "hur", "is", "jo", "kel", "mor", "nix", "pa", "quin"]
PROVIDERS = ["gmail.com", "yahoo.com", "hotmail.com", "aol.com", "comcast.net"]
PLANTED = ("form", "moved", "typo", "home")
PLANT_SHARE = 0.01  # of the people, each planted once


@dataclass
class Row:
    person: int
    name: str
    address: str


def word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts))


def generate(people: int, rng: random.Random) -> tuple[list[Row], set[tuple[int, int]]]:
    # 5,000 first names and 150,000 family names, each of Zipf weights: the most common
    # family name held by 0.8 % of the people (Smith in the US), the most common first name
    # by 1.9 % (James, Mary: about 1.5 %).
    # Shuffled before the weights are given: the most common names share no spelling.
    firsts = _shuffled(rng, {word(rng, 3) for _ in range(9_000)}, 5_000)
    first_weights = list(accumulate(1 / (i + 8) for i in range(len(firsts))))
    families = _shuffled(rng, {word(rng, 5) for _ in range(200_000)}, 150_000)
    family_weights = list(accumulate(1 / (i + 16) for i in range(len(families))))
    companies = _shuffled(rng, {word(rng, 4) + ".com" for _ in range(9_000)}, 6_000)
    # The largest company holds 2.8 % of the people at firms.
    company_weights = list(accumulate(1 / (i + 5) for i in range(len(companies))))
    schemes = {c: rng.randrange(len(SCHEMES)) for c in companies}  # one address form a firm
    rows: list[Row] = []
    taken: set[str] = set()
    while len(rows) < people:
        first = rng.choices(firsts, cum_weights=first_weights)[0]
        family = rng.choices(families, cum_weights=family_weights)[0]
        if rng.random() < 0.8:
            domain = rng.choices(companies, cum_weights=company_weights)[0]
            local = SCHEMES[schemes[domain]](first, family)
        else:
            domain, local = rng.choice(PROVIDERS), f"{first}{family}{rng.randrange(100)}"
        address = _free(f"{local}@{domain}", taken)  # a firm numbers its namesakes
        taken.add(address)
        rows.append(Row(len(rows) + 1, f"{first.title()} {family.title()}", address))
    planted: set[tuple[int, int]] = set()
    for original in rng.sample(rows, int(people * PLANT_SHARE)):
        copy = _plant(rng, original, rng.choice(PLANTED))
        if copy is not None and copy.address not in taken:
            taken.add(copy.address)
            copy.person = len(rows) + 1
            rows.append(copy)
            planted.add((original.person, copy.person))
    return rows, planted


def _shuffled(rng: random.Random, words: set[str], count: int) -> list[str]:
    drawn = sorted(words)[:count]
    rng.shuffle(drawn)
    return drawn


SCHEMES = (
    lambda first, family: f"{first}.{family}",
    lambda first, family: f"{first[0]}{family}",
    lambda first, family: f"{first}_{family}",
)


def _free(address: str, taken: set[str]) -> str:
    local, _, domain = address.partition("@")
    number = 2
    while address in taken:
        address, number = f"{local}{number}@{domain}", number + 1
    return address


def _plant(rng: random.Random, original: Row, kind: str) -> Row | None:
    local, _, domain = original.address.partition("@")
    first, family = original.name.lower().split()
    if kind == "form":  # an alias in another of the usual forms
        other = f"{first[0]}{family}" if "." in local or "_" in local else f"{first}.{family}"
        return Row(0, original.name, f"{other}@{domain}")
    if kind == "moved":
        provider = rng.choice([p for p in PROVIDERS if p != domain])
        return Row(0, original.name, f"{local}@{provider}")
    if kind == "typo" and len(local) >= 7:
        at = rng.randrange(3, len(local))
        return Row(0, "", f"{local[:at]}{local[at + 1 :]}@{domain}")
    if kind == "home":
        return Row(0, original.name, f"{first}.{family}@{rng.choice(PROVIDERS)}")
    return None


def load(db: Database, rows: list[Row]) -> None:
    with db.transaction() as session:
        people = [{"id": r.person, "display_name": r.name} for r in rows]
        for start in range(0, len(people), 20_000):
            session.execute(insert(table_of(Person)), people[start : start + 20_000])
        addresses = [
            {"address": r.address, "domain": r.address.rsplit("@", 1)[1], "person_id": r.person}
            for r in rows
        ]
        for start in range(0, len(addresses), 20_000):
            session.execute(insert(table_of(EmailAddress)), addresses[start : start + 20_000])


def same_name_baseline(db: Database) -> tuple[float, dict[str, list[int]]]:
    """The usual CRM rule, in SQL: people of one full name (case aside) are one."""
    started = time.perf_counter()
    with db.transaction() as session:
        rows = session.execute(select(Person.id, Person.display_name)).tuples().all()
    groups: dict[str, list[int]] = defaultdict(list)
    for person, name in rows:
        if name:
            groups[name.lower()].append(person)
    return time.perf_counter() - started, {k: v for k, v in groups.items() if len(v) > 1}


def report(rows: list[Row], planted: set[tuple[int, int]], db: Database) -> None:
    kinds = Counter(_kind(rows, pair) for pair in planted)
    print(f"{len(rows):,} people, {len(planted):,} planted duplicates {dict(kinds)}")
    started = time.perf_counter()
    with db.transaction() as session:
        found = find_duplicates(session)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    with db.transaction() as session:
        find_duplicates(session)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    same = {(d.keep, d.drop) for d in found if d.tier == SAME}
    listed = {(d.keep, d.drop) for d in found} - same
    base_time, groups = same_name_baseline(db)
    name_of = {r.person: r.name.lower() for r in rows}
    base_pairs = sum(len(g) * (len(g) - 1) // 2 for g in groups.values())
    base_hits = {p for p in planted if name_of[p[0]] and name_of[p[0]] == name_of[p[1]]}
    print(
        f"\nfind: {elapsed:.1f} s, peak {peak / 2**20:.0f} MiB (tracemalloc);"
        f" same-name baseline {base_time:.2f} s ({elapsed / base_time:.0f}x)"
    )
    print(f"\n{'':<28}{'merged':>10}{'correct':>10}{'precision':>10}{'recall':>8}")
    ours = len(same & planted)
    print(
        f"{'ours (same tier)':<28}{len(same):>10,}{ours:>10,}{_ratio(ours, len(same)):>10}"
        f"{_ratio(ours, len(planted)):>8}"
    )
    print(
        f"{'same full name (baseline)':<28}{base_pairs:>10,}{len(base_hits):>10,}"
        f"{_ratio(len(base_hits), base_pairs):>10}{_ratio(len(base_hits), len(planted)):>8}"
    )
    print(f"\nlisted for review: {len(listed):,} pairs, {len(listed & planted):,} of them planted")
    print(f"{'kind':<8}{'planted':>9}{'merged':>9}{'listed':>9}")
    for kind in PLANTED:
        pairs = {p for p in planted if _kind(rows, p) == kind}
        print(f"{kind:<8}{len(pairs):>9,}{len(pairs & same):>9,}{len(pairs & listed):>9,}")


def _kind(rows: list[Row], pair: tuple[int, int]) -> str:
    original, copy = rows[pair[0] - 1], rows[pair[1] - 1]
    local, domain = copy.address.split("@")
    if not copy.name:
        return "typo"
    if domain == original.address.split("@")[1]:
        return "form"
    return "moved" if local == original.address.split("@")[0] else "home"


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    rows, planted = generate(args.people, rng)
    with tempfile.TemporaryDirectory(prefix="bench-duplicates-") as scratch:
        db = Database(f"sqlite:///{Path(scratch) / 'people.db'}")
        try:
            db.upgrade()
            load(db, rows)
            print(f"generated and loaded in {time.perf_counter() - started:.0f} s")
            report(rows, planted, db)
        finally:
            db.dispose()


if __name__ == "__main__":
    main()

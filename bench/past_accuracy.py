"""How exactly ``?at=`` takes a store back to an earlier moment, on real mail (Enron).

The custodians' mail is imported twice into scratch SQLite stores: every dated message, and
only those dated up to the moment. Each pair of the earlier store is then compared with the
same pair of the whole store taken back to the moment from its row alone
(``relationships.past.as_of``): its counters, its last contact and its score from each side.
The graph of the past moment (``build_past``, NumPy) is compared with the graph of the earlier
store (``build``) edge by edge, and timed against it. People are matched across the stores by
their SMTP addresses; a pair whose people the two stores resolved differently (an alias or an
Exchange name learned only from later mail) is counted apart, not compared.

    python bench/past_accuracy.py [--data ../shared/data/enron] [--at 2001-06-01]
                                  [--custodians 75] [--firm-domain enron.com]
"""

from __future__ import annotations

import argparse
import mailbox
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from relationships.graph import Graph, build, build_past  # noqa: E402
from relationships.past import as_of  # noqa: E402
from relationships.recent import KEEP  # noqa: E402
from relationships.settings import load_weights  # noqa: E402
from relationships.strength import stored_score  # noqa: E402
from relationships.ties import PairRow, side_sums  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import EmailAddress, Relationship  # noqa: E402
from sync.importer import import_paths  # noqa: E402

SHARED = Path(os.environ.get("RAPPORT_SHARED_DATA", ROOT.parent / "shared" / "data"))
EXACT = 0.05  # score points: a pair within this is "the same score"

Names = dict[int, str]  # person id -> their smallest SMTP address


def dated(message: mailbox.mboxMessage) -> datetime | None:
    try:
        at = parsedate_to_datetime(str(message["Date"]))
    except (TypeError, ValueError, IndexError):
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def copy_mail(source: Path, target: Path, until: datetime | None) -> tuple[int, int]:
    """Every custodian folder's dated messages (up to ``until``) into ``target``; (written,
    undated)."""
    written = undated = 0
    for folder in sorted(p for p in source.iterdir() if p.suffix == ".mbox"):
        out = mailbox.mbox(target / folder.name)
        out.lock()
        for message in mailbox.mbox(folder):
            at = dated(message)
            if at is None:
                undated += 1
            elif until is None or at <= until:
                out.add(message)
                written += 1
        out.flush()
        out.unlock()
    return written, undated


def stores(work: Path, copies: dict[str, list[Path]], firm: str) -> tuple[Database, Database, int]:
    """The whole and the earlier store, one mailbox per custodian; the earlier copy takes its
    owner from the whole one (it may hold no sent mail to tell by). A custodian whose mail
    names no owner (an empty or unreadable export) is skipped, named on stderr and counted."""
    whole, earlier = (
        Database(f"sqlite:///{work / 'whole.db'}"),
        Database(f"sqlite:///{work / 'earlier.db'}"),
    )
    whole.upgrade()
    earlier.upgrade()
    config = {"RAPPORT_FIRM_DOMAINS": firm}
    skipped = 0
    for all_mail, early_mail in zip(copies["whole"], copies["earlier"], strict=True):
        try:
            [result] = import_paths(whole, config, [[all_mail]], quiet=True)
        except ValueError as error:
            print(f"skipped custodian {all_mail.name}: {error}", file=sys.stderr)
            skipped += 1
            continue
        import_paths(earlier, config, [[early_mail]], mailbox=result.mailbox, quiet=True)
    return whole, earlier, skipped


def addresses(session: Session) -> dict[int, set[str]]:
    """Each person's SMTP addresses."""
    rows = session.execute(
        select(EmailAddress.person_id, EmailAddress.address).where(EmailAddress.kind == "smtp")
    )
    found: dict[int, set[str]] = {}
    for person, address in rows:
        found.setdefault(person, set()).add(address)
    return found


def matched(whole: Session, earlier: Session) -> tuple[Names, Names]:
    """A name for each person of both stores: the whole store's person's smallest address.
    An earlier person is the whole store's person holding all its addresses; people the whole
    store merged (an alias, an Exchange name learned from later mail) have no name."""
    in_whole = addresses(whole)
    owner = {address: person for person, held in in_whole.items() for address in held}
    w_names = {person: min(held) for person, held in in_whole.items()}
    e_names: Names = {}
    for person, held in addresses(earlier).items():
        targets = {owner.get(address) for address in held}
        if len(targets) == 1 and None not in targets:
            e_names[person] = w_names[targets.pop()]  # type: ignore[index]
    taken = Counter(e_names.values())
    return w_names, {person: name for person, name in e_names.items() if taken[name] == 1}


def keyed(rows: Iterable[PairRow], people: Names) -> dict[tuple[str, str], PairRow]:
    """Rows by their two people's names, in name order (ids order them differently in each
    store)."""
    found = {}
    for r in rows:
        if r.a_id in people and r.b_id in people:
            one, other = sorted((people[r.a_id], people[r.b_id]))
            found[(one, other)] = r
    return found


def side(row: PairRow, people: Names, address: str) -> int:
    return row.a_id if people[row.a_id] == address else row.b_id


def percentiles(values: list[float]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return f"p50 {at(0.5):.2f}  p95 {at(0.95):.2f}  p99 {at(0.99):.2f}  max {ordered[-1]:.2f}"


def edges(graph: Graph, people: Names) -> dict[tuple[str, str], float]:
    found = {}
    for node in range(len(graph.indptr) - 1):
        ids, strengths = graph.neighbours(node)
        for other, strength in zip(ids.tolist(), strengths.tolist(), strict=True):
            if node < other and node in people and other in people:
                key = tuple(sorted((people[node], people[other])))
                found[(key[0], key[1])] = 100 * strength
    return found


def main() -> None:
    args = _arguments()
    moment = datetime.fromisoformat(args.at).replace(tzinfo=UTC)
    folders = sorted(p for p in (args.data / "mbox").iterdir() if p.is_dir())[: args.custodians]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        written = {"whole": 0, "earlier": 0}
        undated = 0
        copies: dict[str, list[Path]] = {"whole": [], "earlier": []}
        for folder in folders:
            for which, until in (("whole", None), ("earlier", moment)):
                target = work / which / folder.name
                target.mkdir(parents=True)
                count, skipped = copy_mail(folder, target, until)
                written[which] += count
                undated += skipped if which == "whole" else 0
                copies[which].append(target)
        whole, earlier, skipped = stores(work, copies, args.firm_domain)
        print(
            f"moment {moment.date()}, {len(folders) - skipped} custodians"
            f"{f' ({skipped} skipped)' if skipped else ''}: {written['whole']:,} dated"
            f" messages in the whole store, {written['earlier']:,} up to the moment in the"
            f" earlier one ({undated} undated left out of both)"
        )
        compare(whole, earlier, moment)
        whole.dispose()
        earlier.dispose()


def compare(whole: Database, earlier: Database, moment: datetime) -> None:
    with whole.read_sessions() as w, earlier.read_sessions() as e:
        weights = load_weights(w)
        w_names, e_names = matched(w, e)
        later_only = 0  # pairs whose people the whole store resolved differently
        w_rows = keyed(w.scalars(select(Relationship)), w_names)
        every = list(e.scalars(select(Relationship)))
        e_rows = keyed(every, e_names)
        later_only += len(every) - len(e_rows)  # a person the whole store merged with another
        compared = exact = counts_off = last_off = 0
        errors: dict[bool, list[float]] = {False: [], True: []}  # by busy after the moment
        for key, truth in e_rows.items():
            row = w_rows.get(key)
            if row is None:
                later_only += 1  # its people resolve differently in the whole store
                continue
            then = as_of(row, moment, weights)
            if then is None:
                later_only += 1
                continue
            compared += 1
            same = True
            flipped = (w_names[then.a_id] == key[0]) != (e_names[truth.a_id] == key[0])
            mine = (then.email_ba, then.email_ab) if flipped else (then.email_ab, then.email_ba)
            stored = (row.email_ba, row.email_ab) if flipped else (row.email_ab, row.email_ba)
            # Busy: KEEP or more events of a kind after the moment, so the kept ones no longer
            # reach back to it and what came between is estimated.
            busy = any(
                n - t >= KEEP
                for n, t in zip(
                    (*stored, row.meetings),
                    (truth.email_ab, truth.email_ba, truth.meetings),
                    strict=True,
                )
            )
            for address in key:
                me_then, me_truth = side(then, w_names, address), side(truth, e_names, address)
                got = stored_score(side_sums(then, me_then), moment, weights)
                want = stored_score(side_sums(truth, me_truth), moment, weights)
                errors[busy].append(abs(got - want))
                same &= abs(got - want) <= EXACT
            if (*mine, then.meetings) != (truth.email_ab, truth.email_ba, truth.meetings):
                counts_off += 1
                same = False
            if abs((then.last_at - truth.last_at).total_seconds()) >= 60:
                last_off += 1
                same = False
            exact += same
        print(
            f"pairs of the earlier store: {len(every):,}; compared {compared:,};"
            f" people resolved differently by later mail: {later_only:,}"
        )
        print(
            f"taken back exactly (counters, last contact to the minute, both scores within"
            f" {EXACT}): {exact:,} ({exact / max(compared, 1):.1%}); counters off {counts_off:,},"
            f" last contact off {last_off:,}"
        )
        for busy, label in ((False, "fewer than"), (True, "at least")):
            print(
                f"score error, points, both sides of the {len(errors[busy]) // 2:,} pairs with"
                f" {label} {KEEP} events of a kind after the moment: {percentiles(errors[busy])}"
            )
        started = time.perf_counter()
        past = build_past(w, moment)
        past_seconds = time.perf_counter() - started
        started = time.perf_counter()
        truth_graph = build(e, moment)
        truth_seconds = time.perf_counter() - started
        got_edges, want_edges = edges(past, w_names), edges(truth_graph, e_names)
        shared = got_edges.keys() & want_edges.keys()
        gaps = [abs(got_edges[k] - want_edges[k]) for k in shared]
        only_past = len(got_edges.keys() - want_edges.keys())
        only_truth = len(want_edges.keys() - got_edges.keys())
        print(
            f"graph of the moment: {len(shared):,} edges in both, {only_past:,} only taken back,"
            f" {only_truth:,} only in the earlier store; strength error, points:"
            f" {percentiles(gaps)}"
        )
        print(
            f"build_past of the whole store {past_seconds:.2f} s against build of the earlier"
            f" store {truth_seconds:.2f} s ({past_seconds / truth_seconds:.2f}x)"
        )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED / "enron")
    parser.add_argument("--at", default="2001-06-01")
    parser.add_argument("--custodians", type=int, default=75)
    parser.add_argument("--firm-domain", default="enron.com")
    return parser.parse_args()


if __name__ == "__main__":
    main()

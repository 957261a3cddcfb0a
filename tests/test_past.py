"""``relationships.past``: a pair's row as it stood at an earlier moment, against the row
ingest would have built from the mail up to that moment, and ``?at=`` through the API: mail
after the moment changes nothing at it."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.tokens import issue_dev_token
from relationships.aggregates import PairDeltas
from relationships.graph import past_blocks
from relationships.pair_rows import Pair
from relationships.past import as_of, past_block
from relationships.recent import KEEP, loads
from relationships.strength import DEFAULT, EPOCH
from relationships.ties import tie
from storage.db import Database
from storage.models import Person, Relationship
from sync.items import Folder, FolderKind, MailItem, Response
from tests.factories import CALENDAR, SENT, T0, email, meeting
from tests.test_engine import ALICE, BOB, CLIENT, mailbox, person_of, run

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ME, OTHER = 1, 2
SUMS = ("ab_warm", "ab_history", "ba_warm", "ba_history", "mtg_warm", "mtg_history")
EXACT = ("email_ab", "email_ba", "meetings", "first_at", "last_at", "last_ab_at", "last_ba_at")

Events = list[tuple[datetime, str, int]]  # when, "out" | "in" | "mtg", addressees or attendees


def stored(events: Events) -> Pair:
    """The row ingest builds from ``events``."""
    deltas = PairDeltas()
    for at, kind, size in events:
        others = list(range(100, 100 + size - 1))
        if kind == "mtg":
            deltas.add_meeting([ME, OTHER, *others], at)
        else:
            sender, recipient = (ME, OTHER) if kind == "out" else (OTHER, ME)
            deltas.add_email(sender, [(recipient, "to"), *((p, "cc") for p in others)], at)
    row: dict[str, Any] = next(r for r in deltas.rows() if (r["a_id"], r["b_id"]) == (ME, OTHER))
    return Pair(**{name: row[name] for name in Pair.__slots__})


def random_events(rng: random.Random, count: int) -> Events:
    return [
        (
            NOW - timedelta(minutes=rng.randrange(800 * 1440)),  # kept events: to the minute
            rng.choice(("out", "in", "mtg")),
            rng.choice((1, 1, 2, 5, 30)),  # 30: over the audience limits, no event at all
        )
        for _ in range(count)
    ]


@pytest.mark.parametrize("seed", range(30))
def test_a_row_taken_back_equals_the_row_of_the_mail_up_to_then(seed: int) -> None:
    """Exact while each class's kept events reach back to the moment: every counter, time (to
    the minute, as events are kept), sum and kept event the same as a row built from the
    earlier mail alone."""
    rng = random.Random(seed)
    events = random_events(rng, rng.randrange(2, 40))
    whole = stored(events)
    for days in (0.5, 30, 200, 500):
        moment = NOW - timedelta(days=days)
        earlier = [e for e in events if e[0] <= moment]
        then = as_of(whole, moment, DEFAULT)
        later = [e for e in events if e[0] > moment and e[2] < 20]
        if not any(e[2] < 20 for e in earlier):
            assert then is None or then.email_ab + then.email_ba + then.meetings == 0
            continue
        assert then is not None
        if any(sum(1 for e in later if e[1] == k) >= KEEP for k in ("out", "in", "mtg")):
            continue  # a busy class: estimated (next test)
        expected = stored(earlier)
        for name in EXACT:
            assert getattr(then, name) == getattr(expected, name), (name, days)
        # Kept weights are rounded to 1/1000. A class whose list holds it whole is summed
        # from the list; a full one (older events dropped) loses its later events from the
        # stored sums, where that rounding is multiplied by their growth: within 1.5 points.
        full = any(len(loads(getattr(whole, f"recent_{c}"))) >= KEEP for c in ("ab", "ba", "mtg"))
        for name in SUMS:
            slack = (1e-2 if full else 2e-3) * getattr(whole, name) + 1e-9
            assert getattr(then, name) == pytest.approx(getattr(expected, name), abs=slack)
        for cls in ("ab", "ba", "mtg"):
            got = loads(getattr(then, f"recent_{cls}"))
            want = loads(getattr(expected, f"recent_{cls}"))
            assert [e.minute for e in got] == [e.minute for e in want][-len(got) :]
        score, want_score = tie(then, ME, moment).score, tie(expected, ME, moment).score
        assert score == pytest.approx(want_score, abs=1.5 if full else 0.1)


def test_a_busy_pair_is_taken_back_at_its_own_pace() -> None:
    """Both ways every three days for two years: the kept events cover a month, the months
    after the moment are estimated at the kept events' pace: close to the exact row."""
    steady: Events = [
        (NOW - timedelta(days=d), k, 1) for d in range(1, 730, 3) for k in ("out", "in")
    ]
    moment = NOW - timedelta(days=200)
    then = as_of(stored(steady), moment, DEFAULT)
    expected = stored([e for e in steady if e[0] <= moment])
    assert then is not None
    assert then.email_ab == pytest.approx(expected.email_ab, abs=2)
    assert then.email_ba == pytest.approx(expected.email_ba, abs=2)
    assert tie(then, ME, moment).score == pytest.approx(tie(expected, ME, moment).score, abs=1.0)
    assert abs((then.last_at - expected.last_at).days) <= 3  # half a gap before the moment


def test_a_pair_met_after_the_moment_did_not_exist_then_and_an_idle_one_is_unchanged() -> None:
    row = stored([(NOW - timedelta(days=10), "out", 1)])
    assert as_of(row, NOW - timedelta(days=11), DEFAULT) is None
    assert as_of(row, NOW - timedelta(days=9), DEFAULT) is row


# -- ?at= through the API: mail after the moment changes nothing at it ----------------------


def thread_with_the_client(start: datetime, days: range) -> dict[Folder, list[MailItem]]:
    """Alice and the client writing each other in turn, one 1:1 email a day."""
    mail = [
        email(
            ALICE if d % 2 else CLIENT, [CLIENT if d % 2 else ALICE], at=start + timedelta(days=d)
        )
        for d in days
    ]
    batch = start.isoformat()  # a folder of its own per batch: a synced one has a cursor
    return {
        Folder(f"Sent Items {batch}", FolderKind.SENT): [m for m in mail if _by(m, ALICE)],
        Folder(f"Inbox {batch}", FolderKind.INBOX): [m for m in mail if not _by(m, ALICE)],
    }


def _by(item: MailItem, address: str) -> bool:
    return item.sender is not None and item.sender.email == address


def test_mail_after_the_moment_changes_no_answer_for_it(
    db: Database, app: Flask, client: FlaskClient
) -> None:
    """Every ``?at=`` answer (connectors, the caller's own strength, company coverage, paths)
    taken before later mail arrived is the same after it arrived, to the last count and
    reply time, while fewer than ``KEEP`` emails of a kind came after the moment: the pairs
    read as they stood then, in the graph and in the listed rows. The live answers move."""
    alice, bob = mailbox(db, ALICE), mailbox(db, BOB)
    run(db, alice, thread_with_the_client(T0, range(0, 12)))
    run(db, bob, {SENT: [email(BOB, [ALICE], at=T0 + timedelta(days=1))]})
    with db.transaction() as session:
        them = person_of(session, CLIENT)
        company = session.get_one(Person, them).company_id
    moment = T0 + timedelta(days=40)
    at = quote(moment.isoformat())
    urls = [
        f"/api/v1/people/{them}/connectors?at={at}",
        f"/api/v1/people/{them}/strength?at={at}",
        f"/api/v1/companies/{company}/coverage?at={at}",
        f"/api/v1/paths?to={them}&at={at}",
    ]
    as_alice = {"Authorization": f"Bearer {issue_dev_token(app.config, ALICE)}"}
    as_bob = {"Authorization": f"Bearer {issue_dev_token(app.config, BOB)}"}

    def answers() -> list[Any]:
        found = [client.get(url, headers=as_alice) for url in urls]
        found.append(client.get(urls[-1], headers=as_bob))  # Bob's path runs through Alice
        assert all(r.status_code == 200 for r in found), [r.get_json() for r in found]
        return [r.get_json() for r in found]

    def live() -> list[Any]:
        now = [f"/api/v1/people/{them}/connectors", f"/api/v1/people/{them}/strength"]
        return [client.get(url, headers=as_alice).get_json() for url in now]

    before, live_before = answers(), live()
    assert before[0]["total"] == 1 and len(before[4]["paths"]) == 1  # Bob, through Alice
    # Later: the thread goes on past the moment (8 emails), Bob meets the client.
    run(db, alice, thread_with_the_client(moment + timedelta(hours=1), range(0, 8)))
    met = meeting(BOB, {CLIENT: Response.ACCEPTED}, at=moment + timedelta(days=5))
    run(db, bob, {CALENDAR: [met]})

    assert answers() == before
    assert live() != live_before

    # Busier still: more than KEEP emails each way after the moment. The kept events no
    # longer reach back to it; what was dropped is estimated at the kept events' pace, and
    # what cannot be (reply times then) is left out rather than guessed.
    run(db, alice, thread_with_the_client(moment + timedelta(days=9), range(0, 30)))
    busy = answers()
    then, now = before[0]["connectors"][0], busy[0]["connectors"][0]
    assert busy[0]["total"] == 1
    # The last contact then is no longer kept: taken at the later pace, after a quiet spell
    # it reads later than it was (never after the moment).
    assert then["last_contact"] <= now["last_contact"] <= moment.isoformat()
    # ... and it says so: an estimate, to the minute, "about" in words; the exact one not.
    assert now["last_contact_estimated"] and not then["last_contact_estimated"]
    assert datetime.fromisoformat(now["last_contact"]).second == 0
    assert now["explanation"]["estimated"]["last_contact"]
    assert "; last contact about " in now["explanation"]["summary"]
    assert "; last contact about " not in then["explanation"]["summary"]
    hop = busy[4]["paths"][0]["hops"][-1]  # Bob -> Alice -> the client: Alice's side
    assert hop["last_contact_estimated"] and hop["last_contact"] == now["last_contact"]
    assert busy[1]["last_contact_estimated"]  # Alice's own strength
    best = busy[2]["best_connector"]
    assert best["last_contact_estimated"] and best["last_contact"] == now["last_contact"]
    # The later months' sums are estimated as a run at the kept events' pace: a pair that
    # turned busy after the moment reads cooler then than it was (as the trend's estimate
    # reads it warmer now, docs/strength.md).
    assert now["score"] == pytest.approx(then["score"], abs=10.0)
    told, was = now["explanation"], then["explanation"]
    assert abs(told["emails_sent"] - was["emails_sent"]) <= 1
    assert abs(told["emails_received"] - was["emails_received"]) <= 1
    assert was["typical_reply_hours"]["colleague"] == 24.0
    assert told["typical_reply_hours"]["colleague"] in (None, 24.0)


def days(at: datetime | None) -> float:
    return math.nan if at is None else (at - EPOCH).total_seconds() / 86400


def graph_tuple(row: Pair) -> tuple[Any, ...]:
    """A row as the past graph reads it (relationships.graph.PAST_SQL)."""
    return (
        row.a_id,
        row.b_id,
        *(getattr(row, name) for name in SUMS),
        days(row.last_ab_at),
        days(row.last_ba_at),
        row.email_ab,
        row.email_ba,
        row.meetings,
        days(row.last_at),
        row.recent_ab,
        row.recent_ba,
        row.recent_mtg,
        days(row.first_at),
    )


@pytest.mark.parametrize("seed", range(20))
def test_the_past_graph_takes_many_rows_back_as_one_row_is(seed: int) -> None:
    """``past_block`` (arrays, for a graph of a million pairs) against `as_of` row by row:
    whole lists, full ones that reach back, busy ones, lists cut short, a damaged list."""
    rng = random.Random(seed)
    rows = [stored(random_events(rng, rng.randrange(1, 70))) for _ in range(30)]
    rows.append(
        stored([(NOW - timedelta(days=d), k, 1) for d in range(1, 400, 2) for k in ("out", "in")])
    )
    twice = NOW - timedelta(days=rng.choice((20, 60, 200)))  # twins kept once
    first, last = NOW - timedelta(days=300), NOW - timedelta(days=5)
    rows.append(stored([(first, "in", 1), (twice, "out", 1), (twice, "out", 1), (last, "in", 1)]))
    damaged = stored(random_events(rng, 30))
    damaged.recent_ab = "[12,"
    rows.append(damaged)
    moment = NOW - timedelta(days=rng.choice((1, 45, 120, 400)))
    rows = [r for r in rows if r.first_at <= moment < r.last_at]
    if not rows:
        return
    block = past_block([graph_tuple(r) for r in rows], moment, DEFAULT)
    for row, got in zip(rows, block, strict=True):
        then = as_of(row, moment, DEFAULT)
        assert then is not None
        want = [
            *(getattr(then, name) for name in SUMS),
            days(then.last_ab_at),
            days(then.last_ba_at),
            then.email_ab,
            then.email_ba,
            then.meetings,
            days(then.last_at),
        ]
        # Taking the later events off a growth-form sum cancels most of it: the order of the
        # additions (NumPy's against Python's) shows at 1e-15 of the stored sum.
        slack = [1e-12 * getattr(row, name) for name in SUMS] + [0.0] * 6
        assert all(
            abs(g - w) <= a + 1e-9 * abs(w) or (math.isnan(g) and math.isnan(w))
            for g, w, a in zip(got[2:], want, slack, strict=True)
        ), (got[2:], want)


def test_two_emails_of_one_minute_kept_once_do_not_make_a_list_read_whole() -> None:
    """Two emails of the same minute and weight pack to one kept value, so a short list can
    miss an event; the counter tells. Taken back, the row keeps both (the stored sums hold
    them), as the trend of the stored row does."""
    twice = NOW - timedelta(days=100)
    events: Events = [(twice, "out", 1), (twice, "out", 1), (NOW - timedelta(days=10), "out", 1)]
    whole = stored(events)
    assert whole.email_ab == 3 and len(loads(whole.recent_ab)) == 2
    moment = NOW - timedelta(days=50)
    then = as_of(whole, moment, DEFAULT)
    expected = stored(events[:2])
    assert then is not None and then.email_ab == 2
    assert then.ab_warm == pytest.approx(expected.ab_warm, rel=1e-9)
    assert then.ab_history == pytest.approx(expected.ab_history, rel=1e-9)
    assert tie(then, ME, moment).score == pytest.approx(tie(expected, ME, moment).score, abs=0.05)
    # The stored row's trend: 90 days ago both emails were there, not one.
    now_tie, replay = tie(whole, ME, NOW), tie(stored(events[:2]), ME, NOW - timedelta(days=90))
    assert now_tie.score - now_tie.trend == pytest.approx(replay.score, abs=0.1)


def test_no_newest_event_reads_before_the_first_contact() -> None:
    """The first contact keeps its second, kept events their minute: a reply within the first
    contact's minute, with mail after the moment, read as received 27 s before the first
    contact (Enron, Jackie Gallagher and Linda Noske)."""
    first = NOW - timedelta(days=30, seconds=-27)
    events: Events = [(first, "in", 1), (NOW - timedelta(days=1), "in", 1)]
    then = as_of(stored(events), NOW - timedelta(days=10), DEFAULT)
    assert then is not None and then.email_ba == 1
    assert then.first_at == first and then.last_ba_at == first and then.last_at == first


def test_twins_after_the_moment_are_not_counted_before_it() -> None:
    """Twins kept once after the moment: the rest of the sums is theirs, dated after it, so
    nothing is added to the past (it was, before the twins were dated)."""
    first, twice = NOW - timedelta(days=300), NOW - timedelta(days=20)
    events: Events = [(first, "in", 1), (twice, "out", 1), (twice, "out", 1)]
    moment = NOW - timedelta(days=45)
    then = as_of(stored(events), moment, DEFAULT)
    expected = stored(events[:1])
    assert then is not None and (then.email_ab, then.email_ba) == (0, 1)
    assert then.ab_history == pytest.approx(0.0, abs=1e-6 * stored(events).ab_history)
    assert tie(then, ME, moment).score == pytest.approx(tie(expected, ME, moment).score, abs=0.05)


def test_the_database_sends_each_row_as_the_past_graph_reads_it(db: Database) -> None:
    """The past graph's query on the real database (``graph.past_blocks``): PostgreSQL sends
    each newest-event list as ``KEEP`` numbers over binary COPY, SQLite as the stored text;
    either way each row comes back as `past_block` takes the stored row back, with lists
    damaged, empty, spaced or longer than ``KEEP`` among them."""
    rng = random.Random(5)
    # Each row ends with an email today, so that no row is empty (too wide an audience).
    rows = [stored([*random_events(rng, rng.randrange(1, 70)), (NOW, "in", 1)]) for _ in range(60)]
    busy = [(NOW - timedelta(days=d), "out", 1) for d in range(1, 60, 3)]
    rows += [stored(busy) for _ in range(5)]
    values = json.loads(rows[-1].recent_ab or "")
    rows[-5].recent_ab = "[12,"  # damaged: read as empty
    rows[-4].recent_ab = "not a list"
    rows[-3].recent_ab = "[]"
    rows[-2].recent_ab = "[ " + " , ".join(map(str, values)) + " ]"
    rows[-1].recent_ab = json.dumps([*values, values[-1] - 1, values[-1] - 2])  # newest first
    with db.transaction() as session:
        session.add_all(Person(id=i, display_name=f"P{i}") for i in range(1, 2 * len(rows) + 1))
        session.flush()
        for i, row in enumerate(rows):
            fields = {name: getattr(row, name) for name in Pair.__slots__}
            session.add(Relationship(**{**fields, "a_id": 2 * i + 1, "b_id": 2 * i + 2}))
    moment = NOW - timedelta(days=45)
    with db.read_sessions() as session:
        blocks = list(past_blocks(session, moment, DEFAULT))
        found = {(int(r[0]), int(r[1])): r for block in blocks for r in block}
    keys = [(2 * i + 1, 2 * i + 2) for i in range(len(rows))]
    later = [(key, row) for key, row in zip(keys, rows, strict=True) if row.first_at <= moment]
    later = [(key, row) for key, row in later if row.last_at > moment]
    assert found.keys() == {key for key, _ in later} and len(found) > 20
    expected = past_block([(*key, *graph_tuple(row)[2:]) for key, row in later], moment, DEFAULT)
    for (key, _), want in zip(later, expected, strict=True):
        got = found[key]
        assert all(
            abs(g - w) <= 1e-9 * max(1.0, abs(w)) or (math.isnan(g) and math.isnan(w))
            for g, w in zip(got, want, strict=True)
        ), (key, got, want)

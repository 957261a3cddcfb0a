"""The newest events of a pair: packing, the order-free merge, reply times, recent counts and the
past score, each against expectations worked out by hand or by replaying the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from relationships import recent
from relationships.aggregates import PairDeltas
from relationships.explain import details, evidence, reply_words, summary
from relationships.past import as_of
from relationships.recent import (
    KEEP,
    Count,
    Recent,
    RecentEvent,
    count_since,
    loads,
    minute_of,
    newest_before,
    newest_then,
    pack,
    unpack,
)
from relationships.strength import DEFAULT, Event, score
from relationships.ties import past_sums, side_recent, side_sums, tenths, tie
from storage.models import Relationship

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ME, OTHER = 1, 2


def hours_ago(n: float) -> datetime:
    return NOW - timedelta(hours=n)


def test_packing_keeps_time_to_the_minute_weight_to_a_thousandth_and_sorts_by_time() -> None:
    event = unpack(pack(NOW, 0.4472))
    assert event.at == NOW and event.weight == pytest.approx(0.447)
    assert pack(hours_ago(1), 3.0) < pack(NOW, 0.0)  # time first, whatever the weight
    old = unpack(pack(datetime(1999, 6, 1, tzinfo=UTC), 1.0))  # before the epoch
    assert old.at == datetime(1999, 6, 1, tzinfo=UTC) and old.weight == 1.0


def test_merging_keeps_the_newest_whatever_the_order() -> None:
    values = [pack(hours_ago(h), 1.0) for h in range(25)]
    inbox_first = recent.newest(recent.newest(values[10:]) + recent.newest(values[:10]))
    sent_first = recent.newest(recent.newest(values[:10]) + recent.newest(values[10:]))
    assert inbox_first == sent_first == recent.newest(values) == values[:KEEP]


def event(at: datetime) -> RecentEvent:
    return RecentEvent(minute_of(at), 1.0)


def thread(*steps: tuple[float, bool]) -> Recent:
    """Events (hours ago, sent by me?) as a pair's newest events, oldest first."""
    ordered = sorted(steps, key=lambda s: -s[0])
    sent = [event(hours_ago(h)) for h, mine in ordered if mine]
    received = [event(hours_ago(h)) for h, mine in ordered if not mine]
    return Recent(sent, received, [])


def test_reply_times_by_hand() -> None:
    # They write 100 h ago, I answer 2 h later; they answer me 30 h later; I write twice more
    # (only the first answers); they answer after 20 days: too late, a new exchange.
    events = thread((100, False), (98, True), (68, False), (60, True), (50, True), (-380, False))
    mine, theirs = events.reply_hours()
    assert mine == [2.0, 8.0] and theirs == [30.0]
    assert events.typical_reply_hours() == (5.0, 30.0)
    assert events.flipped().typical_reply_hours() == (30.0, 5.0)
    assert reply_words(0.5) == "within an hour" and reply_words(5.0) == "within a day"
    assert reply_words(30.0) == "within three days" and reply_words(300) == "within two weeks"


def test_reply_times_only_where_both_directions_are_complete() -> None:
    # A full list of mine reaching back 10 h: their message 50 h ago and my answer to it are
    # outside what is known for sure (older messages of mine may have been dropped).
    mine = [(h, True) for h in range(1, KEEP + 1)]
    events = thread((50, False), (49, True), *mine)
    assert events.reply_hours() == ([], [])


def test_recent_counts_are_exact_until_the_list_is_full() -> None:
    events = [event(hours_ago(24 * d)) for d in (200, 80, 10, 1)]
    assert count_since(events, NOW - timedelta(days=90)) == recent.Count(3, exact=True)
    full = [event(hours_ago(h)) for h in range(KEEP, 0, -1)]
    assert count_since(full, NOW - timedelta(days=90)) == recent.Count(KEEP, exact=False)


def stored_pair(events: list[tuple[datetime, str]]) -> Relationship:
    """A pair row built the way ingest builds it: (when, "out" from ME | "in" | "mtg")."""
    deltas = PairDeltas()
    for at, kind in events:
        if kind == "mtg":
            deltas.add_meeting([ME, OTHER], at)
        else:
            sender, recipient = (ME, OTHER) if kind == "out" else (OTHER, ME)
            deltas.add_email(sender, [(recipient, "to")], at)
    (row,) = deltas.rows()
    return Relationship(**row)


def replayed(events: list[tuple[datetime, str]], at: datetime) -> float:
    return score([Event(t, k, 2 if k == "mtg" else 1) for t, k in events if t <= at], at)


def test_trend_equals_a_replay_of_the_events_ninety_days_earlier() -> None:
    events = [(NOW - timedelta(days=d), "out" if d % 2 else "in") for d in (150, 120, 95, 40, 5)]
    events.append((NOW - timedelta(days=20), "mtg"))
    seen = tie(stored_pair(events), ME, NOW)
    then = NOW - timedelta(days=90)
    assert seen.score == pytest.approx(replayed(events, NOW), abs=0.05)
    assert seen.trend == pytest.approx(replayed(events, NOW) - replayed(events, then), abs=0.1)
    assert seen.trend > 0  # warming: three contacts in the last 90 days


def test_trend_of_a_busy_pair_is_estimated_from_its_pace() -> None:
    # Steady for a year, both ways every three days: the lists hold the last month only, the
    # dropped months are estimated at the lists' pace, close to the replay (about 0).
    steady = [(NOW - timedelta(days=d), k) for d in range(1, 366, 3) for k in ("out", "in")]
    seen = tie(stored_pair(steady), ME, NOW)
    expected = replayed(steady, NOW) - replayed(steady, NOW - timedelta(days=90))
    assert abs(expected) < 1 and seen.trend == pytest.approx(expected, abs=1.0)
    # Busy only since two months, after a quiet year: warming; the estimate understates the
    # past (it cannot tell when the busy spell began) but not the direction.
    burst = [(NOW - timedelta(days=d), k) for d in range(1, 61, 2) for k in ("out", "in")]
    burst += [(NOW - timedelta(days=d), "out") for d in (300, 200, 150)]
    seen = tie(stored_pair(burst), ME, NOW)
    expected = replayed(burst, NOW) - replayed(burst, NOW - timedelta(days=90))
    assert expected > 80 and expected <= seen.trend <= expected + 10


def test_newest_message_before_a_moment_from_the_kept_events() -> None:
    then = NOW - timedelta(days=90)
    sent = [event(NOW - timedelta(days=d)) for d in (120, 100, 30, 2)]
    newest = sent[-1].at
    # The kept list reaches back past the moment: exact, the kept event before it.
    assert newest_before(sent, newest, then, earlier=1.0) == NOW - timedelta(days=100)
    # Nothing sent since the moment: the stored newest message is the one.
    assert newest_before(sent[:2], sent[1].at, then, earlier=1.0) == sent[1].at
    # The list holds every message (not full) and all are later: none was sent by then.
    assert newest_before(sent[2:], newest, then, earlier=0.0) is None
    # Full and all later (busy): half the list's mean gap before the moment when the past
    # sum shows earlier mail (every 3 days: 1.5 days before), else none.
    busy = [event(NOW - timedelta(days=3 * k)) for k in range(KEEP, 0, -1)]
    assert newest_before(busy, busy[-1].at, then, earlier=0.5) == then - timedelta(days=1.5)
    # ... which `newest_then` says is an estimate, to the minute (never the microseconds of
    # a mean gap); what the list tells is not.
    odd = then + timedelta(seconds=50)
    assert newest_then(busy, busy[-1].at, odd, earlier=0.5) == (
        then - timedelta(days=1.5),
        True,
    )
    assert newest_then(sent, newest, then, earlier=1.0) == (NOW - timedelta(days=100), False)
    assert newest_before(busy, busy[-1].at, then, earlier=0.001) is None
    assert newest_before([], None, then, earlier=0.0) is None


def test_the_trend_reads_the_follow_up_as_it_was_then() -> None:
    # Alice wrote 100 and 95 days ago, then once 2 days ago. Then (90 days ago) her newest
    # message was 5 days old, now it is 2: the replay at both moments, follow-up included.
    events = [(NOW - timedelta(days=d), "out") for d in (100, 95, 2)]
    events.append((NOW - timedelta(days=97), "in"))
    seen = tie(stored_pair(events), ME, NOW)
    then = NOW - timedelta(days=90)
    assert seen.trend == pytest.approx(replayed(events, NOW) - replayed(events, then), abs=0.1)
    row = stored_pair(events)
    sums, recent = side_sums(row, ME), side_recent(row, ME)
    past = past_sums(sums, recent, then, DEFAULT, row.first_at, clock=None)
    assert past.sent_at == NOW - timedelta(days=95)  # to the minute the list keeps
    assert past.received_at == NOW - timedelta(days=97)
    assert past.newest == NOW - timedelta(days=95)  # the pair's newest event then


def test_explanation_in_words_without_anything_but_counts_dates_and_names() -> None:
    events = [
        (NOW - timedelta(days=300), "out"),
        (NOW - timedelta(days=10, hours=5), "in"),
        (NOW - timedelta(days=10, hours=3), "out"),  # answered in 2 hours
        (NOW - timedelta(days=2), "out"),
        (NOW - timedelta(days=1), "in"),  # answered in a day
    ]
    seen = tie(stored_pair(events), ME, NOW)
    text = summary(seen, "Alice", "Jane")
    assert text.startswith("Alice wrote to Jane 3 times; Jane wrote to Alice twice since")
    assert "In the last 90 days: 2 emails from Alice, 2 emails from Jane." in text
    assert "Jane usually replies within a day" not in text  # one answer is not a habit
    assert "Jane replied once, within a day; Alice replied once, within a few hours." in text
    assert evidence(seen, "Alice", "Jane") == (
        "Email both ways: 2 emails from Alice and 2 emails from Jane in the last 90 days."
    )
    mine = details(seen, "You", "Jane")
    assert mine["summary"].startswith("You wrote to Jane 3 times; Jane wrote to you twice")
    assert mine["typical_reply_hours"] == {"colleague": 2.0, "person": 24.0}
    assert mine["last_90_days"] == {
        "emails_sent": 2,
        "emails_received": 2,
        "meetings": 0,
        "exact": True,
    }


def test_counts_over_two_years_exact_from_the_counters_or_the_newest_events() -> None:
    def days_ago(*days: int, kind: str = "out") -> list[tuple[datetime, str]]:
        return [(NOW - timedelta(days=d), kind) for d in days]

    # First contact three years ago: the 2-year counts come from the newest events, which
    # reach back past two years, so they are exact (2 of 4 sent, 1 received, 1 meeting).
    old = days_ago(1100, 800, 300, 10) + days_ago(20, kind="in") + days_ago(400, kind="mtg")
    seen = tie(stored_pair(old), ME, NOW)
    assert "In the last 2 years: 2 emails from Alice, 1 email from Jane, 1 meeting." in (
        summary(seen, "Alice", "Jane")
    )
    assert details(seen, "You", "Jane")["last_2_years"] == {
        "emails_sent": 2,
        "emails_received": 1,
        "meetings": 1,
        "exact": True,
    }
    # Twelve emails within the year and one three years ago: ten are kept, all within two
    # years, so the count is a lower bound, said so.
    busy = days_ago(1100, *range(5, 365, 30))
    assert "In the last 2 years: at least 10 emails from Alice." in summary(
        tie(stored_pair(busy), ME, NOW), "Alice", "Jane"
    )
    # Nothing for three years: one sentence says so, not one for 90 days and one for 2 years.
    quiet = tie(stored_pair(days_ago(1200, 1100) + days_ago(1150, kind="in")), ME, NOW)
    assert summary(quiet, "Alice", "Jane").endswith(
        "since July 2023; last contact 28 October 2023. Nothing in the last 2 years."
    )
    # Everything within two years: the all-time counts say it, no second sentence, and the
    # numbers are the counters' even beyond the ten kept events.
    recent_only = days_ago(*range(5, 365, 30))
    seen = tie(stored_pair(recent_only), ME, NOW)
    assert "last 2 years" not in summary(seen, "Alice", "Jane")
    assert details(seen, "You", "Jane")["last_2_years"]["emails_sent"] == 12
    assert details(seen, "You", "Jane")["last_2_years"]["exact"] is True


def test_the_strongest_evidence_names_the_part_that_weighs_most() -> None:
    meetings = [(NOW - timedelta(days=d), "mtg") for d in (3, 30)]
    assert evidence(tie(stored_pair(meetings), ME, NOW), "Alice", "Jane") == (
        "Meetings together: 2 meetings in the last 90 days."
    )
    written = [(NOW - timedelta(days=d), "out") for d in (400, 500)]
    assert evidence(tie(stored_pair(written), ME, NOW), "Alice", "Jane") == (
        f"Direct email from Alice to Jane: 2 emails since {(NOW - timedelta(days=500)):%B %Y}."
    )
    received = tie(stored_pair(written), OTHER, NOW)  # the same pair seen from Jane
    assert evidence(received, "Jane", "Alice").startswith("Email from Alice to Jane: 2 emails")
    assert received.score < tie(stored_pair(written), ME, NOW).score  # received weighs less
    assert DEFAULT.inbound < 1


def test_a_pair_first_met_within_ninety_days_counts_from_its_counters_and_trends_from_zero() -> (
    None
):
    """Busy since its first contact 60 days ago (more events than the list keeps): the
    90-day counts are the counters, exact, not "at least 10"; 90 days ago the pair did not
    exist, so its trend is its whole score, not an estimate of a past it never had."""
    busy = [(NOW - timedelta(days=d), k) for d in range(1, 61, 2) for k in ("out", "in")]
    seen = tie(stored_pair(busy), ME, NOW)
    assert details(seen, "You", "Jane")["last_90_days"] == {
        "emails_sent": 30,
        "emails_received": 30,
        "meetings": 0,
        "exact": True,
    }
    assert seen.trend == seen.score


def test_evidence_cites_the_last_90_days_only_when_the_part_it_names_has_mail_there() -> None:
    """Both ways, but only Jane wrote in the last 90 days: the evidence counts since the
    first contact, not "2 emails from Alice ... 0 emails from ..." in the last 90 days."""
    events = [(NOW - timedelta(days=d), "out") for d in (400, 300, 200, 150)]
    events += [(NOW - timedelta(days=d), "in") for d in (390, 290, 190, 10)]
    seen = tie(stored_pair(events), ME, NOW)
    assert seen.strongest == "mutual" and seen.recent_sent == Count(0, exact=True)
    since = f"since {(NOW - timedelta(days=400)):%B %Y}"
    assert evidence(seen, "Alice", "Jane") == (
        f"Email both ways: 4 emails from Alice and 4 emails from Jane {since}."
    )


def test_a_pair_taken_back_says_which_counts_it_cannot_tell() -> None:
    """Alice wrote every 3 days for a year, and twelve times in the last 20 days: the ten
    kept emails are all after a moment 30 days back. Taken back to it, her count over the 90
    days before is unknown: said so, never "at least 0 emails"; Jane's three are exact, and
    the evidence counts since the first contact."""
    alice = [(NOW - timedelta(days=d), "out") for d in range(400, 40, -3)]
    alice += [(NOW - timedelta(days=d, hours=1), "out") for d in range(1, 13)]
    jane = [(NOW - timedelta(days=d), "in") for d in (100, 60, 45)]
    moment = NOW - timedelta(days=30)
    then = as_of(stored_pair(alice + jane), moment, DEFAULT)
    assert then is not None and not loads(then.recent_ab)  # nothing kept before the moment
    seen = tie(then, ME, moment)
    assert seen.recent_sent == Count(0, exact=False)
    text = summary(seen, "Alice", "Jane")
    assert "In the last 90 days: an unknown number of emails from Alice, 3 emails from Jane." in (
        text
    )
    assert "at least 0" not in text and "at least 0" not in evidence(seen, "Alice", "Jane")
    assert evidence(seen, "Alice", "Jane").endswith(f"since {alice[0][0]:%B %Y}.")
    assert details(seen, "You", "Jane")["last_90_days"]["exact"] is False


def test_a_trend_that_rounds_to_nothing_is_zero_not_minus_zero() -> None:
    assert str(tenths(-0.04)) == "0.0" and tenths(-0.06) == -0.1 and tenths(12.34) == 12.3


def test_a_counter_estimated_for_a_pair_taken_back_reads_about_not_at_least() -> None:
    """First met 80 days ago, Alice wrote every 2 days: 15 emails after a moment 30 days
    back, more than the list keeps, so the counter then is an estimate. It reads "about",
    in the head, the 90 days and the evidence, never "at least" (it may be more or less)."""
    alice = [(NOW - timedelta(days=d), "out") for d in range(80, 0, -2)]
    moment = NOW - timedelta(days=30)
    then = as_of(stored_pair(alice), moment, DEFAULT)
    assert then is not None
    seen = tie(then, ME, moment)
    assert seen.counted == (False, True, True)
    text, why = summary(seen, "Alice", "Jane"), evidence(seen, "Alice", "Jane")
    assert text.startswith(f"Alice wrote to Jane about {seen.sent} times since")
    assert f"In the last 90 days: about {seen.sent} emails from Alice." in text
    assert why.startswith(f"Direct email from Alice to Jane: about {seen.sent} emails")
    assert "at least" not in text + why
    assert abs(seen.sent - 25) <= 3  # 25 emails up to the moment

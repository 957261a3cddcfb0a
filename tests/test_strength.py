"""Relationship strength: expectations computed by hand from the formula in
relationships/strength.py (decayed sums, 2^(-age/H), rate * ln2 / H, 100 * (1 - e^(-r/r0)))."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from relationships.strength import (
    DEFAULT,
    Counts,
    Event,
    StoredSums,
    counts_of,
    days_since_sent,
    decayed_sums,
    follow_up_rate,
    growth,
    quiet_factor,
    quiet_gap,
    rate,
    score,
    score_from_rate,
    scores_now,
    stored_score,
    tier,
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def test_one_email_today_by_hand() -> None:
    # One To email, one addressee, sent now: A_out(60) = A_out(730) = 1, and it is the newest
    # message sent (follow-up at age 0).
    # rate = 0.6 * ln2/60 + 0.4 * ln2/730 + 0.1 * ln2/30
    #      = 0.0069315 + 0.0003798 + 0.0023105 = 0.0096218 per day;
    # score = 100 * (1 - exp(-0.0096218 * 14)) = 12.60.
    sent = [Event(NOW, "out", 1)]
    sums = decayed_sums(sent, NOW)
    value = rate(
        sums, sent_days=0.0, received_days=None, counts=counts_of(sent, NOW), quiet_days=None
    )
    assert value == pytest.approx(0.0096218, rel=1e-4)
    assert score(sent, NOW) == pytest.approx(12.60, abs=0.01)


def test_the_follow_up_on_the_persons_newest_email_by_hand() -> None:
    # One email received 15 days ago, To, one addressee, seen from the colleague:
    # 0.5 * (0.6 * ln2/60 * 2^(-15/60) + 0.4 * ln2/730 * 2^(-15/730)) = 0.0031015
    # plus 0.1 * ln2/30 * 2^(-15/30) = 0.0016338: 0.0047353 per day, 6.41 points.
    received = [Event(days_ago(15), "in", 1)]
    assert days_since_sent(received, NOW, "in") == pytest.approx(15.0)
    assert score(received, NOW) == pytest.approx(6.41, abs=0.01)
    without = score(received, NOW, DEFAULT.without("follow-up-received"))
    assert without == pytest.approx(100 * (1 - math.exp(-0.0031015 * 14)), abs=0.01)


def test_follow_up_by_hand() -> None:
    # 0.1 * ln2 / 30 = 0.0023105 events per day for a message sent now, half that 30 days
    # later, a quarter 60 days later; nothing when the colleague never wrote.
    assert follow_up_rate(0.0) == pytest.approx(0.0023105, rel=1e-4)
    assert follow_up_rate(30.0) == pytest.approx(0.0011552, rel=1e-4)
    assert follow_up_rate(60.0) == pytest.approx(0.0005776, rel=1e-4)
    assert follow_up_rate(None) == 0.0
    assert follow_up_rate(-2.0) == follow_up_rate(0.0)  # a clock ahead: counts as just sent
    assert follow_up_rate(0.0, DEFAULT.without("follow-up")) == 0.0


def test_the_follow_up_reads_only_the_newest_message_the_colleague_sent() -> None:
    events = [
        Event(days_ago(40), "out", 1),
        Event(days_ago(30), "out", 3, "cc"),  # any role counts: the newest sent
        Event(days_ago(20), "out", 21),  # too many addressees: not a message to the person
        Event(days_ago(10), "in", 1),
        Event(days_ago(5), "mtg", 2),
        Event(NOW + timedelta(days=1), "out", 1),  # after the moment scored
    ]
    assert days_since_sent(events, NOW) == pytest.approx(30.0)
    assert days_since_sent([e for e in events if e.cls != "out"], NOW) is None
    # Its whole effect on the score: 0.0011552 events per day more, nothing else changes.
    without = score(events, NOW, DEFAULT.without("follow-up"))
    r_without = -math.log(1 - without / 100) / 14
    assert score(events, NOW) == pytest.approx(
        100 * (1 - math.exp(-(r_without + 0.0011552) * 14)), abs=0.001
    )


def test_stored_and_vectorised_scores_equal_the_replay_with_the_follow_up() -> None:
    # Sent 45 and 12 days ago, received 3 days ago; the sums as ingest stores them (growth
    # form), each side's newest message in days since the epoch, as the graph reads it.
    sent, received = [days_ago(45), days_ago(12)], [days_ago(3)]
    events = [Event(t, "out", 1) for t in sent] + [Event(t, "in", 1) for t in received]
    h = DEFAULT.half_lives
    ab = (sum(growth(t, h[0]) for t in sent), sum(growth(t, h[1]) for t in sent))
    ba = (sum(growth(t, h[0]) for t in received), sum(growth(t, h[1]) for t in received))
    counts = Counts(2, 1, 0)
    mine = StoredSums(ab, ba, (0.0, 0.0), sent[-1], received[-1], counts)
    theirs = StoredSums(ba, ab, (0.0, 0.0), received[-1], sent[-1], counts.flipped())
    assert stored_score(mine, NOW) == pytest.approx(score(events, NOW), abs=1e-9)
    epoch_days = [(t - datetime(2000, 1, 1, tzinfo=UTC)).total_seconds() / 86400 for t in sent]
    row = np.array([[*ab, *ba, 0.0, 0.0, epoch_days[-1], np.nan, 2, 1, 0]])
    mine = StoredSums(ab, ba, (0.0, 0.0), sent[-1], None, counts)  # as the row says: b never wrote
    assert scores_now(row, NOW, DEFAULT)[0] == pytest.approx(stored_score(mine, NOW), abs=1e-9)
    b_side = scores_now(row, NOW, DEFAULT, from_a=np.array([False]))[0]
    # Seen from b, who never wrote a message the graph knows of (NaN): no follow-up term.
    unknown = StoredSums(ba, ab, (0.0, 0.0), None, sent[-1], counts.flipped())
    assert b_side == pytest.approx(stored_score(unknown, NOW))
    assert b_side < stored_score(theirs, NOW)


def test_decay_halves_each_half_life() -> None:
    sums = decayed_sums([Event(days_ago(60), "in", 1)], NOW)
    assert sums[("in", 60.0)] == pytest.approx(0.5)
    assert sums[("in", 730.0)] == pytest.approx(2 ** (-60 / 730))
    assert score([Event(days_ago(30), "in", 1)], NOW) > score([Event(days_ago(300), "in", 1)], NOW)


def test_two_way_one_to_one_beats_unanswered_mass_mail_of_the_same_volume() -> None:
    # Six emails over two months, below saturation.
    dialogue = [Event(days_ago(10 * d), "out" if d % 2 else "in", 1) for d in range(1, 7)]
    mass_mail = [Event(days_ago(10 * d), "out", 18) for d in range(1, 7)]  # 18 addressees each
    # 43.1 against 11.9: the follow-up term reads the newest message sent whatever its
    # audience up to 20 addressees (2.3 of the 11.9 points; 4.3 times as strong without it).
    assert score(dialogue, NOW) > 3.5 * score(mass_mail, NOW)
    one_way = [Event(days_ago(10 * d), "out", 1) for d in range(1, 7)]
    assert score(dialogue, NOW) > score(one_way, NOW)  # reciprocity is rewarded, not required
    assert score(one_way, NOW) > 0


def test_a_forty_person_meeting_counts_far_less_than_a_one_to_one() -> None:
    assert score([Event(days_ago(5), "mtg", 40)], NOW) == 0.0  # above 25 attendees: a town hall
    big = score([Event(days_ago(5), "mtg", 20)], NOW)
    one_to_one = score([Event(days_ago(5), "mtg", 2)], NOW)
    assert one_to_one > 3 * big > 0  # 3 / sqrt(19) against 3 / sqrt(1), before saturation


def test_a_recent_thread_beats_an_old_one_of_the_same_size() -> None:
    def thread(start: float) -> list[Event]:
        return [Event(days_ago(start + i), "out" if i % 2 else "in", 1) for i in range(6)]

    assert score(thread(10), NOW) > 2 * score(thread(400), NOW)


def test_cc_counts_less_than_to() -> None:
    # (The follow-up term on the person's newest email is unweighted: left out here.)
    weights = DEFAULT.without("follow-up-received")
    to = score([Event(days_ago(3), "in", 2, "to")], NOW, weights)
    cc = score([Event(days_ago(3), "in", 2, "cc")], NOW, weights)
    assert cc == pytest.approx(to * 0.4, rel=0.05)  # nearly linear below saturation


def test_future_events_and_huge_emails_add_nothing() -> None:
    assert score([Event(NOW + timedelta(days=1), "out", 1)], NOW) == 0.0
    assert score([Event(days_ago(1), "out", 21)], NOW) == 0.0


def test_tiers() -> None:
    """By score; below 10, dormant only without contact in the last 90 days."""
    old = days_ago(91)
    assert [tier(v, old, NOW) for v in (75, 45, 15, 5)] == ["strong", "medium", "weak", "dormant"]
    assert tier(5, days_ago(89), NOW) == "weak"  # a new tie, not one gone quiet
    assert tier(0, None, NOW) == "none"
    assert DEFAULT.without("reciprocity").reciprocity == 0


def test_mail_the_colleague_writes_counts_more_than_mail_received() -> None:
    # Seen from the colleague: mail received adds half the rate of the same mail written
    # (inbound 0.5); a two-way exchange beats one-way mail of the same volume from either side
    # (3 + 0.5 * 3 + 1.0 * 3 = 7.5 against 6 and 3).
    written = [Event(days_ago(d), "out", 1) for d in (3, 10, 20)]
    received = [Event(days_ago(d), "in", 1) for d in (3, 10, 20)]
    # (The follow-up term, the written side's newest message, is left out of both.)
    # Two emails received, so the unanswered factor (3 or more) does not apply either.
    received = received[:2]
    written = written[:2]
    # (The follow-up terms are left out of both.)
    rate_received = rate(
        decayed_sums(received, NOW),
        sent_days=None,
        received_days=None,
        counts=Counts(0, 2, 0),
        quiet_days=None,
    )
    rate_written = rate(
        decayed_sums(written, NOW),
        sent_days=None,
        received_days=None,
        counts=Counts(2, 0, 0),
        quiet_days=None,
    )
    assert rate_received == pytest.approx(rate_written * 0.5)
    both = [Event(days_ago(d), c, 1) for d in (3, 10, 20) for c in ("out", "in")]
    six_written = written + [Event(days_ago(d + 1), "out", 1) for d in (3, 10, 20)]
    assert score(both, NOW) > score(six_written, NOW) > score(received + received, NOW)


def test_mail_never_answered_counts_a_tenth_by_hand() -> None:
    # Three To emails from the person, 10, 20 and 30 days ago, never answered, no meeting:
    # A_in(60) = 2^(-1/6) + 2^(-1/3) + 2^(-1/2) = 0.89090 + 0.79370 + 0.70711 = 2.39171,
    # A_in(730) = 2^(-10/730) + 2^(-20/730) + 2^(-30/730) = 2.94431;
    # rate = 0.5 * (0.6 * ln2/60 * 2.39171 + 0.4 * ln2/730 * 2.94431) = 0.0088480 per day,
    # plus the person's newest email 10 days ago, 0.1 * ln2/30 * 2^(-1/3) = 0.0018338:
    # 0.0106819; a tenth of it unanswered: 0.00106819;
    # score = 100 * (1 - exp(-0.00106819 * 14)) = 1.48 (13.89 without the factor).
    received = [Event(days_ago(d), "in", 1) for d in (10, 20, 30)]
    assert counts_of(received, NOW) == Counts(0, 3, 0)
    assert score(received, NOW) == pytest.approx(1.48, abs=0.01)
    assert score(received, NOW, DEFAULT.without("unanswered")) == pytest.approx(13.89, abs=0.01)
    # Two emails are not yet "unanswered"; one reply, or one meeting, lifts the factor.
    assert score(received[:2], NOW) > 5 * score(received, NOW)
    answered = [*received, Event(days_ago(400), "out", 1)]
    assert score(answered, NOW) > 9 * score(received, NOW)
    met = [*received, Event(days_ago(400), "mtg", 2)]
    assert score(met, NOW) > 9 * score(received, NOW)
    # A reply to a group of 21 is no reply to the person (no counter), as ingest counts it.
    assert counts_of([*received, Event(days_ago(1), "out", 21)], NOW) == Counts(0, 3, 0)
    # Seen from the person, who wrote and was never answered: nothing is damped.
    flipped = [Event(e.at, "out", 1) for e in received]
    assert score(flipped, NOW) > score(received, NOW, DEFAULT.without("unanswered"))


def test_the_vectorised_score_applies_the_unanswered_factor_from_either_side() -> None:
    at = [days_ago(d) for d in (10, 20, 30)]
    h = DEFAULT.half_lives
    ba = (sum(growth(t, h[0]) for t in at), sum(growth(t, h[1]) for t in at))
    epoch_days = (at[0] - datetime(2000, 1, 1, tzinfo=UTC)).total_seconds() / 86400
    row = np.array([[0.0, 0.0, *ba, 0.0, 0.0, np.nan, epoch_days, 0, 3, 0]])
    a_side = StoredSums((0.0, 0.0), ba, (0.0, 0.0), None, at[0], Counts(0, 3, 0))
    b_side = StoredSums(ba, (0.0, 0.0), (0.0, 0.0), at[0], None, Counts(3, 0, 0))
    assert scores_now(row, NOW, DEFAULT)[0] == pytest.approx(stored_score(a_side, NOW))
    assert stored_score(a_side, NOW) == pytest.approx(1.48, abs=0.01)
    from_b = scores_now(row, NOW, DEFAULT, from_a=np.array([False]))[0]
    assert from_b == pytest.approx(stored_score(b_side, NOW))
    assert from_b > 10 * stored_score(a_side, NOW)


def test_a_pair_silent_long_before_the_colleagues_own_newest_email_counts_less() -> None:
    # One To email sent 400 days ago; the colleague's newest email to anyone was 100 days
    # ago, so the pair fell silent 300 days before it:
    # factor = 0.4 + 0.6 / (1 + e^((300 - 150) / 15)) = 0.4 + 0.6 / (1 + e^10) = 0.400027.
    sent = [Event(days_ago(400), "out", 1)]
    clock = days_ago(100)
    assert quiet_factor(300.0) == pytest.approx(0.400027, abs=1e-6)
    assert quiet_factor(150.0) == pytest.approx(0.7)  # halfway at `quiet_after`
    assert quiet_factor(0.0) == pytest.approx(1.0, abs=1e-4)
    assert quiet_factor(-30.0) == pytest.approx(1.0, abs=1e-4)  # mail after the clock
    assert quiet_factor(1e9) == pytest.approx(0.4)  # no overflow
    assert quiet_factor(None) == 1.0  # not a colleague's side: no clock
    free = score(sent, NOW)
    r_free = -math.log(1 - free / 100) / 14
    assert score(sent, NOW, clock=clock) == pytest.approx(
        100 * (1 - math.exp(-r_free * 0.400027 * 14)), abs=1e-4
    )
    # The clock is the colleague's, not the calendar's: a mailbox idle since the pair's
    # last email (clock = that email) damps nothing, however old.
    assert score(sent, NOW, clock=days_ago(400)) == pytest.approx(free, abs=1e-3)
    # A clock later than the moment scored reads as the moment (``quiet_gap``).
    assert quiet_gap(days_ago(400), NOW + timedelta(days=50), NOW) == pytest.approx(400.0)
    assert score(sent, NOW, DEFAULT.without("quiet"), clock=clock) == pytest.approx(free)


def test_a_tie_silent_for_a_century_still_scores_above_zero() -> None:
    """1 - exp(-x) is 0 below x = 1.1e-16, and a tie scored 0 leaves the graph (connectors,
    coverage and paths forget it); the score keeps it, however small."""
    tiny = 1e-18 * DEFAULT.r0_per_day
    assert score_from_rate(tiny) == pytest.approx(1e-16, rel=1e-9)

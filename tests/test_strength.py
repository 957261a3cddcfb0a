"""Relationship strength: expectations computed by hand from the formula in
relationships/strength.py (decayed sums, 2^(-age/H), rate * ln2 / H, 100 * (1 - e^(-r/r0)))."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from relationships.strength import DEFAULT, Event, decayed_sums, rate, score, tier

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def test_one_email_today_by_hand() -> None:
    # One To email, one addressee, sent now: A_out(60) = A_out(730) = 1.
    # rate = 0.6 * ln2/60 + 0.4 * ln2/730; score = 100 * (1 - exp(-rate * 14)).
    expected_rate = 0.6 * math.log(2) / 60 + 0.4 * math.log(2) / 730
    assert rate(decayed_sums([Event(NOW, "out", 1)], NOW)) == pytest.approx(expected_rate)
    assert score([Event(NOW, "out", 1)], NOW) == pytest.approx(
        100 * (1 - math.exp(-expected_rate * 14))
    )


def test_decay_halves_each_half_life() -> None:
    sums = decayed_sums([Event(days_ago(60), "in", 1)], NOW)
    assert sums[("in", 60.0)] == pytest.approx(0.5)
    assert sums[("in", 730.0)] == pytest.approx(2 ** (-60 / 730))
    assert score([Event(days_ago(30), "in", 1)], NOW) > score([Event(days_ago(300), "in", 1)], NOW)


def test_two_way_one_to_one_beats_unanswered_mass_mail_of_the_same_volume() -> None:
    # Six emails over two months, below saturation.
    dialogue = [Event(days_ago(10 * d), "out" if d % 2 else "in", 1) for d in range(1, 7)]
    mass_mail = [Event(days_ago(10 * d), "out", 18) for d in range(1, 7)]  # 18 addressees each
    assert score(dialogue, NOW) > 4 * score(mass_mail, NOW)
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
    to = score([Event(days_ago(3), "in", 2, "to")], NOW)
    cc = score([Event(days_ago(3), "in", 2, "cc")], NOW)
    assert cc == pytest.approx(to * 0.4, rel=0.05)  # nearly linear below saturation


def test_future_events_and_huge_emails_add_nothing() -> None:
    assert score([Event(NOW + timedelta(days=1), "out", 1)], NOW) == 0.0
    assert score([Event(days_ago(1), "out", 21)], NOW) == 0.0


def test_tiers() -> None:
    assert [tier(v, True) for v in (75, 45, 15, 5)] == ["strong", "medium", "weak", "dormant"]
    assert tier(0, False) == "none"
    assert DEFAULT.without("reciprocity").reciprocity == 0


def test_mail_the_colleague_writes_counts_more_than_mail_received() -> None:
    # Seen from the colleague: mail received adds half the rate of the same mail written
    # (inbound 0.5); a two-way exchange beats one-way mail of the same volume from either side
    # (3 + 0.5 * 3 + 1.0 * 3 = 7.5 against 6 and 3).
    written = [Event(days_ago(d), "out", 1) for d in (3, 10, 20)]
    received = [Event(days_ago(d), "in", 1) for d in (3, 10, 20)]
    rate_received = rate(decayed_sums(received, NOW))
    assert rate_received == pytest.approx(rate(decayed_sums(written, NOW)) * 0.5)
    both = [Event(days_ago(d), c, 1) for d in (3, 10, 20) for c in ("out", "in")]
    six_written = written + [Event(days_ago(d + 1), "out", 1) for d in (3, 10, 20)]
    assert score(both, NOW) > score(six_written, NOW) > score(received + received, NOW)

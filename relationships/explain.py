"""A tie in words a partner understands: counts and dates, reply times, the strongest evidence.

Only numbers, dates and the two people's names go into these sentences: never a subject, a
body or anything else from anyone's mail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from relationships.recent import Count
from relationships.ties import Tie

# (upper bound in hours, words): the typical reply time, rounded up to what a person says.
REPLY_WORDS = (
    (1.0, "within an hour"),
    (4.0, "within a few hours"),
    (24.0, "within a day"),
    (72.0, "within three days"),
    (168.0, "within a week"),
)


def summary(t: Tie, me: str, other: str) -> str:
    """Counts by kind and direction, since when, the last contact, the last 90 days, the last
    2 years (when the first contact is older) and the reply times, in a few short sentences.
    ``me`` may be "you"."""
    parts = []
    sent, received, met = (not counted for counted in t.counted)  # estimated: "about"
    if t.sent:
        parts.append(f"{me} wrote to {other} {times(t.sent, about=sent)}")
    if t.received:
        parts.append(f"{other} wrote to {me} {times(t.received, about=received)}")
    if t.meetings:
        parts.append(f"they met {times(t.meetings, about=met)}")
    head = f"{'; '.join(parts) or 'no direct contact'} since {month(t.first_at)}"
    last = f"{'about ' if t.estimated[2] else ''}{day(t.last_at)}"  # a busy pair taken back
    sentences = [f"{head}; last contact {last}."]
    earlier = years(t, me, other)
    if not (earlier and _nothing(_years(t))):  # nothing in 2 years: nothing in 90 days either
        sentences.append(recent(t, me, other))
    if earlier:
        sentences.append(earlier)
    replies = reply_time(t, me, other)
    if replies:
        sentences.append(replies)
    return " ".join(_capitalized(s) for s in sentences)


def recent(t: Tie, me: str, other: str) -> str:
    counts = (t.recent_sent, t.recent_received, t.recent_meetings)
    return _window("the last 90 days", counts, me, other)


def years(t: Tie, me: str, other: str) -> str | None:
    """The last 2 years, or ``None`` when they hold everything (the all-time counts say it)."""
    counts = _years(t)
    if tuple(c.value for c in counts) == _all(t):
        return None  # a lower bound that reaches the all-time count is that count
    return _window("the last 2 years", counts, me, other)


def _years(t: Tie) -> tuple[Count, Count, Count]:
    return (t.years_sent, t.years_received, t.years_meetings)


def _nothing(counts: tuple[Count, Count, Count]) -> bool:
    """A window known to hold nothing (not one whose counts are unknown)."""
    return all(not c.value and (c.exact or c.about) for c in counts)


def _window(span: str, counts: tuple[Count, Count, Count], me: str, other: str) -> str:
    """What a window holds. A count its kept events cannot tell at all (none of them that
    far back, as in a pair taken back to an earlier moment) is said to be unknown, not "at
    least 0"."""
    sent, received, meetings = counts
    said = []
    for count, who in ((sent, me), (received, other)):
        if count.value:
            said.append(f"{count_words(count, 'email')} from {who}")
        elif not count.exact and not count.about:
            said.append(f"an unknown number of emails from {who}")
    if meetings.value:
        said.append(count_words(meetings, "meeting"))
    elif not meetings.exact and not meetings.about:
        said.append("an unknown number of meetings")
    if not said:  # `_nothing`
        return f"Nothing in {span}."
    return f"In {span}: {', '.join(said)}."


def reply_time(t: Tie, me: str, other: str) -> str | None:
    """How fast each side typically answers the other; ``None`` before any answer was seen."""
    said = []
    sides = ((t.reply_hours[1], t.replies[1], other), (t.reply_hours[0], t.replies[0], me))
    for hours, count, who in sides:
        if hours is None:
            continue
        if count == 1:
            said.append(f"{who} replied once, {reply_words(hours)}")
        else:
            verb = "reply" if who == "you" else "replies"
            said.append(f"{who} usually {verb} {reply_words(hours)}")
    return _capitalized("; ".join(said) + ".") if said else None


def evidence(t: Tie, me: str, other: str) -> str:
    """The strongest evidence: the part of the score that weighs most, with its numbers: in
    the last 90 days when every count it names has events there, else since the first
    contact (never "both ways: 0 emails from ...")."""
    named = {
        "mutual": (t.recent_sent, t.recent_received),
        "out": (t.recent_sent,),
        "in": (t.recent_received,),
        "mtg": (t.recent_meetings,),
    }.get(t.strongest, ())
    recently = bool(named) and all(count.value for count in named)
    window = "in the last 90 days" if recently else f"since {month(t.first_at)}"
    every = [Count(n, exact=c, about=not c) for n, c in zip(_all(t), t.counted, strict=True)]
    sent = t.recent_sent if recently else every[0]
    received = t.recent_received if recently else every[1]
    meetings = t.recent_meetings if recently else every[2]
    if t.strongest == "mutual":
        said = f"email both ways: {count_words(sent, 'email')} from {me}"
        said += f" and {count_words(received, 'email')} from {other} {window}."
    elif t.strongest == "out":
        said = f"direct email from {me} to {other}: {count_words(sent, 'email')} {window}."
    elif t.strongest == "in":
        said = f"email from {other} to {me}: {count_words(received, 'email')} {window}."
    elif t.strongest == "mtg":
        said = f"meetings together: {count_words(meetings, 'meeting')} {window}."
    else:
        said = "only group mail or large meetings, which do not count towards strength."
    if t.quiet_days is not None:
        months = max(1, round(t.quiet_days / 30.4))
        span = "a month" if months == 1 else f"{months} months"
        quiet = f"kept writing to others for {span} after the last contact with {other}"
        said += f" {_subject(me)} {quiet}: this counts for less."
    if t.unanswered:
        reply = f"never wrote back to {other} and there was no meeting"
        said += f" {_subject(me)} {reply}: this counts little toward strength."
    return _capitalized(said)


def _subject(name: str) -> str:
    """A name opening a sentence: "You" for "you"; a name stays as written (an address)."""
    return "You" if name == "you" else name


def _capitalized(sentence: str) -> str:
    """The sentence with a capital first letter, unless it starts with an address (a person
    without a name is named by their address, which is not ours to change)."""
    if "@" in sentence.split(" ", 1)[0]:
        return sentence
    return sentence[:1].upper() + sentence[1:]


def reply_words(hours: float) -> str:
    for bound, words in REPLY_WORDS:
        if hours <= bound:
            return words
    return "within two weeks"


def count_words(count: Count, noun: str) -> str:
    plural = noun if count.value == 1 else f"{noun}s"
    if count.exact:
        return f"{count.value} {plural}"
    return f"about {count.value} {plural}" if count.about else f"at least {count.value} {plural}"


def times(n: int, *, about: bool = False) -> str:
    if about:
        return "about once" if n == 1 else f"about {n} times"
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def _all(t: Tie) -> tuple[int, int, int]:
    return t.sent, t.received, t.meetings


def month(at: datetime) -> str:
    return at.strftime("%B %Y")


def day(at: datetime) -> str:
    return f"{at.day} {at:%B %Y}"


def details(t: Tie, me: str, other: str) -> dict[str, Any]:
    """The explanation as the API returns it: sentences, then the numbers behind them. A
    ``me`` of "You" (the caller's own tie) reads "you" inside sentences."""
    me = "you" if me == "You" else me
    return {
        "summary": summary(t, me, other),
        "evidence": evidence(t, me, other),
        "reply_time": reply_time(t, me, other),
        "emails_sent": t.sent,
        "emails_received": t.received,
        "meetings": t.meetings,
        "last_90_days": _counts(t.recent_sent, t.recent_received, t.recent_meetings),
        "last_2_years": _counts(t.years_sent, t.years_received, t.years_meetings),
        "typical_reply_hours": {
            "colleague": _hours(t.reply_hours[0]),
            "person": _hours(t.reply_hours[1]),
        },
        "first_contact": _iso(t.first_at),
        "last_sent": _iso(t.last_sent_at),
        "last_received": _iso(t.last_received_at),
        # True for a date estimated at the pair's pace (a busy pair taken back, ``?at=``)
        "estimated": {
            "last_sent": t.estimated[0],
            "last_received": t.estimated[1],
            "last_contact": t.estimated[2],
        },
        "unanswered": t.unanswered,
        "quiet_days": None if t.quiet_days is None else round(t.quiet_days),
    }


def _counts(sent: Count, received: Count, meetings: Count) -> dict[str, int | bool]:
    return {
        "emails_sent": sent.value,
        "emails_received": received.value,
        "meetings": meetings.value,
        "exact": sent.exact and received.exact and meetings.exact,
    }


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()

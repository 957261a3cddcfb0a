"""The fast reading of address lists must agree with the standard library wherever it answers.

``sync.normalize.addresses`` reads the common shapes of an address list itself (the standard
library's ``getaddresses`` takes milliseconds on the long distribution lists of Exchange
exports) and hands anything unusual to ``getaddresses``.
"""

from __future__ import annotations

import random
from email.utils import getaddresses

import pytest

from sync.normalize.addresses import _simple_entries

NAMES = [
    "",
    "John",
    "John  Smith",
    '"Smith, John"',
    '"J"',
    'Dr."Who"',
    '""',
    '"x" y',
    "Zoë Ügur",
    "=?utf-8?q?Zo=C3=AB?=",
    '"a\tb"',
    "x.y",
    "O'Neil",
    '"a@b"',
    '"<x>"',
    "a@b",
    'a"b"c',
]
ADDRESSES = [
    "a@b.com",
    ".joanna@enron.com",
    "k..allen@enron.com",
    "/O=ENRON/OU=NA/CN=RECIPIENTS/CN=PALLEN",
    "a@b@c",
    "a.@b",
    "x",
    "",
    "a @b",
    "user+tag@x.co.uk",
    "ü@x.de",
]
FORMS = ["{n} <{a}>", "{n}<{a}>", "<{a}>", "{a}", " {a} ", "{n} < {a} >", "{n}\t<{a}>"]
SEPARATORS = [",", ", ", " ,", ",\t"]


def _random_list(rng: random.Random) -> str:
    entries = [
        rng.choice(FORMS).format(n=rng.choice(NAMES), a=rng.choice(ADDRESSES))
        for _ in range(rng.randint(1, 5))
    ]
    return rng.choice(SEPARATORS).join(entries) + rng.choice(["", "", ",", ", "])


def test_fast_reading_matches_getaddresses_on_generated_lists() -> None:
    rng = random.Random(20261122)
    answered = 0
    for _ in range(20_000):
        value = _random_list(rng)
        fast = _simple_entries(value)
        if fast is not None:
            answered += 1
            assert fast == getaddresses([value]), value
    assert answered > 2_000  # the fast path is taken, not skipped


@pytest.mark.parametrize(
    "value",
    [
        '"Allen, Phillip K." <k..allen@enron.com>, "Joanna" <.joanna@enron.com>',
        "Jeff Dasovich <jeff.dasovich@enron.com>,<skean@enron.com>",
        "undisclosed-recipients:;",
        "a@b.com (Alice), bob@c.com",
        '"Esc\\"aped" <a@b.com>',
        "a@b.com, , c@d.com",
        "[1.2.3.4]",
        "Name <a@[1.2.3.4]>",
    ],
)
def test_unusual_lists_read_like_the_standard_library(value: str) -> None:
    fast = _simple_entries(value)
    assert fast is None or fast == getaddresses([value])


def test_long_distribution_list_is_read_by_the_fast_path() -> None:
    value = ", ".join(f'"Person {i}, Name" <person{i}@example.com>' for i in range(2_000))
    fast = _simple_entries(value)
    assert fast is not None and len(fast) == 2_000
    assert fast == getaddresses([value])

"""Is this the same person? Pure comparisons of names and addresses, for finding duplicates.

A person met under several addresses (a firm's two address forms, an ISP that changed its
name, a typo in a domain) becomes several records: their mail splits between them, and so
does their strength with every colleague. These functions tell when two records are one
person (``storage.duplicates`` applies them to the store).

- ``name_key``: a display name folded for comparison in any script (``anyascii``:
  "Иван Петров" is "ivan petrov", "José Núñez" is "jose nunez"), titles, generations and
  middle initials dropped: (first, family), or ``None`` for a name of one word (too little
  to match on).
- ``first_names_agree``: "Jeff" and "Jeffrey", "Steve" and "Steven" (one a prefix of the
  other, 3 letters at least), or one edit apart in names of 5 letters or more
  ("Stephen"/"Stephan": not "Mark"/"Mary", which are two people).
- ``same_organisation``: one registrable domain, or two whose names are one typo apart or
  one a prefix of the other ("constellaion.com"/"constellation.com",
  "howellcorp.com"/"howellcorporation.com"); never a mail provider's domain.
- ``one_edit_apart``: two local parts one insertion, deletion or substitution apart, not in a
  digit and not in the initials ("jbennett"/"jbennet", not "jsmith1"/"jsmith2" nor
  "agarner"/"mgarner"), by rapidfuzz's Levenshtein.
"""

from __future__ import annotations

import functools
import re

from anyascii import anyascii
from rapidfuzz.distance import Levenshtein

from sync.normalize.domains import company_domain, is_free_mail

# Words of a display name that say nothing about who it is.
_TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "judge", "hon", "rev"}
    | {"jr", "sr", "ii", "iii", "iv", "esq", "phd", "md", "cpa"}
)
_WORDS = re.compile(r"[a-z0-9']+")
_DIGIT = re.compile(r"\d")
_NOT_LETTERS = re.compile(r"[^a-z]")
_PARENTHESES = re.compile(r"\([^)]*\)?")
_AFTER_SLASH = re.compile(r"(?:/| - ).*$")
CACHED = 65536  # answers remembered: a store's first names recur in every block
MIN_PREFIX = 3  # "Jeff"/"Jeffrey"; "Al"/"Alan" is too short to tell
MIN_TYPO_NAME = 5  # a one-letter change in a shorter first name is another name (Mark/Mary)
MIN_LOCAL = 6  # shorter local parts ("jsmith", "bob") are shared by too many people
MIN_DOMAIN_LABEL = 6
# A change in the first two letters of a local part is a change of initials, another person:
# "agarner"/"mgarner", "rpickle"/"bpickle" at one firm on Enron.
MIN_EDIT_AT = 2  # "rr"/"rcn": too short for a typo or a prefix to mean anything


@functools.lru_cache(maxsize=CACHED)
def name_key(name: str) -> tuple[str, str] | None:
    """(first, family) of a display name, folded; ``None`` with fewer than two words, or for
    a household ("Dana & Cecil Smith", "Kristi and Mike Oldham"). What follows a slash or
    stands in parentheses or after a dash is a team or a note, not the name ("Robert
    Turner/El Paso", "Paul Y'Barbo - hm")."""
    words = _words(name)
    if "and" in words or "&" in name or "+" in name:
        return None
    words = [w for w in words if len(w) > 1]
    if len(words) < 2:
        return None
    return words[0], words[-1]


@functools.lru_cache(maxsize=CACHED)
def middle_initials(name: str) -> frozenset[str]:
    """The initials of the words between the first and the family name: "Michael J Britt"
    {"j"}. Two names whose middle initials are both given and differ are two people."""
    words = _words(name)
    return frozenset(w[0] for w in words[1:-1]) if len(words) > 2 else frozenset()


def _words(name: str) -> list[str]:
    name = _AFTER_SLASH.sub("", _PARENTHESES.sub(" ", anyascii(name).lower()))
    words = [w.strip("'") for w in _WORDS.findall(name)]
    return [w for w in words if w and w not in _TITLES]


@functools.lru_cache(maxsize=CACHED)
def first_names_agree(one: str, other: str) -> bool:
    if one == other:
        return True
    short, long = sorted((one, other), key=len)
    if len(short) >= MIN_PREFIX and long.startswith(short):
        return True
    return min(len(one), len(other)) >= MIN_TYPO_NAME and Levenshtein.distance(one, other) <= 1


def names_agree(one: tuple[str, str], other: tuple[str, str]) -> bool:
    """The same family name and first names that can be one person's."""
    return one[1] == other[1] and first_names_agree(one[0], other[0])


def middles_conflict(one: str, other: str) -> bool:
    a, b = middle_initials(one), middle_initials(other)
    return bool(a and b and a.isdisjoint(b))


@functools.lru_cache(maxsize=CACHED)
def organisation(domain: str) -> str | None:
    """The domain an address's organisation is keyed by (``company_domain``); ``None`` for a mail
    provider's (anyone can have an address there)."""
    if is_free_mail(domain):
        return None
    return company_domain(domain)


def same_organisation(one: str, other: str) -> bool:
    """Whether two registrable domains are one organisation's (see the module's docstring)."""
    if one == other:
        return True
    label_a, _, rest_a = one.partition(".")
    label_b, _, rest_b = other.partition(".")
    if rest_a != rest_b or min(len(label_a), len(label_b)) < MIN_DOMAIN_LABEL:
        return False
    short, long = sorted((label_a, label_b), key=len)
    return long.startswith(short) or Levenshtein.distance(label_a, label_b) <= 1


def one_edit_apart(one: str, other: str) -> bool:
    """Two local parts of ``MIN_LOCAL`` letters or more, one edit apart, not in a digit."""
    if one == other or min(len(one), len(other)) < MIN_LOCAL:
        return False
    ops = Levenshtein.editops(one, other)
    if len(ops) != 1:
        return False
    (op,) = ops
    if min(op.src_pos, op.dest_pos) < MIN_EDIT_AT:
        return False
    touched = (one[op.src_pos] if op.tag != "insert" else "") + (
        other[op.dest_pos] if op.tag != "delete" else ""
    )
    return not _DIGIT.search(touched)


def fits_name(local: str, key: tuple[str, str]) -> bool:
    """Whether a local part spells part of the name: the family name's first letters (Exchange
    truncates: ``taylam`` for Andy Taylor) or the first name. ``dcastro@`` under "Michael
    Kirby" is an assistant's mailbox sending in their name, not Kirby's."""
    letters = _NOT_LETTERS.sub("", anyascii(local).lower())
    first, family = key
    return family[: MIN_PREFIX + 1] in letters or (len(first) >= MIN_PREFIX and first in letters)


def usual_local(local: str, key: tuple[str, str]) -> bool:
    """Whether a local part is one of the usual forms of the name alone ("jadams",
    "john.adams", "adamsj"), which many people of the same name get at their firms;
    ``smmayers`` (a middle initial) or ``wright497`` (digits) is more than the name."""
    first, family = key
    forms = {first + family, first[0] + family, family + first[0], family + first}
    forms |= {first + family[0]}
    return local.replace(".", "").replace("_", "").replace("-", "") in forms | {first, family}


def numbered_apart(one: str, other: str) -> bool:
    """Two local parts that differ only in digits (``john.smith``/``john.smith2``): a firm
    numbers the address of a second person of the same name."""
    return one != other and _DIGIT.sub("", one) == _DIGIT.sub("", other)


def deletion_keys(local: str) -> set[str]:
    """The local part and each of its one-letter deletions: two local parts one edit apart
    share a key (the symmetric-delete index of SymSpell), so candidates are found without
    comparing every pair of a domain's addresses."""
    return {local} | {local[:i] + local[i + 1 :] for i in range(len(local))}

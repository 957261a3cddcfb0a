"""The demo firm's people: colleagues, companies and their contacts, as plain data.

A contact writes under its own display name (``party``: "Bennett, Olivia", a native-script name,
or none) while the firm addresses it by its Latin or native name (``addressed``), so the same
address shows up in several name forms, as in real mail.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from email.utils import formataddr

from demo import names

ASCII_FOLD = str.maketrans({"đ": "d", "Đ": "D", "ß": "ss", "'": ""})
GERMAN_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


@dataclass(frozen=True, slots=True)
class Party:
    """A name and address as written in one header; ``utc_offset`` (hours) dates their mail."""

    name: str
    email: str
    utc_offset: int = 0

    def header(self) -> str:
        return formataddr((self.name, self.email)) if self.name else self.email


@dataclass(frozen=True, slots=True)
class Company:
    name: str
    domain: str
    country: names.Country


@dataclass(frozen=True, slots=True)
class Member:
    """A colleague or an external contact: how they sign, and how others address them."""

    party: Party
    addressed: Party
    title: str
    organisation: str
    phone: str

    @property
    def email(self) -> str:
        return self.party.email

    def signature(self) -> str:
        lines = [self.party.name or self.addressed.name, self.title, self.organisation, self.phone]
        return "\n".join(line for line in lines if line)


def ascii_fold(text: str, *, german: bool = False) -> str:
    """``text`` in lower-case ASCII letters, for address local parts."""
    if german:
        text = text.translate(GERMAN_FOLD)
    decomposed = unicodedata.normalize("NFKD", text.translate(ASCII_FOLD))
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def colleagues(count: int) -> list[Member]:
    members = []
    for index, (name, title) in enumerate(names.COLLEAGUES[:count]):
        parts = name.split()
        vietnamese = name in ("Trần Thị Mai", "Lê Minh Quân")
        first, last = (parts[-1], parts[0]) if vietnamese else (parts[0], parts[-1])
        email = f"{ascii_fold(first)}.{ascii_fold(last)}@{names.DOMAIN}"
        party = Party(name, email)
        phone = names.FIRM_PHONE.format(100 + index)
        members.append(Member(party, party, title, names.FIRM_NAME, phone))
    return members


def company_name(rng: random.Random, country: names.Country) -> tuple[str, str]:
    """(display name, domain) of a new company in ``country``."""
    word = rng.choice(names.COMPANY_WORDS[country.suffix].split())
    sectors = names.DE_SECTORS if country.suffix == ".de" else names.SECTORS
    sector = rng.choice(sectors)
    spaced = "".join(f" {c}" if c.isupper() and i else c for i, c in enumerate(word))
    display = f"{spaced} {sector} {rng.choice(country.legal_forms)}"
    style = rng.random()
    slug = word.lower() + ("-" if style < 0.3 else "") + sector.lower()
    if style > 0.8:
        slug = word.lower() + sector.lower()[:3]
    return display, slug + country.suffix


def person_names(rng: random.Random, culture: str) -> tuple[str, str, str]:
    """(native display name, given name, family name), the last two as written in Latin."""
    if culture == "vi":
        family, middle = rng.choice(names.VI_FAMILY), rng.choice(names.VI_MIDDLE)
        given = rng.choice(names.VI_GIVEN)
        return f"{family} {middle} {given}", given, family
    if culture == "de":
        first, last = rng.choice(names.DE_FIRST), rng.choice(names.DE_LAST)
        return f"{first} {last}", first, last
    if culture in ("zh", "th", "fa"):
        table = {"zh": names.ZH_NAMES, "th": names.TH_NAMES, "fa": names.FA_NAMES}[culture]
        native, first, last = rng.choice(table)
        return native, first, last
    first, last = rng.choice(names.EN_FIRST), rng.choice(names.EN_LAST)
    return f"{first} {last}", first, last


def local_part(pattern: int, first: str, last: str, *, german: bool) -> str:
    given, family = ascii_fold(first, german=german), ascii_fold(last, german=german)
    forms = (f"{given}.{family}", f"{given[:1]}{family}", f"{given}_{family}", given)
    return forms[pattern % len(forms)]


def display_forms(
    rng: random.Random, culture: str, native: str, first: str, last: str
) -> tuple[str, str]:
    """(how the person signs their own mail, how the firm addresses them)."""
    latin = native if culture in ("en", "de", "vi") else f"{first} {last}"
    addressed = native if culture in ("vi", "de") else latin
    roll = rng.random()
    if roll < 0.12 and culture in ("en", "de"):
        given, family = native.rsplit(maxsplit=1)
        return f"{family}, {given}", addressed
    if roll < 0.17:
        return "", addressed
    if culture in ("zh", "th", "fa") and roll < 0.6:
        return native, latin
    return latin, addressed

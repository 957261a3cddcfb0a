"""Exchange's display headers (``X-From``, ``X-To``, ``X-cc``, ``X-bcc``) reconciled with the
SMTP headers of the same message.

Messages exported from Exchange (the Enron corpus among them) carry, beside ``To``, a display
header listing the same recipients in the same order as Exchange saw them::

    To:   k..allen@enron.com, e-mail <.joanna@enron.com>
    X-To: Allen, Phillip K. </O=ENRON/OU=NA/CN=RECIPIENTS/CN=PALLEN>, <joanna_williams@hotmail.com>

Pairing the two by position gives display names, ties an X.500 DN to the SMTP address of the
same person, and recovers recipients whose SMTP form the export garbled. When the two lists
differ in length, positions mean nothing: only addresses missing from the SMTP header are added.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sync.items import Address, AddressKind
from sync.normalize.addresses import CACHED, normalize_email, normalize_name, x500_dn

# A run of quoted strings, bracketed and parenthesised parts and other characters but a comma;
# an unclosed quote, bracket or parenthesis falls back to a single character so that every
# input splits. A parenthesis may be escaped: ``Anderson, Douglas C \(CAP, SFG\) <...>``.
_TOKEN = re.compile(r'(?:"[^"]*"|<[^>]*>|\([^()]*\)|[^,"<]|["<])+')
_BRACKET = re.compile(r"^(?P<name>[^<]*)<(?P<inner>[^>]*)>")
_NOTES_SUFFIX = re.compile(r"/[^/\s]+(?:/[^/\s]+)*@[A-Za-z]+$")  # Lotus Notes "Name/HOU/ECT@ECT"


@dataclass(frozen=True, slots=True)
class DisplayEntry:
    name: str
    address: Address | None  # SMTP or X.500 when the entry carries one


@dataclass(frozen=True, slots=True)
class Reconciled:
    addresses: tuple[Address, ...]
    links: tuple[tuple[str, str], ...]  # (X.500 DN, SMTP address)


def parse_display_header(value: str | None) -> list[DisplayEntry]:
    """The entries of an X-From/X-To value, in order."""
    if not value:
        return []
    return [_entry(token) for token in _group(_split(value))]


def _split(value: str) -> list[str]:
    """Split at commas outside angle brackets, quotes and parentheses."""
    return [t.strip() for t in _TOKEN.findall(value) if t.strip()]


def _group(tokens: list[str]) -> list[str]:
    """Rejoin ``Last, First <...>``: a one-word token without an address is a surname."""
    grouped: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if (
            i + 1 < len(tokens)
            and " " not in token
            and "<" not in token
            and "@" not in token
            and "@" not in tokens[i + 1].split("<", 1)[0]
        ):
            grouped.append(f"{token}, {tokens[i + 1]}")
            i += 2
        else:
            grouped.append(token)
            i += 1
    return grouped


@functools.lru_cache(maxsize=CACHED)
def _entry(token: str) -> DisplayEntry:
    match = _BRACKET.match(token)
    name, inner = (match["name"], match["inner"]) if match else (token, token)
    name = _NOTES_SUFFIX.sub("", name.strip().strip('"').strip())
    dn = x500_dn(inner)
    if dn is not None:
        return DisplayEntry(
            normalize_name(name), Address(dn, normalize_name(name), AddressKind.X500)
        )
    email = normalize_email(inner)
    if email is None:
        return DisplayEntry(
            normalize_name(_NOTES_SUFFIX.sub("", token) if not match else name), None
        )
    display = normalize_name(name, email) if match else ""
    return DisplayEntry(display, Address(email, display))


def reconcile(header: Sequence[Address | None], display: Sequence[DisplayEntry]) -> Reconciled:
    """``header`` (from ``parse_positions``) completed with what ``display`` knows."""
    if len(header) > len(display):
        header = _without_split_names(header, display)
    if len(header) == len(display):
        return _pairwise(header, display)
    addresses = [a for a in header if a is not None]
    known = {a.email for a in addresses}
    for entry in display:
        extra = entry.address
        if extra is not None and extra.kind == AddressKind.SMTP and extra.email not in known:
            known.add(extra.email)
            addresses.append(extra)
    return Reconciled(tuple(addresses), ())


def _without_split_names(
    header: Sequence[Address | None], display: Sequence[DisplayEntry]
) -> list[Address | None]:
    """``header`` without the pieces of names split at their comma. The Enron corpus's
    conversion turned ``Lindner, Fred <Fred.Lindner@enform.com>`` into two ``To`` entries,
    ``lindner@enron.com, fred.lindner@enform.com``: a colleague who never existed. An entry
    is such a piece when its local part is one word, Exchange's display header does not show
    it, and shows the next entry under a name that holds that word."""
    names = {e.address.email: e.name.casefold().split() for e in display if e.address}
    kept: list[Address | None] = []
    for address, following in zip(header, [*header[1:], None], strict=True):
        if address is not None and following is not None and address.email not in names:
            word = address.email.split("@", 1)[0]
            if word.isalpha() and word in names.get(following.email, ()):
                continue
        kept.append(address)
    return kept


def _pairwise(header: Sequence[Address | None], display: Sequence[DisplayEntry]) -> Reconciled:
    addresses: list[Address] = []
    links: list[tuple[str, str]] = []
    for address, entry in zip(header, display, strict=True):
        other = entry.address
        if address is None:
            # A garbled SMTP entry: Exchange's own address (SMTP, else the X.500 DN, which
            # identity resolution ties to a person) keeps the recipient.
            if other is not None:
                addresses.append(other)
            continue
        if (
            address.kind == AddressKind.SMTP
            and other is not None
            and other.kind == AddressKind.X500
        ):
            links.append((other.email, address.email))
        same_person = (
            other is None or other.kind == AddressKind.X500 or other.email == address.email
        )
        name = normalize_name(entry.name, address.email) if same_person and not address.name else ""
        addresses.append(Address(address.email, name, address.kind) if name else address)
    unique = {a.email: a for a in reversed(addresses)}  # first occurrence wins
    return Reconciled(tuple(a for a in addresses if unique.get(a.email) is a), tuple(links))

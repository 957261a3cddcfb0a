"""Is a sender found in a mailbox's Sent folder the owner under another address?

Enron's custodians changed address in 2001 (``phillip.allen@`` and ``k..allen@``), and missing
an alias loses their inbound mail. But a Sent folder also holds mail that delegates sent on the
owner's behalf (Kay Chapman for David Delainey: 183 of his 1,814 sent messages), auto-replies
and the odd forwarded message: merging those senders into the owner would fold an assistant
into a partner. So a Sent-folder sender is taken as an alias only when it carries the owner's
family name, in its local part, its display name, or the CN of its Exchange X.500 name (which
Exchange truncates: ``CN=JWILLIA`` for Jason Williams).

The family name comes from the owner's address (``phillip.allen`` -> ``allen``) and, when known,
the owner's display name.
"""

from __future__ import annotations

import re
import unicodedata

from sync.items import Address, AddressKind

_TOKENS = re.compile(r"[a-z0-9']+")
MIN_FAMILY = 3  # shorter tokens ("k", "de") match too much
X500_PREFIX = 5  # Exchange CNs keep the first letters of the surname
_ALIAS_FORM = re.compile(r"([a-z])([a-z']+?)(\d*)")  # Exchange's alias: mcuilla, bwillia5


def family_names(owner_email: str, owner_name: str = "") -> set[str]:
    """Candidate family names of the owner: the last token of the address's local part and of
    the display name."""
    names = set()
    local = _TOKENS.findall(_fold(owner_email.split("@", 1)[0]))
    if local and len(local[-1]) >= MIN_FAMILY:
        names.add(local[-1])
    words = _TOKENS.findall(_fold(owner_name))
    if words and len(words[-1]) >= MIN_FAMILY:
        names.add(words[-1])
    return names


def is_owner_alias(candidate: Address, owner_email: str, owner_name: str = "") -> bool:
    if candidate.email == owner_email:
        return True
    families = family_names(owner_email, owner_name)
    if not families:
        return False
    if candidate.kind == AddressKind.X500:
        cn = _fold(candidate.email.rsplit("/CN=", 1)[-1])
        if any(f[:X500_PREFIX] in cn for f in families):
            return True
    else:
        local = set(_TOKENS.findall(_fold(candidate.email.split("@", 1)[0])))
        if families & local:
            return True
    words = _TOKENS.findall(_fold(candidate.name))
    return bool(words) and words[-1] in families


def first_names(owner_email: str, owner_name: str = "") -> set[str]:
    """Candidate first names of the owner: the first token of the display name and of the
    address's local part, when longer than an initial."""
    names = set()
    for text in (owner_name, owner_email.split("@", 1)[0]):
        words = _TOKENS.findall(_fold(text))
        if words and len(words[0]) > 1 and len(words) > 1:
            names.add(words[0])
    return names


def spells_owner(candidate: Address, owner_email: str, owner_name: str = "") -> bool:
    """Whether an SMTP address spells the owner's own name: the family name with the first
    name or its initial (``susan.m.scott``, ``james_d_steffes``), or Exchange's alias form,
    the initial and the family name's first letters and digits (``mcuilla``, ``bwillia5``,
    ``tgeaccon``). Stricter than `is_owner_alias`: it decides for recipients, not senders of
    the owner's Sent folder, so a family name alone (a colleague namesake) is not enough."""
    if candidate.kind != AddressKind.SMTP:
        return False
    families, firsts = family_names(owner_email, owner_name), first_names(owner_email, owner_name)
    if not families or not firsts:
        return False
    local = _fold(candidate.email.split("@", 1)[0])
    tokens = _TOKENS.findall(local)
    initials = {f[0] for f in firsts}
    if any(f in tokens for f in families):
        others = [t for t in tokens if t not in families]
        return any(t in firsts or t in initials for t in others)
    stem = _ALIAS_FORM.fullmatch(local)
    if stem is None or stem[1] not in initials:
        return False
    return any(f.startswith(stem[2]) and len(stem[2]) >= min(len(f), X500_PREFIX) for f in families)


def _fold(text: str) -> str:
    """Lower case without accents, so "Müller" and "mueller"-free forms compare by letters."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))

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


def _fold(text: str) -> str:
    """Lower case without accents, so "Müller" and "mueller"-free forms compare by letters."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))

"""The header block of a message as a dict: names lower case, folded lines joined.

A few lines of RFC 5322 section 2.2 (a field is ``name: value``; a line starting with white
space continues the previous field) instead of ``email.parser``: the parser builds a whole
``Message`` object per message, which was a third of the import time on the Enron data, and
the engine needs a dozen fields, not the object. Raw 8-bit header bytes are decoded as UTF-8
when they are valid UTF-8, else as Latin-1 (what mail clients do); RFC 2047 encoded words are
decoded later, field by field (``sync.normalize.addresses.decode_words``).
"""

from __future__ import annotations

import re

# A field: its name (printable ASCII but colon, RFC 5322 section 3.6.8), a colon, and the value
# with its continuation lines.
_FIELD = re.compile(r"^([!-9;-~]+)[ \t]*:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.MULTILINE)
_FOLD = re.compile(r"\s*\r?\n\s*")


def parse_headers(head: bytes) -> dict[str, str]:
    """Fields of ``head`` (the bytes before the first empty line); the first of repeated
    fields wins. Lines that are neither fields nor continuations are ignored."""
    fields: dict[str, str] = {}
    for name, value in _FIELD.findall(_decode(head)):
        key = name.lower()
        if key not in fields:
            fields[key] = _FOLD.sub(" ", value).strip() if "\n" in value else value.strip()
    return fields


def _decode(raw: bytes) -> str:
    if raw.isascii():
        return raw.decode("ascii")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")

"""Secrets at rest (Graph client secrets, certificate keys): Fernet under RAPPORT_SECRET_KEY.

Fernet (cryptography) is AES-128-CBC with an HMAC-SHA256 tag, so a tampered or wrongly keyed
value fails to decrypt instead of decrypting to garbage. Its 32-byte key is derived from
``RAPPORT_SECRET_KEY`` with HKDF-SHA256, so any long random string works as the setting.
Plain secrets travel inside ``Secret``, whose ``repr`` and ``str`` never show the value: a
secret that reaches a log line or an error message prints as ``Secret(***)``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_KEY_LENGTH = 32  # the same floor config.validate puts on RAPPORT_SECRET_KEY in production
_INFO = b"rapport secrets at rest v1"


class SecretsUnavailable(RuntimeError):
    """No usable RAPPORT_SECRET_KEY, or a stored secret that this key cannot decrypt."""


class Secret:
    """A plain secret that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    __hash__ = None  # type: ignore[assignment]  # equal secrets need not hash: never keys


def _fernet(config: Mapping[str, Any]) -> Fernet:
    key = str(config.get("RAPPORT_SECRET_KEY") or "")
    if len(key) < MIN_KEY_LENGTH:
        raise SecretsUnavailable(
            f"storing secrets needs RAPPORT_SECRET_KEY ({MIN_KEY_LENGTH}+ random characters)"
        )
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(config: Mapping[str, Any], secret: Secret) -> str:
    """The Fernet token (ASCII) of ``secret``."""
    return _fernet(config).encrypt(secret.reveal().encode("utf-8")).decode("ascii")


def decrypt(config: Mapping[str, Any], token: str) -> Secret:
    try:
        plain = _fernet(config).decrypt(token.encode("ascii"))
    except (InvalidToken, ValueError) as error:
        raise SecretsUnavailable(
            "a stored secret cannot be decrypted: RAPPORT_SECRET_KEY is not the key it was "
            "stored with (store the secret again)"
        ) from error
    return Secret(plain.decode("utf-8"))

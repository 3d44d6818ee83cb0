"""Secrets at rest: Fernet encryption with key rotation, and a value that will not echo itself.

`EncryptedTextField` stores ciphertext and hands code a `SecretValue`, whose str/repr are masked:
printing, logging or serialising a model by accident shows `••••••••`, not the secret. The one
way to the plaintext is `.reveal()`, called where the secret leaves for its destination.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

MASK = "••••••••"


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


class DecryptionError(Exception):
    pass


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored secret cannot be decrypted with SWITCHBOARD_ENCRYPTION_KEYS: was the key that "
            "encrypted it removed? Put the old key back (after the new one) and run "
            "`manage.py rotate_encryption_keys`."
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt under the first (current) key."""
    return _current().rotate(token.encode()).decode()


class SecretValue:
    __slots__ = ("_plaintext",)

    def __init__(self, plaintext: str):
        self._plaintext = plaintext

    def reveal(self) -> str:
        return self._plaintext

    @property
    def hint(self) -> str:
        """The last four characters, for a person to recognise which key is stored."""
        return f"…{self._plaintext[-4:]}" if len(self._plaintext) >= 12 else MASK

    def __bool__(self) -> bool:
        return bool(self._plaintext)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._plaintext == self._plaintext

    def __hash__(self) -> int:
        return hash(self._plaintext)

    def __str__(self) -> str:
        return MASK

    __repr__ = __str__


class EncryptedTextField(models.TextField):
    """A text column holding Fernet ciphertext; Python sees a SecretValue (or None)."""

    # What type checkers (django-stubs) take this field to accept and give back.
    _pyi_private_set_type: SecretValue | str | None
    _pyi_private_get_type: SecretValue | None

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return None
        return SecretValue(decrypt(value))

    def to_python(self, value):
        if value is None or isinstance(value, SecretValue):
            return value
        return SecretValue(str(value))

    def get_prep_value(self, value):
        if value is None or value == "":
            return None
        plaintext = value.reveal() if isinstance(value, SecretValue) else str(value)
        return encrypt(plaintext)

    def value_to_string(self, obj):
        return MASK  # dumpdata and friends never get the plaintext

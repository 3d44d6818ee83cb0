"""Readable, prefixed string ids (`ws_3kq9…`, `key_…`), as the API promises string ids.

A prefix tells at a glance what an id refers to in logs and support requests, and random ids
do not leak how many rows a table has.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.deconstruct import deconstructible

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


@deconstructible
class PrefixedId:
    def __init__(self, prefix: str, length: int = 16):
        self.prefix = prefix
        self.length = length

    def __call__(self) -> str:
        return f"{self.prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(self.length))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PrefixedId) and (self.prefix, self.length) == (other.prefix, other.length)


def id_field(prefix: str) -> models.CharField:
    return models.CharField(primary_key=True, max_length=40, default=PrefixedId(prefix), editable=False)

"""One typed reader for settings that come from the environment.

Every variable the platform reads goes through these functions, so a missing or malformed value
fails at start with a message naming the variable, instead of surfacing later as a confusing
error deep inside Django, Celery or a driver. The README lists every variable and its default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TypeVar
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ImproperlyConfigured):
    """A setting read from the environment is missing or malformed."""


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    value = (environ if environ is not None else os.environ).get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _parse(name: str, raw: str, parse: Callable[[str], T], expected: str) -> T:
    try:
        return parse(raw)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{name}={raw!r} is not valid: expected {expected}.") from exc


def env_str(
    name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None, required: bool = False
) -> str | None:
    raw = _raw(name, environ)
    if raw is None:
        if required:
            raise ConfigError(f"{name} is required but not set.")
        return default
    return raw


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    raw = _raw(name, environ)
    if raw is None:
        return default

    def parse(value: str) -> bool:
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(value)

    return _parse(name, raw, parse, "one of true/false, 1/0, yes/no, on/off")


def env_int(
    name: str,
    default: int,
    *,
    environ: Mapping[str, str] | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    raw = _raw(name, environ)
    if raw is None:
        return default
    value = _parse(name, raw, int, "an integer")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} is too small: the minimum is {minimum}.")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name}={value} is too large: the maximum is {maximum}.")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...], *, environ: Mapping[str, str] | None = None) -> str:
    raw = _raw(name, environ)
    if raw is None:
        return default
    if raw.lower() not in choices:
        raise ConfigError(f"{name}={raw!r} is not valid: expected one of {', '.join(choices)}.")
    return raw.lower()


def env_list(name: str, default: list[str], *, environ: Mapping[str, str] | None = None) -> list[str]:
    raw = _raw(name, environ)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, *, schemes: tuple[str, ...], environ: Mapping[str, str] | None = None) -> str | None:
    """A URL whose scheme must be one of `schemes`; None when unset."""
    raw = _raw(name, environ)
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in schemes:
        raise ConfigError(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}; "
            f"got a value starting with {parts.scheme + '://' if parts.scheme else 'no scheme'}."
        )
    return raw

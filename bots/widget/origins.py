"""Origins: the scheme, host and port a browser puts in the `Origin` header.

Owners type sites in many shapes (`www.example.com`, `https://Example.com/`, `https://例子.测试`);
they are stored the way browsers send them — lower case, IDNA (punycode) hosts, no default port,
no path — so matching is a string comparison. `https://*.example.com` allows any subdomain.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from switchboard.errors import InvalidInput

_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_ALLOWED_ORIGINS = 50


def normalise(raw: str) -> str:
    """The origin form of `raw`; InvalidInput saying what is wrong when it is not a site."""
    text = (raw or "").strip()
    if not text:
        raise InvalidInput("An allowed origin is empty.", code="invalid_origin", param="allowed_origins")
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidInput(f"{raw!r} is not a web address.", code="invalid_origin", param="allowed_origins") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidInput(
            f"{raw!r}: only http and https sites can embed the widget.", code="invalid_origin", param="allowed_origins"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidInput(
            f"{raw!r}: give the site only (like https://www.example.com), without a path.",
            code="invalid_origin",
            param="allowed_origins",
        )
    host = (parts.hostname or "").rstrip(".")
    wildcard = host.startswith("*.")
    if wildcard:
        host = host[2:]
    if not host or "*" in host:
        raise InvalidInput(
            f"{raw!r}: a wildcard may only stand for subdomains (https://*.example.com).",
            code="invalid_origin",
            param="allowed_origins",
        )
    try:
        ascii_host = host if host.startswith("[") else host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidInput(
            f"{raw!r} has an invalid host name.", code="invalid_origin", param="allowed_origins"
        ) from None
    if not _HOST.match(ascii_host) and ":" not in ascii_host:
        raise InvalidInput(f"{raw!r} has an invalid host name.", code="invalid_origin", param="allowed_origins")
    if ":" in ascii_host and not ascii_host.startswith("["):
        ascii_host = f"[{ascii_host}]"  # an IPv6 address
    netloc = ("*." if wildcard else "") + ascii_host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return f"{scheme}://{netloc}"


def normalise_all(values: list[str]) -> list[str]:
    """Each value normalised, duplicates dropped, order kept."""
    if len(values) > MAX_ALLOWED_ORIGINS:
        raise InvalidInput(
            f"At most {MAX_ALLOWED_ORIGINS} allowed origins; "
            "use a wildcard (https://*.example.com) for many subdomains.",
            code="too_many_origins",
            param="allowed_origins",
        )
    seen: dict[str, None] = {}
    for value in values:
        seen[normalise(value)] = None
    return list(seen)


def parse_header(value: str | None) -> str | None:
    """An `Origin` header as an origin, or None when absent, `null` or malformed."""
    if not value or value == "null":
        return None
    try:
        return normalise(value)
    except InvalidInput:
        return None


def is_allowed(origin: str | None, allowed: list[str]) -> bool:
    if not origin or "*" in origin:
        return False
    scheme, _, netloc = origin.partition("://")
    for entry in allowed:
        if entry == origin:
            return True
        entry_scheme, _, entry_netloc = entry.partition("://")
        if entry_netloc.startswith("*.") and entry_scheme == scheme and netloc.endswith(entry_netloc[1:]):
            return True
    return False

"""URL hosts and ports, normalised: the part of URL parsing that the egress policy's allowlist
entries share with request URLs (`urls` parses whole URLs; `policy` parses entries)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import idna

from .addresses import IPAddress, NotAnAddress, parse_ipv4_literal
from .errors import InvalidURL

_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")
PORT_PATTERN = re.compile(r"[0-9]{1,5}\Z")


@dataclass(frozen=True)
class HostInfo:
    """A normalised URL host."""

    #: ASCII host: lower-case IDNA name without trailing dot, or the canonical
    #: text of an IP address (no brackets).
    host: str
    #: The IP address when the host is an IP literal (in any spelling).
    ip: IPAddress | None
    #: The host as written, for messages.
    written: str

    @property
    def bracketed(self) -> str:
        return f"[{self.host}]" if isinstance(self.ip, ipaddress.IPv6Address) else self.host


def safe_text(text: str, limit: int = 200) -> str:
    """Quote user text for an error message without letting it run on."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def normalize_host(raw: str, *, url: str | None = None) -> HostInfo:
    """Normalise a URL host (without brackets for IPv6 it must be bracketed by the caller).

    Raises :class:`InvalidURL` for anything that is neither a valid host name
    nor an IP address.
    """
    written = raw
    if raw.startswith("[") and raw.endswith("]"):
        inner = raw[1:-1]
        if "%" in inner:
            raise InvalidURL(f"The host {safe_text(raw)} has an IPv6 zone identifier, which is not allowed.", url=url)
        try:
            ip6 = ipaddress.IPv6Address(inner)
        except ValueError:
            raise InvalidURL(f"The host {safe_text(raw)} is not a valid IPv6 address.", url=url) from None
        return HostInfo(str(ip6), ip6, written)

    if not raw:
        raise InvalidURL("The URL has no host name.", url=url)
    if raw.isascii():
        host = raw.lower()
    else:
        # UTS #46 mapping first: it folds full-width digits and ideographic
        # full stops, so "１２７。０。０。１" becomes "127.0.0.1" and is judged
        # as the address below rather than slipping past as a "name".
        try:
            host = idna.encode(raw, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            raise InvalidURL(
                f"The host {safe_text(raw)} is not a valid internationalised domain name.", url=url
            ) from None

    try:
        ip4 = parse_ipv4_literal(host)
    except NotAnAddress:
        raise InvalidURL(
            f"The host {safe_text(raw)} looks like an IP address but is not a valid one; "
            "write IPv4 addresses as four decimal numbers, e.g. 203.0.113.7.",
            url=url,
        ) from None
    if ip4 is not None:
        return HostInfo(str(ip4), ip4, written)

    host = host.removesuffix(".")
    if len(host) > 253:
        raise InvalidURL("The host name is longer than 253 characters.", url=url)
    labels = host.split(".")
    for label in labels:
        if not _HOST_LABEL.match(label):
            raise InvalidURL(
                f"The host {safe_text(raw)} contains characters that are not allowed in a host name.",
                url=url,
            )
    return HostInfo(host, None, written)

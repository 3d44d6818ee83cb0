"""Strict URL parsing, host normalisation and resolution for egress requests.

The parser is deliberately stricter than browsers and ``urllib``: anything
ambiguous between parsers (credentials, backslashes, whitespace, control
characters, percent-encoded or oddly spelled hosts) is refused or normalised
here, and the request is then built from *our* parsed components, so no later
parser gets a chance to disagree about which host is meant.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from .addresses import AddressVerdict, IPAddress, judge_address
from .errors import BlockedAddress, DNSFailure, InvalidURL
from .hosts import PORT_PATTERN, HostInfo, normalize_host, safe_text
from .policy import DEFAULT_POLICY, EgressPolicy

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 8192

_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")

_ALLOWLIST_ADVICE = "if this is intentional, a workspace admin can allow it under Network allowlist"


@dataclass(frozen=True)
class ParsedURL:
    scheme: str
    hostinfo: HostInfo
    port: int
    #: Path and query as written (``/`` when empty); no fragment.
    target: str

    @property
    def host(self) -> str:
        return self.hostinfo.host

    @property
    def netloc(self) -> str:
        if self.port == DEFAULT_PORTS[self.scheme]:
            return self.hostinfo.bracketed
        return f"{self.hostinfo.bracketed}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.target}"

    @property
    def display(self) -> str:
        """The URL without its query string (which may carry secrets), for messages and logs."""
        return f"{self.scheme}://{self.netloc}{self.target.split('?', 1)[0]}"

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


@dataclass(frozen=True)
class ResolvedTarget:
    """A URL that passed validation, with the addresses it may be fetched from.

    ``addresses`` come from a single resolution; requests connect only to
    these (``pinned_address`` first) and never look the name up again.
    """

    parsed: ParsedURL
    addresses: tuple[IPAddress, ...]
    #: True if at least one address is permitted only thanks to the allowlist.
    allowlisted: bool = False

    @property
    def url(self) -> str:
        return self.parsed.url

    @property
    def scheme(self) -> str:
        return self.parsed.scheme

    @property
    def host(self) -> str:
        return self.parsed.host

    @property
    def port(self) -> int:
        return self.parsed.port

    @property
    def target(self) -> str:
        return self.parsed.target

    @property
    def is_ip_literal(self) -> bool:
        return self.parsed.hostinfo.ip is not None

    @property
    def pinned_address(self) -> IPAddress:
        return self.addresses[0]


def _display_raw(url: str) -> str:
    """A raw URL without query or fragment, shortened, for error messages."""
    base = url.split("#", 1)[0].split("?", 1)[0]
    return base if len(base) <= 200 else base[:200] + "..."


def parse_url(url: str) -> ParsedURL:
    """Parse and normalise ``url``; raise :class:`InvalidURL` when it is not acceptable."""
    if not isinstance(url, str):
        raise InvalidURL("The URL must be a string.")
    url = url.strip()
    if not url:
        raise InvalidURL("The URL is empty.")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    shown = _display_raw(url)
    bad = _FORBIDDEN_CHARS.search(url)
    if bad:
        what = "a backslash" if bad.group() == "\\" else "whitespace or a control character"
        raise InvalidURL(f"The URL contains {what}; percent-encode it or remove it.", url=shown)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidURL(f"The URL could not be parsed: {exc}.", url=shown) from None

    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        what = f"the scheme '{safe_text(scheme, 20)[1:-1]}:'" if scheme else "no scheme"
        raise InvalidURL(f"The URL has {what}; only http:// and https:// URLs are allowed.", url=shown)
    if not url[len(scheme) + 1 :].startswith("//"):
        raise InvalidURL("The URL must start with http:// or https:// followed by a host.", url=shown)

    netloc = parts.netloc
    if "@" in netloc:
        raise InvalidURL(
            "The URL contains a user name or password ('user:pass@host'), which is not allowed; "
            "configure credentials as an authentication header instead.",
            url=shown,
        )

    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise InvalidURL("The URL has an unterminated IPv6 address.", url=shown)
        raw_host, rest = netloc[: end + 1], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise InvalidURL("The URL has characters after the IPv6 address.", url=shown)
        raw_port = rest[1:] if rest else None
    else:
        if netloc.count(":") > 1:
            raise InvalidURL(
                "The URL's host is not valid; IPv6 addresses must be written in brackets, e.g. http://[2001:db8::1]/.",
                url=shown,
            )
        raw_host, sep, raw_port_text = netloc.partition(":")
        raw_port = raw_port_text if sep else None

    hostinfo = normalize_host(raw_host, url=shown)

    if raw_port is None or raw_port == "":
        port = DEFAULT_PORTS[scheme]
    else:
        if not PORT_PATTERN.match(raw_port) or not 0 < int(raw_port) < 65536:
            raise InvalidURL(f"The URL's port {safe_text(raw_port)} is not a number between 1 and 65535.", url=shown)
        port = int(raw_port)

    target = parts.path or "/"
    if not target.startswith("/"):
        raise InvalidURL("The URL's path must start with '/'.", url=shown)
    if parts.query:
        target = f"{target}?{parts.query}"
    return ParsedURL(scheme, hostinfo, port, target)


# --- resolution ------------------------------------------------------------

_dns_lock = threading.Lock()
_dns_executor: concurrent.futures.ThreadPoolExecutor | None = None


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    global _dns_executor
    if _dns_executor is None:
        with _dns_lock:
            if _dns_executor is None:
                _dns_executor = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="egress-dns")
    return _dns_executor


def _reset_after_fork() -> None:
    # Worker threads do not survive fork(); a child must not wait on them.
    global _dns_executor, _dns_lock
    _dns_executor = None
    _dns_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def system_resolve(host: str, port: int, timeout: float | None) -> list[str]:
    """``getaddrinfo`` with a timeout (the C call itself cannot be interrupted)."""
    future = _executor().submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        infos = future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise DNSFailure(
            f"Looking up the host {host} timed out after {timeout:g} s; check the host name or try again later."
        ) from None
    finally:
        # The future holds a failed lookup's exception, whose traceback holds this frame: drop
        # it so the cycle does not keep the caller's objects alive until a garbage collection.
        del future
    return [info[4][0] for info in infos]


def _lookup(host: str, port: int, policy: EgressPolicy, deadline: float | None, url: str) -> tuple[IPAddress, ...]:
    try:
        if policy.resolver is not None:
            raw = list(policy.resolver(host, port))
        else:
            timeout = policy.connect_timeout
            if deadline is not None:
                timeout = max(0.001, min(timeout, deadline - time.monotonic()))
            raw = system_resolve(host, port, timeout)
    except DNSFailure as exc:
        exc.url = url
        raise
    except (OSError, UnicodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DNSFailure(f"Could not resolve the host {host} ({detail}); check the host name.", url=url) from None

    addresses: list[IPAddress] = []
    for item in raw:
        try:
            address = (
                item
                if isinstance(item, (ipaddress.IPv4Address, ipaddress.IPv6Address))
                else ipaddress.ip_address(str(item))
            )
        except ValueError:
            raise BlockedAddress(
                f"The host {host} resolved to {safe_text(str(item))}, which is not an IP address.",
                url=url,
                address=str(item),
                reason="not an IP address",
                allowlistable=False,
            ) from None
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise DNSFailure(f"The host {host} has no IP addresses; check the host name.", url=url)
    return tuple(addresses)


def _refusal(parsed: ParsedURL, verdict: AddressVerdict, url: str) -> BlockedAddress:
    info = parsed.hostinfo
    address = verdict.address
    reason = verdict.reason or "not allowed"
    if info.ip is None:
        subject = f"The host {info.host} resolves to {address}, {reason}"
    elif info.ip.version == 4 and info.written != str(address):
        subject = f"The host {safe_text(info.written)} is another way of writing {address}, {reason}"
    else:
        subject = f"The address {info.written.strip('[]')} is {reason}"
    if verdict.allowlistable:
        advice = _ALLOWLIST_ADVICE
    elif verdict.listed:
        # Telling the admin to allowlist what already is would send them in circles.
        advice = (
            "it is allowlisted, but the platform never connects to such addresses, because "
            f"{verdict.why or 'they are refused whatever is allowlisted'}"
        )
    else:
        because = f", because {verdict.why}" if verdict.why else ""
        advice = f"the platform never connects to such addresses{because}"
    return BlockedAddress(
        f"{subject}; {advice}.",
        url=url,
        address=str(address),
        reason=reason,
        allowlistable=verdict.allowlistable,
        listed=verdict.listed,
    )


def check_parsed(
    parsed: ParsedURL,
    policy: EgressPolicy,
    *,
    deadline: float | None = None,
    url: str | None = None,
) -> ResolvedTarget:
    url = url if url is not None else parsed.display
    host_allowed = policy.is_host_allowlisted(parsed.host, parsed.port)
    if parsed.hostinfo.ip is not None:
        addresses: tuple[IPAddress, ...] = (parsed.hostinfo.ip,)
    else:
        addresses = _lookup(parsed.host, parsed.port, policy, deadline, url)
    allowlisted = False
    networks = policy.allowed_networks
    for address in addresses:
        verdict = judge_address(address, networks, host_allowed)
        if not verdict.allowed:
            raise _refusal(parsed, verdict, url)
        allowlisted = allowlisted or verdict.allowlisted
    return ResolvedTarget(parsed, addresses, allowlisted)


def check_url(url: str, policy: EgressPolicy | None = None) -> ResolvedTarget:
    """Validate ``url`` against ``policy`` and resolve it once.

    Raises :class:`InvalidURL`, :class:`DNSFailure` or :class:`BlockedAddress`.
    Every resolved address must be allowed. Useful at configuration time to
    warn about URLs that will be refused; :func:`request` performs the same
    check itself for every hop.
    """
    if policy is None:
        policy = DEFAULT_POLICY
    parsed = parse_url(url)
    return check_parsed(parsed, policy, deadline=time.monotonic() + policy.total_timeout, url=parsed.display)


__all__ = [
    "DEFAULT_PORTS",
    "HostInfo",
    "ParsedURL",
    "ResolvedTarget",
    "check_parsed",
    "check_url",
    "normalize_host",
    "parse_url",
    "system_resolve",
]

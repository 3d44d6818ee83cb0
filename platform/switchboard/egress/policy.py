"""The egress policy: limits plus the workspace allowlist for deliberate intranet use."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .addresses import IPAddress, IPNetwork
from .errors import InvalidURL
from .hosts import PORT_PATTERN, normalize_host

#: ``resolver(host, port) -> addresses`` (strings or ``ipaddress`` objects).
Resolver = Callable[[str, int], Iterable[str | IPAddress]]


def _parse_host_entry(entry: str) -> tuple[str, int | None]:
    text = entry.strip()
    port: int | None = None
    if text.startswith("["):
        end = text.find("]")
        host_text, rest = text[: end + 1], text[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            raise ValueError(f"allow_hosts entry {entry!r} is not host or host:port")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host_text, port_text = text.split(":")
    else:
        host_text, port_text = text, None
    if port_text is not None:
        if not PORT_PATTERN.match(port_text) or not 0 < int(port_text) < 65536:
            raise ValueError(f"allow_hosts entry {entry!r} has an invalid port")
        port = int(port_text)
    try:
        info = normalize_host(host_text)
    except InvalidURL as exc:
        raise ValueError(f"allow_hosts entry {entry!r} is not a valid host: {exc.message}") from None
    return info.host, port


@dataclass(frozen=True)
class EgressPolicy:
    """What outbound requests may reach, and how long/large they may be.

    ``allow_networks``: CIDR networks (``"10.20.0.0/16"``, ``"127.0.0.1/32"``,
    ``"fd12::/48"``) whose addresses are allowed even though they are private,
    loopback, link-local and so on. Addresses the platform never connects to
    (unspecified, multicast, broadcast, cloud metadata endpoints) stay refused.

    ``allow_hosts``: exact host names, optionally with a port
    (``"wiki.corp.example"``, ``"jira.corp.example:8443"``); whatever such a
    host resolves to is allowed on the same terms. No wildcards.

    ``resolver``: replaces ``socket.getaddrinfo`` (tests, custom DNS);
    ``ssl_context``: replaces the default verifying context (e.g. to trust a
    private CA); it must verify certificates and host names.
    """

    allow_networks: tuple[str | IPNetwork, ...] = ()
    allow_hosts: tuple[str, ...] = ()
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    #: Overall deadline for the whole call: DNS, connects, redirects and body.
    total_timeout: float = 60.0
    max_response_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    resolver: Resolver | None = field(default=None, compare=False)
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)
    user_agent: str = "Switchboard"

    allowed_networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)
    _hosts: frozenset[tuple[str, int | None]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.allow_networks, str) or isinstance(self.allow_hosts, str):
            raise TypeError("allow_networks and allow_hosts must be sequences, not a single string")
        networks = []
        for entry in self.allow_networks:
            if isinstance(entry, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
                networks.append(entry)
                continue
            try:
                networks.append(ipaddress.ip_network(str(entry).strip(), strict=True))
            except ValueError as exc:
                raise ValueError(f"allow_networks entry {entry!r} is not a CIDR network: {exc}") from None
        object.__setattr__(self, "allow_networks", tuple(self.allow_networks))
        object.__setattr__(self, "allow_hosts", tuple(self.allow_hosts))
        object.__setattr__(self, "allowed_networks", tuple(networks))
        object.__setattr__(self, "_hosts", frozenset(_parse_host_entry(h) for h in self.allow_hosts))

        for name in ("connect_timeout", "read_timeout", "total_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.max_response_bytes <= 0:
            raise ValueError("max_response_bytes must be positive")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must be zero or more")
        ctx = self.ssl_context
        if ctx is not None and (ctx.verify_mode != ssl.CERT_REQUIRED or not ctx.check_hostname):
            raise ValueError("ssl_context must verify certificates and host names")

    @classmethod
    def from_allowlist(cls, entries: Iterable[str], **kwargs) -> EgressPolicy:
        """Build a policy from one mixed list of CIDRs, IP addresses and host[:port] entries.

        Bare IP addresses become single-address networks. Raises ``ValueError``
        naming the first entry that is neither.
        """
        networks: list[str] = []
        hosts: list[str] = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(str(ipaddress.ip_network(entry, strict=True)))
                continue
            except ValueError:
                if "/" in entry:
                    raise ValueError(f"allowlist entry {raw!r} is not a valid CIDR network") from None
            _parse_host_entry(entry)  # validate now, with a useful message
            hosts.append(entry)
        return cls(allow_networks=tuple(networks), allow_hosts=tuple(hosts), **kwargs)

    def is_host_allowlisted(self, host: str, port: int) -> bool:
        """``host`` must already be normalised (see :func:`hosts.normalize_host`)."""
        if not self._hosts:
            return False
        return (host, None) in self._hosts or (host, port) in self._hosts


DEFAULT_POLICY = EgressPolicy()

__all__ = ["DEFAULT_POLICY", "EgressPolicy", "Resolver"]

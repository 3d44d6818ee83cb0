"""Which IP addresses outbound requests may reach.

The policy is an explicit table (``ADDRESS_RULES``) rather than a reliance on
``ipaddress.IPv4Address.is_global`` / ``is_private`` alone. Those properties
are used as a final safety net, but they have gaps that matter for SSRF
(checked on Python 3.11):

* ``::7f00:1`` (IPv4-compatible form of 127.0.0.1) reports ``is_global``;
* ``2002:7f00:1::`` (6to4 wrapping 127.0.0.1) reports ``is_global``;
* ``64:ff9b::a00:5`` (NAT64 wrapping 10.0.0.5) reports ``is_global``;
* ``fec0::/10`` (deprecated site-local) reports ``is_global``;
* ``::ffff:127.0.0.1`` is not global but is not reported as loopback either,
  so messages would be wrong.

Each rule has a *disposition*:

``BLOCK``
    refused unless a workspace admin allowlisted the address (CIDR) or the
    host name.
``NEVER``
    refused even when allowlisted: addresses that are never a sensible
    target for an HTTP request (unspecified, multicast, broadcast, scoped
    IPv6) and cloud metadata endpoints, which hand out instance credentials.
``EMBEDDED``
    an IPv6 translation prefix (NAT64, 6to4) carrying an IPv4 address; the
    embedded address decides. ``64:ff9b::8.8.8.8`` is how a DNS64 resolver
    on an IPv6-only network spells a public host, so it must work, while
    ``64:ff9b::10.0.0.5`` must not.

IPv4-mapped IPv6 addresses (``::ffff:a.b.c.d``) are judged exactly as the
IPv4 address they map to, since that is where a dual-stack socket connects.

Odd IPv4 spellings (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``,
``127.0.0.1.``) are normalised by :func:`parse_ipv4_literal` using the same
rules as ``inet_aton`` and the WHATWG URL standard, so that they are judged as
the address they denote before any resolver sees them.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Disposition(enum.Enum):
    BLOCK = "block"
    NEVER = "never"
    EMBEDDED = "embedded"


@dataclass(frozen=True)
class AddressRule:
    network: IPNetwork
    #: Noun phrase used in messages: "10.0.0.5 is <description>".
    description: str
    disposition: Disposition
    #: For ``NEVER`` rules: why no allowlist entry lifts the refusal, for messages.
    why: str = ""


#: Why ``NEVER`` addresses stay refused, in words a workspace admin can act on.
_WHY_METADATA = "cloud metadata and platform services hand out the credentials of the machine the platform runs on"
_WHY_NOT_A_SERVER = "it does not name one server an HTTP request could go to"


def _rule(cidr: str, description: str, disposition: Disposition = Disposition.BLOCK, why: str = "") -> AddressRule:
    if disposition is Disposition.NEVER and not why:
        why = _WHY_NOT_A_SERVER
    return AddressRule(ipaddress.ip_network(cidr), description, disposition, why)


_B, _N, _E = Disposition.BLOCK, Disposition.NEVER, Disposition.EMBEDDED

#: The explicit policy. The most specific matching network wins (rules are
#: sorted by prefix length when compiled), so the order below is for reading.
ADDRESS_RULES: tuple[AddressRule, ...] = (
    # --- IPv4 -------------------------------------------------------------
    _rule("0.0.0.0/32", "the unspecified address", _N),
    _rule("0.0.0.0/8", "a 'this network' address (0.0.0.0/8)"),
    _rule("10.0.0.0/8", "a private address"),
    _rule("100.64.0.0/10", "a carrier-grade NAT (shared address space) address"),
    _rule("100.100.100.200/32", "a cloud metadata service address (Alibaba Cloud)", _N, _WHY_METADATA),
    _rule("127.0.0.0/8", "a loopback address"),
    _rule("169.254.0.0/16", "a link-local address"),
    _rule("169.254.169.254/32", "the cloud metadata service address", _N, _WHY_METADATA),
    _rule("169.254.170.2/32", "a container metadata service address (AWS ECS)", _N, _WHY_METADATA),
    _rule("168.63.129.16/32", "a cloud platform service address (Azure WireServer)", _N, _WHY_METADATA),
    _rule("172.16.0.0/12", "a private address"),
    _rule("192.0.0.0/24", "an IETF protocol assignment address (192.0.0.0/24)"),
    _rule("192.0.2.0/24", "a documentation address (TEST-NET-1)"),
    _rule("192.88.99.0/24", "a deprecated 6to4 relay anycast address"),
    _rule("192.168.0.0/16", "a private address"),
    _rule("198.18.0.0/15", "a network benchmarking address"),
    _rule("198.51.100.0/24", "a documentation address (TEST-NET-2)"),
    _rule("203.0.113.0/24", "a documentation address (TEST-NET-3)"),
    _rule("224.0.0.0/4", "a multicast address", _N),
    _rule("240.0.0.0/4", "a reserved address (240.0.0.0/4)"),
    _rule("255.255.255.255/32", "the broadcast address", _N),
    # --- IPv6 -------------------------------------------------------------
    _rule("::/128", "the unspecified address", _N),
    _rule("::1/128", "a loopback address"),
    _rule("::/96", "an IPv4-compatible IPv6 address (deprecated)"),
    _rule("::ffff:0:0:0/96", "an IPv4-translated IPv6 address (SIIT)"),
    _rule("::/8", "a reserved IPv6 address (::/8)"),
    _rule("64:ff9b::/96", "a NAT64 address", _E),
    _rule("64:ff9b:1::/48", "a local-use NAT64 address"),
    _rule("100::/64", "a discard-only address"),
    _rule("2001::/23", "an IETF protocol assignment address (2001::/23)"),
    _rule("2001::/32", "a Teredo tunnelling address"),
    _rule("2001:2::/48", "a network benchmarking address"),
    _rule("2001:10::/28", "an ORCHID address (deprecated)"),
    _rule("2001:20::/28", "an ORCHIDv2 address"),
    _rule("2001:db8::/32", "a documentation address"),
    _rule("2002::/16", "a 6to4 address", _E),
    _rule("3fff::/20", "a documentation address"),
    _rule("5f00::/16", "a segment routing (SRv6) address"),
    _rule("fc00::/7", "a unique local (private) address"),
    _rule("fd00:ec2::254/128", "the cloud metadata service address (AWS IPv6)", _N, _WHY_METADATA),
    _rule("fe80::/10", "a link-local address"),
    _rule("fec0::/10", "a site-local address (deprecated)"),
    _rule("ff00::/8", "a multicast address", _N),
)

_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_OUTSIDE_UNICAST_V6 = AddressRule(ipaddress.ip_network("::/0"), "a reserved IPv6 address (outside 2000::/3)", _B)
_NOT_GLOBAL = AddressRule(ipaddress.ip_network("0.0.0.0/0"), "not a globally routable address", _B)
_SCOPED_V6 = AddressRule(
    ipaddress.ip_network("::/0"),
    "a zone-scoped IPv6 address",
    _N,
    "a zone-scoped address means a different host on every network interface",
)


def _compile(version: int) -> tuple[tuple[int, int, AddressRule], ...]:
    rules = [r for r in ADDRESS_RULES if r.network.version == version]
    rules.sort(key=lambda r: r.network.prefixlen, reverse=True)
    return tuple((int(r.network.network_address), int(r.network.broadcast_address), r) for r in rules)


_COMPILED = {4: _compile(4), 6: _compile(6)}


def matching_rule(address: IPAddress) -> AddressRule | None:
    """The most specific rule for ``address``; ``None`` means publicly routable."""
    value = int(address)
    for low, high, rule in _COMPILED[address.version]:
        if low <= value <= high:
            return rule
    if address.version == 6 and address not in _GLOBAL_UNICAST_V6:
        return _OUTSIDE_UNICAST_V6
    # Safety net: anything the stdlib considers non-global that the table
    # somehow missed is still refused.
    if not address.is_global:
        return _NOT_GLOBAL
    return None


def embedded_ipv4(address: ipaddress.IPv6Address, rule: AddressRule) -> ipaddress.IPv4Address:
    """The IPv4 address carried by a NAT64 or 6to4 address."""
    if rule.network == ipaddress.ip_network("2002::/16"):
        v4 = address.sixtofour
        assert v4 is not None
        return v4
    return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


@dataclass(frozen=True)
class AddressVerdict:
    address: IPAddress
    allowed: bool
    #: Why the address is not public (``None`` for public addresses), as a noun phrase.
    reason: str | None = None
    #: Whether an allowlist entry could lift a refusal.
    allowlistable: bool = True
    #: True when the address is allowed only because of the allowlist.
    allowlisted: bool = False
    #: True when an allowlist entry covers the address, whether or not it could lift the refusal.
    listed: bool = False
    #: Why the refusal cannot be lifted (``NEVER`` addresses), for messages.
    why: str = ""


def _in_networks(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(net.version == address.version and address in net for net in networks)


def judge_address(
    address: IPAddress,
    allow_networks: Iterable[IPNetwork] = (),
    host_allowlisted: bool = False,
) -> AddressVerdict:
    """Decide whether a connection to ``address`` is permitted.

    ``allow_networks`` are the admin-allowlisted CIDR networks;
    ``host_allowlisted`` says whether the URL's host name itself is on the
    allowlist (which lifts ``BLOCK`` rules for whatever it resolves to, but
    never ``NEVER`` rules).
    """
    allow_networks = tuple(allow_networks)
    listed = host_allowlisted or _in_networks(address, allow_networks)
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return AddressVerdict(
                address, False, _SCOPED_V6.description, allowlistable=False, listed=listed, why=_SCOPED_V6.why
            )
        mapped = address.ipv4_mapped
        if mapped is not None:
            inner = judge_address(mapped, allow_networks, host_allowlisted)
            if not inner.allowed and inner.allowlistable and _in_networks(address, allow_networks):
                return AddressVerdict(address, True, inner.reason, True, True, True)
            reason = inner.reason and f"an IPv4-mapped IPv6 address for {mapped}, {inner.reason}"
            return AddressVerdict(
                address,
                inner.allowed,
                reason,
                inner.allowlistable,
                inner.allowlisted,
                listed or inner.listed,
                inner.why,
            )

    rule = matching_rule(address)
    if rule is None:
        return AddressVerdict(address, True)

    if rule.disposition is Disposition.EMBEDDED:
        assert isinstance(address, ipaddress.IPv6Address)
        inner_address = embedded_ipv4(address, rule)
        inner_rule = matching_rule(inner_address)
        if inner_rule is None:
            return AddressVerdict(address, True)
        reason = f"{rule.description} wrapping {inner_address}, {inner_rule.description}"
        allowlistable = inner_rule.disposition is Disposition.BLOCK
        why = inner_rule.why
    else:
        reason = rule.description
        allowlistable = rule.disposition is Disposition.BLOCK
        why = rule.why

    if allowlistable and listed:
        return AddressVerdict(address, True, reason, True, True, True)
    return AddressVerdict(address, False, reason, allowlistable, listed=listed, why=why)


# --- whole networks (allowlist entries) --------------------------------------------

_IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def ipv4_equivalent(network: IPNetwork) -> ipaddress.IPv4Network | None:
    """The IPv4 network an IPv6 network stands for when its addresses carry IPv4 addresses.

    :func:`judge_address` decides IPv4-mapped, NAT64 and 6to4 addresses by the IPv4 address
    inside, and an allowlisted IPv6 network lifts those refusals: ``::ffff:0:0/96`` on an
    allowlist opens as much as ``0.0.0.0/0``. ``None`` for networks that carry no IPv4 address.
    """
    if not isinstance(network, ipaddress.IPv6Network):
        return None
    value = int(network.network_address)
    for carrier in (_IPV4_MAPPED, _NAT64):
        if network.subnet_of(carrier):
            return ipaddress.IPv4Network((value & 0xFFFFFFFF, network.prefixlen - 96))
    if network.subnet_of(_SIX_TO_FOUR) and network.prefixlen >= 16:
        # 2002:AABB:CCDD::/48 carries AA.BB.CC.DD; bits after the 48th are the site's own subnets.
        return ipaddress.IPv4Network(((value >> 80) & 0xFFFFFFFF, min(network.prefixlen - 16, 32)))
    return None


def _judged_network(network: IPNetwork) -> IPNetwork:
    return ipv4_equivalent(network) or network


def never_rule_for(network: IPNetwork) -> AddressRule | None:
    """The ``NEVER`` rule refusing every address of ``network``, if there is one.

    An allowlist entry for such a network can never have an effect (``169.254.169.254``,
    ``224.0.0.0/8``). ``None`` when some address of the network could be allowlisted.
    """
    judged = _judged_network(network)
    for _low, _high, rule in _COMPILED[judged.version]:
        if not judged.subnet_of(rule.network):
            continue
        # The most specific rule wins: a more specific rule inside would decide part of it.
        inner = [
            r
            for r in ADDRESS_RULES
            if r.network.version == judged.version
            and r.network.prefixlen > rule.network.prefixlen
            and r.network.overlaps(judged)
        ]
        never = Disposition.NEVER
        if rule.disposition is never and all(r.disposition is never for r in inner):
            return rule
        return None
    return None


def ranges_inside(network: IPNetwork) -> tuple[AddressRule, ...]:
    """The special-purpose ranges ``network`` covers whole and reaches beyond.

    ``10.0.0.0/7`` covers all of 10.0.0.0/8 plus public space; ``10.0.0.0/8`` itself covers no
    range *and more*. Ranges that stay refused whatever is allowlisted (``NEVER``) are left out:
    covering them opens nothing.
    """
    judged = _judged_network(network)
    return tuple(
        rule
        for rule in ADDRESS_RULES
        if rule.disposition is not Disposition.NEVER
        and rule.network.version == judged.version
        and rule.network != judged
        and rule.network.subnet_of(judged)
    )


# --- IPv4 literal spellings ------------------------------------------------

_DEC = re.compile(r"[0-9]+\Z")
_HEX = re.compile(r"0[xX][0-9a-fA-F]*\Z")
_OCT = re.compile(r"0[0-7]+\Z")


class NotAnAddress(ValueError):
    """Raised for a host that looks numeric but is not a valid IPv4 address."""


def _looks_numeric(label: str) -> bool:
    return bool(_DEC.match(label) or _HEX.match(label))


def _ipv4_part(label: str) -> int:
    if _HEX.match(label):
        if len(label) == 2:
            raise NotAnAddress(f"{label!r} is not a number")
        return int(label, 16)  # the 0x prefix is accepted with base 16
    if _OCT.match(label):
        return int(label[1:], 8)
    if _DEC.match(label) and (label == "0" or not label.startswith("0")):
        return int(label)
    raise NotAnAddress(f"{label!r} is not a valid IPv4 address component")


def parse_ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """Interpret ``host`` the way ``inet_aton`` and URL parsers do.

    Returns the IPv4 address for any spelling of one (``127.0.0.1``,
    ``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``, ``127.0.0.1.``),
    ``None`` for something that is a host name, and raises
    :class:`NotAnAddress` for a host whose last label is a number but which is
    not a valid address (``1.2.3.4.5``, ``08.0.0.1``, ``256.1.1.1``): such a
    host is ambiguous between resolvers and is refused rather than guessed.
    """
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # one trailing dot, as in a fully qualified name
    if not _looks_numeric(labels[-1]):
        return None
    if len(labels) > 4:
        raise NotAnAddress(f"{host!r} has too many parts for an IPv4 address")
    if any(label == "" for label in labels):
        raise NotAnAddress(f"{host!r} has an empty part")
    parts = [_ipv4_part(label) for label in labels]
    head, last = parts[:-1], parts[-1]
    if any(p > 255 for p in head):
        raise NotAnAddress(f"{host!r} has a part larger than 255")
    if last >= 256 ** (4 - len(head)):
        raise NotAnAddress(f"{host!r} is out of range for an IPv4 address")
    value = last
    for i, p in enumerate(head):
        value += p << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def policy_table() -> list[tuple[str, str, str]]:
    """(network, description, disposition) rows, most specific first; for docs and admin UIs."""
    rows = []
    for version in (4, 6):
        for _low, _high, rule in _COMPILED[version]:
            rows.append((str(rule.network), rule.description, rule.disposition.value))
    return rows


__all__ = [
    "ADDRESS_RULES",
    "AddressRule",
    "AddressVerdict",
    "Disposition",
    "IPAddress",
    "IPNetwork",
    "NotAnAddress",
    "embedded_ipv4",
    "ipv4_equivalent",
    "judge_address",
    "matching_rule",
    "never_rule_for",
    "parse_ipv4_literal",
    "policy_table",
    "ranges_inside",
]

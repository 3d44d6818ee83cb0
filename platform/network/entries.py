"""What one allowlist entry means: its canonical form, and whether it is pointless or very broad.

Pure functions over the egress helper's address table (``switchboard.egress``), which is the one
place that knows which addresses are private and which are refused whatever is allowlisted.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from django.utils.translation import gettext

from switchboard import egress

#: How many of the ranges a broad entry opens are named in messages.
_NAMED_RANGES = 4


class InvalidEntry(ValueError):
    """The text is neither a host name (with an optional port), an IP address nor a CIDR network."""


@dataclass(frozen=True)
class Entry:
    """One allowlist entry, understood."""

    value: str
    network: egress.addresses.IPNetwork | None
    #: The rule refusing every address of the entry whatever is allowlisted: the entry is useless.
    never_rule: egress.AddressRule | None
    #: Special-purpose ranges the entry covers whole and reaches beyond (see :func:`broad_ranges`).
    ranges: tuple[egress.AddressRule, ...]

    @property
    def is_broad(self) -> bool:
        return bool(self.ranges)

    def never_message(self) -> str:
        rule = self.never_rule
        assert rule is not None
        return (
            f"{self.value} is {rule.description}: the platform never connects to it, whatever is "
            f"allowlisted, because {rule.why}. An entry for it would have no effect."
        )

    def broad_message(self) -> str:
        ranges = sorted(self.ranges, key=_significance)
        named = ", ".join(f"{rule.network} ({_noun(rule)})" for rule in ranges[:_NAMED_RANGES])
        if len(ranges) > _NAMED_RANGES:
            named = gettext("%(named)s and %(count)s more") % {"named": named, "count": len(ranges) - _NAMED_RANGES}
        if len(ranges) == 1:
            return gettext(
                "%(value)s opens a whole special-purpose range and the space around it: %(named)s. Every outbound "
                "request of the workspace (action calls, spec and document imports by URL) could reach these "
                "addresses."
            ) % {"value": self.value, "named": named}
        return gettext(
            "%(value)s opens %(count)s whole special-purpose ranges and the space around them: %(named)s. Every "
            "outbound request of the workspace (action calls, spec and document imports by URL) could reach these "
            "addresses."
        ) % {"value": self.value, "count": len(ranges), "named": named}


#: The ranges people recognise first; messages about broad entries name these before the rest.
_FAMILIAR = ("private", "loopback", "link-local", "unique local")


def _significance(rule: egress.AddressRule) -> tuple[int, int]:
    familiar = next((i for i, word in enumerate(_FAMILIAR) if word in rule.description), len(_FAMILIAR))
    return familiar, -rule.network.num_addresses


def _noun(rule: egress.AddressRule) -> str:
    """'a private address' -> 'private': keeps messages that list many ranges short."""
    words = rule.description
    for article in ("a ", "an ", "the "):
        words = words.removeprefix(article)
    return words.split(" (", 1)[0].removesuffix(" address").removesuffix(" IPv6")


def normalize(value: str) -> str:
    """The entry as stored: trimmed and lower-cased; raises :class:`InvalidEntry`."""
    text = (value or "").strip().lower()
    if not text:
        raise InvalidEntry(gettext("Give a host name, IP address or CIDR network."))
    try:
        egress.EgressPolicy.from_allowlist([text])
    except ValueError as exc:
        detail = str(exc).rstrip(".")
        raise InvalidEntry(f"{detail[:1].upper()}{detail[1:]}.") from None
    return text


def _network(value: str) -> egress.addresses.IPNetwork | None:
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError:
        return None  # a host name, judged by what it resolves to at request time


def broad_ranges(network: egress.addresses.IPNetwork) -> tuple[egress.AddressRule, ...]:
    """The ranges that make ``network`` a *broad* entry, one that needs an explicit confirmation.

    A deliberate intranet target is one host, one subnet, or at most one whole private range:
    10.0.0.0/8 is the largest range any single network uses. An entry that covers a whole
    special-purpose range *and reaches beyond it* (``0.0.0.0/0``, ``::/0``, ``10.0.0.0/7``,
    ``::ffff:0:0/96``, which stands for all of IPv4) spans unrelated kinds of addresses at once —
    loopback, other private networks, link-local services, public space — so it is either a typo
    in the prefix length or a way of switching the protection off. A fixed prefix-length cut-off
    would miss the second kind (``::ffff:0:0/96`` is a /96) and the IPv6 ranges nested inside
    larger ones; asking the address table does not.
    """
    return egress.ranges_inside(network)


def understand(value: str) -> Entry:
    """The entry ``value`` (already normalised) with what it means."""
    network = _network(value)
    if network is None:
        return Entry(value=value, network=None, never_rule=None, ranges=())
    return Entry(value=value, network=network, never_rule=egress.never_rule_for(network), ranges=broad_ranges(network))

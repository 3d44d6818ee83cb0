"""What an allowlist entry means: canonical form, entries that can never have an effect, broad ones."""

from __future__ import annotations

import pytest

from network import entries


def test_values_are_trimmed_and_lower_cased():
    assert entries.normalize("  Wiki.Corp.Example:8443 ") == "wiki.corp.example:8443"
    assert entries.normalize("10.20.0.0/16") == "10.20.0.0/16"


@pytest.mark.parametrize(
    "value,fragment",
    [
        ("", "Give a host name"),
        ("10.0.0.0/33", "not a valid CIDR network"),
        ("10.0.0.1/8", "not a valid CIDR network"),  # host bits set: probably not what was meant
        ("bad host", "not a valid host"),
        ("wiki.example:99999", "invalid port"),
    ],
)
def test_invalid_values_are_refused_with_the_reason(value, fragment):
    with pytest.raises(entries.InvalidEntry) as info:
        entries.normalize(value)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "value",
    [
        "169.254.169.254",
        "169.254.169.254/32",
        "fd00:ec2::254",
        "::ffff:169.254.169.254",
        "100.100.100.200",
        "168.63.129.16",
    ],
)
def test_metadata_addresses_are_never_effective(value):
    entry = entries.understand(entries.normalize(value))
    assert entry.never_rule is not None and not entry.is_broad
    message = entry.never_message()
    assert message.startswith(f"{value} is ") and "never connects to it" in message
    assert "credentials" in message and "no effect" in message


@pytest.mark.parametrize(
    "value", ["169.254.0.0/16", "10.0.0.0/8", "127.0.0.1", "wiki.corp.example", "metadata.google.internal"]
)
def test_entries_with_reachable_addresses_are_not_never_effective(value):
    assert entries.understand(entries.normalize(value)).never_rule is None


@pytest.mark.parametrize(
    "value",
    ["0.0.0.0/0", "::/0", "10.0.0.0/7", "0.0.0.0/1", "::ffff:0:0/96", "64:ff9b::/96", "2002::/16", "172.0.0.0/8"],
)
def test_entries_reaching_beyond_a_whole_range_are_broad(value):
    entry = entries.understand(entries.normalize(value))
    assert entry.is_broad
    message = entry.broad_message()
    assert message.startswith(f"{value} opens ") and "could reach these addresses" in message


def test_the_broad_message_names_the_familiar_ranges_first():
    message = entries.understand("0.0.0.0/0").broad_message()
    assert "10.0.0.0/8 (private)" in message and "127.0.0.0/8 (loopback)" in message
    assert "and 10 more" in message


@pytest.mark.parametrize(
    "value",
    [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "10.20.0.0/16",
        "127.0.0.1",
        "8.8.8.0/24",
        "wiki.corp.example:8443",
    ],
)
def test_intranet_sized_entries_are_not_broad(value):
    assert not entries.understand(entries.normalize(value)).is_broad

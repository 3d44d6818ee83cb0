"""URL parsing and address policy of the egress client. No network: resolvers are stubs."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from switchboard import egress
from switchboard.egress.addresses import (
    Disposition,
    ipv4_equivalent,
    judge_address,
    matching_rule,
    never_rule_for,
    ranges_inside,
)


class StubResolver:
    """Maps host names to address lists and counts lookups."""

    def __init__(self, table: dict[str, list[str]] | None = None, **hosts: list[str]) -> None:
        self.table = dict(table or {})
        self.table.update({k.replace("_", "."): v for k, v in hosts.items()})
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


def policy(**kwargs) -> egress.EgressPolicy:
    kwargs.setdefault("resolver", StubResolver())
    return egress.EgressPolicy(**kwargs)


# --- the refused-address table -------------------------------------------------
# (address as a resolver would return it, canonical address, words the reason must contain)
REFUSED_ADDRESSES = [
    ("127.0.0.1", "127.0.0.1", "loopback"),
    ("127.255.255.254", "127.255.255.254", "loopback"),
    ("::1", "::1", "loopback"),
    ("10.0.0.5", "10.0.0.5", "private"),
    ("172.16.0.1", "172.16.0.1", "private"),
    ("172.31.255.255", "172.31.255.255", "private"),
    ("192.168.1.1", "192.168.1.1", "private"),
    ("fc00::1", "fc00::1", "unique local"),
    ("fd12:3456::1", "fd12:3456::1", "unique local"),
    ("169.254.169.254", "169.254.169.254", "metadata"),
    ("169.254.1.1", "169.254.1.1", "link-local"),
    ("169.254.170.2", "169.254.170.2", "metadata"),
    ("fd00:ec2::254", "fd00:ec2::254", "metadata"),
    ("100.100.100.200", "100.100.100.200", "metadata"),
    ("fe80::1", "fe80::1", "link-local"),
    ("fe80::1%eth0", "fe80::1%eth0", "zone-scoped"),
    ("100.64.0.1", "100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "100.127.255.254", "carrier-grade NAT"),
    ("224.0.0.1", "224.0.0.1", "multicast"),
    ("239.255.255.250", "239.255.255.250", "multicast"),
    ("ff02::1", "ff02::1", "multicast"),
    ("255.255.255.255", "255.255.255.255", "broadcast"),
    ("240.0.0.1", "240.0.0.1", "reserved"),
    ("0.0.0.0", "0.0.0.0", "unspecified"),
    ("::", "::", "unspecified"),
    ("0.1.2.3", "0.1.2.3", "this network"),
    ("::ffff:127.0.0.1", "::ffff:7f00:1", "IPv4-mapped"),
    ("::ffff:10.0.0.5", "::ffff:a00:5", "IPv4-mapped"),
    ("::ffff:169.254.169.254", "::ffff:a9fe:a9fe", "metadata"),
    ("::127.0.0.1", "::7f00:1", "IPv4-compatible"),
    ("::10.0.0.5", "::a00:5", "IPv4-compatible"),
    ("::ffff:0:7f00:1", "::ffff:0:7f00:1", "IPv4-translated"),
    ("64:ff9b::127.0.0.1", "64:ff9b::7f00:1", "NAT64"),
    ("64:ff9b::10.0.0.5", "64:ff9b::a00:5", "NAT64"),
    ("64:ff9b::169.254.169.254", "64:ff9b::a9fe:a9fe", "metadata"),
    ("64:ff9b:1::1", "64:ff9b:1::1", "local-use NAT64"),
    ("2002:7f00:1::", "2002:7f00:1::", "6to4"),
    ("2002:a00:5::1", "2002:a00:5::1", "6to4"),
    ("2002:c0a8:101::1", "2002:c0a8:101::1", "6to4"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("fec0::1", "fec0::1", "site-local"),
    ("192.0.2.1", "192.0.2.1", "documentation"),
    ("198.51.100.7", "198.51.100.7", "documentation"),
    ("203.0.113.9", "203.0.113.9", "documentation"),
    ("2001:db8::1", "2001:db8::1", "documentation"),
    ("3fff::1", "3fff::1", "documentation"),
    ("198.18.0.1", "198.18.0.1", "benchmarking"),
    ("2001:2::1", "2001:2::1", "benchmarking"),
    ("192.0.0.8", "192.0.0.8", "IETF protocol"),
    ("192.88.99.1", "192.88.99.1", "6to4 relay"),
    ("100::1", "100::1", "discard"),
    ("2001:10::1", "2001:10::1", "ORCHID"),
    ("5f00::1", "5f00::1", "segment routing"),
    ("4000::1", "4000::1", "outside 2000::/3"),
    ("168.63.129.16", "168.63.129.16", "Azure"),
]


@pytest.mark.parametrize("address,canonical,why", REFUSED_ADDRESSES)
def test_refused_when_a_name_resolves_there(address, canonical, why):
    resolver = StubResolver({"victim.example": [address]})
    with pytest.raises(egress.BlockedAddress) as info:
        egress.check_url("https://victim.example/path", policy(resolver=resolver))
    err = info.value
    assert err.code == "blocked_address"
    assert err.address == canonical
    assert why.lower() in err.reason.lower()
    assert f"resolves to {canonical}" in err.message
    assert resolver.calls == [("victim.example", 443)]


@pytest.mark.parametrize("address,canonical,why", [row for row in REFUSED_ADDRESSES if "%" not in row[0]])
def test_refused_as_literal_in_url(address, canonical, why):
    ip = ipaddress.ip_address(address)
    host = f"[{address}]" if ip.version == 6 else address
    resolver = StubResolver()
    with pytest.raises(egress.BlockedAddress) as info:
        egress.check_url(f"http://{host}:8080/x", policy(resolver=resolver))
    assert info.value.address == canonical
    assert why.lower() in info.value.reason.lower()
    assert resolver.calls == []  # literals never reach a resolver


# Odd spellings of internal addresses must be judged as the address they denote.
ODD_SPELLINGS = [
    ("2130706433", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("0x7F.0.0.1", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("127.0.1", "127.0.0.1"),
    ("127.0.0.1.", "127.0.0.1"),
    ("0x7f.1.", "127.0.0.1"),
    ("0", "0.0.0.0"),
    ("0.0", "0.0.0.0"),
    ("00000", "0.0.0.0"),
    ("10.1", "10.0.0.1"),
    ("167772161", "10.0.0.1"),
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ("2852039166", "169.254.169.254"),
    ("0251.0376.0251.0376", "169.254.169.254"),
    ("169.254.43518", "169.254.169.254"),
    ("\uff11\uff12\uff17.\uff10.\uff10.\uff11", "127.0.0.1"),  # full-width digits
    ("127\u30020\u30020\u30021", "127.0.0.1"),  # ideographic full stops
    ("\u2460\u2461\u2466.0.0.1", "127.0.0.1"),  # circled digits
    ("LOCALHOST.", None),  # a name: goes to the resolver, which says loopback
]


@pytest.mark.parametrize("spelling,canonical", ODD_SPELLINGS)
def test_odd_ipv4_spellings_are_refused(spelling, canonical):
    resolver = StubResolver({"localhost": ["127.0.0.1", "::1"]})
    with pytest.raises(egress.BlockedAddress) as info:
        egress.check_url(f"http://{spelling}/latest/meta-data/", policy(resolver=resolver))
    if canonical is None:
        assert resolver.calls == [("localhost", 80)]
        assert info.value.address == "127.0.0.1"
    else:
        assert resolver.calls == []
        assert info.value.address == canonical


@pytest.mark.parametrize(
    "spelling",
    [
        "127.1",
        "0x7f.1",
        "2130706433",
        "0177.0.0.1",
        "0x7f000001",
        "10.1",
        "1.2.3",
        "0xa.0xb.12.13",
        "255.255.255.255",
        "0",
        "4294967295",
        "1.16777215",
    ],
)
def test_ipv4_parser_agrees_with_inet_aton(spelling):
    expected = ipaddress.IPv4Address(socket.inet_aton(spelling))
    assert egress.parse_ipv4_literal(spelling) == expected


@pytest.mark.parametrize(
    "host",
    [
        "1.2.3.4.5",
        "256.1.1.1",
        "1.2.3.256",
        "08.0.0.1",
        "0x.1",
        "1..2",
        "4294967296",
        "1.2.65536",
        "example.0x10",
        "999999999999",
        "0x1.0x100.1.1",
    ],
)
def test_numeric_hosts_that_are_not_addresses_are_invalid(host):
    resolver = StubResolver()
    with pytest.raises(egress.InvalidURL):
        egress.check_url(f"http://{host}/", policy(resolver=resolver))
    assert resolver.calls == []


def test_every_resolved_address_is_checked():
    resolver = StubResolver({"mixed.example": ["93.184.216.34", "2606:2800:220:1::1", "10.0.0.5"]})
    with pytest.raises(egress.BlockedAddress) as info:
        egress.check_url("https://mixed.example/", policy(resolver=resolver))
    assert info.value.address == "10.0.0.5"
    assert "mixed.example resolves to 10.0.0.5, a private address" in info.value.message
    assert "allowlist" in info.value.message


def test_blocked_message_names_address_and_what_to_do():
    resolver = StubResolver({"intranet.example": ["10.0.0.5"]})
    with pytest.raises(egress.BlockedAddress) as info:
        egress.check_url("http://intranet.example/", policy(resolver=resolver))
    assert info.value.message == (
        "The host intranet.example resolves to 10.0.0.5, a private address; "
        "if this is intentional, a workspace admin can allow it under Network allowlist."
    )
    assert info.value.allowlistable and not info.value.listed
    with pytest.raises(egress.BlockedAddress) as info:
        egress.check_url("http://169.254.169.254/latest/meta-data/", policy())
    assert "169.254.169.254" in info.value.message
    assert "metadata" in info.value.message
    assert "never" in info.value.message
    assert "credentials" in info.value.message and "allowlisted" not in info.value.message
    assert not info.value.allowlistable


@pytest.mark.parametrize("entries", [["169.254.0.0/16"], ["169.254.169.254"], ["::ffff:169.254.169.254"]])
def test_an_allowlisted_metadata_address_is_refused_with_the_reason_not_the_advice(entries):
    allowlisted = egress.EgressPolicy.from_allowlist(entries, resolver=StubResolver())
    url = "http://[::ffff:169.254.169.254]/" if entries[0].startswith("::") else "http://169.254.169.254/"
    with pytest.raises(egress.BlockedAddress) as info:
        egress.check_url(url, allowlisted)
    message = info.value.message
    assert info.value.listed and not info.value.allowlistable
    assert "it is allowlisted, but the platform never connects to such addresses" in message
    assert "hand out the credentials" in message
    assert "can allow it" not in message


def test_an_allowlisted_host_name_resolving_to_a_metadata_address_says_why():
    resolver = StubResolver({"metadata.google.internal": ["169.254.169.254"]})
    allowlisted = egress.EgressPolicy.from_allowlist(["metadata.google.internal"], resolver=resolver)
    with pytest.raises(egress.BlockedAddress) as info:
        egress.check_url("http://metadata.google.internal/", allowlisted)
    assert info.value.message.startswith("The host metadata.google.internal resolves to 169.254.169.254")
    assert "it is allowlisted, but" in info.value.message


# --- public addresses pass ---------------------------------------------------------
ALLOWED_ADDRESSES = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "100.63.255.255",  # just below CGNAT
    "100.128.0.0",  # just above CGNAT
    "172.15.255.255",
    "172.32.0.0",
    "169.253.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82a::200e",
    "64:ff9b::8.8.8.8",  # NAT64 (DNS64) spelling of a public IPv4 host
    "::ffff:8.8.8.8",  # IPv4-mapped public address
    "2002:808:808::1",  # 6to4 wrapping a public address
]


@pytest.mark.parametrize("address", ALLOWED_ADDRESSES)
def test_public_addresses_pass(address):
    resolver = StubResolver({"api.example.com": [address]})
    target = egress.check_url("https://api.example.com/v1/things?q=1", policy(resolver=resolver))
    assert target.addresses == (ipaddress.ip_address(address),)
    assert target.pinned_address == ipaddress.ip_address(address)
    assert target.host == "api.example.com"
    assert target.port == 443
    assert target.target == "/v1/things?q=1"
    assert target.allowlisted is False
    assert resolver.calls == [("api.example.com", 443)]


def test_public_literal_passes_without_resolution():
    resolver = StubResolver()
    target = egress.check_url("http://93.184.216.34:8080/a", policy(resolver=resolver))
    assert str(target.pinned_address) == "93.184.216.34"
    assert target.is_ip_literal
    assert resolver.calls == []


def test_explicit_table_covers_stdlib_gaps():
    # These report is_global (or a misleading category) in Python 3.11's ipaddress;
    # the explicit table must refuse them.
    for text in ("::7f00:1", "2002:7f00:1::", "64:ff9b::a00:5", "fec0::1", "::ffff:127.0.0.1"):
        assert judge_address(ipaddress.ip_address(text)).allowed is False, text
    rows = {row[0]: row for row in egress.policy_table()}
    for cidr in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "169.254.169.254/32",
        "224.0.0.0/4",
        "255.255.255.255/32",
        "0.0.0.0/8",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "64:ff9b::/96",
        "2002::/16",
        "2001::/32",
        "::ffff:0:0:0/96",
        "::/96",
        "ff00::/8",
    ):
        assert cidr in rows, cidr
    assert matching_rule(ipaddress.ip_address("169.254.169.254")).disposition is Disposition.NEVER


# --- allowlist -----------------------------------------------------------------------


def test_allow_networks_lifts_private_refusal():
    resolver = StubResolver({"wiki.corp.example": ["10.20.0.7"]})
    with pytest.raises(egress.BlockedAddress):
        egress.check_url("http://wiki.corp.example/", policy(resolver=resolver))
    target = egress.check_url(
        "http://wiki.corp.example/",
        policy(resolver=resolver, allow_networks=("10.20.0.0/16",)),
    )
    assert str(target.pinned_address) == "10.20.0.7"
    assert target.allowlisted is True
    with pytest.raises(egress.BlockedAddress):
        egress.check_url("http://10.21.0.1/", policy(allow_networks=("10.20.0.0/16",)))


def test_allowlisted_loopback_also_covers_its_odd_and_mapped_spellings():
    p = policy(allow_networks=("127.0.0.1/32",))
    for url in (
        "http://127.0.0.1:8000/",
        "http://2130706433:8000/",
        "http://0x7f.1:8000/",
        "http://[::ffff:127.0.0.1]:8000/",
    ):
        assert egress.check_url(url, p).allowlisted is True
    with pytest.raises(egress.BlockedAddress):
        egress.check_url("http://127.0.0.2/", p)
    with pytest.raises(egress.BlockedAddress):
        egress.check_url("http://[::1]/", p)


def test_allowlist_never_opens_metadata_unspecified_multicast_or_broadcast():
    everything = policy(
        allow_networks=("0.0.0.0/0", "::/0"),
        allow_hosts=("meta.example",),
        resolver=StubResolver({"meta.example": ["169.254.169.254"]}),
    )
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        "http://meta.example/",
        "http://0.0.0.0/",
        "http://[::]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:169.254.169.254]/",
    ):
        with pytest.raises(egress.BlockedAddress) as info:
            egress.check_url(url, everything)
        assert "never" in info.value.message, url
    # ...while ordinary private ranges are open under the same policy.
    assert egress.check_url("http://10.1.2.3/", everything).allowlisted


def test_allow_hosts_exact_name_and_optional_port():
    resolver = StubResolver(
        {
            "jira.corp.example": ["192.168.5.5"],
            "wiki.corp.example": ["10.0.0.9"],
            "sub.jira.corp.example": ["192.168.5.6"],
        }
    )
    p = policy(resolver=resolver, allow_hosts=("JIRA.corp.example:8443", "wiki.corp.example."))
    assert egress.check_url("https://jira.corp.example:8443/x", p).allowlisted
    with pytest.raises(egress.BlockedAddress):
        egress.check_url("https://jira.corp.example/x", p)  # port 443 is not allowlisted
    assert egress.check_url("http://wiki.corp.example:9000/", p).allowlisted  # any port
    with pytest.raises(egress.BlockedAddress):
        egress.check_url("http://sub.jira.corp.example:8443/", p)  # no wildcard matching


def test_from_allowlist_splits_networks_and_hosts():
    p = egress.EgressPolicy.from_allowlist(
        ["10.0.0.0/8", " 127.0.0.1 ", "wiki.corp.example:8443", "[::1]:8080", "", "fd00::/8"]
    )
    assert [str(n) for n in p.allowed_networks] == ["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]
    assert p.is_host_allowlisted("wiki.corp.example", 8443)
    assert not p.is_host_allowlisted("wiki.corp.example", 443)
    assert p.is_host_allowlisted("::1", 8080)
    for bad in (["10.0.0.1/8"], ["not a host"], ["host:99999"], ["user@host"]):
        with pytest.raises(ValueError):
            egress.EgressPolicy.from_allowlist(bad)


def test_policy_validation():
    import ssl

    with pytest.raises(ValueError):
        egress.EgressPolicy(allow_networks=("10.0.0.0/33",))
    with pytest.raises(TypeError):
        egress.EgressPolicy(allow_networks="10.0.0.0/8")
    with pytest.raises(ValueError):
        egress.EgressPolicy(read_timeout=0)
    with pytest.raises(ValueError):
        egress.EgressPolicy(max_response_bytes=0)
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    with pytest.raises(ValueError):
        egress.EgressPolicy(ssl_context=insecure)


# --- URL parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pass@example.com/",
        "http://user@example.com/",
        "http://:@example.com/",
        "https://example.com@evil.example/",
        "http://a%40b:c@example.com/",
        "http://example.com:80@127.0.0.1/",
        "http://[::1]@example.com/",
    ],
)
def test_userinfo_is_refused(url):
    resolver = StubResolver({"example.com": ["93.184.216.34"], "evil.example": ["93.184.216.35"]})
    with pytest.raises(egress.InvalidURL) as info:
        egress.check_url(url, policy(resolver=resolver))
    assert info.value.code == "invalid_url"
    assert "user name or password" in info.value.message
    assert resolver.calls == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/",
        "gopher://example.com:70/_x",
        "dict://x:11211/",
        "ldap://example.com/",
        "javascript:alert(1)",
        "data:text/plain,hi",
        "ws://example.com/",
        "//example.com/",
        "example.com/path",
        "http:/example.com/",
        "http:example.com",
        "jar:http://example.com!/",
        "netdoc:///etc/passwd",
        "",
    ],
)
def test_non_http_schemes_and_schemeless_urls_are_refused(url):
    with pytest.raises(egress.InvalidURL):
        egress.check_url(url, policy())


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com\\@127.0.0.1/",
        "http://127.0.0.1\\.example.com/",
        "http://exa mple.com/",
        "http://example.com/a b",
        "http://example.com/\r\nX-Injected: 1",
        "http://example.com\t/",
        "http://exa\x00mple.com/",
        "http://example.com:80\n/",
        "http://%31%32%37.0.0.1/",
        "http://ex%61mple.com/",
        "http://[fe80::1%25eth0]/",
        "http://[::1/",
        "http://[v1.abc]/",
        "http://::1/",
        "http://example.com:0/",
        "http://example.com:65536/",
        "http://example.com:8o/",
        "http://example.com:+80/",
        "http://example.com:80:80/",
        "http://exa_mple..com/",
        "http://-/",
        "http://" + "a" * 64 + ".example/",
        "http://example.com/" + "a" * 9000,
        "http://\u2488.example/",
    ],
)
def test_malformed_urls_are_refused(url):
    resolver = StubResolver({"example.com": ["93.184.216.34"]})
    with pytest.raises(egress.InvalidURL):
        egress.check_url(url, policy(resolver=resolver))
    assert resolver.calls == []


def test_parse_normalises_host_port_and_target():
    parsed = egress.parse_url("HTTPS://Bücher.Example.:8443/a/b?q=1&r=2#frag")
    assert parsed.scheme == "https"
    assert parsed.host == "xn--bcher-kva.example"
    assert parsed.port == 8443
    assert parsed.target == "/a/b?q=1&r=2"
    assert parsed.url == "https://xn--bcher-kva.example:8443/a/b?q=1&r=2"
    assert parsed.display == "https://xn--bcher-kva.example:8443/a/b"
    assert egress.parse_url("http://example.com").target == "/"
    assert egress.parse_url("http://example.com:/x").port == 80
    assert egress.parse_url(" http://example.com:80/x ").url == "http://example.com/x"
    v6 = egress.parse_url("http://[2606:4700:4700:0:0:0:0:1111]:8080/")
    assert v6.host == "2606:4700:4700::1111"
    assert v6.netloc == "[2606:4700:4700::1111]:8080"


def test_error_messages_do_not_echo_query_strings():
    with pytest.raises(egress.InvalidURL) as info:
        egress.check_url("http://user:pw@example.com/p?api_key=sekrit", policy())
    assert "sekrit" not in str(info.value)
    assert "sekrit" not in (info.value.url or "")
    resolver = StubResolver({"internal.example": ["10.0.0.1"]})
    with pytest.raises(egress.BlockedAddress) as info:
        egress.check_url("http://internal.example/p?api_key=sekrit", policy(resolver=resolver))
    assert "sekrit" not in str(info.value) and "sekrit" not in info.value.url


def test_dns_failures():
    with pytest.raises(egress.DNSFailure) as info:
        egress.check_url("https://nonexistent.example/", policy())
    assert info.value.code == "dns_failure"
    assert "nonexistent.example" in info.value.message
    with pytest.raises(egress.DNSFailure):
        egress.check_url("https://empty.example/", policy(resolver=StubResolver({"empty.example": []})))
    with pytest.raises(egress.BlockedAddress):
        egress.check_url("https://junk.example/", policy(resolver=StubResolver({"junk.example": ["not-an-ip"]})))


def test_system_resolver_is_used_by_default_and_checked():
    # "localhost" resolves from the hosts file, without any network traffic.
    assert egress.DEFAULT_POLICY.resolver is None
    with pytest.raises(egress.BlockedAddress) as info:
        egress.check_url("http://localhost:8000/")
    assert info.value.address in ("127.0.0.1", "::1")
    assert "loopback" in info.value.reason


# --- whole networks, as allowlist entries name them ---------------------------------


@pytest.mark.parametrize(
    "network,words",
    [
        ("169.254.169.254/32", "metadata"),
        ("100.100.100.200/32", "metadata"),
        ("fd00:ec2::254/128", "metadata"),
        ("::ffff:169.254.169.254/128", "metadata"),  # judged as the IPv4 address it maps to
        ("64:ff9b::a9fe:a9fe/128", "metadata"),  # NAT64 wrapping 169.254.169.254
        ("2002:a9fe:a9fe::/48", "metadata"),  # 6to4 wrapping 169.254.169.254
        ("224.0.0.0/8", "multicast"),
        ("0.0.0.0/32", "unspecified"),
    ],
)
def test_networks_that_are_never_reachable_name_their_rule(network, words):
    rule = never_rule_for(ipaddress.ip_network(network))
    assert rule is not None and words in rule.description


@pytest.mark.parametrize(
    "network",
    [
        "169.254.0.0/16",  # link-local: allowlistable, although it contains metadata addresses
        "169.254.169.0/24",
        "10.0.0.0/8",
        "127.0.0.1/32",
        "0.0.0.0/8",
        "8.8.8.8/32",
        "fd00::/8",
        "0.0.0.0/0",
    ],
)
def test_networks_with_reachable_addresses_have_no_never_rule(network):
    assert never_rule_for(ipaddress.ip_network(network)) is None


@pytest.mark.parametrize(
    "network,expected",
    [
        ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
        ("::ffff:0:0/96", "0.0.0.0/0"),
        ("64:ff9b::/96", "0.0.0.0/0"),
        ("2002:c0a8::/32", "192.168.0.0/16"),
        ("2002:c0a8:101::/64", "192.168.1.1/32"),
        ("2001:db8::/32", None),
        ("10.0.0.0/8", None),
    ],
)
def test_ipv4_equivalent_of_networks_carrying_ipv4(network, expected):
    result = ipv4_equivalent(ipaddress.ip_network(network))
    assert (str(result) if result else None) == expected


@pytest.mark.parametrize(
    "network,inside",
    [
        ("0.0.0.0/0", "10.0.0.0/8"),
        ("10.0.0.0/7", "10.0.0.0/8"),
        ("::/0", "::1/128"),
        ("::ffff:0:0/96", "127.0.0.0/8"),
        ("64:ff9b::/96", "192.168.0.0/16"),
    ],
)
def test_ranges_inside_lists_the_whole_ranges_a_network_exceeds(network, inside):
    assert inside in {str(rule.network) for rule in ranges_inside(ipaddress.ip_network(network))}


@pytest.mark.parametrize(
    "network",
    [
        "10.0.0.0/8",
        "10.20.0.0/16",
        "127.0.0.1/32",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "fc00::/7",
        "100.64.0.0/10",
        "8.8.8.0/24",
    ],
)
def test_ranges_inside_is_empty_for_one_range_or_less(network):
    assert ranges_inside(ipaddress.ip_network(network)) == ()

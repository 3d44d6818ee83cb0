"""Origins typed by owners become what browsers send; matching is exact or by subdomain wildcard."""

from __future__ import annotations

import pytest

from bots.widget import origins
from switchboard.errors import InvalidInput


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("www.example.com", "https://www.example.com"),
        ("https://Example.COM/", "https://example.com"),
        ("https://example.com:443", "https://example.com"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("https://例子.测试", "https://xn--fsqu00a.xn--0zwm56d"),
        ("https://*.example.com", "https://*.example.com"),
        ("http://[::1]:3000", "http://[::1]:3000"),
    ],
)
def test_origins_are_stored_as_browsers_send_them(typed, stored):
    assert origins.normalise(typed) == stored


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("ftp://example.com", "only http and https"),
        ("https://example.com/shop", "without a path"),
        ("https://*", "wildcard"),
        ("https://ex*ample.com", "wildcard"),
        ("", "empty"),
        ("https://example.com:99999", "not a web address"),
    ],
)
def test_a_bad_origin_says_what_is_wrong(typed, says):
    with pytest.raises(InvalidInput) as caught:
        origins.normalise(typed)
    assert says in caught.value.message
    assert caught.value.param == "allowed_origins"


def test_matching_is_exact_or_by_subdomain_wildcard():
    allowed = ["https://shop.example", "https://*.example.org"]
    assert origins.is_allowed("https://shop.example", allowed)
    assert not origins.is_allowed("http://shop.example", allowed)  # another scheme is another site
    assert not origins.is_allowed("https://shop.example:8443", allowed)
    assert origins.is_allowed("https://a.b.example.org", allowed)
    assert not origins.is_allowed("https://example.org", allowed)  # the wildcard is for subdomains
    assert not origins.is_allowed("https://evilexample.org", allowed)
    assert not origins.is_allowed(None, allowed)


def test_duplicates_collapse_and_the_count_is_capped():
    assert origins.normalise_all(["example.com", "https://EXAMPLE.com/"]) == ["https://example.com"]
    with pytest.raises(InvalidInput) as caught:
        origins.normalise_all([f"https://s{i}.example.com" for i in range(origins.MAX_ALLOWED_ORIGINS + 1)])
    assert caught.value.code == "too_many_origins"


def test_a_malformed_origin_header_counts_as_none():
    assert origins.parse_header("null") is None
    assert origins.parse_header("not a url at all/") is None
    assert origins.parse_header("https://Shop.Example") == "https://shop.example"

"""Auth settings, how credentials are applied and masked, and what a spec's security schemes suggest."""

from __future__ import annotations

import base64

import pytest

from actions import auth
from actions.models import AuthType
from actions.spec import parse_spec
from switchboard.vault import MASK

from .helpers import operation, spec


def test_api_key_header_defaults_and_checks() -> None:
    assert auth.clean_config("api_key", {}) == {"location": "header", "name": "X-API-Key", "prefix": ""}
    assert auth.clean_config("api_key", {"location": "query"}) == {"location": "query", "name": "api_key", "prefix": ""}
    for bad, param in [
        ({"name": "Bad Header"}, "auth.name"),
        ({"name": "Host"}, "auth.name"),
        ({"location": "cookie"}, "auth.location"),
        ({"location": "query", "prefix": "Token"}, "auth.prefix"),
    ]:
        with pytest.raises(auth.AuthConfigError) as caught:
            auth.clean_config("api_key", bad)
        assert caught.value.param == param


HEADER_WITH_PREFIX = {"location": "header", "name": "Authorization", "prefix": "Token"}


@pytest.mark.parametrize(
    "given,expected",
    [
        ({"location": "query"}, {"location": "query", "name": "Authorization"}),  # the prefix is dropped
        ({"location": "query", "prefix": ""}, {"location": "query", "name": "Authorization"}),
        ({"location": "query", "prefix": "Bearer"}, {"location": "query", "name": "Authorization", "prefix": "Bearer"}),
        ({"name": "X-Key"}, {**HEADER_WITH_PREFIX, "name": "X-Key"}),
        ({}, HEADER_WITH_PREFIX),
    ],
)
def test_merged_config_drops_what_the_new_key_location_cannot_use(given, expected) -> None:
    assert auth.merged_config("api_key", HEADER_WITH_PREFIX, given) == expected


def test_merged_config_lets_a_default_name_follow_the_location() -> None:
    stored = {"location": "header", "name": "X-API-Key", "prefix": ""}
    merged = auth.merged_config("api_key", stored, {"location": "query"})
    assert auth.clean_config("api_key", merged) == {"location": "query", "name": "api_key", "prefix": ""}
    assert auth.merged_config("api_key", stored, {"location": "query", "name": "X-API-Key"})["name"] == "X-API-Key"


def test_merged_config_takes_only_the_types_own_settings() -> None:
    assert auth.merged_config("bearer", {}, {"prefix": "Token", "token": "t"}) == {}
    assert auth.merged_config("oauth2_client_credentials", {}, {"token_url": "https://a/t", "name": "x"}) == {
        "token_url": "https://a/t"
    }


def test_oauth_config_is_checked() -> None:
    cleaned = auth.clean_config(
        "oauth2_client_credentials", {"token_url": "https://auth.example.com/token", "scopes": "read, write"}
    )
    assert cleaned == {
        "token_url": "https://auth.example.com/token",
        "scopes": ["read", "write"],
        "audience": "",
        "client_auth": "basic",
    }
    with pytest.raises(auth.AuthConfigError, match="token_url"):
        auth.clean_config("oauth2_client_credentials", {"token_url": "ftp://x"})
    with pytest.raises(auth.AuthConfigError):
        auth.clean_config("oauth2_client_credentials", {"token_url": "https://a/t", "client_auth": "jwt"})
    with pytest.raises(auth.AuthConfigError):
        auth.clean_config("kerberos", {})


def test_secrets_are_checked() -> None:
    with pytest.raises(auth.AuthConfigError):
        auth.clean_secret("api_key", "abc\r\nX-Evil: 1")
    with pytest.raises(auth.AuthConfigError):
        auth.clean_secret("username", "a:b")
    assert auth.clean_secret("password", "p:w") == "p:w"


def test_missing_secrets_per_type() -> None:
    assert auth.missing_secrets("api_key", {}) == ["api_key"]
    assert auth.missing_secrets("basic", {"username": "u"}) == []  # an empty password is allowed
    assert auth.missing_secrets("oauth2_client_credentials", {"client_id": "c"}) == ["client_secret"]
    assert auth.missing_secrets("none", {}) == []


def test_api_key_in_a_header_with_prefix() -> None:
    applied = auth.static_auth(
        "api_key", {"location": "header", "name": "Authorization", "prefix": "Token"}, {"api_key": "sekret-123456"}
    )
    assert applied.headers == (("Authorization", "Token sekret-123456"),)
    assert applied.masked_headers == (("Authorization", f"Token {MASK}"),)
    assert "sekret-123456" in applied.secrets


def test_api_key_in_the_query() -> None:
    applied = auth.static_auth("api_key", {"location": "query", "name": "key"}, {"api_key": "a b/c+d"})
    assert applied.query == (("key", "a b/c+d"),) and applied.masked_query == (("key", MASK),)
    assert {"a b/c+d", "a%20b%2Fc%2Bd", "a+b%2Fc%2Bd"} <= set(applied.secrets)


def test_bearer_and_basic() -> None:
    assert auth.static_auth("bearer", {}, {"token": "tok-abcdef"}).headers == (("Authorization", "Bearer tok-abcdef"),)
    basic = auth.static_auth("basic", {}, {"username": "alice", "password": "p@ss:word"})
    value = basic.headers[0][1]
    assert base64.b64decode(value.split()[1]).decode() == "alice:p@ss:word"
    assert value.split()[1] in basic.secrets and "p@ss:word" in basic.secrets
    assert basic.masked_headers == (("Authorization", f"Basic {MASK}"),)


def test_scrub_replaces_every_secret() -> None:
    assert auth.scrub("key=abcd1234 and abcd1234", ("abcd1234",)) == f"key={MASK} and {MASK}"
    assert auth.scrub("nothing here", ("abcd1234",)) == "nothing here"


def test_credential_hints_show_only_the_end_of_long_secrets() -> None:
    hints = auth.credential_hints({"api_key": "sk-very-long-secret-9876", "username": "bob"})
    assert hints == {"api_key": "…9876", "username": MASK}


def _parsed(**components):
    return parse_spec(
        spec(
            {"/a": {"get": operation()}},
            components={"securitySchemes": components},
            security=[{name: []} for name in components][:1],
        )
    )


@pytest.mark.parametrize(
    "scheme,expected_type,config",
    [
        (
            {"type": "apiKey", "in": "header", "name": "X-Token"},
            AuthType.API_KEY,
            {"location": "header", "name": "X-Token", "prefix": ""},
        ),
        (
            {"type": "apiKey", "in": "query", "name": "key"},
            AuthType.API_KEY,
            {"location": "query", "name": "key", "prefix": ""},
        ),
        ({"type": "http", "scheme": "bearer"}, AuthType.BEARER, {}),
        ({"type": "http", "scheme": "basic"}, AuthType.BASIC, {}),
        (
            {
                "type": "oauth2",
                "flows": {"clientCredentials": {"tokenUrl": "https://a.example/token", "scopes": {"read": "r"}}},
            },
            AuthType.OAUTH2_CLIENT_CREDENTIALS,
            {"token_url": "https://a.example/token", "scopes": [], "audience": "", "client_auth": "basic"},
        ),
    ],
)
def test_suggestion_from_security_schemes(scheme, expected_type, config) -> None:
    parsed = _parsed(main=scheme)
    suggestion = auth.suggest_auth(parsed.security_schemes, parsed.security, parsed.operations)
    assert suggestion["type"] == expected_type and suggestion["config"] == config


def test_unsupported_schemes_suggest_nothing_but_explain() -> None:
    parsed = _parsed(
        user={
            "type": "oauth2",
            "flows": {
                "authorizationCode": {"authorizationUrl": "https://a/auth", "tokenUrl": "https://a/token", "scopes": {}}
            },
        }
    )
    suggestion = auth.suggest_auth(parsed.security_schemes, parsed.security, parsed.operations)
    assert suggestion["type"] == "none" and "client credentials" in suggestion["notes"][0]
    assert auth.suggest_auth({}, (), []) is None


def test_suggestion_prefers_the_scheme_the_document_requires() -> None:
    document = spec(
        {"/a": {"get": operation()}},
        security=[{"second": []}],
        components={
            "securitySchemes": {
                "first": {"type": "http", "scheme": "basic"},
                "second": {"type": "http", "scheme": "bearer"},
            }
        },
    )
    parsed = parse_spec(document)
    assert auth.suggest_auth(parsed.security_schemes, parsed.security, parsed.operations)["type"] == "bearer"


def test_describe() -> None:
    assert (
        auth.describe("api_key", {"location": "header", "name": "X-K", "prefix": "Token"})
        == "API key in the X-K header (prefixed 'Token')"
    )
    assert "query parameter key" in auth.describe("api_key", {"location": "query", "name": "key"})
    assert auth.describe("none", {}) == "No authentication"

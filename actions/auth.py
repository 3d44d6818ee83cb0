"""How an action authenticates: checking the configuration, applying credentials, OAuth2 tokens.

Per action one of: none; an API key in a header (custom name, optional prefix) or a query
parameter; a bearer token; basic (user name and password); OAuth 2.0 client credentials, whose
access token is fetched through the egress helper, kept encrypted on the action until shortly
before it expires, and fetched again after that (or when the API answers 401 to it).

Secrets never leave this module except in the request headers/query they are meant for:
:class:`AppliedAuth` carries masked copies for traces and the list of values to scrub from
anything shown to a person or a model.
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote, quote_plus

from django.conf import settings
from django.utils import timezone

from actions.models import Action, AuthType
from switchboard import egress
from switchboard.vault import MASK, SecretValue

logger = logging.getLogger(__name__)

API_KEY_LOCATIONS = ("header", "query")
#: The name an API key gets when none is given, by where it goes.
API_KEY_DEFAULT_NAMES = {"header": "X-API-Key", "query": "api_key"}
CLIENT_AUTH_METHODS = ("basic", "body")
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    AuthType.NONE: (),
    AuthType.API_KEY: ("api_key",),
    AuthType.BEARER: ("token",),
    AuthType.BASIC: ("username", "password"),
    AuthType.OAUTH2_CLIENT_CREDENTIALS: ("client_id", "client_secret"),
}
CONFIG_FIELDS: dict[str, tuple[str, ...]] = {
    AuthType.NONE: (),
    AuthType.API_KEY: ("location", "name", "prefix"),
    AuthType.BEARER: (),
    AuthType.BASIC: (),
    AuthType.OAUTH2_CLIENT_CREDENTIALS: ("token_url", "scopes", "audience", "client_auth"),
}
ALL_SECRET_FIELDS = tuple(sorted({name for names in SECRET_FIELDS.values() for name in names}))
ALL_CONFIG_FIELDS = tuple(sorted({name for names in CONFIG_FIELDS.values() for name in names}))

_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$")
_FORBIDDEN_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "content-type",
        "accept",
        "accept-encoding",
        "te",
        "upgrade",
        "expect",
        "proxy-authorization",
    }
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Refresh a cached token this long before the server says it expires (at most 10 % of its life).
_EXPIRY_MARGIN_SECONDS = 30


class AuthConfigError(Exception):
    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class AuthError(Exception):
    """Credentials could not be obtained for a call (e.g. the OAuth2 token endpoint refused)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- configuration ----------------------------------------------------------------------------------


def clean_config(auth_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """The non-secret settings of ``auth_type``, checked; raises :class:`AuthConfigError`."""
    if auth_type not in AuthType.values:
        raise AuthConfigError(
            f"Unknown auth type {auth_type!r}; use one of {', '.join(AuthType.values)}.", param="auth.type"
        )
    if auth_type == AuthType.API_KEY:
        location = str(config.get("location") or "header").strip().lower()
        if location not in API_KEY_LOCATIONS:
            raise AuthConfigError("An API key goes in a 'header' or a 'query' parameter.", param="auth.location")
        name = str(config.get("name") or API_KEY_DEFAULT_NAMES[location]).strip()
        prefix = str(config.get("prefix") or "").strip()
        if location == "header":
            if not _HEADER_NAME.match(name):
                raise AuthConfigError(f"{name!r} is not a valid header name.", param="auth.name")
            if name.lower() in _FORBIDDEN_HEADERS:
                raise AuthConfigError(
                    f"The API key cannot go in the {name} header, which the platform sets itself.", param="auth.name"
                )
        elif not name or len(name) > 200 or _CONTROL.search(name):
            raise AuthConfigError("Give the query parameter's name, e.g. api_key.", param="auth.name")
        if len(prefix) > 50 or _CONTROL.search(prefix):
            raise AuthConfigError("The prefix is at most 50 characters, without line breaks.", param="auth.prefix")
        if prefix and location == "query":
            raise AuthConfigError("A prefix only applies to an API key sent in a header.", param="auth.prefix")
        return {"location": location, "name": name, "prefix": prefix}
    if auth_type == AuthType.OAUTH2_CLIENT_CREDENTIALS:
        token_url = str(config.get("token_url") or "").strip()
        try:
            egress.parse_url(token_url)
        except egress.InvalidURL as exc:
            raise AuthConfigError(f"token_url: {exc.message}", param="auth.token_url") from None
        scopes = config.get("scopes") or []
        if isinstance(scopes, str):
            scopes = scopes.replace(",", " ").split()
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise AuthConfigError(
                "scopes is a list of scope names (or one space-separated string).", param="auth.scopes"
            )
        client_auth = str(config.get("client_auth") or "basic").strip().lower()
        if client_auth not in CLIENT_AUTH_METHODS:
            raise AuthConfigError(
                "client_auth is 'basic' (HTTP Basic, the OAuth 2.0 default) or 'body' "
                "(client_id and client_secret as form fields).",
                param="auth.client_auth",
            )
        audience = str(config.get("audience") or "").strip()
        return {
            "token_url": token_url,
            "scopes": [s.strip() for s in scopes if s.strip()],
            "audience": audience,
            "client_auth": client_auth,
        }
    return {}


def merged_config(auth_type: str, stored: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The settings of ``auth_type`` after a change: ``given`` over what is ``stored``, without the
    stored settings the new type or key location has no use for.

    ``stored`` is empty when the type changes. Without this, a prefix kept from when the key went in a
    header would make a switch to a query parameter fail, though nobody asked for a prefix.
    """
    config = dict(stored)
    config.update({key: given[key] for key in CONFIG_FIELDS[auth_type] if key in given})
    if auth_type != AuthType.API_KEY:
        return config
    old_location = str(stored.get("location") or "header").strip().lower()
    new_location = str(config.get("location") or "header").strip().lower()
    if (
        new_location != old_location
        and "name" not in given
        and stored.get("name") == API_KEY_DEFAULT_NAMES.get(old_location)
    ):
        config.pop("name", None)  # the old location's default name gives way to the new one's
    if new_location == "query" and not given.get("prefix"):
        config.pop("prefix", None)  # a query parameter has no prefix; one sent explicitly is refused
    return config


def applicable_fields(auth_type: str) -> tuple[str, ...]:
    """Every field an auth change of ``auth_type`` may carry (settings, then secrets)."""
    return CONFIG_FIELDS[auth_type] + SECRET_FIELDS[auth_type]


def clean_secret(name: str, value: str) -> str:
    if _CONTROL.search(value):
        raise AuthConfigError(f"{name} must not contain line breaks or control characters.", param=f"auth.{name}")
    if name == "username" and ":" in value:
        raise AuthConfigError("A basic-auth user name cannot contain ':'.", param="auth.username")
    if len(value) > 8000:
        raise AuthConfigError(f"{name} is longer than 8000 characters.", param=f"auth.{name}")
    return value


def missing_secrets(auth_type: str, credentials: dict[str, str]) -> list[str]:
    needed = SECRET_FIELDS.get(auth_type, ())
    if auth_type == AuthType.BASIC:
        needed = ("username",)  # an empty password is legitimate for some APIs
    return [name for name in needed if not credentials.get(name)]


def credential_hints(credentials: dict[str, str]) -> dict[str, str]:
    """``{"api_key": "…1234"}``: enough for a person to recognise which secret is stored."""
    return {name: SecretValue(value).hint for name, value in sorted(credentials.items()) if value}


# -- applying credentials -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AppliedAuth:
    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    # The same with the secret parts masked, for traces and the test console.
    masked_headers: tuple[tuple[str, str], ...] = ()
    masked_query: tuple[tuple[str, str], ...] = ()
    secrets: tuple[str, ...] = field(default=(), repr=False)


NO_AUTH = AppliedAuth()


def static_auth(auth_type: str, config: dict[str, Any], credentials: dict[str, str]) -> AppliedAuth:
    """Headers/query parameters for the API-key, bearer and basic types."""
    if auth_type == AuthType.API_KEY:
        key = credentials.get("api_key", "")
        name = config.get("name") or "X-API-Key"
        if config.get("location") == "query":
            return AppliedAuth(query=((name, key),), masked_query=((name, MASK),), secrets=_variants(key))
        prefix = (config.get("prefix") or "").strip()
        value = f"{prefix} {key}" if prefix else key
        masked = f"{prefix} {MASK}" if prefix else MASK
        return AppliedAuth(headers=((name, value),), masked_headers=((name, masked),), secrets=_variants(key))
    if auth_type == AuthType.BEARER:
        return bearer_auth(credentials.get("token", ""))
    if auth_type == AuthType.BASIC:
        username, password = credentials.get("username", ""), credentials.get("password", "")
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        secrets = (*_variants(password), token)
        if len(username) >= 6:
            secrets += _variants(username)
        return AppliedAuth(
            headers=(("Authorization", f"Basic {token}"),),
            masked_headers=(("Authorization", f"Basic {MASK}"),),
            secrets=secrets,
        )
    return NO_AUTH


def bearer_auth(token: str) -> AppliedAuth:
    return AppliedAuth(
        headers=(("Authorization", f"Bearer {token}"),),
        masked_headers=(("Authorization", f"Bearer {MASK}"),),
        secrets=_variants(token),
    )


def _variants(secret: str) -> tuple[str, ...]:
    """A secret as it may appear in text: as is, percent-encoded, form-encoded."""
    if len(secret) < 4:
        return ()
    return tuple(dict.fromkeys((secret, quote(secret, safe=""), quote_plus(secret))))


def scrub(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """``text`` with every occurrence of every secret replaced by the mask."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


# -- OAuth 2.0 client credentials ---------------------------------------------------------------------


@dataclass(frozen=True)
class OAuthToken:
    access_token: str
    expires_in: int


def fetch_client_credentials_token(
    *, config: dict[str, Any], credentials: dict[str, str], policy: egress.EgressPolicy
) -> OAuthToken:
    """POST to the token endpoint (RFC 6749 §4.4) through the egress helper."""
    client_id, client_secret = credentials.get("client_id", ""), credentials.get("client_secret", "")
    form: dict[str, str] = {"grant_type": "client_credentials"}
    if config.get("scopes"):
        form["scope"] = " ".join(config["scopes"])
    if config.get("audience"):
        form["audience"] = config["audience"]
    headers = {"Accept": "application/json"}
    if config.get("client_auth") == "body":
        form["client_id"] = client_id
        form["client_secret"] = client_secret
    else:
        # RFC 6749 §2.3.1: form-encode both before joining them for HTTP Basic.
        raw = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(raw.encode()).decode("ascii")
    secrets = _variants(client_secret) + _variants(client_id)
    try:
        response = egress.request("POST", config["token_url"], policy=policy, headers=headers, data=form)
    except egress.EgressError as exc:
        raise AuthError(
            "oauth_token_failed", f"Could not get an access token from the OAuth2 token endpoint: {exc.message}"
        ) from None
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not response.is_success:
        detail = ""
        if isinstance(payload, dict):
            detail = " ".join(str(payload.get(key, "")) for key in ("error", "error_description")).strip()
        detail = scrub(detail[:300], secrets)
        raise AuthError(
            "oauth_token_failed",
            f"The OAuth2 token endpoint refused the client credentials (HTTP {response.status_code}"
            f"{': ' + detail if detail else ''}); check the client id, secret and scopes.",
        )
    if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str) or not payload["access_token"]:
        raise AuthError("oauth_token_failed", "The OAuth2 token endpoint answered without an access_token.")
    scheme = str(payload.get("token_type") or "bearer").lower()
    if scheme != "bearer":
        raise AuthError(
            "oauth_token_failed",
            f"The OAuth2 token endpoint issued a {scheme!r} token; only bearer tokens are supported.",
        )
    try:
        expires_in = int(payload.get("expires_in"))
    except (TypeError, ValueError):
        expires_in = settings.ACTIONS_OAUTH_DEFAULT_TOKEN_SECONDS
    return OAuthToken(access_token=payload["access_token"], expires_in=max(1, expires_in))


def oauth_token_for(action: Action, *, policy: egress.EgressPolicy, force: bool = False) -> tuple[str, bool]:
    """The action's access token: (token, fetched now). Cached encrypted on the action row."""
    now = timezone.now()
    if not force and action.oauth_token and action.oauth_token_expires_at and action.oauth_token_expires_at > now:
        return action.oauth_token.reveal(), False
    token = fetch_client_credentials_token(
        config=action.auth_config, credentials=action.credential_values(), policy=policy
    )
    margin = min(_EXPIRY_MARGIN_SECONDS, token.expires_in / 10)
    expires_at = now + timedelta(seconds=token.expires_in - margin)
    secret = SecretValue(token.access_token)
    # update(), not save(): parallel calls may refresh at once, and nothing else may be overwritten.
    Action.objects.filter(pk=action.pk).update(oauth_token=secret, oauth_token_expires_at=expires_at)
    action.oauth_token, action.oauth_token_expires_at = secret, expires_at
    logger.info("oauth2 token fetched for action %s (expires in %d s)", action.pk, token.expires_in)
    return token.access_token, True


# -- what the spec suggests ---------------------------------------------------------------------------


def suggest_auth(
    security_schemes: dict[str, Any], security: tuple[Any, ...], operations: list[Any]
) -> dict[str, Any] | None:
    """The auth settings a spec's security schemes call for (without secrets), or None.

    ``security_schemes`` are :class:`actions.spec.SecurityScheme` values; the scheme the
    document (or, failing that, most operations) requires is preferred.
    """
    if not security_schemes:
        return None
    usage: dict[str, int] = {}
    scopes: dict[str, set[str]] = {}
    for requirement in security:
        for key, needed in requirement.schemes.items():
            usage[key] = usage.get(key, 0) + 1000
            scopes.setdefault(key, set()).update(needed)
    for operation in operations:
        for requirement in operation.security:
            for key, needed in requirement.schemes.items():
                usage[key] = usage.get(key, 0) + 1
                scopes.setdefault(key, set()).update(needed)
    ordered = sorted(security_schemes, key=lambda key: -usage.get(key, 0))
    notes: list[str] = []
    for key in ordered:
        scheme = security_schemes[key]
        suggestion = _suggest_one(scheme, sorted(scopes.get(key, ())), notes)
        if suggestion is not None:
            suggestion["scheme"] = key
            suggestion["notes"] = notes
            return suggestion
    return {"type": AuthType.NONE, "config": {}, "scheme": None, "notes": notes}


def _suggest_one(scheme: Any, scopes: list[str], notes: list[str]) -> dict[str, Any] | None:
    if scheme.type == "apiKey":
        if scheme.location in API_KEY_LOCATIONS:
            return {
                "type": AuthType.API_KEY,
                "config": {"location": scheme.location, "name": scheme.name, "prefix": ""},
            }
        notes.append(
            f"Security scheme '{scheme.key}' sends an API key in a cookie; use an API key header named "
            "Cookie with the prefix '<name>=' instead."
        )
        return None
    if scheme.type == "http" and scheme.scheme == "bearer":
        return {"type": AuthType.BEARER, "config": {}}
    if scheme.type == "http" and scheme.scheme == "basic":
        return {"type": AuthType.BASIC, "config": {}}
    if scheme.type == "oauth2":
        for flow in scheme.flows:
            if flow.kind == "clientCredentials" and flow.token_url:
                return {
                    "type": AuthType.OAUTH2_CLIENT_CREDENTIALS,
                    "config": {"token_url": flow.token_url, "scopes": scopes, "audience": "", "client_auth": "basic"},
                }
        notes.append(
            f"Security scheme '{scheme.key}' signs users in with OAuth2 "
            f"({', '.join(f.kind for f in scheme.flows) or 'no flows'}); actions support the client "
            "credentials flow, or a token pasted as a bearer token."
        )
        return None
    if scheme.type == "openIdConnect":
        notes.append(
            f"Security scheme '{scheme.key}' uses OpenID Connect; paste an access token as a bearer token instead."
        )
        return None
    notes.append(f"Security scheme '{scheme.key}' ({scheme.type}) is not supported.")
    return None


def describe(auth_type: str, config: dict[str, Any]) -> str:
    """One line for people: where the credentials go."""
    if auth_type == AuthType.API_KEY:
        if config.get("location") == "query":
            return f"API key in the query parameter {config.get('name')}"
        prefix = config.get("prefix")
        return f"API key in the {config.get('name')} header" + (f" (prefixed '{prefix}')" if prefix else "")
    if auth_type == AuthType.BEARER:
        return "Bearer token in the Authorization header"
    if auth_type == AuthType.BASIC:
        return "HTTP Basic (user name and password)"
    if auth_type == AuthType.OAUTH2_CLIENT_CREDENTIALS:
        return f"OAuth2 client credentials from {config.get('token_url')}"
    return "No authentication"

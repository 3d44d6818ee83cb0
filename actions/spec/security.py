"""Security schemes (how to authenticate) and requirements (which schemes an operation needs)."""

from __future__ import annotations

from typing import Any

from .fields import dict_field, str_field
from .models import Notice, OAuthFlow, SecurityRequirement, SecurityScheme
from .refs import RefError, RefResolver

_API_KEY_LOCATIONS = ("header", "query", "cookie")
_OAUTH_FLOW_KINDS = ("implicit", "password", "clientCredentials", "authorizationCode")


def parse_security_schemes(components: Any, resolver: RefResolver) -> tuple[dict[str, SecurityScheme], list[Notice]]:
    schemes: dict[str, SecurityScheme] = {}
    notices: list[Notice] = []
    raw = components.get("securitySchemes") if isinstance(components, dict) else None
    if not isinstance(raw, dict):
        return schemes, notices
    for key, value in raw.items():
        try:
            value = resolver.deref(value)
        except RefError as exc:
            notices.append(Notice("invalid_security_scheme", f"Security scheme '{key}': {exc.message}."))
            continue
        scheme, problem = _scheme(str(key), value)
        if scheme is None:
            notices.append(Notice("invalid_security_scheme", f"Security scheme '{key}' {problem}; it was ignored."))
        else:
            schemes[str(key)] = scheme
    return schemes, notices


def _scheme(key: str, raw: Any) -> tuple[SecurityScheme | None, str]:
    if not isinstance(raw, dict):
        return None, "is not an object"
    kind = raw.get("type")
    description = str_field(raw, "description")
    if kind == "apiKey":
        name, location = raw.get("name"), raw.get("in")
        if not isinstance(name, str) or not name or location not in _API_KEY_LOCATIONS:
            return None, "needs a 'name' and 'in' (header, query or cookie)"
        return SecurityScheme(key=key, type=kind, description=description, name=name, location=location), ""
    if kind == "http":
        scheme = raw.get("scheme")
        if not isinstance(scheme, str) or not scheme:
            return None, "needs a 'scheme' such as bearer or basic"
        bearer_format = str_field(raw, "bearerFormat") or None
        return SecurityScheme(
            key=key, type=kind, description=description, scheme=scheme.lower(), bearer_format=bearer_format
        ), ""
    if kind == "oauth2":
        flows = dict_field(raw, "flows")
        parsed = tuple(_flow(name, flows[name]) for name in _OAUTH_FLOW_KINDS if isinstance(flows.get(name), dict))
        return SecurityScheme(key=key, type=kind, description=description, flows=parsed), ""
    if kind == "openIdConnect":
        url = raw.get("openIdConnectUrl")
        return SecurityScheme(
            key=key, type=kind, description=description, openid_connect_url=url if isinstance(url, str) else None
        ), ""
    if kind == "mutualTLS":
        return SecurityScheme(key=key, type=kind, description=description), ""
    return None, f"has an unknown type {kind!r}"


def _flow(kind: str, raw: dict[str, Any]) -> OAuthFlow:
    def url(field: str) -> str | None:
        value = raw.get(field)
        return value if isinstance(value, str) and value else None

    scopes = dict_field(raw, "scopes")
    return OAuthFlow(
        kind=kind,
        authorization_url=url("authorizationUrl"),
        token_url=url("tokenUrl"),
        refresh_url=url("refreshUrl"),
        scopes={str(name): str(text) if text is not None else "" for name, text in scopes.items()},
    )


def parse_requirements(raw: Any) -> tuple[SecurityRequirement, ...]:
    """``[{"oauth": ["read"]}, {}]`` -> two alternatives, the second being "no credentials"."""
    if not isinstance(raw, list):
        return ()
    requirements: list[SecurityRequirement] = []
    for entry in raw:
        if not isinstance(entry, dict):
            continue
        requirements.append(
            SecurityRequirement(
                schemes={
                    str(name): tuple(str(scope) for scope in scopes) if isinstance(scopes, list) else ()
                    for name, scopes in entry.items()
                }
            )
        )
    return tuple(requirements)

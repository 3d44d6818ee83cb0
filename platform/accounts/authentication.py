"""`Authorization: Bearer <workspace API key>` for the REST and OpenAI-compatible APIs."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from accounts.actors import actor_set
from accounts.models import ApiKey
from accounts.services import api_key_authenticate


class ApiKeyPrincipal:
    """The caller of a request authenticated by an API key (not a person)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    pk = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}…"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").strip()
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            raise exceptions.AuthenticationFailed(
                "Use an 'Authorization: Bearer <API key>' header.", code="invalid_authorization_header"
            )
        secret = secret.strip()
        if not secret:
            raise exceptions.AuthenticationFailed(
                "The Authorization header has no API key after 'Bearer'.", code="invalid_api_key"
            )
        key = api_key_authenticate(secret=secret)
        if key is None:
            raise exceptions.AuthenticationFailed(
                "Invalid or revoked API key. Create a key under Settings → API keys.", code="invalid_api_key"
            )
        actor_set(lambda: key)  # reset with the request by ActiveWorkspaceMiddleware
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'

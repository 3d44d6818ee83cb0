"""Scope and role checks: reads need membership, writes need `editor` unless a view asks for more.

API keys have a scope. A `full` key acts with its role, like a member. A `chat` key reaches only
views that set `chat_scope_allowed = True` (chatting with published bots, following the turns it
started, the OpenAI-compatible API and `GET /api/v1/workspace`); there its role is not checked,
because the scope itself is the grant. Everywhere else it gets a 403 naming the scope needed.
"""

from __future__ import annotations

from rest_framework import exceptions, permissions

from accounts.models import ApiKey, ApiKeyScope, Role, role_at_least
from accounts.tenancy import access_for_request
from switchboard.api.errors import ApiError

CHAT_SCOPE_SUMMARY = (
    "it can only chat with published bots (POST /api/v1/bots/{id}/chat, /api/v1/messages/{id}/…, "
    "POST /v1/chat/completions, GET /v1/models) and read GET /api/v1/workspace"
)


class IsWorkspaceMember(permissions.BasePermission):
    """The caller belongs to a workspace, with the scope and at least the role the view requires.

    Views set `read_role` / `write_role` (defaults viewer / editor) to ask for more, and
    `chat_scope_allowed = True` to be reachable with a chat-scope key.
    """

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated("Authentication required: send 'Authorization: Bearer <API key>'.")
        access = access_for_request(request)
        if access is None:
            raise exceptions.PermissionDenied("You are not a member of any workspace.")
        chat_route = getattr(view, "chat_scope_allowed", False)
        if access.scope == ApiKeyScope.CHAT:
            if not chat_route:
                raise ApiError(
                    f"{request.method} {request.path} needs an API key with the full scope. This key has "
                    f"the chat scope: {CHAT_SCOPE_SUMMARY}.",
                    code="insufficient_scope",
                    status_code=403,
                )
            return True
        safe = request.method in permissions.SAFE_METHODS
        required = getattr(view, "read_role" if safe else "write_role", Role.VIEWER if safe else Role.EDITOR)
        if not role_at_least(access.role, required):
            by_key = isinstance(getattr(request, "auth", None), ApiKey)
            hint = " An API key with the chat scope can do this without a role." if chat_route and by_key else ""
            raise exceptions.PermissionDenied(
                f"This needs the {required} role in the workspace; you have {access.role}.{hint}"
            )
        return True


def is_chat_scope(request) -> bool:
    access = access_for_request(request)
    return access is not None and access.scope == ApiKeyScope.CHAT


def refuse_for_chat_scope(request, what: str, *, param: str | None = None) -> None:
    """Stop a chat-scope key from doing `what` inside a route it may otherwise use."""
    if is_chat_scope(request):
        raise ApiError(
            f"{what} needs an API key with the full scope (and the editor role). This key has the chat "
            "scope, which serves published bots only.",
            code="insufficient_scope",
            status_code=403,
            param=param,
        )

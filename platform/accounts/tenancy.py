"""The one mechanism that scopes API access to the caller's workspace.

Every API view over workspace-owned rows inherits `WorkspaceScopedMixin`: its queryset is
filtered by the caller's workspace before DRF looks anything up, so another workspace's id is
simply not found (404) — there is no object to leak and no 403 to reveal that it exists.
New rows get the caller's workspace from `perform_create`, never from the request body.
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.request import Request

from accounts.models import ApiKeyScope, Role, Workspace
from accounts.selectors import membership_get, user_memberships


@dataclass(frozen=True)
class WorkspaceAccess:
    workspace: Workspace
    role: str
    scope: str = ApiKeyScope.FULL  # people signed in to the UI always act with their full role


SESSION_KEY = "workspace_id"


def access_for_session(request) -> WorkspaceAccess | None:
    """The signed-in user's active workspace: the one picked in the UI, else their first."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(user, "pk", None) is None:
        return None
    chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    membership = membership_get(user=user, workspace_id=chosen) if chosen else None
    if membership is None:
        membership = user_memberships(user=user).first()
    if membership is None:
        return None
    return WorkspaceAccess(workspace=membership.workspace, role=membership.role)


def access_for_request(request: Request) -> WorkspaceAccess | None:
    cached = getattr(request, "_workspace_access", None)
    if cached is not None:
        return cached
    from accounts.authentication import ApiKeyPrincipal

    if isinstance(request.user, ApiKeyPrincipal):
        key = request.user.api_key
        access = WorkspaceAccess(workspace=key.workspace, role=key.role, scope=key.scope)
    else:
        access = access_for_session(request._request if isinstance(request, Request) else request)
    request._workspace_access = access
    return access


class WorkspaceScopedMixin:
    """For DRF views over a WorkspaceScopedModel; see the module docstring."""

    request: Request

    @property
    def workspace(self) -> Workspace:
        access = access_for_request(self.request)
        assert access is not None, "IsWorkspaceMember runs before any queryset is built"
        return access.workspace

    @property
    def role(self) -> str:
        access = access_for_request(self.request)
        return access.role if access else Role.VIEWER

    def get_queryset(self):
        return super().get_queryset().filter(workspace=self.workspace)

    def perform_create(self, serializer):
        serializer.save(workspace=self.workspace)

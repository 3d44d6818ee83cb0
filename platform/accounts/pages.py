"""Workspace access for server-rendered pages (the API uses accounts.tenancy's mixin instead)."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from accounts.models import Role, role_at_least
from accounts.tenancy import WorkspaceAccess


def page_access(request: HttpRequest) -> WorkspaceAccess:
    """The signed-in user's active workspace and role; 404 for someone in no workspace."""
    access = request.workspace_access
    if not access:
        raise Http404("You are not a member of any workspace.")
    return access


def can_edit(access: WorkspaceAccess) -> bool:
    return role_at_least(access.role, Role.EDITOR)


def can_admin(access: WorkspaceAccess) -> bool:
    return role_at_least(access.role, Role.ADMIN)

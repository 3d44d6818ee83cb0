"""Role checks: reads need membership, writes need `editor` unless a view asks for more."""

from __future__ import annotations

from rest_framework import exceptions, permissions

from accounts.models import Role, role_at_least
from accounts.tenancy import access_for_request


class IsWorkspaceMember(permissions.BasePermission):
    """The caller belongs to a workspace, with at least the role the view requires.

    Views set `read_role` / `write_role` (defaults viewer / editor) to ask for more.
    """

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated(
                "Authentication required: send 'Authorization: Bearer <API key>'.")
        access = access_for_request(request)
        if access is None:
            raise exceptions.PermissionDenied("You are not a member of any workspace.")
        safe = request.method in permissions.SAFE_METHODS
        required = getattr(view, "read_role" if safe else "write_role", Role.VIEWER if safe else Role.EDITOR)
        if not role_at_least(access.role, required):
            raise exceptions.PermissionDenied(
                f"This needs the {required} role in the workspace; you have {access.role}.")
        return True

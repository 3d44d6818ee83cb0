"""Workspace access for server-rendered pages (the API uses accounts.tenancy's mixin instead)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Role, role_at_least
from accounts.tenancy import WorkspaceAccess
from switchboard.api.errors import ApiError
from switchboard.errors import DomainError


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


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    """A 403 page saying why: for a page, or a form posted directly, that the role may not use."""
    return render(request, "accounts/forbidden.html", {"message": message}, status=403)


def add_service_error(form, exc: DomainError | ApiError) -> None:
    """The pages' one mapping of a domain error: shown on the form field its `param` names (the
    last part of a dotted path such as `config.model.provider_model_id`), else above the form."""
    field = (exc.param or "").split(".")[-1]
    form.add_error(field if field in form.fields else None, exc.message)

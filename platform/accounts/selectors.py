"""Reads for accounts and workspaces."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import ApiKey, Membership, User, Workspace


def user_memberships(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")


def membership_get(*, user: User, workspace_id: str) -> Membership | None:
    return Membership.objects.filter(user=user, workspace_id=workspace_id).select_related("workspace").first()


def workspace_members(*, workspace: Workspace) -> QuerySet[Membership]:
    return Membership.objects.filter(workspace=workspace).select_related("user").order_by("user__email")


def api_key_list(*, workspace: Workspace) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_workspace(workspace).select_related("created_by")


def api_key_get(*, workspace: Workspace, id: str) -> ApiKey | None:
    return ApiKey.objects.for_workspace(workspace).filter(pk=id).first()

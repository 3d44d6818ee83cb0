"""Reads for accounts, workspaces, members, invitations and the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import ApiKey, AuditEvent, Invitation, Membership, User, Workspace
from accounts.services import hash_secret


def user_memberships(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")


def membership_get(*, user: User, workspace_id: str) -> Membership | None:
    return Membership.objects.filter(user=user, workspace_id=workspace_id).select_related("workspace").first()


def workspace_members(*, workspace: Workspace) -> QuerySet[Membership]:
    return Membership.objects.filter(workspace=workspace).select_related("user").order_by("user__email")


def member_get(*, workspace: Workspace, id: str) -> Membership | None:
    """A membership of `workspace` by its id; None for another workspace's (callers answer 404)."""
    return Membership.objects.filter(workspace=workspace, pk=id).select_related("user", "workspace").first()


def invitation_list(*, workspace: Workspace) -> QuerySet[Invitation]:
    return Invitation.objects.for_workspace(workspace).select_related("invited_by", "workspace")


def invitation_pending_list(*, workspace: Workspace) -> QuerySet[Invitation]:
    return invitation_list(workspace=workspace).filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def invitation_get(*, workspace: Workspace, id: str) -> Invitation | None:
    return invitation_list(workspace=workspace).filter(pk=id).first()


def invitation_by_token(*, token: str) -> Invitation | None:
    return Invitation.objects.select_related("workspace").filter(token_hash=hash_secret(token or "")).first()


def audit_event_list(
    *,
    workspace: Workspace,
    actor: str = "",
    action: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """The workspace's audit log, newest first. `actor` is a user id or an email; `since` and
    `until` are whole days (UTC), both included."""
    events = AuditEvent.objects.for_workspace(workspace).select_related("actor")
    if actor:
        events = events.filter(actor__email=actor.lower()) if "@" in actor else events.filter(actor_id=actor)
    if action:
        events = events.filter(action=action)
    if since is not None:
        events = events.filter(created_at__gte=datetime.combine(since, time.min, tzinfo=UTC))
    if until is not None:
        events = events.filter(created_at__lt=datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC))
    return events.order_by("-created_at", "-id")


def api_key_list(*, workspace: Workspace) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_workspace(workspace).select_related("created_by")


def api_key_get(*, workspace: Workspace, id: str) -> ApiKey | None:
    return ApiKey.objects.for_workspace(workspace).filter(pk=id).first()


def audit_actor_choices(*, workspace: Workspace) -> list[tuple[str, str]]:
    """(user id, email) of everyone who appears in the workspace's audit log, by email."""
    rows = (
        AuditEvent.objects.for_workspace(workspace)
        .filter(actor__isnull=False)
        .values_list("actor_id", "actor__email")
        .distinct()
        .order_by("actor__email")
    )
    return [(str(actor_id), str(email)) for actor_id, email in rows]

"""Writes for users, workspaces, memberships, invitations, API keys and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.actors import actor_current
from accounts.models import (
    ApiKey,
    ApiKeyScope,
    AuditAction,
    AuditEvent,
    Invitation,
    Language,
    Membership,
    Role,
    User,
    Workspace,
    role_at_least,
)
from switchboard.errors import Conflict, Forbidden, InvalidInput, NotFound
from switchboard.queries import PreparedQuery

# last_used_at is informative; writing it on every request would put a write on the hot path.
_LAST_USED_RESOLUTION = timedelta(minutes=1)
MIN_BOOTSTRAP_SECRET_LENGTH = 24
_BOOTSTRAP_LOCK_ID = 0x5B0075


def hash_secret(secret: str) -> str:
    # API key secrets are 256-bit random strings, so a fast hash is as strong as a slow one
    # and keeps authentication to one indexed lookup.
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def user_create(*, email: str, password: str | None, name: str = "", is_staff: bool = False) -> User:
    email = email.strip().lower()
    if User.objects.filter(email=email).exists():
        raise Conflict(f"A user with the email {email} already exists.", code="email_taken", param="email")
    return User.objects.create_user(email=email, password=password, name=name, is_staff=is_staff, is_superuser=is_staff)


def user_language_set(*, user: User, language: str) -> User:
    """The person's UI language: a code of settings.LANGUAGES, or "" to follow the browser."""
    if language not in Language.values:
        raise InvalidInput(
            _("Choose one of the languages offered: %(choices)s.")
            % {"choices": ", ".join(str(label) for label in Language.labels)},
            code="invalid_language",
            param="language",
        )
    user.language = language
    user.save(update_fields=["language"])
    return user


@transaction.atomic
def workspace_create(*, name: str, owner: User) -> Workspace:
    workspace = Workspace.objects.create(name=name.strip() or "My workspace")
    Membership.objects.create(user=owner, workspace=workspace, role=Role.OWNER)
    return workspace


def _new_secret() -> str:
    return settings.API_KEY_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def api_key_create(
    *,
    workspace: Workspace,
    name: str,
    role: str | None = None,
    scope: str = ApiKeyScope.FULL,
    created_by: User | None = None,
    creator_role: str | None = None,
    secret: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never retrievable again.

    A `full` key acts with `role` (default editor). A `chat` key has no role to choose: it can chat
    with published bots and nothing else, and is stored as a viewer so that any role check it
    could ever meet fails closed.
    """
    role = _api_key_role(role=role, scope=scope)
    if creator_role is not None and not role_at_least(creator_role, role):
        raise Forbidden(
            _("You cannot create a key with more rights (%(role)s) than your own (%(own)s).")
            % {"role": role, "own": creator_role},
            code="insufficient_role",
            param="role",
        )
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the key a name, e.g. the system that will use it."), code="required", param="name")
    secret = secret or _new_secret()
    secret_hash = hash_secret(secret)
    if ApiKey.objects.filter(secret_hash=secret_hash).exists():
        raise Conflict("That secret is already in use by another key.", code="duplicate_secret")
    key = ApiKey.objects.create(
        workspace=workspace,
        name=name,
        role=role,
        scope=scope,
        created_by=created_by,
        prefix=secret[:10],
        secret_hash=secret_hash,
    )
    audit_record(
        workspace=workspace, action=AuditAction.API_KEY_CREATE, target=key, details={"role": role, "scope": scope}
    )
    return key, secret


def _api_key_role(*, role: str | None, scope: str) -> str:
    """The role to store for a key of `scope`, or an InvalidInput saying what is wrong with the pair."""
    if scope not in ApiKeyScope.values:
        raise InvalidInput(
            f"An API key's scope must be one of {', '.join(ApiKeyScope.values)}.", code="invalid_scope", param="scope"
        )
    if scope == ApiKeyScope.CHAT:
        if role not in (None, Role.VIEWER):
            raise InvalidInput(
                "A chat-scope key has no role: it can chat with published bots and nothing else. "
                "Leave role out, or use scope 'full' for a key that acts with a role.",
                code="role_not_applicable",
                param="role",
            )
        return Role.VIEWER
    role = role or Role.EDITOR
    if role not in (Role.VIEWER, Role.EDITOR, Role.ADMIN):
        raise InvalidInput("An API key's role must be viewer, editor or admin.", code="invalid_role", param="role")
    return role


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at", "updated_at"])
        audit_record(workspace=api_key.workspace, action=AuditAction.API_KEY_REVOKE, target=api_key)
    return api_key


# Every API request runs this lookup: compiled once (switchboard.queries.PreparedQuery).
_ACTIVE_KEY = PreparedQuery(
    lambda secret_hash: (
        ApiKey.objects.select_related("workspace")
        .filter(secret_hash=secret_hash, revoked_at__isnull=True)
        .order_by()[:1]
    ),
    parameters=["secret_hash"],
)


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """The active key with this secret, or None. Records when it was last used."""
    key = _ACTIVE_KEY.one_or_none(secret_hash=hash_secret(secret))
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def bootstrap_from_environment(environ: Mapping[str, str]) -> str | None:
    """Create the first owner, workspace and (optionally) API key from SWITCHBOARD_BOOTSTRAP_*.

    Runs at every start and does something only while no user exists, so it is idempotent and
    can never overwrite or add to a live installation. Returns a line to tell the operator.
    """
    email = (environ.get("SWITCHBOARD_BOOTSTRAP_EMAIL") or "").strip()
    password = environ.get("SWITCHBOARD_BOOTSTRAP_PASSWORD") or ""
    api_secret = (environ.get("SWITCHBOARD_BOOTSTRAP_API_KEY") or "").strip()
    if not email and not password and not api_secret:
        return None
    from switchboard.config import ConfigError

    if not email or not password:
        raise ConfigError("SWITCHBOARD_BOOTSTRAP_EMAIL and SWITCHBOARD_BOOTSTRAP_PASSWORD must be set together.")
    if api_secret and len(api_secret) < MIN_BOOTSTRAP_SECRET_LENGTH:
        raise ConfigError(
            f"SWITCHBOARD_BOOTSTRAP_API_KEY must be at least {MIN_BOOTSTRAP_SECRET_LENGTH} characters of random text."
        )
    with transaction.atomic():
        # Serialise concurrent starts (web and worker booting together).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_BOOTSTRAP_LOCK_ID])
        if User.objects.exists():
            return None
        owner = user_create(email=email, password=password, is_staff=True)
        workspace = workspace_create(name="Default workspace", owner=owner)
        if api_secret:
            api_key_create(
                workspace=workspace, name="Bootstrap key", role=Role.ADMIN, created_by=owner, secret=api_secret
            )
    return f"Created owner {owner.email} and workspace '{workspace.name}'" + (
        " with the bootstrap API key." if api_secret else "."
    )


# -- the audit log ---------------------------------------------------------------------------------


def _actor_label(actor: User | ApiKey | None) -> str:
    if isinstance(actor, User):
        return actor.email
    if isinstance(actor, ApiKey):
        return f"API key {actor.name} ({actor.prefix}…)"
    return "system"


def audit_record(
    *,
    workspace: Workspace,
    action: str,
    target: models.Model | None = None,
    details: Mapping[str, Any] | None = None,
    actor: User | ApiKey | None = None,
) -> AuditEvent:
    """Log a change made in `workspace`: by `actor`, else by whoever acts in the current request
    (accounts.actors), else by the system. Called inside the service's transaction, so a change
    that is rolled back leaves no entry."""
    if actor is None:
        current = actor_current()
        actor = current if isinstance(current, (User, ApiKey)) else None
    return AuditEvent.objects.create(
        workspace=workspace,
        actor=actor if isinstance(actor, User) else None,
        actor_api_key=actor if isinstance(actor, ApiKey) else None,
        actor_label=_actor_label(actor)[:200],
        action=action,
        target_type=target._meta.model_name or "" if target is not None else "",
        target_id=str(target.pk)[:40] if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        details=dict(details or {}),
    )


# -- members and invitations -----------------------------------------------------------------------

_MANAGERS_ONLY = gettext_noop("Only workspace admins and owners manage members.")
_OWNERS_ONLY = gettext_noop("Only owners can make someone an owner, or change or remove an owner.")


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(
            _("%(email)s is not a valid email address.") % {"email": repr(email)}
            if email
            else _("Give the email address to invite."),
            code="invalid_email",
            param="email",
        ) from None
    return email


def _clean_role(role: str) -> str:
    if role not in Role.values:
        raise InvalidInput(
            _("%(role)s is not a role: choose one of %(roles)s.")
            % {"role": repr(role), "roles": ", ".join(reversed(Role.values))},
            code="invalid_role",
            param="role",
        )
    return role


def _ensure_manager(actor_role: str, *, roles: tuple[str, ...]) -> None:
    """The actor may manage members, and owners when any of `roles` is owner."""
    if not role_at_least(actor_role, Role.ADMIN):
        raise Forbidden(_(_MANAGERS_ONLY), code="insufficient_role")
    if Role.OWNER in roles and actor_role != Role.OWNER:
        raise Forbidden(_(_OWNERS_ONLY), code="insufficient_role", param="role")


def _lock_member(membership: Membership) -> Membership:
    """The membership, locked together with the workspace's owners, so two owners demoting or
    removing each other at once cannot leave the workspace with none."""
    list(Membership.objects.select_for_update().filter(workspace_id=membership.workspace_id, role=Role.OWNER))
    locked = Membership.objects.select_for_update().select_related("user", "workspace").filter(pk=membership.pk).first()
    if locked is None:
        raise NotFound(_("That person is no longer a member of this workspace."), code="not_found")
    return locked


_LAST_OWNER = {
    "demote": gettext_noop(
        "%(email)s is the workspace's last owner and cannot stop being owner: make someone else owner first."
    ),
    "remove": gettext_noop(
        "%(email)s is the workspace's last owner and cannot be removed: make someone else owner first."
    ),
    "leave": gettext_noop("%(email)s is the workspace's last owner and cannot leave: make someone else owner first."),
}


def _ensure_another_owner(membership: Membership, change: str) -> None:
    others = Membership.objects.filter(workspace_id=membership.workspace_id, role=Role.OWNER).exclude(pk=membership.pk)
    if membership.role == Role.OWNER and not others.exists():
        raise Conflict(_(_LAST_OWNER[change]) % {"email": membership.user.email}, code="last_owner")


@transaction.atomic
def membership_add(*, workspace: Workspace, user: User, role: str, actor: User | ApiKey | None = None) -> Membership:
    """Add a person to a workspace directly (the command line; people in the UI are invited)."""
    role = _clean_role(role)
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        raise Conflict(
            _("%(email)s is already a member of %(workspace)s.") % {"email": user.email, "workspace": workspace.name},
            code="already_member",
            param="email",
        )
    membership = Membership.objects.create(workspace=workspace, user=user, role=role)
    audit_record(
        workspace=workspace, action=AuditAction.MEMBER_ADD, target=membership, details={"role": role}, actor=actor
    )
    return membership


@transaction.atomic
def membership_role_change(
    *, membership: Membership, role: str, actor_role: str, actor: User | ApiKey | None = None
) -> Membership:
    role = _clean_role(role)
    membership = _lock_member(membership)
    _ensure_manager(actor_role, roles=(role, membership.role))
    if membership.role == role:
        return membership
    if role != Role.OWNER:
        _ensure_another_owner(membership, "demote")
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        workspace=membership.workspace,
        action=AuditAction.MEMBER_ROLE_CHANGE,
        target=membership,
        details={"email": membership.user.email, "from": before, "to": role},
        actor=actor,
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor_role: str, actor: User | ApiKey | None = None) -> None:
    membership = _lock_member(membership)
    _ensure_manager(actor_role, roles=(membership.role,))
    _ensure_another_owner(membership, "remove")
    audit_record(
        workspace=membership.workspace,
        action=AuditAction.MEMBER_REMOVE,
        target=membership,
        details={"email": membership.user.email, "role": membership.role},
        actor=actor,
    )
    membership.delete()


@transaction.atomic
def membership_leave(*, membership: Membership) -> None:
    """The member leaves the workspace themselves (any role; the last owner cannot)."""
    membership = _lock_member(membership)
    _ensure_another_owner(membership, "leave")
    audit_record(
        workspace=membership.workspace,
        action=AuditAction.MEMBER_LEAVE,
        target=membership,
        details={"email": membership.user.email, "role": membership.role},
        actor=membership.user,
    )
    membership.delete()


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def invitation_create(
    *, workspace: Workspace, email: str, role: str, inviter_role: str, invited_by: User | None = None
) -> tuple[Invitation, str]:
    """Invite `email` to join with `role`. Returns the invitation and the token of its link, which
    is stored only hashed and cannot be shown again."""
    email = _clean_email(email)
    role = _clean_role(role)
    _ensure_manager(inviter_role, roles=(role,))
    member = Membership.objects.filter(workspace=workspace, user__email=email).first()
    if member is not None:
        raise Conflict(
            _("%(email)s is already a member of this workspace (as %(role)s); change their role instead.")
            % {"email": email, "role": member.role},
            code="already_member",
            param="email",
        )
    now = timezone.now()
    open_invitation = (
        Invitation.objects.select_for_update()
        .filter(workspace=workspace, email=email, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    pending = Conflict(
        f"{email} already has a pending invitation; revoke it first to send a new one.",
        code="invitation_pending",
        param="email",
    )
    if open_invitation is not None:
        if open_invitation.expires_at > now:
            raise pending
        open_invitation.revoked_at = now  # expired: make room for the new one
        open_invitation.save(update_fields=["revoked_at", "updated_at"])
    token = _invitation_token()
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin trips the unique constraint
            invitation = Invitation.objects.create(
                workspace=workspace,
                email=email,
                role=role,
                token_hash=hash_secret(token),
                invited_by=invited_by,
                expires_at=now + timedelta(days=settings.ACCOUNTS_INVITATION_EXPIRY_DAYS),
            )
    except IntegrityError:
        raise pending from None
    audit_record(workspace=workspace, action=AuditAction.INVITATION_CREATE, target=invitation, details={"role": role})
    return invitation, token


def invitation_send(*, invitation: Invitation, accept_url: str) -> str | None:
    """Email the link with Django's configured email backend. Returns None when it went out, else
    why not (the invitation stands either way: the link is also shown to whoever invited)."""
    inviter = invitation.invited_by.email if invitation.invited_by else "An administrator"
    subject = f"Join {invitation.workspace.name} on Switchboard"
    body = (
        f"{inviter} invites you to the workspace {invitation.workspace.name} on Switchboard as {invitation.role}.\n\n"
        f"Accept the invitation: {accept_url}\n\n"
        f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC.\n"
    )
    try:
        send_mail(subject, body, None, [invitation.email])
    except (OSError, ValueError) as exc:  # SMTP refusals and unreachable servers are OSErrors
        return f"The email could not be sent ({type(exc).__name__}); give them the link yourself."
    return None


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, revoker_role: str) -> Invitation:
    _ensure_manager(revoker_role, roles=(invitation.role,))
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise Conflict(
            _("This invitation has already been accepted; remove the member instead."), code="invitation_used"
        )
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at", "updated_at"])
        audit_record(workspace=invitation.workspace, action=AuditAction.INVITATION_REVOKE, target=invitation)
    return invitation


def invitation_check(invitation: Invitation | None) -> Invitation:
    """The invitation, if its link can still be used; else a Conflict saying why not."""
    if invitation is None:
        raise NotFound(
            _("This invitation link is not valid. Check that you copied the whole link, or ask for a new invitation."),
            code="invitation_not_found",
        )
    if invitation.accepted_at is not None:
        raise Conflict(
            _("This invitation link has already been used. Sign in, or ask for a new invitation."),
            code="invitation_used",
        )
    if invitation.revoked_at is not None:
        raise Conflict(_("This invitation was withdrawn. Ask for a new one."), code="invitation_revoked")
    if invitation.expires_at <= timezone.now():
        raise Conflict(
            _("This invitation expired on %(date)s. Ask an admin of %(workspace)s for a new one.")
            % {"date": f"{invitation.expires_at:%Y-%m-%d}", "workspace": invitation.workspace.name},
            code="invitation_expired",
        )
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User | None, password: str = "", name: str = "") -> Membership:
    """Join the invitation's workspace: as the signed-in `user` (whose email must be the invited
    one), or, with no user, as a new account with `password` for the invited email."""
    invitation = invitation_check(
        Invitation.objects.select_for_update()
        .select_related("workspace")
        .filter(token_hash=hash_secret(token or ""))
        .first()
    )
    if user is None:
        if User.objects.filter(email=invitation.email).exists():
            raise Conflict(
                _("An account for %(email)s already exists: sign in to accept the invitation.")
                % {"email": invitation.email},
                code="sign_in_required",
            )
        candidate = User(email=invitation.email, name=name.strip())
        try:
            password_validation.validate_password(password, user=candidate)
        except ValidationError as exc:
            raise InvalidInput(" ".join(exc.messages), code="invalid_password", param="password") from None
        user = user_create(email=invitation.email, password=password, name=name.strip()[:150])
    elif user.email != invitation.email:
        raise Forbidden(
            _("This invitation is for %(email)s, but you are signed in as %(you)s. Sign out and open the link again.")
            % {"email": invitation.email, "you": user.email},
            code="email_mismatch",
        )
    if Membership.objects.filter(workspace=invitation.workspace, user=user).exists():
        raise Conflict(
            _("You are already a member of %(workspace)s.") % {"workspace": invitation.workspace.name},
            code="already_member",
        )
    membership = Membership.objects.create(workspace=invitation.workspace, user=user, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
    audit_record(
        workspace=invitation.workspace,
        action=AuditAction.INVITATION_ACCEPT,
        target=membership,
        details={"email": user.email, "role": invitation.role, "invitation": invitation.pk},
        actor=user,
    )
    return membership

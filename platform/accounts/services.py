"""Writes for users, workspaces, memberships and API keys."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import ApiKey, ApiKeyScope, Membership, Role, User, Workspace, role_at_least
from switchboard.errors import Conflict, Forbidden, InvalidInput

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


@transaction.atomic
def workspace_create(*, name: str, owner: User) -> Workspace:
    workspace = Workspace.objects.create(name=name.strip() or "My workspace")
    Membership.objects.create(user=owner, workspace=workspace, role=Role.OWNER)
    return workspace


@transaction.atomic
def membership_set_role(*, workspace: Workspace, user: User, role: str) -> Membership:
    membership, _ = Membership.objects.select_for_update().get_or_create(
        workspace=workspace, user=user, defaults={"role": role}
    )
    if membership.role == Role.OWNER and role != Role.OWNER:
        _ensure_another_owner(workspace, user)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, workspace: Workspace, user: User) -> None:
    membership = Membership.objects.select_for_update().get(workspace=workspace, user=user)
    if membership.role == Role.OWNER:
        _ensure_another_owner(workspace, user)
    membership.delete()


def _ensure_another_owner(workspace: Workspace, user: User) -> None:
    others = Membership.objects.filter(workspace=workspace, role=Role.OWNER).exclude(user=user)
    if not others.exists():
        raise Conflict("A workspace needs at least one owner: make someone else owner first.", code="last_owner")


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
            f"You cannot create a key with more rights ({role}) than your own ({creator_role}).",
            code="insufficient_role",
            param="role",
        )
    name = name.strip()
    if not name:
        raise InvalidInput("Give the key a name, e.g. the system that will use it.", code="required", param="name")
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


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at", "updated_at"])
    return api_key


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """The active key with this secret, or None. Records when it was last used."""
    key = (
        ApiKey.objects.select_related("workspace")
        .filter(secret_hash=hash_secret(secret), revoked_at__isnull=True)
        .first()
    )
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

"""Users, workspaces, memberships with roles, and workspace API keys."""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from switchboard.ids import id_field


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class Language(models.TextChoices):
    """The UI language a person chose; empty follows the browser (Accept-Language, the menu's cookie).
    The codes are settings.LANGUAGES'."""

    BROWSER = "", _("Browser default")
    ENGLISH = "en", "English"
    CHINESE = "zh-hans", "简体中文"


class User(AbstractUser):
    """A person who signs in with an email address."""

    username = None
    first_name = None
    last_name = None
    id = id_field("usr")
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    language = models.CharField(max_length=10, choices=Language.choices, default=Language.BROWSER, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.email


class Role(models.TextChoices):
    VIEWER = "viewer", _("Viewer")
    EDITOR = "editor", _("Editor")
    ADMIN = "admin", _("Admin")
    OWNER = "owner", _("Owner")


ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


def role_at_least(role: str, required: str) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(required)]


class ApiKeyScope(models.TextChoices):
    """What an API key may call. `full` acts with the key's role; `chat` can only chat with
    published bots (the routes whose views set `chat_scope_allowed`), whatever its role."""

    FULL = "full", _("Full (acts with its role)")
    CHAT = "chat", _("Chat only (published bots)")


class Workspace(models.Model):
    id = id_field("ws")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    id = id_field("mem")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "workspace"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


# Generic in the model, so that `Bot.objects.for_workspace(...)` is known to give bots.
_ScopedModel = TypeVar("_ScopedModel", bound=models.Model)


class WorkspaceQuerySet(models.QuerySet[_ScopedModel, _ScopedModel]):
    def for_workspace(self, workspace: Workspace | str) -> WorkspaceQuerySet[_ScopedModel]:
        workspace_id = workspace if isinstance(workspace, str) else workspace.pk
        return self.filter(workspace_id=workspace_id)


class WorkspaceScopedModel(models.Model):
    """Base of every model that belongs to a workspace.

    API views reach these rows only through `WorkspaceScopedMixin` (accounts.tenancy), which
    filters every queryset by the caller's workspace, so another workspace's row is a 404.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        abstract = True


class ApiKey(WorkspaceScopedModel):
    """A workspace API key. Only a SHA-256 of the secret is stored; the secret is shown once."""

    id = id_field("key")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The first characters of the secret, to recognise it.")
    secret_hash = models.CharField(max_length=64, unique=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    scope = models.CharField(max_length=10, choices=ApiKeyScope.choices, default=ApiKeyScope.FULL)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Invitation(WorkspaceScopedModel):
    """An invitation to join a workspace with a role, sent to an email address.

    Only a SHA-256 of the link's token is stored (like API keys): the link is shown once, to the
    person who invites, and sent by email. It can be used once, until it expires or is revoked.
    """

    id = id_field("inv")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open invitation per address and workspace; an expired one is revoked before another is made.
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} as {self.role}"

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class AuditAction(models.TextChoices):
    """What an audit event records. The value is stable (clients filter on it); the label is for people."""

    BOT_PUBLISH = "bot.publish", _("Bot published")
    BOT_DELETE = "bot.delete", _("Bot deleted")
    PROVIDER_CREATE = "provider.create", _("Model provider added")
    PROVIDER_UPDATE = "provider.update", _("Model provider changed")
    PROVIDER_DELETE = "provider.delete", _("Model provider deleted")
    API_KEY_CREATE = "api_key.create", _("API key created")
    API_KEY_REVOKE = "api_key.revoke", _("API key revoked")
    ALLOWLIST_ADD = "allowlist.add", _("Network allowlist entry added")
    ALLOWLIST_REMOVE = "allowlist.remove", _("Network allowlist entry removed")
    INVITATION_CREATE = "invitation.create", _("Invitation sent")
    INVITATION_REVOKE = "invitation.revoke", _("Invitation revoked")
    INVITATION_ACCEPT = "invitation.accept", _("Invitation accepted")
    MEMBER_ADD = "member.add", _("Member added")
    MEMBER_ROLE_CHANGE = "member.role_change", _("Member's role changed")
    MEMBER_REMOVE = "member.remove", _("Member removed")
    MEMBER_LEAVE = "member.leave", _("Member left")
    WIDGET_UPDATE = "widget.update", _("Widget settings changed")
    WIDGET_SECRET_ROTATE = "widget.identity_secret", _("Widget identity secret made")
    BUDGET_SET = "budget.set", _("Budget set")
    BUDGET_DELETE = "budget.delete", _("Budget removed")


class AuditEvent(WorkspaceScopedModel):
    """Who changed what, and when: one row per change to something a workspace relies on.

    The actor is kept as a label as well as a reference, so the log still says who it was after
    the person or the key is gone.
    """

    id = id_field("aud")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=60, choices=AuditAction.choices, db_index=True)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=40, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="audit_workspace_time")]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_label}".strip()

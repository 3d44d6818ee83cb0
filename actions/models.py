"""Actions (HTTP APIs imported from OpenAPI specs) and their operations."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import WorkspaceScopedModel
from switchboard.ids import id_field
from switchboard.vault import EncryptedTextField, SecretValue


class RowJSONField(models.JSONField):
    """A JSONField that keeps ``bulk_create`` on PostgreSQL to a plain multi-row VALUES insert.

    Django 5.2 bulk-inserts through ``UNNEST`` of one array per column, and psycopg writes each
    JSON document into a text array literal by escaping it with a regular expression: importing
    a 5 MB spec spent three quarters of its time there. A field with ``get_placeholder`` opts the
    insert out of ``UNNEST``; the placeholder itself is the default one.
    """

    def get_placeholder(self, value, compiler, connection) -> str:
        return "%s"


class AuthType(models.TextChoices):
    NONE = "none", _("None")
    API_KEY = "api_key", _("API key (header or query parameter)")
    BEARER = "bearer", _("Bearer token")
    BASIC = "basic", _("Basic (user name and password)")
    OAUTH2_CLIENT_CREDENTIALS = "oauth2_client_credentials", _("OAuth 2.0 client credentials")


class SourceKind(models.TextChoices):
    URL = "url", _("URL")
    TEXT = "text", _("Pasted text")
    FILE = "file", _("Uploaded file")


class Action(WorkspaceScopedModel):
    """An HTTP API the workspace imported from an OpenAPI spec; its operations become tools.

    Credentials live encrypted in ``credentials`` (a JSON object inside the ciphertext) and never
    leave the platform except towards the API itself. ``auth_config`` holds the non-secret part
    (where the key goes, the token URL, scopes).
    """

    id = id_field("act")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True, help_text="A disabled action offers no tools to bots.")

    source_kind = models.CharField(max_length=10, choices=SourceKind.choices)
    source_url = models.CharField(max_length=2000, blank=True)
    source_filename = models.CharField(max_length=255, blank=True)
    spec_text = models.TextField(help_text="The spec as last imported.")
    spec_hash = models.CharField(max_length=64)
    spec_version = models.CharField(max_length=20, blank=True)
    api_title = models.CharField(max_length=300, blank=True)
    api_version = models.CharField(max_length=100, blank=True)
    servers = models.JSONField(default=list, blank=True, help_text="The spec's servers: [{url, description}].")
    server_url = models.CharField(max_length=2000, blank=True, help_text="The base URL every call goes to.")
    security_schemes = models.JSONField(default=list, blank=True)

    auth_type = models.CharField(max_length=32, choices=AuthType.choices, default=AuthType.NONE)
    auth_config = models.JSONField(default=dict, blank=True)
    credentials = EncryptedTextField(null=True, blank=True)
    oauth_token = EncryptedTextField(null=True, blank=True)
    oauth_token_expires_at = models.DateTimeField(null=True, blank=True)

    import_report = models.JSONField(default=dict, blank=True)
    import_counts = models.JSONField(default=dict, blank=True, help_text="The report's counts, for lists.")
    last_imported_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "created_at"]
        indexes = [models.Index(fields=["workspace", "name"], name="action_ws_name")]

    def __str__(self) -> str:
        return self.name

    def credential_values(self) -> dict[str, str]:
        """The stored secrets (``{"api_key": …}``, ``{"username": …, "password": …}``, …)."""
        if not self.credentials:
            return {}
        try:
            values = json.loads(self.credentials.reveal())
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in values.items() if v} if isinstance(values, dict) else {}

    def set_credential_values(self, values: dict[str, str]) -> None:
        kept = {key: value for key, value in values.items() if value}
        self.credentials = SecretValue(json.dumps(kept)) if kept else None

    @property
    def has_credentials(self) -> bool:
        return bool(self.credential_values())


class Operation(WorkspaceScopedModel):
    """One callable operation of an action: a tool the model may call once a bot lists it."""

    id = id_field("op")
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="operations")
    position = models.PositiveIntegerField(help_text="Order in the spec.")
    name = models.CharField(max_length=64, help_text="The tool name, unique within the action.")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    spec_operation_id = models.CharField(max_length=500, blank=True, help_text="The spec's operationId.")
    summary = models.TextField(blank=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    input_schema = RowJSONField(default=dict)
    # argument name -> {"in": path|query|header|cookie|body, "name": the name in the request}
    arguments = models.JSONField(default=dict)
    parameters = models.JSONField(default=list, help_text="How each parameter is serialised.")
    request_body = models.JSONField(null=True, blank=True)
    security = models.JSONField(default=list, blank=True)
    no_credentials = models.BooleanField(default=False, help_text="The spec says `security: []`.")
    server_url = models.CharField(
        max_length=2000, blank=True, help_text="Set when the spec overrides the base URL for this operation."
    )
    consequential_default = models.BooleanField(help_text="What the spec implies.")
    consequential_override = models.BooleanField(null=True, blank=True, help_text="The owner's choice.")
    enabled = models.BooleanField(default=True)
    deprecated = models.BooleanField(default=False)
    schema_size = models.PositiveIntegerField(default=0)
    response_content_types = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True)
    fingerprint = models.CharField(max_length=64, help_text="Hash of what the spec says about it.")

    class Meta:
        ordering = ["action_id", "position"]
        constraints = [
            # Deferred: a re-import may swap names between operations in one statement.
            models.UniqueConstraint(
                fields=["action", "name"], name="operation_name_unique", deferrable=models.Deferrable.DEFERRED
            ),
        ]
        indexes = [models.Index(fields=["action", "position"], name="operation_action_position")]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def consequential(self) -> bool:
        if self.consequential_override is not None:
            return self.consequential_override
        return self.consequential_default

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def effective_server_url(self) -> str:
        return self.server_url or self.action.server_url

    def argument_sources(self) -> dict[str, tuple[str, str]]:
        return {arg: (source["in"], source["name"]) for arg, source in self.arguments.items()}

    def as_tool_schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.input_schema},
        }

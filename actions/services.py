"""Writes for actions and their operations (imports: actions.importing)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from actions import auth, selectors
from actions.models import Action, AuthType, Operation

# The network allowlist lives in the network app; these names stay importable from here for
# callers that set up an action's reach together with the action.
from network.services import allowlist_entry_create, allowlist_entry_delete  # noqa: F401
from switchboard import egress
from switchboard.errors import InvalidInput

_UNSET: Any = object()


# -- auth ---------------------------------------------------------------------------------------------


def action_auth_apply(*, action: Action, data: dict[str, Any]) -> bool:
    """Apply an auth change to ``action`` in memory (the caller saves). Returns whether anything changed.

    ``data`` holds ``type`` (omitted: unchanged), settings of that type (``location``, ``name``,
    ``prefix``, ``token_url``, ``scopes``, ``audience``, ``client_auth``) and secrets (``api_key``,
    ``token``, ``username``, ``password``, ``client_id``, ``client_secret``). A secret left out is
    kept, ``""`` or null removes it. Changing the type drops the old type's settings and secrets;
    changing where an API key goes drops the settings the new place has no use for (a header
    prefix). ``""`` or null for a field the type does not use is accepted and ignored: there is
    nothing to remove. A value for such a field is refused, since it would be silently lost.
    """
    new_type = data.get("type") or action.auth_type
    if new_type not in AuthType.values:
        raise InvalidInput(
            f"Unknown auth type {new_type!r}; use one of {', '.join(AuthType.values)}.",
            code="invalid_auth_type",
            param="auth.type",
        )
    _refuse_fields_of_other_types(new_type, data)
    type_changed = new_type != action.auth_type
    try:
        config = auth.clean_config(
            new_type, auth.merged_config(new_type, {} if type_changed else dict(action.auth_config or {}), data)
        )
        credentials = _merged_credentials(new_type, {} if type_changed else action.credential_values(), data)
    except auth.AuthConfigError as exc:
        raise InvalidInput(exc.message, code="invalid_auth", param=exc.param) from None
    before = (action.auth_type, action.auth_config, action.credential_values())
    action.auth_type, action.auth_config = new_type, config
    action.set_credential_values(credentials)
    changed = (action.auth_type, action.auth_config, action.credential_values()) != before
    if changed:
        action.oauth_token = None
        action.oauth_token_expires_at = None
    return changed


def _refuse_fields_of_other_types(auth_type: str, data: dict[str, Any]) -> None:
    applicable = auth.applicable_fields(auth_type)
    for key, value in data.items():
        if key == "type" or key in applicable or value in (None, "", []):
            continue
        takes = f"it takes {', '.join(applicable)}" if applicable else "it takes no settings or secrets"
        raise InvalidInput(
            f"auth.{key} does not apply to auth type {auth_type!r}; {takes}.",
            code="invalid_auth_field",
            param=f"auth.{key}",
        )


def _merged_credentials(auth_type: str, stored: dict[str, str], data: dict[str, Any]) -> dict[str, str]:
    """The secrets after the change: those sent replace, ``""``/null removes, the rest are kept."""
    credentials = {name: value for name, value in stored.items() if name in auth.SECRET_FIELDS[auth_type]}
    for name in auth.SECRET_FIELDS[auth_type]:
        if name not in data:
            continue
        value = data[name]
        if value is None or str(value).strip() == "":
            credentials.pop(name, None)
        else:
            credentials[name] = auth.clean_secret(name, str(value).strip())
    return credentials


# -- actions ------------------------------------------------------------------------------------------


def server_url_clean(url: str) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    try:
        egress.parse_url(url)
    except egress.InvalidURL as exc:
        raise InvalidInput(f"server_url: {exc.message}", code="invalid_server_url", param="server_url") from None
    from actions.spec.servers import normalize_base_url

    return normalize_base_url(url)


@transaction.atomic
def action_update(
    *,
    action: Action,
    name: str | None = None,
    description: str | None = None,
    server_url: str | None = None,
    enabled: bool | None = None,
    auth_data: dict[str, Any] | None = None,
) -> list[dict[str, str]]:
    """Update the given fields; returns warnings about the base URL (blocked, unresolvable)."""
    warnings: list[dict[str, str]] = []
    if name is not None:
        name = name.strip()
        if not name:
            raise InvalidInput(_("The name cannot be empty."), code="required", param="name")
        action.name = name[:200]
    if description is not None:
        action.description = description
    if server_url is not None:
        action.server_url = server_url_clean(server_url)
        warnings = selectors.server_url_warnings(url=action.server_url, workspace_id=action.workspace_id)
    if enabled is not None:
        action.enabled = enabled
    if auth_data is not None:
        action_auth_apply(action=action, data=auth_data)
    action.save()
    return warnings


@transaction.atomic
def action_delete(*, action: Action) -> None:
    """Delete the action and its operations; bots that listed them simply stop offering those tools."""
    action.delete()


# -- operations ---------------------------------------------------------------------------------------


@transaction.atomic
def operation_update(
    *, operation: Operation, enabled: bool | None = None, consequential_override: Any = _UNSET
) -> Operation:
    """``consequential_override``: True/False forces it, None returns to the spec's default."""
    fields = ["updated_at"]
    if enabled is not None:
        operation.enabled = enabled
        fields.append("enabled")
    if consequential_override is not _UNSET:
        operation.consequential_override = consequential_override
        fields.append("consequential_override")
    operation.save(update_fields=fields)
    return operation


@transaction.atomic
def operations_set_enabled(*, action: Action, enabled: bool, operation_ids: list[str] | None = None) -> int:
    """Enable or disable many operations at once (all of the action's when ``operation_ids`` is None)."""
    from django.utils import timezone

    operations = Operation.objects.filter(action=action)
    if operation_ids is not None:
        operations = operations.filter(pk__in=operation_ids)
    return operations.update(enabled=enabled, updated_at=timezone.now())

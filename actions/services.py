"""Writes for actions, their operations and the workspace's egress allowlist (imports: actions.importing)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import Workspace
from actions import auth, selectors
from actions.models import Action, AuthType, EgressAllowlistEntry, Operation
from switchboard import egress
from switchboard.api.errors import ApiError

_UNSET: Any = object()


# -- auth ---------------------------------------------------------------------------------------------

def action_auth_apply(*, action: Action, data: dict[str, Any]) -> bool:
    """Apply an auth change to ``action`` in memory (the caller saves). Returns whether anything changed.

    ``data`` holds ``type`` (omitted: unchanged), settings of that type (``location``, ``name``,
    ``prefix``, ``token_url``, ``scopes``, ``audience``, ``client_auth``) and secrets (``api_key``,
    ``token``, ``username``, ``password``, ``client_id``, ``client_secret``). A secret left out is
    kept, ``""`` or null removes it. Changing the type drops the old type's settings and secrets.
    """
    new_type = data.get("type") or action.auth_type
    if new_type not in AuthType.values:
        raise ApiError(f"Unknown auth type {new_type!r}; use one of {', '.join(AuthType.values)}.",
                       code="invalid_auth_type", param="auth.type")
    for key in data:
        if key == "type":
            continue
        if key not in auth.CONFIG_FIELDS[new_type] and key not in auth.SECRET_FIELDS[new_type]:
            raise ApiError(f"auth.{key} does not apply to auth type {new_type!r}.", code="invalid_auth_field",
                           param=f"auth.{key}")
    type_changed = new_type != action.auth_type
    config = {} if type_changed else dict(action.auth_config or {})
    config.update({key: data[key] for key in auth.CONFIG_FIELDS[new_type] if key in data})
    try:
        config = auth.clean_config(new_type, config)
        credentials = {} if type_changed else action.credential_values()
        for name in auth.SECRET_FIELDS[new_type]:
            if name not in data:
                continue
            value = data[name]
            if value is None or value == "":
                credentials.pop(name, None)
            else:
                credentials[name] = auth.clean_secret(name, str(value).strip())
    except auth.AuthConfigError as exc:
        raise ApiError(exc.message, code="invalid_auth", param=exc.param) from None
    credentials = {k: v for k, v in credentials.items() if k in auth.SECRET_FIELDS[new_type]}
    before = (action.auth_type, action.auth_config, action.credential_values())
    action.auth_type, action.auth_config = new_type, config
    action.set_credential_values(credentials)
    changed = (action.auth_type, action.auth_config, action.credential_values()) != before
    if changed:
        action.oauth_token = None
        action.oauth_token_expires_at = None
    return changed


# -- actions ------------------------------------------------------------------------------------------

def server_url_clean(url: str) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    try:
        egress.parse_url(url)
    except egress.InvalidURL as exc:
        raise ApiError(f"server_url: {exc.message}", code="invalid_server_url", param="server_url") from None
    from actions.spec.servers import normalize_base_url

    return normalize_base_url(url)


def server_url_warnings(*, url: str, workspace_id: str) -> list[dict[str, str]]:
    """Why calls to ``url`` would fail (private address without allowlisting, unknown host, ...)."""
    if not url:
        return [{"code": "missing_server_url", "message": "The action has no base URL; set one before its "
                                                          "operations can be called."}]
    try:
        egress.check_url(url, selectors.tool_policy(workspace_id=workspace_id))
    except egress.EgressError as exc:
        release_traceback(exc)
        if isinstance(exc, egress.BlockedAddress):
            return [{"code": "server_url_blocked", "message": f"Calls to this base URL will be refused: "
                                                              f"{exc.message}"}]
        if isinstance(exc, egress.DNSFailure):
            return [{"code": "server_url_unresolved", "message": f"{exc.message} Calls will fail until it "
                                                                 "resolves."}]
        return [{"code": "invalid_server_url", "message": exc.message}]
    return []


def release_traceback(exc: BaseException) -> None:
    """Drop the tracebacks of ``exc`` and of the exceptions chained to it.

    A failed DNS lookup leaves a reference cycle (resolver frame -> future -> exception ->
    traceback -> resolver frame). Through the frames' back links it would keep every caller's
    locals alive — a whole parsed spec during an import — until the cyclic garbage collector
    runs, which then spends most of a second on them.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__


@transaction.atomic
def action_update(*, action: Action, name: str | None = None, description: str | None = None,
                  server_url: str | None = None, enabled: bool | None = None,
                  auth_data: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """Update the given fields; returns warnings about the base URL (blocked, unresolvable)."""
    warnings: list[dict[str, str]] = []
    if name is not None:
        name = name.strip()
        if not name:
            raise ApiError("The name cannot be empty.", code="required", param="name")
        action.name = name[:200]
    if description is not None:
        action.description = description
    if server_url is not None:
        action.server_url = server_url_clean(server_url)
        warnings = server_url_warnings(url=action.server_url, workspace_id=action.workspace_id)
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
def operation_update(*, operation: Operation, enabled: bool | None = None,
                     consequential_override: Any = _UNSET) -> Operation:
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


# -- egress allowlist ---------------------------------------------------------------------------------

def allowlist_value_clean(value: str) -> str:
    value = (value or "").strip().lower()
    if not value:
        raise ApiError("Give a host name, IP address or CIDR network.", code="required", param="value")
    try:
        egress.EgressPolicy.from_allowlist([value])
    except ValueError as exc:
        raise ApiError(f"{exc} Use a host name (optionally with :port), an IP address or a CIDR network such "
                       "as 10.20.0.0/16.", code="invalid_allowlist_entry", param="value") from None
    return value


@transaction.atomic
def allowlist_entry_create(*, workspace: Workspace, value: str, note: str = "",
                           created_by=None) -> EgressAllowlistEntry:
    value = allowlist_value_clean(value)
    if EgressAllowlistEntry.objects.filter(workspace=workspace, value=value).exists():
        raise ApiError(f"{value} is already on the allowlist.", code="duplicate_entry", status_code=409,
                       param="value")
    return EgressAllowlistEntry.objects.create(workspace=workspace, value=value, note=(note or "").strip()[:300],
                                               created_by=created_by)


@transaction.atomic
def allowlist_entry_delete(*, entry: EgressAllowlistEntry) -> None:
    entry.delete()

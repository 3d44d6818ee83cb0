"""Reads: actions, operations, and the egress policy their outbound calls run under (the
workspace's network allowlist, from the network app, with the actions' limits)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, OuterRef, Q, QuerySet

from actions import auth
from actions.models import Action, AuthType, Operation
from network import selectors as network_selectors
from network.models import AllowlistEntry
from switchboard import egress


def action_list(*, workspace_id: str) -> QuerySet[Action]:
    return (
        Action.objects.for_workspace(workspace_id)
        .defer("spec_text", "import_report")
        .annotate(
            operation_count=Count("operations"),
            enabled_operation_count=Count("operations", filter=Q(operations__enabled=True)),
        )
        .order_by("name", "created_at")
    )


def action_get(*, workspace_id: str, action_id: str, with_report: bool = False) -> Action | None:
    """The action without its spec text (and without its import report unless asked for)."""
    actions = Action.objects.for_workspace(workspace_id).defer("spec_text")
    if not with_report:
        actions = actions.defer("import_report")
    return actions.filter(pk=action_id).first()


def operation_list(
    *, action: Action, enabled: bool | None = None, search: str = "", consequential: bool | None = None
) -> QuerySet[Operation]:
    operations: QuerySet[Operation] = Operation.objects.filter(action=action).order_by("position")
    if enabled is not None:
        operations = operations.filter(enabled=enabled)
    if search:
        operations = operations_matching(operations, search=search)
    if consequential is not None:
        operations = operations_consequential(operations, consequential=consequential)
    return operations


def operations_matching(operations: QuerySet[Operation], *, search: str) -> QuerySet[Operation]:
    """Those whose name, path or summary contains `search` (any case)."""
    return operations.filter(Q(name__icontains=search) | Q(path__icontains=search) | Q(summary__icontains=search))


def operations_consequential(operations: QuerySet[Operation], *, consequential: bool) -> QuerySet[Operation]:
    """Those that are (or are not) consequential: the owner's override, else what the spec implies."""
    return operations.filter(
        Q(consequential_override=consequential)
        | Q(consequential_override__isnull=True, consequential_default=consequential)
    )


def operation_count(*, action: Action, enabled_only: bool = False) -> int:
    """How many operations the action has (or bots may call), from `action_list`'s annotation if there."""
    count = getattr(action, "enabled_operation_count" if enabled_only else "operation_count", None)
    if count is not None:
        return count
    operations = Operation.objects.filter(action=action)
    return (operations.filter(enabled=True) if enabled_only else operations).count()


def operation_get(*, action: Action, operation: str) -> Operation | None:
    """By id, or else by tool name (``listPets``)."""
    found = Operation.objects.filter(action=action, pk=operation).first()
    if found is None:
        found = Operation.objects.filter(action=action, name=operation).first()
    if found is not None:
        found.action = action
    return found


def operation_for_call(*, workspace_id: str, operation_id: str) -> Operation | None:
    """The operation with its action and the workspace's egress allowlist, in one query.

    The action's spec text and import report (megabytes for big APIs) are left in the database.
    ``operation.egress_allowlist`` holds the allowlist entries.
    """
    allowlist = AllowlistEntry.objects.filter(workspace_id=OuterRef("workspace_id")).order_by("value").values("value")
    return (
        Operation.objects.filter(workspace_id=workspace_id, pk=operation_id)
        .select_related("action")
        .defer("action__spec_text", "action__import_report")
        .annotate(egress_allowlist=ArraySubquery(allowlist))
        .first()
    )


def tool_policy(*, workspace_id: str) -> egress.EgressPolicy:
    """The policy for calls to actions' APIs (and their OAuth2 token endpoints)."""
    return tool_policy_for(network_selectors.entry_values(workspace_id=workspace_id))


def tool_policy_for(allowlist: tuple[str, ...] | list[str]) -> egress.EgressPolicy:
    return network_selectors.policy_for(
        allowlist,
        connect_timeout=settings.ACTIONS_TOOL_CONNECT_TIMEOUT_SECONDS,
        read_timeout=settings.ACTIONS_TOOL_TIMEOUT_SECONDS,
        total_timeout=settings.ACTIONS_TOOL_TIMEOUT_SECONDS,
        max_response_bytes=settings.ACTIONS_TOOL_MAX_RESPONSE_BYTES,
    )


def spec_fetch_policy(*, workspace_id: str) -> egress.EgressPolicy:
    return network_selectors.workspace_policy(
        workspace_id=workspace_id,
        connect_timeout=settings.ACTIONS_TOOL_CONNECT_TIMEOUT_SECONDS,
        read_timeout=settings.ACTIONS_SPEC_FETCH_TIMEOUT_SECONDS,
        total_timeout=settings.ACTIONS_SPEC_FETCH_TIMEOUT_SECONDS,
        max_response_bytes=settings.ACTIONS_MAX_SPEC_BYTES,
    )


# -- what stands between an action and its API -----------------------------------------------


def server_url_warnings(*, url: str, workspace_id: str) -> list[dict[str, str]]:
    """Why calls to ``url`` would fail (private address without allowlisting, unknown host, ...)."""
    if not url:
        return [
            {
                "code": "missing_server_url",
                "message": "The action has no base URL; set one before its operations can be called.",
            }
        ]
    try:
        egress.check_url(url, tool_policy(workspace_id=workspace_id))
    except egress.EgressError as exc:
        egress.release_traceback(exc)
        if isinstance(exc, egress.BlockedAddress) and not exc.allowlistable:
            return [never_reachable_warning(exc.message)]
        if isinstance(exc, egress.BlockedAddress):
            return [{"code": "server_url_blocked", "message": f"Calls to this base URL will be refused: {exc.message}"}]
        if isinstance(exc, egress.DNSFailure):
            return [{"code": "server_url_unresolved", "message": f"{exc.message} Calls will fail until it resolves."}]
        return [{"code": "invalid_server_url", "message": exc.message}]
    return []


def never_reachable_warning(reason: str) -> dict[str, str]:
    return {
        "code": "server_url_never_reachable",
        "message": f"Calls to this base URL can never be made, whatever is allowlisted: {reason} "
        "Set the API's real base URL.",
    }


def server_url_never_reachable(url: str) -> dict[str, str] | None:
    """The warning for a base URL whose host is an address the platform never connects to.

    Needs no DNS: only IP literals (in any spelling) are judged, so lists can say it for every action.
    """
    try:
        address = egress.parse_url(url).hostinfo.ip
    except egress.InvalidURL:
        return None
    if address is None:
        return None
    verdict = egress.judge_address(address)
    if verdict.allowed or verdict.allowlistable:
        return None
    return never_reachable_warning(
        f"{address} is {verdict.reason}, and the platform never connects to such addresses, because {verdict.why}."
    )


def action_auth_summary(action: Action) -> dict[str, Any]:
    """How the action authenticates, with hints of its credentials but never the secrets."""
    credentials = action.credential_values()
    data: dict[str, Any] = {
        "type": action.auth_type,
        **(action.auth_config or {}),
        "description": auth.describe(action.auth_type, action.auth_config or {}),
        "has_credentials": bool(credentials),
        "missing_credentials": auth.missing_secrets(action.auth_type, credentials),
        "credential_hints": auth.credential_hints(credentials),
    }
    if action.auth_type == AuthType.OAUTH2_CLIENT_CREDENTIALS:
        data["token_cached_until"] = action.oauth_token_expires_at if action.oauth_token else None
    return data


def action_warnings(action: Action) -> list[dict[str, str]]:
    """Problems with the action as configured that need no network to find."""
    warnings = []
    if not action.server_url:
        warnings.append(
            {
                "code": "missing_server_url",
                "message": "Set the API's base URL (server_url); calls cannot be made without it.",
            }
        )
    never = server_url_never_reachable(action.server_url) if action.server_url else None
    if never is not None:
        warnings.append(never)
    missing = auth.missing_secrets(action.auth_type, action.credential_values())
    if missing:
        warnings.append(
            {
                "code": "credentials_needed",
                "message": f"Add the credentials ({', '.join(missing)}) before bots call this API.",
            }
        )
    return warnings

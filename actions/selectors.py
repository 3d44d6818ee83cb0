"""Reads: actions, operations, and the egress policy their outbound calls run under (the
workspace's network allowlist, from the network app, with the actions' limits)."""

from __future__ import annotations

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, OuterRef, Q, QuerySet
from network import selectors as network_selectors
from network.models import AllowlistEntry

from actions import conf
from actions.models import Action, Operation
from switchboard import egress


def action_list(*, workspace_id: str) -> QuerySet[Action]:
    return (Action.objects.for_workspace(workspace_id)
            .defer("spec_text", "import_report")
            .annotate(operation_count=Count("operations"),
                      enabled_operation_count=Count("operations", filter=Q(operations__enabled=True)))
            .order_by("name", "created_at"))


def action_get(*, workspace_id: str, action_id: str, with_report: bool = False) -> Action | None:
    """The action without its spec text (and without its import report unless asked for)."""
    actions = Action.objects.for_workspace(workspace_id).defer("spec_text")
    if not with_report:
        actions = actions.defer("import_report")
    return actions.filter(pk=action_id).first()


def operation_list(*, action: Action, enabled: bool | None = None, search: str = "",
                   consequential: bool | None = None) -> QuerySet[Operation]:
    operations = Operation.objects.filter(action=action).order_by("position")
    if enabled is not None:
        operations = operations.filter(enabled=enabled)
    if search:
        operations = operations.filter(Q(name__icontains=search) | Q(path__icontains=search)
                                       | Q(summary__icontains=search))
    if consequential is not None:
        operations = operations.filter(Q(consequential_override=consequential)
                                       | Q(consequential_override__isnull=True,
                                           consequential_default=consequential))
    return operations


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
    allowlist = (AllowlistEntry.objects.filter(workspace_id=OuterRef("workspace_id"))
                 .order_by("value").values("value"))
    return (Operation.objects.filter(workspace_id=workspace_id, pk=operation_id)
            .select_related("action").defer("action__spec_text", "action__import_report")
            .annotate(egress_allowlist=ArraySubquery(allowlist))
            .first())


def tool_policy(*, workspace_id: str) -> egress.EgressPolicy:
    """The policy for calls to actions' APIs (and their OAuth2 token endpoints)."""
    return tool_policy_for(network_selectors.entry_values(workspace_id=workspace_id))


def tool_policy_for(allowlist: tuple[str, ...] | list[str]) -> egress.EgressPolicy:
    settings = conf.get()
    return network_selectors.policy_for(
        allowlist, connect_timeout=settings.tool_connect_timeout_seconds, read_timeout=settings.tool_timeout_seconds,
        total_timeout=settings.tool_timeout_seconds, max_response_bytes=settings.tool_max_response_bytes)


def spec_fetch_policy(*, workspace_id: str) -> egress.EgressPolicy:
    settings = conf.get()
    return network_selectors.workspace_policy(
        workspace_id=workspace_id, connect_timeout=settings.tool_connect_timeout_seconds,
        read_timeout=settings.spec_fetch_timeout_seconds, total_timeout=settings.spec_fetch_timeout_seconds,
        max_response_bytes=settings.max_spec_bytes)

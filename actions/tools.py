"""Operations as function-calling tools: the interface the chat runtime uses.

    tools = tools_for_operations(workspace_id=ws, operation_ids=bot_config["actions"]["operation_ids"])
    request["tools"] = [tool.schema() for tool in tools]
    outcome = invoke_tool(workspace_id=ws, operation_id=tool.operation_id, arguments_json=call.arguments)

Both take the workspace id and only ever see that workspace's operations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from actions import selectors
from actions.invocation import invoke_operation, preflight
from actions.models import Operation
from actions.spec import MAX_ENABLED_TOOLS
from actions.spec.naming import MAX_TOOL_NAME_LENGTH, sanitize_name
from actions.truncation import dumps

# One tool schema above this many bytes is worth a warning; so is a tool list above the total.
LARGE_TOOL_SCHEMA_BYTES = 16 * 1024
LARGE_TOOLS_TOTAL_BYTES = 128 * 1024


@dataclass(frozen=True)
class Tool:
    name: str  # the function name the model sees (unique among the tools given to one model call)
    operation_id: str  # the Operation row's id
    description: str
    parameters: dict[str, Any]  # JSON Schema (Draft 2020-12)
    consequential: bool

    def schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass(frozen=True)
class ToolOutcome:
    ok: bool
    content: str  # what the model is told
    error: str | None  # machine code: invalid_arguments, egress_blocked, timeout, http_500, ...
    duration_ms: float
    trace: dict[str, Any] = field(default_factory=dict)  # never holds credentials


def _usable_operations(workspace_id: str, operation_ids: list[str]) -> list[Operation]:
    wanted = list(dict.fromkeys(str(op_id) for op_id in operation_ids))
    rows = (
        Operation.objects.filter(workspace_id=workspace_id, pk__in=wanted, enabled=True, action__enabled=True)
        .select_related("action")
        .only(
            "id",
            "name",
            "description",
            "input_schema",
            "consequential_default",
            "consequential_override",
            "schema_size",
            "action__id",
            "action__name",
        )
    )
    by_id = {row.pk: row for row in rows}
    return [by_id[op_id] for op_id in wanted if op_id in by_id]


def tools_for_operations(*, workspace_id: str, operation_ids: list[str]) -> list[Tool]:
    """Tools for the enabled operations of enabled actions among ``operation_ids``, in that order.

    Unknown, disabled and other workspaces' ids are left out. Names are unique ignoring case: when
    two actions both have ``list_items``, the later one is called ``<action>__list_items``.
    """
    tools: list[Tool] = []
    taken: set[str] = set()
    for operation in _usable_operations(workspace_id, operation_ids):
        name = _unique_name(operation.name, operation.action.name, taken)
        tools.append(
            Tool(
                name=name,
                operation_id=operation.pk,
                description=operation.description,
                parameters=operation.input_schema,
                consequential=operation.consequential,
            )
        )
    return tools


def _unique_name(name: str, action_name: str, taken: set[str]) -> str:
    candidates = [name]
    prefix = sanitize_name(action_name)[:24].rstrip("_-").lower()
    if prefix:
        candidates.append(f"{prefix}__{name}"[:MAX_TOOL_NAME_LENGTH])
    for candidate in candidates:
        if candidate.lower() not in taken:
            taken.add(candidate.lower())
            return candidate
    counter = 2
    while True:
        suffix = f"_{counter}"
        candidate = name[: MAX_TOOL_NAME_LENGTH - len(suffix)] + suffix
        if candidate.lower() not in taken:
            taken.add(candidate.lower())
            return candidate
        counter += 1


def invoke_tool(*, workspace_id: str, operation_id: str, arguments_json: str) -> ToolOutcome:
    """Call the operation with the model's arguments. Every problem is an outcome, not an exception."""
    started = time.perf_counter()
    operation = selectors.operation_for_call(workspace_id=workspace_id, operation_id=operation_id)
    if operation is None:
        return _refusal("unknown_operation", "This tool no longer exists; do not call it again.", started, operation_id)
    if not operation.enabled or not operation.action.enabled:
        return _refusal(
            "operation_disabled",
            "This tool has been disabled by the workspace; do not call it again.",
            started,
            operation_id,
        )
    result = invoke_operation(
        operation, arguments_json, policy=selectors.tool_policy_for(operation.egress_allowlist or ())
    )
    return ToolOutcome(
        ok=result.ok, content=result.content, error=result.error, duration_ms=result.duration_ms, trace=result.trace
    )


def check_tool_call(*, workspace_id: str, operation_id: str, arguments_json: str) -> ToolOutcome | None:
    """None when the call could be sent as it stands; otherwise the outcome it would end in (which
    argument is wrong and why), without sending anything."""
    started = time.perf_counter()
    operation = selectors.operation_for_call(workspace_id=workspace_id, operation_id=operation_id)
    if operation is None:
        return _refusal("unknown_operation", "This tool no longer exists; do not call it again.", started, operation_id)
    failed = preflight(operation, arguments_json)
    if failed is None:
        return None
    return ToolOutcome(
        ok=False, content=failed.content, error=failed.error, duration_ms=failed.duration_ms, trace=failed.trace
    )


def _refusal(code: str, message: str, started: float, operation_id: str) -> ToolOutcome:
    return ToolOutcome(
        ok=False,
        content=dumps({"error": {"code": code, "message": message}}),
        error=code,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        trace={"operation_id": operation_id, "error": code},
    )


@dataclass(frozen=True)
class ToolWarning:
    code: str
    message: str


def tool_warnings(*, workspace_id: str, operation_ids: list[str]) -> list[ToolWarning]:
    """Problems with offering these operations to one model: too many tools, very large schemas,
    ids that are unknown or disabled. For bot configuration screens and APIs."""
    warnings: list[ToolWarning] = []
    wanted = list(dict.fromkeys(str(op_id) for op_id in operation_ids))
    usable = _usable_operations(workspace_id, wanted)
    missing = len(wanted) - len(usable)
    if missing:
        warnings.append(
            ToolWarning(
                "unavailable_operations",
                f"{missing} of the chosen operations are unknown or disabled and are not offered to the model.",
            )
        )
    if len(usable) > MAX_ENABLED_TOOLS:
        warnings.append(
            ToolWarning(
                "too_many_tools",
                f"{len(usable)} tools are chosen; models accept at most {MAX_ENABLED_TOOLS} per "
                "request (OpenAI), so the call will be refused. Choose fewer operations.",
            )
        )
    large = [op for op in usable if op.schema_size > LARGE_TOOL_SCHEMA_BYTES]
    for operation in large[:5]:
        warnings.append(
            ToolWarning(
                "large_tool_schema",
                f"The tool {operation.name} has a {operation.schema_size // 1024} KB argument "
                "schema; it takes much of the model's context on every turn.",
            )
        )
    total = sum(op.schema_size for op in usable)
    if total > LARGE_TOOLS_TOTAL_BYTES:
        warnings.append(
            ToolWarning(
                "large_tool_list",
                f"The chosen tools' schemas total {total // 1024} KB, sent with every model "
                "call; expect higher cost and latency.",
            )
        )
    return warnings

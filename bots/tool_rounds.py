"""A turn's tool rounds: settling each call, and continuing the turn once the round is complete.

Shared by the worker (a call ran, or was refused before running) and the web process (a person
denied a call), so that whichever settles the round's last call hands the results to the model,
exactly once.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from bots import events, lifecycle
from bots.lifecycle import Ended
from bots.models import Message, MessageState, ToolCall, ToolCallState


def runnable_exists(tool_calls: list[ToolCall]) -> bool:
    """Whether a call of the round is still to run (or running): the last one continues the turn."""
    return any(tc.state in (ToolCallState.PENDING, ToolCallState.RUNNING) for tc in tool_calls)


def record_tool_result(
    tool_call: ToolCall,
    outcome: str,
    *,
    content: str,
    error: str,
    duration_ms: float | None,
    trace: dict[str, Any] | None = None,
) -> None:
    """Settle the call (`outcome`: completed, failed or denied), tell the client, log its trace."""
    settle_tool_call(tool_call, outcome, content=content, error=error, duration_ms=duration_ms)
    events.emit(tool_call.message_id, events.ToolResult.of(tool_call))
    if trace:
        with transaction.atomic():
            message = Message.objects.select_for_update().get(pk=tool_call.message_id)
            message.trace = [*message.trace, tool_trace(tool_call, trace)]
            message.save(update_fields=["trace", "updated_at"])


def settle_tool_call(tool_call: ToolCall, outcome: str, *, content: str, error: str, duration_ms: float | None) -> None:
    lifecycle.move_tool_call(tool_call, outcome, result=content, error=error, duration_ms=duration_ms)


def tool_trace(tool_call: ToolCall, trace: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "tool_call",
        "tool_call_id": tool_call.call_id,
        "name": tool_call.name,
        "ok": tool_call.state == ToolCallState.COMPLETED,
        "duration_ms": tool_call.duration_ms,
        **trace,
    }


def continue_when_settled(message_id: str) -> None:
    """When every call of the latest round has an outcome, hand the results to the model (once)."""
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_id)
        if message.is_finished or not message.tool_rounds or message.tool_rounds[-1]["results"]:
            return
        round_step = message.step - 1
        calls = list(ToolCall.objects.filter(message=message, step=round_step))
        if any(tc.state in lifecycle.TOOL_CALL_OPEN_STATES for tc in calls):
            return  # the last call to finish (or the last confirmation) continues the turn
        order = {call["id"]: i for i, call in enumerate(message.tool_rounds[-1]["assistant"]["tool_calls"])}
        results = [
            {"role": "tool", "tool_call_id": tc.call_id, "content": tc.result or "{}"}
            for tc in sorted(calls, key=lambda tc: order.get(tc.call_id, 0))
        ]
        rounds = list(message.tool_rounds)
        rounds[-1] = {**rounds[-1], "results": results}
        lifecycle.move(message, MessageState.RUNNING, update_fields=(), tool_rounds=rounds)
        lifecycle.schedule_next(message_id, Ended.TOOL_ROUND, step=message.step)

"""Celery tasks of actions: thin wrappers around actions.tools (the settings route them to `tools`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from celery import shared_task

from actions import tools


@shared_task(name="actions.tool_invoke", ignore_result=False, acks_late=False)
def tool_invoke(workspace_id: str, operation_id: str, arguments_json: str) -> dict[str, Any]:
    """Call one operation and return the outcome (ok, content, error, duration_ms, trace) as a dict.

    Not acknowledged late: a call that may have had its effect must not run twice because its
    worker died mid-way.
    """
    outcome = tools.invoke_tool(workspace_id=workspace_id, operation_id=operation_id, arguments_json=arguments_json)
    return asdict(outcome)

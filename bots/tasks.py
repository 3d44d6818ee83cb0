"""Celery tasks of the chat runtime: each holds its turn's (or tool call's) lease and runs one step.

Task names are part of the deployment (queue routes in settings, bots.lifecycle sends by name).
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from bots import lifecycle, steps
from switchboard.leases import Lease, LeaseBusy


def _lease_retry(task, exc: LeaseBusy):
    # Another live worker runs this turn (a redelivery of a slow task): look again later; if
    # that worker dies, its lease expires and this delivery takes over.
    return task.retry(countdown=max(1, settings.LEASE_SECONDS / 2), exc=exc, max_retries=None)


@shared_task(name=lifecycle.TASK_RETRIEVE, bind=True, queue="chat")
def turn_retrieve(self, message_id: str) -> None:
    try:
        with Lease(f"turn:{message_id}"):
            proceed = steps.turn_retrieve(message_id=message_id)
    except LeaseBusy as exc:
        raise _lease_retry(self, exc) from exc
    if proceed:
        # Sent once the lease is released, so the generate task does not find it taken.
        lifecycle.schedule_next(message_id, lifecycle.Ended.RETRIEVAL)


@shared_task(name=lifecycle.TASK_GENERATE, bind=True, queue="chat")
def turn_generate(self, message_id: str, step: int) -> None:
    try:
        with Lease(f"turn:{message_id}"):
            steps.turn_generate(message_id=message_id, step=step)
    except LeaseBusy as exc:
        raise _lease_retry(self, exc) from exc


@shared_task(name=lifecycle.TASK_TOOL_CALL, bind=True, queue="tools")
def tool_call_run(self, tool_call_id: str) -> None:
    try:
        with Lease(f"tool-call:{tool_call_id}"):
            steps.tool_call_execute(tool_call_id=tool_call_id)
    except LeaseBusy as exc:
        raise _lease_retry(self, exc) from exc

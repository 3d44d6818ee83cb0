"""Celery tasks of the chat runtime: each holds its turn's (or tool call's) lease and runs one step.

Task names are part of the deployment (queue routes in settings, bots.lifecycle sends by name).
"""

from __future__ import annotations

from celery import shared_task

from bots import lifecycle, steps
from switchboard.leases import held_or_retried

# Queues come from CELERY_TASK_ROUTES in the settings; a step held by another live worker (a
# redelivery of a slow task) is retried later, without limit (max_retries=None: Celery's default
# of three would give up while the holder may still die), and taken over when its lease expires.


@shared_task(name=lifecycle.TASK_RETRIEVE, bind=True, max_retries=None)
def turn_retrieve(self, message_id: str) -> None:
    with held_or_retried(self, f"turn:{message_id}"):
        proceed = steps.turn_retrieve(message_id=message_id)
    if proceed:
        # Sent once the lease is released, so the generate task does not find it taken.
        lifecycle.schedule_next(message_id, lifecycle.Ended.RETRIEVAL)


@shared_task(name=lifecycle.TASK_GENERATE, bind=True, max_retries=None)
def turn_generate(self, message_id: str, step: int) -> None:
    with held_or_retried(self, f"turn:{message_id}"):
        steps.turn_generate(message_id=message_id, step=step)


@shared_task(name=lifecycle.TASK_TOOL_CALL, bind=True, max_retries=None)
def tool_call_run(self, tool_call_id: str) -> None:
    with held_or_retried(self, f"tool-call:{tool_call_id}"):
        steps.tool_call_execute(tool_call_id=tool_call_id)

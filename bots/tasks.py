"""Celery tasks of the chat runtime: thin wrappers that hold the turn's lease and call bots.runtime."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from bots import runtime
from switchboard.leases import Lease, LeaseBusy


def _lease_retry(task, exc: LeaseBusy):
    # Another live worker runs this turn (a redelivery of a slow task): look again later; if
    # that worker dies, its lease expires and this delivery takes over.
    return task.retry(countdown=max(1, settings.LEASE_SECONDS / 2), exc=exc, max_retries=None)


@shared_task(name="bots.turn_retrieve", bind=True, queue="chat")
def turn_retrieve(self, message_id: str) -> None:
    try:
        with Lease(f"turn:{message_id}"):
            proceed = runtime.turn_retrieve(message_id=message_id)
    except LeaseBusy as exc:
        raise _lease_retry(self, exc) from exc
    if proceed:
        turn_generate.delay(message_id, 0)


@shared_task(name="bots.turn_generate", bind=True, queue="chat")
def turn_generate(self, message_id: str, step: int) -> None:
    try:
        with Lease(f"turn:{message_id}"):
            runtime.turn_generate(message_id=message_id, step=step)
    except LeaseBusy as exc:
        raise _lease_retry(self, exc) from exc


@shared_task(name="bots.tool_call_run", bind=True, queue="tools")
def tool_call_run(self, tool_call_id: str) -> None:
    try:
        with Lease(f"tool-call:{tool_call_id}"):
            runtime.tool_call_execute(tool_call_id=tool_call_id)
    except LeaseBusy as exc:
        raise _lease_retry(self, exc) from exc

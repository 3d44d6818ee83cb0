"""The life of a chat turn: its states, the moves between them, and what runs next.

An assistant message is the turn. Its `state` changes only through `move` (or `start`, the one
move that must win a race), which refuses any move the table below does not allow; the tool calls
of a turn have their own table and `move_tool_call`. The work of a
turn runs as Celery tasks, one per step (retrieve → generate → tools → generate … → end), and
`schedule_next` is the only place that sends them: callers say which step just ended and it
decides what follows. Tasks are sent by name, so this module does not depend on the task code
(bots.tasks → bots.steps → bots.lifecycle → bots.events / bots.models).

Ending a turn (`finish`, `fail`, `cancel`) writes the message once and emits its `message.end`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from bots import events
from bots.models import Message, MessageState, ToolCall, ToolCallState
from switchboard.celery_app import app
from switchboard.errors import Conflict

S = MessageState
TRANSITIONS: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.RUNNING, S.COMPLETED, S.FAILED, S.CANCELLED}),
    # running → running: a tool round ended and the next model call begins.
    S.RUNNING: frozenset({S.RUNNING, S.AWAITING_CONFIRMATION, S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.AWAITING_CONFIRMATION: frozenset({S.RUNNING, S.CANCELLED, S.FAILED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}

T = ToolCallState
TOOL_CALL_TRANSITIONS: dict[str, frozenset[str]] = {
    # pending → failed: refused before running (arguments a person should not be asked to approve).
    T.PENDING: frozenset({T.RUNNING, T.AWAITING_CONFIRMATION, T.FAILED}),
    T.AWAITING_CONFIRMATION: frozenset({T.PENDING, T.DENIED}),
    T.RUNNING: frozenset({T.COMPLETED, T.FAILED}),
    T.COMPLETED: frozenset(),
    T.FAILED: frozenset(),
    T.DENIED: frozenset(),
}
# A call that still holds its round open: the turn continues once none of them is left.
TOOL_CALL_OPEN_STATES = (T.PENDING, T.RUNNING, T.AWAITING_CONFIRMATION)

TASK_RETRIEVE = "bots.turn_retrieve"
TASK_GENERATE = "bots.turn_generate"
TASK_TOOL_CALL = "bots.tool_call_run"


class IllegalTransition(Conflict):
    pass


def check_move(current: str, to: str, *, table: dict[str, frozenset[str]] = TRANSITIONS, what: str = "A turn") -> None:
    if to not in table[current]:
        raise IllegalTransition(f"{what} cannot go from {current} to {to}.", code="illegal_transition")


def ms_since(start) -> float:
    return round((timezone.now() - start).total_seconds() * 1000, 2)


def move(message: Message, to: str, *, update_fields: Iterable[str] | None = None, **fields: Any) -> None:
    """Set the message's state (and `fields`) and save it; `update_fields` limits the write."""
    check_move(message.state, to)
    message.state = to
    for name, value in fields.items():
        setattr(message, name, value)
    if update_fields is None:
        message.save()
    else:
        message.save(update_fields=sorted({"state", "updated_at", *update_fields, *fields}))


def move_tool_call(tool_call: ToolCall, to: str, **fields: Any) -> None:
    check_move(tool_call.state, to, table=TOOL_CALL_TRANSITIONS, what="A tool call")
    tool_call.state = to
    for name, value in fields.items():
        setattr(tool_call, name, value)
    tool_call.save(update_fields=sorted({"state", "updated_at", *fields}))


def begin_attempt(message_id: str, step: int, conn) -> tuple[int, bool]:
    """Count a delivery of this step and look for a stop request, in one round trip to Redis.

    Returns how many deliveries have started the step (1 for the first: more means one died
    mid-way) and whether the turn was asked to stop.
    """
    key = f"turn-attempt:{message_id}:{step}"
    pipe = conn.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, events.STREAM_TTL_SECONDS)
    pipe.exists(events.cancel_key(message_id))
    attempts, _, cancel_requested = pipe.execute()
    return attempts, bool(cancel_requested)


def start(message: Message) -> None:
    """queued → running, once: the first worker to pick the turn up records the queue wait."""
    if message.state != S.QUEUED:
        return
    check_move(S.QUEUED, S.RUNNING)
    message.queue_ms = ms_since(message.created_at)
    # Plain SQL: every turn runs it, and the ORM's compilation of it cost more than its execution.
    with connection.cursor() as cursor:
        cursor.execute(
            _START_SQL.format(table=connection.ops.quote_name(Message._meta.db_table)),
            [S.RUNNING.value, message.queue_ms, timezone.now(), message.pk, S.QUEUED.value],
        )
    message.state = S.RUNNING


_START_SQL = "UPDATE {table} SET state = %s, queue_ms = %s, updated_at = %s WHERE id = %s AND state = %s"


# -- ending --------------------------------------------------------------------------------------------

# What running a turn writes on its message. The end of a turn writes these and nothing else: a
# narrower UPDATE, and the rating or comment a person gave while the turn ran is not overwritten.
TURN_FIELDS = (
    "content",
    "error",
    "step",
    "trace",
    "context",
    "retrieved_at",
    "citations",
    "tool_rounds",
    "input_tokens",
    "output_tokens",
    "cost",
    "queue_ms",
    "ttft_ms",
    "total_ms",
    "finished_at",
)


def _end(message: Message, state: str, fields: dict[str, Any]) -> None:
    move(
        message,
        state,
        update_fields=TURN_FIELDS,
        finished_at=timezone.now(),
        total_ms=ms_since(message.created_at),
        **fields,
    )
    if message.error:
        events.emit(message.pk, events.Error(**message.error))
    events.emit(message.pk, events.MessageEnd.of(message))


def finish(message: Message, **fields: Any) -> None:
    _end(message, S.COMPLETED, fields)


def cancel(message: Message, *, partial_text: str | None = None) -> None:
    _end(message, S.CANCELLED, {"content": partial_text} if partial_text is not None else {})


def fail(message: Message, *, code: str, text: str, content: str | None = None) -> None:
    fields: dict[str, Any] = {"error": {"code": code, "message": text}}
    if content is not None:
        fields["content"] = content
    _end(message, S.FAILED, fields)


# -- what runs next ------------------------------------------------------------------------------------


class Ended(Enum):
    """The step that just ended, as `schedule_next` needs to know it."""

    ACCEPTED = "accepted"  # the turn is stored; nothing ran yet
    RETRIEVAL = "retrieval"  # the context is on the message
    TOOL_ROUND_BEGUN = "tool_round_begun"  # the model asked for tools; these calls may run now
    CONFIRMED = "confirmed"  # a person approved a consequential call
    TOOL_ROUND = "tool_round"  # every call of the round has an outcome


def schedule_next(
    message_id: str, ended: Ended, *, step: int = 0, retrieve: bool = False, tool_call_ids: Iterable[str] = ()
) -> None:
    """Send the task(s) for the step after `ended`, once the current transaction commits.

    accepted → retrieve (when the bot has knowledge) or generate step 0; retrieval → generate
    step 0; a tool round begun or a confirmation → run those calls; a tool round ended → generate
    `step`. A turn ends from inside a step (lifecycle.finish/fail/cancel), never from here.
    """
    sends: list[tuple[str, list[str | int]]]
    if ended is Ended.ACCEPTED and retrieve:
        sends = [(TASK_RETRIEVE, [message_id])]
    elif ended in (Ended.ACCEPTED, Ended.RETRIEVAL):
        sends = [(TASK_GENERATE, [message_id, 0])]
    elif ended in (Ended.TOOL_ROUND_BEGUN, Ended.CONFIRMED):
        sends = [(TASK_TOOL_CALL, [tool_call_id]) for tool_call_id in tool_call_ids]
    else:
        sends = [(TASK_GENERATE, [message_id, step])]

    def send() -> None:
        for name, args in sends:
            # Sent by name, Celery does not know the task's own ignore_result; said here, so the
            # result backend does not subscribe to a result nobody waits for (a round trip each).
            app.send_task(name, args=args, ignore_result=True)

    transaction.on_commit(send)

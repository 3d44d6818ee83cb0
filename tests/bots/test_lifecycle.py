"""The turn state machine's table: the moves a turn and its tool calls may make, and no others."""

import uuid

import pytest

from bots import events
from bots.lifecycle import TOOL_CALL_TRANSITIONS, TRANSITIONS, IllegalTransition, check_move
from bots.models import TERMINAL_STATES, MessageState, ToolCallState


def test_every_state_has_a_row_and_ended_turns_do_not_move():
    assert set(TRANSITIONS) == set(MessageState.values)
    assert set(TOOL_CALL_TRANSITIONS) == set(ToolCallState.values)
    for state in TERMINAL_STATES:
        assert TRANSITIONS[state] == frozenset()


def test_illegal_moves_are_refused():
    check_move(MessageState.QUEUED, MessageState.RUNNING)
    check_move(MessageState.AWAITING_CONFIRMATION, MessageState.CANCELLED)
    with pytest.raises(IllegalTransition):
        check_move(MessageState.COMPLETED, MessageState.RUNNING)
    with pytest.raises(IllegalTransition):
        check_move(MessageState.AWAITING_CONFIRMATION, MessageState.COMPLETED)
    with pytest.raises(IllegalTransition):
        check_move(ToolCallState.DENIED, ToolCallState.PENDING, table=TOOL_CALL_TRANSITIONS)


def test_events_keep_their_wire_names_and_fields():
    reset = events.MessageReset(step=1, reason="worker_restarted")
    assert reset.data() == {"step": 1, "reason": "worker_restarted"}  # retry_in only when retrying
    assert events.MessageReset(step=0, reason="rate_limited", retry_in=0.5).data()["retry_in"] == 0.5
    parsed = events.parse(
        "tool.result",
        {
            "message_id": "msg_1",
            "tool_call_id": "c1",
            "name": "get",
            "ok": True,
            "error": None,
            "duration_ms": 3.0,
            "result": "{}",
        },
    )
    assert isinstance(parsed, events.ToolResult) and parsed.name == "get" and parsed.ok
    assert events.parse("something.new", {}) is None
    assert set(events.EVENT_TYPES) == {
        "message.start",
        "retrieval",
        "tool.call",
        "tool.confirmation_required",
        "tool.result",
        "delta",
        "message.reset",
        "error",
        "message.end",
    }


@pytest.mark.django_db
def test_ending_a_turn_keeps_a_rating_given_while_it_ran(workspace, make_bot):
    from bots import lifecycle
    from bots.models import Conversation, Message

    bot = make_bot()
    conversation = Conversation.objects.create(workspace=workspace, bot=bot, version_number=1)
    running = Message.objects.create(
        workspace=workspace, conversation=conversation, role="assistant", state=MessageState.RUNNING
    )
    # The person rates the answer (another process) while the worker still holds its copy.
    Message.objects.filter(pk=running.pk).update(rating=-1, feedback="wrong shop")

    lifecycle.finish(running, content="Done.", input_tokens=3, output_tokens=2)

    stored = Message.objects.get(pk=running.pk)
    assert (stored.state, stored.content, stored.input_tokens) == (MessageState.COMPLETED, "Done.", 3)
    assert stored.finished_at is not None and stored.total_ms is not None
    assert (stored.rating, stored.feedback) == (-1, "wrong shop")


def test_a_delivery_is_counted_and_a_stop_seen_in_one_round_trip(redis_client):
    from bots import lifecycle
    from switchboard import redis_clients

    conn = redis_clients.client()
    message_id = f"msg_{uuid.uuid4().hex[:16]}"

    assert lifecycle.begin_attempt(message_id, 0, conn) == (1, False)
    events.request_cancel(message_id)
    assert lifecycle.begin_attempt(message_id, 0, conn) == (2, True)
    assert lifecycle.begin_attempt(message_id, 1, conn) == (1, True)
    assert 0 < conn.ttl(f"turn-attempt:{message_id}:0") <= events.STREAM_TTL_SECONDS

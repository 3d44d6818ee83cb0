"""The turn state machine's table: the moves a turn and its tool calls may make, and no others."""

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

"""Real turns: a real Celery worker, real Redis streams, the fake LLM over real HTTP."""

from __future__ import annotations

import time

import pytest

from bots import events
from bots.models import Message
from bots.turns import turn_accept, turn_stop
from tests.fake_llm import ErrorReply, TextReply

pytestmark = pytest.mark.django_db(transaction=True)


def chat(api, bot, message, **extra):
    response = api.post(f"/api/v1/bots/{bot.pk}/chat", {"message": message, **extra}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def wait_for_events(message_id: str, predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stream = events.read_all(message_id)
        if predicate(stream):
            return stream
        time.sleep(0.02)
    raise AssertionError(f"timed out; events so far: {[e for _, e, _ in events.read_all(message_id)]}")


def test_blocking_chat_returns_the_finished_message_with_usage_cost_and_latency(api, make_bot, fake_llm, celery_worker):
    bot = make_bot(system_prompt="Be brief.")
    fake_llm.script(TextReply("Hello there!"))
    message = chat(api, bot, "Hi")
    assert message["state"] == "completed" and message["content"] == "Hello there!"
    assert message["usage"]["input_tokens"] > 0 and message["usage"]["output_tokens"] > 0
    assert float(message["cost"]) > 0
    latency = message["latency"]
    assert 0 <= latency["queue_ms"] <= latency["ttft_ms"] <= latency["total_ms"]
    assert [step["type"] for step in message["trace"]] == ["generation"]
    sent = fake_llm.last_chat_request
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert sent["model"] == "fake-chat" and sent["stream"] is True
    # The trace keeps the prompt exactly as it was sent, for the conversation log.
    assert message["trace"][0]["prompt"] == {"messages": sent["messages"], "tools": [], "truncated": False}


def test_multi_turn_conversation_keeps_the_memory_window(api, make_bot, fake_llm, celery_worker):
    bot = make_bot(memory={"max_turns": 2})
    first = chat(api, bot, "one")
    conversation = first["conversation_id"]
    for text in ("two", "three"):
        chat(api, bot, text, conversation_id=conversation)
    sent = [m["content"] for m in fake_llm.last_chat_request["messages"] if m["role"] != "system"]
    assert sent == ["one", "Echo: one", "two", "Echo: two", "three"][-5:] and "one" in sent
    chat(api, bot, "four", conversation_id=conversation)
    sent = [m["content"] for m in fake_llm.last_chat_request["messages"] if m["role"] != "system"]
    assert sent == ["two", "Echo: two", "three", "Echo: three", "four"]
    listing = api.get(f"/api/v1/conversations/{conversation}/messages").json()["data"]
    assert [m["role"] for m in listing] == ["user", "assistant"] * 4


def test_variables_fill_the_system_prompt_for_the_conversation(api, make_bot, fake_llm, celery_worker):
    bot = make_bot(
        system_prompt="You are a guide to {{city}} ({{units}}).",
        variables=[
            {"name": "city", "required": True},
            {"name": "units", "type": "select", "options": ["metric", "imperial"], "default": "metric"},
        ],
    )
    first = chat(api, bot, "What to see?", inputs={"city": "杭州"})
    assert fake_llm.last_chat_request["messages"][0]["content"] == "You are a guide to 杭州 (metric)."
    chat(api, bot, "And to eat?", conversation_id=first["conversation_id"])  # inputs kept
    assert fake_llm.last_chat_request["messages"][0]["content"] == "You are a guide to 杭州 (metric)."


def test_provider_429_is_retried_honouring_retry_after(api, make_bot, fake_llm, celery_worker):
    bot = make_bot()
    fake_llm.script(ErrorReply(429, retry_after="0.3"), TextReply("after the limit"))
    started = time.monotonic()
    message = chat(api, bot, "hi")
    assert message["state"] == "completed" and message["content"] == "after the limit"
    assert time.monotonic() - started >= 0.3
    errors = [s for s in message["trace"] if s["type"] == "model_error"]
    assert len(errors) == 1 and errors[0]["status"] == 429
    assert len(fake_llm.chat_requests) == 2


def test_provider_failure_fails_the_message_with_a_clear_error(api, make_bot, fake_llm, celery_worker, settings):
    bot = make_bot()
    fake_llm.script(*[ErrorReply(500, message="upstream exploded")] * 3)
    message = chat(api, bot, "hi")
    assert message["state"] == "failed"
    assert message["error"]["code"] == "provider_server_error"
    assert "HTTP 500" in message["error"]["message"] and "after 3 attempts" in message["error"]["message"]
    names = [event for _, event, _ in events.read_all(message["id"])]
    assert names[-2:] == ["error", "message.end"] and names.count("message.end") == 1


def test_provider_auth_error_is_not_retried(api, make_bot, fake_llm, celery_worker):
    bot = make_bot()
    fake_llm.script(ErrorReply(401, message="bad key"))
    message = chat(api, bot, "hi")
    assert message["state"] == "failed" and message["error"]["code"] == "provider_auth_error"
    assert len(fake_llm.chat_requests) == 1


def test_stop_keeps_the_partial_text_marked_cancelled(api, make_bot, fake_llm, celery_worker):
    bot = make_bot()
    chunks = [f"word{i} " for i in range(60)]
    fake_llm.script(TextReply(chunks=chunks, chunk_delay=0.05))
    accepted = turn_accept(workspace=bot.workspace, bot=bot, text="tell me a long story")
    message_id = accepted.assistant_message.pk
    wait_for_events(message_id, lambda stream: sum(1 for _, e, _ in stream if e == "delta") >= 3)
    response = api.post(f"/api/v1/messages/{message_id}/stop")
    assert response.status_code == 200
    stream = wait_for_events(message_id, lambda s: any(e == "message.end" for _, e, _ in s))
    end = next(data for _, e, data in stream if e == "message.end")
    assert end["state"] == "cancelled"
    message = Message.objects.get(pk=message_id)
    assert message.state == "cancelled"
    assert message.content.startswith("word0 word1 ") and len(message.content) < len("".join(chunks))
    assert api.post(f"/api/v1/messages/{message_id}/stop").status_code == 409
    # A stopped stream reports no usage: the tokens sent and made are estimated, and marked so.
    assert message.input_tokens > 0 and message.output_tokens > 0 and message.cost > 0
    generation = next(step for step in message.trace if step["type"] == "generation")
    assert generation["tokens_estimated"] is True and generation["finish_reason"] == "stopped"


def test_stopping_a_queued_turn_ends_it_without_calling_the_model(make_bot, fake_llm, celery_worker):
    from django.db import transaction

    bot = make_bot()
    with transaction.atomic():  # the turn is enqueued only when this commits
        accepted = turn_accept(workspace=bot.workspace, bot=bot, text="hi")
        message = turn_stop(message=accepted.assistant_message)
        assert message.state == "cancelled" and message.content == ""
    time.sleep(1.0)  # the worker receives the task and must see the turn is over
    assert Message.objects.get(pk=message.pk).state == "cancelled"
    assert fake_llm.chat_requests == []


def test_stream_that_breaks_off_is_retried_and_clients_are_told_to_reset(api, make_bot, fake_llm, celery_worker):
    from tests.fake_llm import DropReply

    bot = make_bot()
    fake_llm.script(DropReply(chunks=["partial ", "answer "], drop_after=2), TextReply("whole answer"))
    message = chat(api, bot, "hi")
    assert message["state"] == "completed" and message["content"] == "whole answer"
    names = [event for _, event, _ in events.read_all(message["id"])]
    assert "message.reset" in names
    assert [s["code"] for s in message["trace"] if s["type"] == "model_error"] == ["provider_stream_error"]


def test_conversations_are_listed_filtered_and_deleted(api, make_bot, fake_llm, celery_worker):
    first_bot, second_bot = make_bot(name="first"), make_bot(name="second")
    chat(api, first_bot, "a", user="alice")
    chat(api, first_bot, "b", user="bob")
    chat(api, second_bot, "c", user="alice")
    by_bot = api.get(f"/api/v1/conversations/?bot={first_bot.pk}").json()["data"]
    assert sorted(c["user"] for c in by_bot) == ["alice", "bob"]
    alice = api.get("/api/v1/conversations/?user=alice").json()["data"]
    assert sorted(c["bot_id"] for c in alice) == sorted([first_bot.pk, second_bot.pk])
    assert api.get("/api/v1/conversations/?created_after=2999-01-01T00:00:00Z").json()["data"] == []
    bad = api.get("/api/v1/conversations/?created_after=yesterday")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "created_after"
    assert bad.json()["error"]["code"] == "invalid_date"
    assert bad.json()["error"]["message"] == "created_after must be an ISO 8601 date-time such as 2026-01-31T12:00:00Z."
    target = by_bot[0]["id"]
    assert api.delete(f"/api/v1/conversations/{target}").status_code == 204
    assert api.get(f"/api/v1/conversations/{target}").status_code == 404
    assert Message.objects.filter(conversation_id=target).count() == 0


def test_feedback_is_recorded_on_assistant_messages(api, make_bot, fake_llm, celery_worker):
    bot = make_bot()
    message = chat(api, bot, "hi")
    response = api.post(
        f"/api/v1/messages/{message['id']}/feedback", {"rating": -1, "comment": "too short"}, format="json"
    )
    assert response.status_code == 200 and response.json()["rating"] == -1
    user_message = Message.objects.get(pk=message["reply_to_id"])
    assert api.post(f"/api/v1/messages/{user_message.pk}/feedback", {"rating": 1}, format="json").status_code == 409


def test_a_failed_turn_leaves_a_history_that_strict_chat_templates_accept(api, make_bot, fake_llm, celery_worker):
    """Servers whose chat templates insist on alternating roles (vLLM, llama.cpp) must keep working
    after a turn failed: its unanswered question is left out of the next prompt."""
    fake_llm.require_alternating_roles = True
    bot = make_bot()
    fake_llm.script(TextReply("First answer."), ErrorReply(400, message="This request is refused."))
    first = chat(api, bot, "First question")
    conversation = first["conversation_id"]
    failed = chat(api, bot, "Second question", conversation_id=conversation)
    assert first["state"] == "completed" and failed["state"] == "failed"
    fake_llm.script(TextReply("Third answer."))
    third = chat(api, bot, "Third question", conversation_id=conversation)
    assert third["state"] == "completed", third["error"]
    sent = [(m["role"], m["content"]) for m in fake_llm.last_chat_request["messages"] if m["role"] != "system"]
    assert sent == [("user", "First question"), ("assistant", "First answer."), ("user", "Third question")]

"""Bots calling actions: the real worker, the fake LLM and a real local HTTP server as the target API."""

from __future__ import annotations

import json
import time

import pytest

from actions import services as action_services
from bots import events
from bots.models import Message, ToolCall
from tests.actions.target_api import Reply
from tests.fake_llm import TextReply, ToolCallReply
from tests.fake_llm import ToolCall as CallOf

pytestmark = pytest.mark.django_db(transaction=True)


def slow_weather(seen):
    time.sleep(0.5)
    city = seen.query_params.get("city", ["?"])[0]
    return Reply(200, {"city": city, "temp_c": 21})


def chat(api, bot, text):
    response = api.post(f"/api/v1/bots/{bot.pk}/chat", {"message": text}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def tool_messages(request_body):
    return [m for m in request_body["messages"] if m["role"] == "tool"]


def test_parallel_tool_calls_run_at_once_and_results_go_back_to_the_model(
    api, make_bot, fake_llm, target, operations, celery_worker
):
    target.handlers["/weather"] = slow_weather
    bot = make_bot(actions={"operation_ids": [operations["getWeather"].pk]})
    fake_llm.script(
        ToolCallReply(
            [CallOf("getWeather", {"city": "Paris"}, id="call_p"), CallOf("getWeather", {"city": "東京"}, id="call_t")]
        ),
        TextReply("Paris and Tokyo are both 21 °C."),
    )
    message = chat(api, bot, "Weather in Paris and Tokyo?")
    assert message["state"] == "completed" and message["content"] == "Paris and Tokyo are both 21 °C."
    first, second = fake_llm.chat_requests
    assert [t["function"]["name"] for t in first["tools"]] == ["getWeather"]
    calls = target.calls_to("/weather")
    assert sorted(c.query_params["city"][0] for c in calls) == ["Paris", "東京"]
    # Both requests reached the target before either 0.5 s answer came back: they ran in parallel.
    assert abs(calls[0].received_at - calls[1].received_at) < 0.4
    results = {m["tool_call_id"]: json.loads(m["content"]) for m in tool_messages(second)}
    assert results["call_p"]["city"] == "Paris" and results["call_t"]["city"] == "東京"
    assert [m["role"] for m in second["messages"]][-3:] == ["assistant", "tool", "tool"]
    names = [event for _, event, _ in events.read_all(message["id"])]
    assert names.count("tool.call") == 2 and names.count("tool.result") == 2
    assert {tc["state"] for tc in message["tool_calls"]} == {"completed"}


def test_consequential_call_waits_for_confirmation_then_runs(
    api, make_bot, fake_llm, target, operations, celery_worker
):
    bot = make_bot(actions={"operation_ids": [operations["createOrder"].pk]})
    fake_llm.script(
        ToolCallReply([CallOf("createOrder", {"body": {"item": "tea"}}, id="call_o")]), TextReply("Ordered your tea.")
    )
    paused = chat(api, bot, "Order tea")
    assert paused["state"] == "awaiting_confirmation"
    assert target.calls_to("/orders") == []
    names = [event for _, event, _ in events.read_all(paused["id"])]
    assert "tool.confirmation_required" in names and "message.end" not in names
    response = api.post(
        f"/api/v1/messages/{paused['id']}/confirmations", {"tool_call_id": "call_o", "approve": True}, format="json"
    )
    assert response.status_code == 200
    message = wait_finished(paused["id"])
    assert message.state == "completed" and message.content == "Ordered your tea."
    assert [json.loads(c.body) for c in target.calls_to("/orders")] == [{"item": "tea"}]
    again = api.post(
        f"/api/v1/messages/{paused['id']}/confirmations", {"tool_call_id": "call_o", "approve": True}, format="json"
    )
    assert again.status_code == 409


def test_denied_call_never_runs_and_the_model_is_told(api, make_bot, fake_llm, target, operations, celery_worker):
    bot = make_bot(actions={"operation_ids": [operations["createOrder"].pk]})
    fake_llm.script(
        ToolCallReply([CallOf("createOrder", {"body": {"item": "car"}}, id="call_c")]),
        TextReply("Understood, I did not order it."),
    )
    paused = chat(api, bot, "Order a car")
    api.post(
        f"/api/v1/messages/{paused['id']}/confirmations", {"tool_call_id": "call_c", "approve": False}, format="json"
    )
    message = wait_finished(paused["id"])
    assert message.state == "completed"
    assert target.calls_to("/orders") == []
    told = tool_messages(fake_llm.chat_requests[-1])[0]["content"]
    assert "denied" in told
    assert ToolCall.objects.get(message_id=paused["id"]).state == "denied"


def test_invalid_arguments_come_back_to_the_model_which_corrects_them(
    api, make_bot, fake_llm, target, operations, celery_worker
):
    bot = make_bot(actions={"operation_ids": [operations["getWeather"].pk]})
    fake_llm.script(
        ToolCallReply([CallOf("getWeather", {"city": 42}, id="bad")]),
        ToolCallReply([CallOf("getWeather", {"city": "Oslo"}, id="good")]),
        TextReply("Oslo: 21 °C"),
    )
    message = chat(api, bot, "Weather in Oslo?")
    assert message["state"] == "completed" and message["content"] == "Oslo: 21 °C"
    assert [c.query_params["city"][0] for c in target.calls_to("/weather")] == ["Oslo"]
    correction = tool_messages(fake_llm.chat_requests[1])[0]["content"]
    assert "city" in correction and "string" in correction
    states = {tc["tool_call_id"]: tc["state"] for tc in message["tool_calls"]}
    assert states == {"bad": "failed", "good": "completed"}


def test_tools_are_withheld_on_the_last_iteration(api, make_bot, fake_llm, target, operations, celery_worker):
    bot = make_bot(max_tool_iterations=1, actions={"operation_ids": [operations["getWeather"].pk]})
    fake_llm.script(ToolCallReply([CallOf("getWeather", {"city": "Rome"})]), TextReply("Rome is sunny."))
    message = chat(api, bot, "Weather in Rome?")
    assert message["state"] == "completed"
    assert "tools" in fake_llm.chat_requests[0] and "tools" not in fake_llm.chat_requests[1]


def wait_finished(message_id: str, timeout: float = 30.0) -> Message:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = Message.objects.get(pk=message_id)
        if message.is_finished:
            return message
        time.sleep(0.05)
    raise AssertionError(f"turn did not finish: {[e for _, e, _ in events.read_all(message_id)]}")


def test_bot_warns_when_it_would_offer_a_disabled_tool(api, make_bot, operations):
    bot = make_bot(actions={"operation_ids": [operations["getWeather"].pk, operations["createOrder"].pk]})
    action_services.operation_update(operation=operations["createOrder"], enabled=False)
    warnings = api.get(f"/api/v1/bots/{bot.pk}").json()["warnings"]
    assert [w["code"] for w in warnings] == ["unavailable_operations"]
    assert "1 of the chosen operations" in warnings[0]["message"]


def test_a_consequential_call_that_cannot_run_goes_back_to_the_model_before_anyone_is_asked(
    api, make_bot, fake_llm, target, operations, celery_worker
):
    bot = make_bot(actions={"operation_ids": [operations["createOrder"].pk]})
    fake_llm.script(
        ToolCallReply([CallOf("createOrder", {"body": {"quantity": 2}}, id="call_bad")]),  # no "item"
        ToolCallReply([CallOf("createOrder", {"body": {"item": "tea"}}, id="call_good")]),
        TextReply("Ordered your tea."),
    )
    paused = chat(api, bot, "Order tea")
    assert paused["state"] == "awaiting_confirmation"
    calls = {tc["tool_call_id"]: tc for tc in paused["tool_calls"]}
    assert calls["call_bad"]["state"] == "failed" and calls["call_bad"]["error"] == "invalid_arguments"
    assert calls["call_good"]["state"] == "awaiting_confirmation"
    names_and_calls = [(event, data.get("tool_call_id")) for _, event, data in events.read_all(paused["id"])]
    # The person is asked once, about the call that can run.
    assert [c for e, c in names_and_calls if e == "tool.confirmation_required"] == ["call_good"]
    correction = tool_messages(fake_llm.chat_requests[1])
    assert correction[0]["tool_call_id"] == "call_bad"
    assert json.loads(correction[0]["content"])["error"]["code"] == "invalid_arguments"
    assert "item" in correction[0]["content"]
    response = api.post(
        f"/api/v1/messages/{paused['id']}/confirmations", {"tool_call_id": "call_good", "approve": True}, format="json"
    )
    assert response.status_code == 200
    message = wait_finished(paused["id"])
    assert message.state == "completed" and message.content == "Ordered your tea."
    assert len(target.calls_to("/orders")) == 1

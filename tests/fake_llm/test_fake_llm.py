"""The fake LLM server, exercised through the real openai SDK and raw HTTP."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolUnionParam

from tests.fake_llm import (
    DropReply,
    ErrorReply,
    FakeLLM,
    HangReply,
    TextReply,
    ToolCall,
    ToolCallReply,
    Usage,
    estimate_tokens,
)
from tests.fake_llm.wire import split_content

API_KEY = "sk-test-0123456789"
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLM]:
    # One server per module keeps the suite fast; `fake` resets it per test.
    with FakeLLM(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def fake(server: FakeLLM) -> Iterator[FakeLLM]:
    server.reset()
    yield server
    assert server.server_errors == []


def make_client(fake: FakeLLM, **kwargs: Any) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("api_key", API_KEY)
    return openai.OpenAI(base_url=fake.base_url, **kwargs)


# -- chat completions, blocking ----------------------------------------------


def test_blocking_completion_echoes_last_user_message(fake: FakeLLM) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "hello there"},
    ]
    completion = make_client(fake).chat.completions.create(model="fake-chat", messages=messages, temperature=0.2)

    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "fake-chat"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Echo: hello there"
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    # "Be brief." + "first" + "ok" + "hello there" = 2 + 1 + 1 + 2 tokens.
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (6, 3)
    assert completion.usage.total_tokens == 9

    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert fake.last_chat_request["messages"] == messages
    assert fake.last_chat_request["temperature"] == 0.2


def test_scripted_replies_are_consumed_in_order(fake: FakeLLM) -> None:
    fake.script(TextReply("one", usage=Usage(prompt_tokens=100, completion_tokens=7)), TextReply("two"))
    client = make_client(fake)

    first = client.chat.completions.create(model="fake-chat", messages=USER)
    second = client.chat.completions.create(model="fake-chat", messages=USER)
    third = client.chat.completions.create(model="fake-chat", messages=USER)

    assert [c.choices[0].message.content for c in (first, second, third)] == [
        "one",
        "two",
        "Echo: What is the weather in Paris?",
    ]
    assert first.usage is not None and (first.usage.prompt_tokens, first.usage.total_tokens) == (
        100,
        107,
    )
    assert fake.pending_replies == 0


def test_blocking_tool_calls(fake: FakeLLM) -> None:
    call = ToolCall("get_weather", {"city": "Paris"}, id="call_abc")
    fake.script(ToolCallReply([call]))
    tools: list[ChatCompletionToolUnionParam] = [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    ]

    completion = make_client(fake).chat.completions.create(model="fake-chat", messages=USER, tools=tools)

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    [tool_call] = choice.message.tool_calls
    assert tool_call.type == "function"
    assert (tool_call.id, tool_call.type, tool_call.function.name) == (
        "call_abc",
        "function",
        "get_weather",
    )
    assert json.loads(tool_call.function.arguments) == {"city": "Paris"}
    assert fake.last_chat_request["tools"] == tools


# -- chat completions, streaming ---------------------------------------------


def test_streaming_text_with_usage(fake: FakeLLM) -> None:
    fake.script(TextReply(chunks=["Bon", "jour", " tout", " le monde"]))

    stream = make_client(fake).chat.completions.create(
        model="fake-chat", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Bonjour tout le monde"
    content_deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert content_deltas == ["Bon", "jour", " tout", " le monde"]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    # Usage comes alone in a last chunk with no choices.
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (6, 4)
    assert chunks[-1].usage.total_tokens == 10
    assert all(c.usage is None for c in chunks[:-1])
    assert fake.last_chat_request["stream_options"] == {"include_usage": True}


def test_streaming_wire_format(fake: FakeLLM) -> None:
    fake.script(TextReply("hi you"))
    body = {"model": "fake-chat", "messages": USER, "stream": True}

    with httpx.Client() as http:
        response = http.post(
            f"{fake.base_url}/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {API_KEY}"},
        )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = response.text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    payloads = [json.loads(event.removeprefix("data: ")) for event in events[:-2]]
    assert [p["choices"][0]["delta"] for p in payloads] == [
        {"role": "assistant", "content": "", "refusal": None},
        {"content": "hi"},
        {"content": " you"},
        {},
    ]
    assert payloads[-1]["choices"][0]["finish_reason"] == "stop"
    # Without include_usage OpenAI sends no usage key at all.
    assert all("usage" not in p for p in payloads)


def test_streamed_parallel_tool_calls_reassemble(fake: FakeLLM) -> None:
    weather = ToolCall("get_weather", {"city": "Paris", "unit": "celsius"})
    clock = ToolCall("get_time", {"timezone": "Europe/Paris"})
    fake.script(ToolCallReply([weather, clock], argument_chunk_size=5))

    chunks = list(make_client(fake).chat.completions.create(model="fake-chat", messages=USER, stream=True))

    calls: dict[int, dict[str, str]] = {}
    fragments: dict[int, int] = {}
    for chunk in chunks:
        for delta in chunk.choices[0].delta.tool_calls or []:
            if delta.index not in calls:
                # The opening delta of a call carries its identity...
                assert delta.id and delta.type == "function" and delta.function and delta.function.name
                calls[delta.index] = {"id": delta.id, "name": delta.function.name, "arguments": ""}
            else:
                # ...and later deltas only argument fragments.
                assert delta.id is None and delta.type is None
                assert delta.function is not None and delta.function.name is None
            assert delta.function is not None
            calls[delta.index]["arguments"] += delta.function.arguments or ""
            fragments[delta.index] = fragments.get(delta.index, 0) + 1

    assert calls == {
        0: {"id": weather.id, "name": "get_weather", "arguments": weather.arguments},
        1: {"id": clock.id, "name": "get_time", "arguments": clock.arguments},
    }
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris", "unit": "celsius"}
    assert fragments[0] > 2 and fragments[1] > 2
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_streamed_tool_call_after_leading_text(fake: FakeLLM) -> None:
    fake.script(ToolCallReply([ToolCall("lookup", '{"q":"x"}')], content="Let me check."))

    chunks = list(make_client(fake).chat.completions.create(model="fake-chat", messages=USER, stream=True))

    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "Let me check."
    first_tool = next(i for i, c in enumerate(chunks) if c.choices[0].delta.tool_calls)
    assert all(not c.choices[0].delta.content for c in chunks[first_tool:])


def test_stream_dropped_mid_way_raises_connection_error(fake: FakeLLM) -> None:
    fake.script(DropReply(chunks=["a", "b", "c", "d"], drop_after=2))
    received: list[str] = []

    stream = make_client(fake).chat.completions.create(model="fake-chat", messages=USER, stream=True)
    with pytest.raises(openai.APIConnectionError):
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")

    assert "".join(received) == "ab"


# -- errors, retries, timeouts -----------------------------------------------


def test_rate_limit_with_retry_after_then_success(fake: FakeLLM) -> None:
    fake.script(ErrorReply(429, retry_after="0.01"))
    client = make_client(fake, max_retries=1)

    started = time.monotonic()
    completion = client.chat.completions.create(model="fake-chat", messages=USER)

    assert completion.choices[0].message.content == "Echo: What is the weather in Paris?"
    assert len(fake.chat_requests) == 2
    assert fake.requests[1].headers["x-stainless-retry-count"] == "1"
    # The SDK honoured Retry-After instead of its 0.5 s default backoff.
    assert time.monotonic() - started < 0.4


def test_rate_limit_error_shape(fake: FakeLLM) -> None:
    fake.script(ErrorReply(429, retry_after=20))

    with pytest.raises(openai.RateLimitError) as caught:
        make_client(fake).chat.completions.create(model="fake-chat", messages=USER)

    assert caught.value.response.headers["retry-after"] == "20"
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.body == {
        "message": "Rate limit reached for requests. Please try again later.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }


def test_server_error_without_retries(fake: FakeLLM) -> None:
    fake.script(ErrorReply(500))

    with pytest.raises(openai.InternalServerError) as caught:
        make_client(fake, max_retries=0).chat.completions.create(model="fake-chat", messages=USER)

    assert caught.value.status_code == 500
    assert caught.value.type == "server_error"
    assert len(fake.chat_requests) == 1


@pytest.mark.parametrize(("status", "error"), [(400, openai.BadRequestError), (503, openai.InternalServerError)])
def test_other_scripted_statuses(fake: FakeLLM, status: int, error: type[openai.APIStatusError]) -> None:
    fake.script(ErrorReply(status, message="scripted failure", code="custom"))

    with pytest.raises(error) as caught:
        make_client(fake).chat.completions.create(model="fake-chat", messages=USER)

    assert caught.value.status_code == status
    assert isinstance(caught.value.body, dict) and caught.value.body["message"] == "scripted failure"
    assert caught.value.code == "custom"


def test_streaming_request_gets_plain_json_error(fake: FakeLLM) -> None:
    fake.script(ErrorReply(503))

    with pytest.raises(openai.InternalServerError) as caught:
        make_client(fake).chat.completions.create(model="fake-chat", messages=USER, stream=True)

    assert caught.value.status_code == 503


def start_chat_call(client: openai.OpenAI) -> tuple[threading.Thread, list[BaseException]]:
    """Run one chat completion in a thread; its exception lands in the list."""
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.chat.completions.create(model="fake-chat", messages=USER)
        except Exception as error:
            outcome.append(error)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread, outcome


def wait_until_consumed(fake: FakeLLM) -> None:
    deadline = time.monotonic() + 5
    while fake.pending_replies and time.monotonic() < deadline:
        time.sleep(0.002)
    assert fake.pending_replies == 0


def test_hang_times_out_the_client(fake: FakeLLM) -> None:
    fake.script(HangReply(seconds=30))
    client = make_client(fake, timeout=0.2)

    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="fake-chat", messages=USER)

    assert 0.2 <= time.monotonic() - started < 2


def test_hang_then_reply(fake: FakeLLM) -> None:
    fake.script(HangReply(seconds=0.05, then=TextReply("late")))

    completion = make_client(fake, timeout=5).chat.completions.create(model="fake-chat", messages=USER)

    assert completion.choices[0].message.content == "late"


def test_hang_blocks_neither_other_requests_nor_stop() -> None:
    fake = FakeLLM().start()
    fake.script(HangReply(seconds=60))
    hung, outcome = start_chat_call(make_client(fake, timeout=30))
    wait_until_consumed(fake)
    idle = httpx.Client()
    # Answered while the hang is in progress, and leaves an idle keep-alive
    # connection whose handler thread stop() must also unblock.
    assert idle.get(f"{fake.base_url}/models").status_code == 200

    started = time.monotonic()
    fake.stop()

    assert time.monotonic() - started < 1.0
    hung.join(5)
    assert not hung.is_alive()
    # The hanging request was cut off, not answered.
    assert len(outcome) == 1 and isinstance(outcome[0], openai.APIConnectionError)
    idle.close()


def test_wrong_or_missing_api_key(fake: FakeLLM) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        make_client(fake, api_key="sk-wrong-key-000").chat.completions.create(model="fake-chat", messages=USER)
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert caught.value.type == "invalid_request_error"
    assert "sk-wrong-key-000" not in caught.value.message

    response = httpx.get(f"{fake.base_url}/models")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert len(fake.requests) == 2


def test_no_api_key_configured_accepts_anything() -> None:
    with FakeLLM() as fake:
        response = httpx.get(f"{fake.base_url}/models")
    assert response.status_code == 200


# -- other routes ------------------------------------------------------------


def test_unknown_route_is_openai_404(fake: FakeLLM) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    response = httpx.post(f"{fake.base_url}/completions/legacy", json={"a": 1}, headers=headers)

    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": "Invalid URL (POST /v1/completions/legacy)",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    assert fake.requests[0].body == {"a": 1}


def test_invalid_requests_are_rejected(fake: FakeLLM) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    url = f"{fake.base_url}/chat/completions"
    fake.script(TextReply("kept"))

    not_json = httpx.post(url, content=b"{oops", headers=headers)
    no_messages = httpx.post(url, json={"model": "fake-chat"}, headers=headers)

    assert not_json.status_code == 400
    assert no_messages.status_code == 400
    assert no_messages.json()["error"]["param"] == "messages"
    assert fake.pending_replies == 1  # rejected requests do not eat scripted replies


def test_embeddings_are_deterministic_and_sized(fake: FakeLLM) -> None:
    client = make_client(fake)

    first = client.embeddings.create(model="fake-embed", input=["alpha", "beta"], dimensions=16)
    again = client.embeddings.create(model="fake-embed", input="alpha", dimensions=16, encoding_format="float")
    default = client.embeddings.create(model="fake-embed", input="alpha")

    assert [e.index for e in first.data] == [0, 1]
    alpha, beta = (e.embedding for e in first.data)
    assert len(alpha) == 16 and len(default.data[0].embedding) == 8
    assert again.data[0].embedding == alpha  # base64 (SDK default) and float agree
    assert alpha != beta
    assert math.isclose(math.fsum(v * v for v in alpha), 1.0, rel_tol=1e-5)
    assert first.usage.prompt_tokens == 2 and first.usage.total_tokens == 2
    assert [r["encoding_format"] for r in fake.embedding_requests] == ["base64", "float", "base64"]


def test_scripted_embedding_failure(fake: FakeLLM) -> None:
    fake.script_embeddings(ErrorReply(503))

    with pytest.raises(openai.InternalServerError):
        make_client(fake).embeddings.create(model="fake-embed", input="x")
    assert len(make_client(fake).embeddings.create(model="fake-embed", input="x").data) == 1


def test_models_list(fake: FakeLLM) -> None:
    client = make_client(fake)

    models = client.models.list()

    assert [m.id for m in models.data] == ["fake-chat", "fake-embed"]
    assert {m.object for m in models.data} == {"model"}
    assert client.models.retrieve("fake-embed").id == "fake-embed"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-nope")


# -- concurrency, connections, bookkeeping -----------------------------------


def test_concurrent_requests_all_answered(fake: FakeLLM) -> None:
    client = make_client(fake)
    fake.script(*(TextReply(f"scripted {i}") for i in range(10)))

    def ask(i: int) -> str:
        messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": f"question {i}"}]
        return client.chat.completions.create(model="fake-chat", messages=messages).choices[0].message.content or ""

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(ask, range(20)))

    # Each scripted reply is served exactly once; the rest fall back to echoes.
    assert sorted(a for a in answers if a.startswith("scripted")) == sorted(f"scripted {i}" for i in range(10))
    echoes = {a for a in answers if a.startswith("Echo:")}
    assert len(echoes) == 10 and all(a.removeprefix("Echo: question ").isdigit() for a in echoes)
    assert len(fake.chat_requests) == 20


def test_keep_alive_connection_is_reused(fake: FakeLLM) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    body = {"model": "fake-chat", "messages": USER}

    with httpx.Client(base_url=fake.base_url, headers=headers) as http:
        assert http.post("/chat/completions", json=body).status_code == 200
        with http.stream("POST", "/chat/completions", json={**body, "stream": True}) as response:
            assert response.read().endswith(b"data: [DONE]\n\n")
        assert http.get("/models").status_code == 200

    assert len({r.client for r in fake.requests}) == 1


def test_reset_clears_script_and_records(fake: FakeLLM) -> None:
    fake.script(TextReply("unused"))
    fake.script_embeddings(ErrorReply(500))
    make_client(fake).models.list()

    fake.reset()

    assert fake.requests == [] and fake.pending_replies == 0
    assert len(make_client(fake).embeddings.create(model="fake-embed", input="x").data) == 1


def test_base_url_and_restart_keep_port() -> None:
    fake = FakeLLM(port=0)
    with fake:
        base_url = fake.base_url
        assert base_url == f"http://127.0.0.1:{fake.port}/v1"
    with fake:
        assert fake.base_url == base_url
        assert httpx.get(f"{base_url}/models").status_code == 200
    assert not fake.running


def test_token_estimate_and_stream_split() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("hello  world\n again") == 3
    assert estimate_tokens("你好世界 ok") == 5
    text = "  Hi, 你好 there!\n\nBye "
    assert "".join(split_content(text)) == text
    assert split_content("a bc") == ["a", " bc"]

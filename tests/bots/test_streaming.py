"""Streaming over real HTTP (uvicorn, ASGI): SSE with reconnect, and the OpenAI SDK itself."""

from __future__ import annotations

import httpx
import openai
import pytest
from httpx_sse import ServerSentEvent

from bots.sse import RECONNECT_MILLISECONDS
from tests import sse
from tests.fake_llm import TextReply

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def http(live_server_url, api_key_secret):
    with httpx.Client(
        base_url=live_server_url, headers={"Authorization": f"Bearer {api_key_secret}"}, timeout=30
    ) as client:
        yield client


def test_sse_stream_resumes_after_a_drop_with_last_event_id(http, make_bot, fake_llm, celery_worker):
    bot = make_bot()
    chunks = [f"part{i} " for i in range(12)]
    fake_llm.script(TextReply(chunks=chunks, chunk_delay=0.03))
    seen: list[ServerSentEvent] = []
    with sse.connect(http, "POST", f"/api/v1/bots/{bot.pk}/chat", json={"message": "go", "stream": True}) as stream:
        response = stream.response
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        message_id = response.headers["x-message-id"]
        for event in stream:
            seen.append(event)
            if sum(1 for e in seen if e.event == "delta") == 4:
                break  # the client drops mid-stream
        assert stream.retry == RECONNECT_MILLISECONDS  # browsers' EventSource wait this long to reconnect
    assert seen[0].event == "message.start" and seen[0].json()["message_id"] == message_id
    last_id = seen[-1].id
    with sse.connect(
        http, "GET", f"/api/v1/messages/{message_id}/events", headers={"Last-Event-ID": last_id}
    ) as stream:
        rest = list(stream)
    ids = [event.id for event in seen + rest]
    assert all(ids) and len(ids) == len(set(ids)), "an event was delivered twice (or without its id)"
    text = "".join(event.json()["text"] for event in seen + rest if event.event == "delta")
    assert text == "".join(chunks)
    assert rest[-1].event == "message.end" and rest[-1].json()["state"] == "completed"
    # A client arriving late replays the whole turn.
    with sse.connect(http, "GET", f"/api/v1/messages/{message_id}/events") as stream:
        replay = list(stream)
    assert [event.id for event in replay] == ids


def test_events_of_another_workspace_message_are_404(http, make_bot, celery_worker):
    from bots.services import bot_create
    from bots.turns import turn_accept
    from tests.factories import WorkspaceFactory

    other = bot_create(workspace=WorkspaceFactory(), name="theirs")
    from bots.models import Conversation, Message

    conversation = Conversation.objects.create(workspace=other.workspace, bot=other, end_user="x")
    message = Message.objects.create(workspace=other.workspace, conversation=conversation, role="assistant")
    assert http.get(f"/api/v1/messages/{message.pk}/events").status_code == 404
    assert http.post(f"/api/v1/messages/{message.pk}/stop").status_code == 404
    assert turn_accept  # imported for symmetry with other tests


def test_bad_last_event_id_is_a_400(http, make_bot, fake_llm, celery_worker):
    bot = make_bot()
    message = http.post(f"/api/v1/bots/{bot.pk}/chat", json={"message": "hi"}).json()
    response = http.get(f"/api/v1/messages/{message['id']}/events", headers={"Last-Event-ID": "nonsense"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_last_event_id"


def test_openai_sdk_completes_a_blocking_chat(live_server_url, api_key_secret, make_bot, fake_llm, celery_worker):
    make_bot(name="Concierge", system_prompt="Be nice.")
    client = openai.OpenAI(base_url=f"{live_server_url}/v1", api_key=api_key_secret)
    fake_llm.script(TextReply("Bonjour!"))
    completion = client.chat.completions.create(model="concierge", messages=[{"role": "user", "content": "Say hello"}])
    assert completion.choices[0].message.content == "Bonjour!"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens > 0
    assert completion.model_extra["switchboard"]["message_id"].startswith("msg_")
    assert "concierge" in [m.id for m in client.models.list()]


def test_openai_sdk_streams_and_sends_history(live_server_url, api_key_secret, make_bot, fake_llm, celery_worker):
    make_bot(name="Streamer")
    client = openai.OpenAI(base_url=f"{live_server_url}/v1", api_key=api_key_secret)
    fake_llm.script(TextReply(chunks=["你好", "，", "世界"]))
    stream = client.chat.completions.create(
        model="streamer",
        stream=True,
        stream_options={"include_usage": True},
        messages=[
            {"role": "user", "content": "earlier question"},
            {"role": "assistant", "content": "earlier answer"},
            {"role": "user", "content": "说你好"},
        ],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "你好，世界"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    sent = [m["content"] for m in fake_llm.last_chat_request["messages"] if m["role"] != "system"]
    assert sent == ["earlier question", "earlier answer", "说你好"]


def test_openai_sdk_sees_errors_in_openai_shape(live_server_url, api_key_secret):
    client = openai.OpenAI(base_url=f"{live_server_url}/v1", api_key=api_key_secret, max_retries=0)
    with pytest.raises(openai.NotFoundError) as excinfo:
        client.chat.completions.create(model="no-such-bot", messages=[{"role": "user", "content": "x"}])
    assert excinfo.value.body["code"] == "model_not_found"
    bad = openai.OpenAI(base_url=f"{live_server_url}/v1", api_key="sb-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()

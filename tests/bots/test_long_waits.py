"""Turns that take long: a model silent before its first token, a person deciding on a tool call for
minutes, clients that leave, and many streams waiting at once. Real HTTP (uvicorn), real worker."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
import redis as redis_lib
from django.conf import settings
from httpx_sse import ServerSentEvent, aconnect_sse

from bots import events
from bots.models import Message
from tests import sse
from tests.fake_llm import HangReply, TextReply, ToolCallReply
from tests.fake_llm import ToolCall as CallOf

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SILENCE_SECONDS = 12


@pytest.fixture
def patient_bot(make_bot, chat_model):
    """A published bot whose provider allows a long silence before the first token."""
    provider = chat_model.provider
    provider.timeout_seconds = 60
    provider.save()
    return make_bot(name="Thinker")


@pytest.fixture
def http(live_server_url, api_key_secret):
    with httpx.Client(
        base_url=live_server_url,
        headers={"Authorization": f"Bearer {api_key_secret}"},
        timeout=httpx.Timeout(10, read=120),
    ) as client:
        yield client


def test_a_model_silent_for_12_seconds_answers_through_every_api(
    http, live_server_url, api_key_secret, patient_bot, fake_llm, celery_worker
):
    fake_llm.script(*[HangReply(SILENCE_SECONDS, then=TextReply("Thought it through.")) for _ in range(4)])
    sdk = openai.OpenAI(base_url=f"{live_server_url}/v1", api_key=api_key_secret, max_retries=0, timeout=120)

    def rest_stream():
        with sse.connect(
            http, "POST", f"/api/v1/bots/{patient_bot.pk}/chat", json={"message": "think", "stream": True}
        ) as stream:
            assert stream.response.status_code == 200
            return list(stream), stream.comments().count(": ping")

    def rest_blocking():
        return http.post(f"/api/v1/bots/{patient_bot.pk}/chat", json={"message": "think"})

    def sdk_stream():
        chunks = list(
            sdk.chat.completions.create(model="thinker", stream=True, messages=[{"role": "user", "content": "think"}])
        )
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    def sdk_blocking():
        return sdk.chat.completions.create(model="thinker", messages=[{"role": "user", "content": "think"}])

    # All four at once: each waits through the same silence.
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(call) for call in (rest_stream, rest_blocking, sdk_stream, sdk_blocking)]
        (stream_events, pings), blocking, streamed_text, completion = [f.result() for f in futures]

    names = [event.event for event in stream_events]
    assert names[0] == "message.start" and names[-1] == "message.end", names
    assert stream_events[-1].json()["state"] == "completed"
    assert "".join(e.json()["text"] for e in stream_events if e.event == "delta") == "Thought it through."
    # The silence was filled with keep-alive comments (every 2 s on the test server).
    assert pings >= SILENCE_SECONDS // 2 - 2
    assert blocking.status_code == 200, blocking.text
    assert blocking.json()["state"] == "completed" and blocking.json()["content"] == "Thought it through."
    assert streamed_text == "Thought it through."
    assert completion.choices[0].message.content == "Thought it through."
    assert len(fake_llm.chat_requests) == 4


def test_a_turn_waiting_90_seconds_for_confirmation_keeps_its_stream_open(
    http, make_bot, fake_llm, target, operations, celery_worker
):
    bot = make_bot(actions={"operation_ids": [operations["createOrder"].pk]})
    fake_llm.script(
        ToolCallReply([CallOf("createOrder", {"body": {"item": "tea"}}, id="call_o")]),
        TextReply("Your tea is ordered."),
    )
    seen: list[ServerSentEvent] = []
    with sse.connect(
        http, "POST", f"/api/v1/bots/{bot.pk}/chat", json={"message": "Order tea", "stream": True}
    ) as stream:
        message_id = stream.response.headers["x-message-id"]
        asked_at = asked_mark = None
        for event in stream:
            seen.append(event)
            if event.event == "tool.confirmation_required":
                asked_at, asked_mark = time.monotonic(), stream.received
                # The person takes a minute and a half to decide, on another connection.
                threading.Timer(
                    90,
                    lambda: http.post(
                        f"/api/v1/messages/{message_id}/confirmations", json={"tool_call_id": "call_o", "approve": True}
                    ).raise_for_status(),
                ).start()
        pings = stream.comments(since=asked_mark).count(": ping")
    waited = time.monotonic() - asked_at
    names = [event.event for event in seen]
    assert waited >= 90  # the stream outlived the wait
    assert names.count("tool.confirmation_required") == 1 and names[-1] == "message.end", names
    assert seen[-1].json()["state"] == "completed" and seen[-1].json()["content"] == "Your tea is ordered."
    assert pings >= 30  # kept alive all along
    assert len(target.calls_to("/orders")) == 1
    assert Message.objects.get(pk=message_id).state == "completed"


def _web_redis_connections() -> list[dict]:
    """The web process's Redis connections, as Redis lists them (`idle`: seconds since last command)."""
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    try:
        return [entry for entry in client.client_list() if entry.get("name", "").startswith("switchboard-web-")]
    finally:
        client.close()


def _blocked(connections: list[dict]) -> list[dict]:
    """Connections blocked in a blocking command (XREAD BLOCK): Redis flags them `b`."""
    return [entry for entry in connections if "b" in entry.get("flags", "")]


# A stream that held a connection of its own would block on it (XREAD BLOCK per stream); shared
# pools open connections for bursts of short commands and keep them idle, up to their size.
POOL_BOUND = 2 * settings.REDIS_POOL_SIZE + 2  # the sync and async pools, the reader and its wake-up


def _health(http) -> dict:
    response = http.get("/healthz", timeout=5)  # a starved pool used to hold every request for 10 s
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    return {
        "db_in_use": checks["database"]["pool"]["in_use"],
        "db_waiting": checks["database"]["pool"]["waiting"],
        "streams": checks["redis"]["streams_followed"],
    }


async def _open_streams(base_url: str, api_key: str, bot_id: str, count: int, *, hold_seconds: float) -> list[str]:
    """Open `count` chat streams at once, read each up to its first event, keep reading it for
    `hold_seconds`, then drop it (the client goes away without a word)."""
    limits = httpx.Limits(max_connections=count + 5)
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60, limits=limits
    ) as client:

        async def one() -> str:
            async with aconnect_sse(
                client, "POST", f"/api/v1/bots/{bot_id}/chat", json={"message": "wait", "stream": True}
            ) as source:
                assert source.response.status_code == 200
                events = source.aiter_sse()
                async for event in events:
                    if event.event == "message.start":
                        break
                try:
                    async with asyncio.timeout(hold_seconds):  # then the client goes away
                        async for event in events:
                            if event.event == "message.end":
                                raise AssertionError("the turn ended while its client still waited")
                except TimeoutError:
                    pass
                finally:
                    await events.aclose()
                return source.response.headers["x-message-id"]

        return await asyncio.gather(*(one() for _ in range(count)))


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_cut_and_waiting_streams_hold_no_connections(
    http, live_server_url, api_key_secret, patient_bot, fake_llm, celery_worker
):
    # Every turn's model stays silent longer than any client here stays: streams only wait.
    fake_llm.default_reply = lambda messages: HangReply(24, then=TextReply("late"))
    try:
        run = lambda n, hold: asyncio.run(  # noqa: E731
            _open_streams(live_server_url, api_key_secret, patient_bot.pk, n, hold_seconds=hold)
        )
        run(50, 0)  # 50 streams cut right after they started (this also warms the pools up)
        _wait_for(lambda: _health(http)["streams"] == 0, 10, "the cut streams to be released")
        run(50, 0)  # 50 more cut streams: nothing grows
        _wait_for(lambda: _health(http)["streams"] == 0, 10, "the cut streams to be released")
        assert len(_web_redis_connections()) <= POOL_BOUND
        assert _health(http)["db_in_use"] == 0

        during: list[dict] = []

        def observe():
            time.sleep(10)
            during.append(_health(http))
            during.append({"redis": _web_redis_connections()})

        observer = threading.Thread(target=observe)
        observer.start()
        held_ids = run(50, 20)  # 50 streams open for 20 s, all waiting on silent models
        observer.join()

        health, redis_connections = during[0], during[1]["redis"]
        assert health["streams"] == 50  # all 50 were open and followed ...
        assert health["db_in_use"] == 0 and health["db_waiting"] == 0  # ... holding no database connection
        # ... and no Redis connection of their own: one reader waits for all 50.
        assert len(_blocked(redis_connections)) <= 1, redis_connections
        assert len(redis_connections) <= POOL_BOUND
        _wait_for(lambda: _health(http)["streams"] == 0, 10, "the held streams to be released")
        assert len(_web_redis_connections()) <= POOL_BOUND
        assert _health(http)["db_in_use"] == 0
        # The turns themselves went on without their clients and finished.
        _wait_for(
            lambda: Message.objects.filter(pk__in=held_ids, state="completed").count() == 50,
            60,
            "the abandoned turns to finish",
        )
    finally:
        fake_llm.default_reply = None
        # Let the other turns of this test end before the next test scripts the fake.
        _wait_for(lambda: not Message.objects.filter(state__in=("queued", "running")).exists(), 60, "every turn to end")


def test_many_turns_stream_at_once_on_one_worker(api, make_bot, fake_llm, celery_worker):
    """50 turns in flight together, each streaming for 6 s: one worker runs them side by side."""
    from bots.turns import turn_accept

    bot = make_bot(name="Parallel")
    chunks = [f"w{i} " for i in range(30)]
    # 6 s per answer, so that accepting the 50 turns one after another (slower on a busy machine)
    # still ends long before the first answers do.
    fake_llm.script(*[TextReply(chunks=chunks, chunk_delay=0.2) for _ in range(50)])
    accepted = [
        turn_accept(workspace=bot.workspace, bot=bot, text=f"question {n}").assistant_message.pk for n in range(50)
    ]
    _wait_for(
        lambda: Message.objects.filter(pk__in=accepted, state="completed").count() == 50, 120, "50 turns to complete"
    )
    # One worker process ran (nearly) all of them at the same moment, not four at a time.
    assert fake_llm.peak_concurrent_chats >= 40
    contents = set(Message.objects.filter(pk__in=accepted).values_list("content", flat=True))
    assert contents == {"".join(chunks)}


def test_stop_ends_a_turn_while_its_model_is_still_silent(api, patient_bot, fake_llm, celery_worker):
    """A reasoning model may think for a minute: stop must not wait for its first token."""
    from bots.turns import turn_accept

    fake_llm.script(HangReply(20, then=TextReply("too late")))
    message_id = turn_accept(workspace=patient_bot.workspace, bot=patient_bot, text="think hard").assistant_message.pk
    _wait_for(lambda: fake_llm.active_chats == 1, 30, "the model call to begin")
    assert api.post(f"/api/v1/messages/{message_id}/stop").status_code == 200
    _wait_for(lambda: Message.objects.get(pk=message_id).state == "cancelled", 15, "the turn to be cancelled")
    # The model has not said a word yet: the turn ended during its silence, not at its first token.
    assert fake_llm.active_chats == 1
    message = Message.objects.get(pk=message_id)
    assert message.content == ""
    names = [event for _, event, _ in events.read_all(message_id)]
    assert names[-1] == "message.end" and "message.reset" not in names

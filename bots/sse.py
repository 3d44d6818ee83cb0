"""Server-Sent Events relayed from a turn's Redis Stream, and waiting for a turn to end.

Both run on the web process's event loop and follow the turn through the process's stream hub
(switchboard.stream_hub): a client waiting on a turn for minutes costs a coroutine and a queue,
not a thread, a database connection or a Redis connection. Frames go out as soon as Redis hands
them over: no batching timer sits between the model and the client.

How long things may wait:
- a stream stays open as long as its turn lives, with a `: ping` comment every
  SSE_PING_SECONDS so proxies see traffic, up to STREAM_MAX_SECONDS; then it ends with a
  `stream.error` event (`stream_time_limit`) and the client resumes with Last-Event-ID;
- a blocking call waits up to CHAT_BLOCKING_TIMEOUT_SECONDS, then answers 504 `turn_timeout`
  (the turn goes on; its result stays available).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from enum import Enum

import redis
from django.conf import settings
from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

from bots import events
from switchboard.api.deferred import release_database_connections
from switchboard.api.errors import ApiError
from switchboard.errors import InvalidInput
from switchboard.stream_hub import StreamUnavailable, hub

# Sent once at the start: how long an EventSource waits before reconnecting by itself.
RECONNECT_MILLISECONDS = 2000

Transform = Callable[[str, str, dict], list[bytes]]


class EventStreamRenderer(BaseRenderer):
    """Lets DRF's content negotiation accept `Accept: text/event-stream` on streaming routes."""

    media_type = "text/event-stream"
    format = "sse"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Only error bodies reach a renderer (streams bypass it): keep them JSON.
        return data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()


def _interruption(code: str) -> tuple[str, str]:
    if code == "stream_time_limit":
        return code, (
            f"This stream reached its time limit ({settings.STREAM_MAX_SECONDS} s) while the turn goes "
            "on. Reconnect to GET /api/v1/messages/{id}/events with the last event id as "
            "Last-Event-ID to follow the rest."
        )
    return code, (
        "The event store is not answering, so this stream stopped; the turn goes on. Reconnect to "
        "GET /api/v1/messages/{id}/events with the last event id as Last-Event-ID."
    )


async def relay(
    message_id: str,
    *,
    after: str = "0-0",
    transform: Transform | None = None,
    closing: Callable[[], list[bytes]] | None = None,
    interrupted: Callable[[str, str], list[bytes]] | None = None,
    reconnect_hint: bool = True,
) -> AsyncIterator[bytes]:
    """Yield the turn's events after `after` until message.end, with keep-alive pings.

    `transform` turns one stored event into frames (the OpenAI-compatible API's chunks);
    `closing` adds frames after the last event; `interrupted(code, message)` says why the stream
    ends early (a time limit, Redis unavailable). `reconnect_hint` sends the SSE `retry:` field
    (browsers' EventSource honour it; OpenAI's SDK would take it for an empty chunk).
    """
    await release_database_connections()
    # The first bytes flush the headers, so the client knows at once that the stream is open.
    retry = f"retry: {RECONNECT_MILLISECONDS}\n" if reconnect_hint else ""
    yield f"{retry}: connected\n\n".encode()
    deadline = time.monotonic() + settings.STREAM_MAX_SECONDS

    def interruption_frames(code: str) -> list[bytes]:
        code, message = _interruption(code)
        message = message.replace("{id}", message_id)
        if interrupted:
            return interrupted(code, message)
        return [events.stream_error_frame(events.StreamError(code, message))]

    try:
        subscription = await hub().subscribe(events.stream_key(message_id), after)
    except redis.RedisError:
        for frame in interruption_frames("stream_unavailable"):
            yield frame
        return
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                for frame in interruption_frames("stream_time_limit"):
                    yield frame
                return
            try:
                entries = await subscription.next(timeout=min(settings.SSE_PING_SECONDS, remaining))
            except StreamUnavailable:
                for frame in interruption_frames("stream_unavailable"):
                    yield frame
                return
            if not entries:
                yield b": ping\n\n"
                continue
            # The frames of entries that arrived together leave in one write (one chunk, one
            # system call) rather than one each; none of them waits for anything to do so.
            batch: list[bytes] = []
            for raw_id, fields in entries:
                entry_id, event, data = events.decode(raw_id, fields)
                if transform:
                    batch.extend(transform(entry_id, event, data))
                else:
                    batch.append(events.sse_frame(entry_id, event, data))
                if event in events.TERMINAL_EVENTS:
                    batch.extend(closing() if closing else [])
                    yield b"".join(batch)
                    return
            if batch:
                yield b"".join(batch)
    finally:
        subscription.close()


class TurnWait(Enum):
    ENDED = "ended"
    NEEDS_CONFIRMATION = "needs_confirmation"
    TIMED_OUT = "timed_out"


async def wait_for_turn(message_id: str, *, timeout: float) -> TurnWait:
    """Wait (on the event loop) until the turn ends or asks the user to confirm a tool call."""
    deadline = time.monotonic() + timeout
    subscription = await hub().subscribe(events.stream_key(message_id), "0-0")
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            for raw_id, fields in await subscription.next(timeout=remaining):
                _, event, _ = events.decode(raw_id, fields)
                if event in events.TERMINAL_EVENTS:
                    return TurnWait.ENDED
                if event == events.ToolConfirmationRequired.event_name:
                    return TurnWait.NEEDS_CONFIRMATION
        return TurnWait.TIMED_OUT
    finally:
        subscription.close()


async def await_turn_or_raise(message_id: str) -> TurnWait:
    """`wait_for_turn` for blocking API calls: a timeout or an unreachable Redis is an ApiError."""
    try:
        outcome = await wait_for_turn(message_id, timeout=settings.CHAT_BLOCKING_TIMEOUT_SECONDS)
    except (StreamUnavailable, redis.RedisError) as exc:
        raise ApiError(
            f"The event store is not answering, so the end of turn {message_id} cannot be awaited; "
            f"the turn goes on. Fetch it later with GET /api/v1/messages/{message_id}.",
            code="stream_unavailable",
            status_code=503,
        ) from exc
    if outcome is TurnWait.TIMED_OUT:
        raise ApiError(
            f"The turn did not end within {settings.CHAT_BLOCKING_TIMEOUT_SECONDS} s, the limit for "
            "blocking calls (SWITCHBOARD_CHAT_BLOCKING_TIMEOUT). It goes on: follow it with "
            f"GET /api/v1/messages/{message_id}/events or fetch the result later with "
            f"GET /api/v1/messages/{message_id}; send stream: true to receive it as it is written.",
            code="turn_timeout",
            status_code=504,
            error_type="timeout_error",
        )
    return outcome


def sse_response(stream: AsyncIterator[bytes], *, headers: dict[str, str] | None = None) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx and friends must not buffer the stream
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def valid_stream_id(value: str) -> bool:
    left, _, right = value.partition("-")
    # Both halves of a Redis Stream id are unsigned 64-bit numbers.
    return (
        left.isascii()
        and left.isdigit()
        and int(left) < 2**64
        and (right == "" or (right.isascii() and right.isdigit() and int(right) < 2**64))
    )


def resume_point(request) -> str:
    """Where a client resumes a turn's events: `Last-Event-ID` (header or `?last_event_id=`), else
    the start; InvalidInput for anything that is not an event id."""
    after = request.headers.get("Last-Event-ID") or request.query_params.get("last_event_id") or "0-0"
    if not valid_stream_id(after):
        raise InvalidInput(
            "Last-Event-ID must be an event id from this stream (like 1700000000000-0).",
            code="invalid_last_event_id",
            param="Last-Event-ID",
        )
    return after


def stream_expired(message) -> bool:
    """A finished turn whose event stream has expired: its stored message is the whole story."""
    return message.is_finished and not events.client().exists(events.stream_key(message.pk))


async def single_frame(frame: bytes) -> AsyncIterator[bytes]:
    yield frame

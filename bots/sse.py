"""Server-Sent Events responses relayed from a turn's Redis Stream.

The relay is an async generator, so under ASGI one web process serves many open streams without
a thread each. Frames go out as soon as Redis hands them over: no batching timer sits between
the model and the client, since any buffering adds straight to time-to-first-token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

from bots import events

PING_SECONDS = 15


class EventStreamRenderer(BaseRenderer):
    """Lets DRF's content negotiation accept `Accept: text/event-stream` on streaming routes."""

    media_type = "text/event-stream"
    format = "sse"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Only error bodies reach a renderer (streams bypass it): keep them JSON.
        import json

        return data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()


async def relay(message_id: str, *, after: str = "0-0",
                transform: Callable[[str, str, dict], list[bytes]] | None = None,
                closing: Callable[[], list[bytes]] | None = None) -> AsyncIterator[bytes]:
    """Yield the turn's events after `after` until message.end, with keep-alive pings."""
    # An immediate comment flushes the headers, so the client knows the stream is open.
    yield b": connected\n\n"
    while True:
        entries = await events.aread(message_id, after=after, block_ms=PING_SECONDS * 1000)
        if not entries:
            yield b": ping\n\n"
            continue
        for entry_id, event, data in entries:
            after = entry_id
            if transform is None:
                yield events.sse_frame(entry_id, event, data)
            else:
                for frame in transform(entry_id, event, data):
                    yield frame
            if event in events.TERMINAL_EVENTS:
                for frame in (closing() if closing else []):
                    yield frame
                return


def sse_response(stream: AsyncIterator[bytes], *, headers: dict[str, str] | None = None) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx and friends must not buffer the stream
    for name, value in (headers or {}).items():
        response[name] = value
    return response

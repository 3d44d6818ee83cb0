"""Reading the platform's event streams the way a client library does (httpx-sse), plus the wire
details such a library rightly hides from its users: the keep-alive comments."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from httpx_sse import EventSource, ServerSentEvent, connect_sse


class EventStream:
    """The events of one SSE response, read by httpx-sse's EventSource, which gets the response's
    text through this object so that the raw text stays available too."""

    def __init__(self, response: httpx.Response):
        self.response = response
        self.chunks: list[str] = []
        self.retry: int | None = None  # the reconnection delay the server asked for, if any

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    def iter_text(self) -> Iterator[str]:
        for chunk in self.response.iter_text():
            self.chunks.append(chunk)
            yield chunk

    def __iter__(self) -> Iterator[ServerSentEvent]:
        """The events that carry data: the opening frame (`retry:` and a comment) carries none,
        and a browser's EventSource would not dispatch it either."""
        for event in EventSource(self).iter_sse():  # EventSource reads any object with iter_lines()
            if event.retry is not None:
                self.retry = event.retry
            if event.data:
                yield event

    @property
    def received(self) -> int:
        """How much text has arrived so far: a mark for `comments(since=...)`."""
        return sum(map(len, self.chunks))

    def comments(self, *, since: int = 0) -> list[str]:
        """The comment lines (`: ping`) received after the mark `since`."""
        text = "".join(self.chunks)
        if since and text[since - 1] != "\n":  # the mark fell inside a line: start at the next one
            since = text.find("\n", since) + 1 or len(text)
        return [line for line in text[since:].splitlines() if line.startswith(":")]


@contextmanager
def connect(client: httpx.Client, method: str, url: str, **kwargs: Any) -> Iterator[EventStream]:
    """httpx-sse's connect_sse (it asks for text/event-stream), read as an EventStream."""
    with connect_sse(client, method, url, **kwargs) as source:
        yield EventStream(source.response)


# For browser tests, JavaScript: `cuttingFetch`, a fetch whose first POST response ends after five
# events, as when a proxy drops the connection; later requests go through whole.
CUTTING_FETCH_JS = """      let cut = false;
      async function cuttingFetch(url, init) {
        const response = await fetch(url, init);
        if (init.method !== "POST" || cut) return response;
        cut = true;
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let frames = 0;
        const body = new ReadableStream({ async pull(controller) {
          const { done, value } = await reader.read();
          if (done) { controller.close(); return; }
          controller.enqueue(value);
          frames += (decoder.decode(value).match(/\\n\\n/g) || []).length;
          if (frames >= 5) { reader.cancel(); controller.close(); }
        } });
        return new Response(body, { status: response.status, headers: response.headers });
      }
"""

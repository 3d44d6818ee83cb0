"""Many Redis Streams followed over one Redis connection: the web process's event relay.

A web process holds one open HTTP response per client waiting on a chat turn, often for minutes
(a slow model, a person deciding on a tool call). Giving each a blocking `XREAD` would cost each
a Redis connection. Instead each process (each event loop) has one hub:

- A **subscription** asks for the entries of one stream after a given id. The first one of a
  stream has the reader start that stream at its id; a later one, joining a stream the reader is
  already further along, first catches up with `XRANGE`. Then each receives what the hub reads.
- The hub's **reader** runs one `XREAD BLOCK` over every subscribed stream at once on a connection
  of its own, and hands each entry to the queues of that stream's subscribers.
- A new stream joins the read by a write to the hub's own **wake stream**, which is part of every
  `XREAD`, so the blocked read returns at once and is issued again with the new stream in it.

Waiting subscribers hold no database connection, no thread and no Redis connection: an asyncio
queue each. Entries are delivered once and in order (a subscription skips ids it already has, so
the overlap between its catch-up and the hub's read is harmless).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import Iterable

import redis

from switchboard import redis_clients

logger = logging.getLogger(__name__)

Entry = tuple[str, dict[bytes, bytes]]

READ_BLOCK_SECONDS = 30
READ_COUNT = 1000
CATCH_UP_PAGE = 1000
WAKE_STREAM_TTL_SECONDS = 3600
# The reader retries a failing Redis with backoff; subscribers learn of it after this long.
UNAVAILABLE_AFTER_SECONDS = 20.0


class StreamUnavailable(Exception):
    """Redis has not answered the hub for a while: the caller should end and let clients resume."""


def parse_id(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Subscription:
    """One follower of one stream. Use `await next(timeout)` until done, then `close()`."""

    def __init__(self, hub: StreamHub, key: str, after: str):
        self.hub = hub
        self.key = key
        self._high_water = parse_id(after)
        self._queue: asyncio.Queue[list[Entry]] = asyncio.Queue()
        self.closed = False

    def deliver(self, entries: Iterable[tuple[bytes | str, dict]]) -> None:
        fresh: list[Entry] = []
        for raw_id, fields in entries:
            entry_id = _text(raw_id)
            parsed = parse_id(entry_id)
            if parsed > self._high_water:
                self._high_water = parsed
                fresh.append((entry_id, fields))
        if fresh:
            self._queue.put_nowait(fresh)

    async def next(self, timeout: float) -> list[Entry]:
        """Entries that arrived (oldest first), or [] when `timeout` seconds passed without any."""
        if self._queue.empty():
            self.hub.raise_if_unavailable()
            try:
                batch = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                self.hub.raise_if_unavailable()
                return []
        else:
            batch = self._queue.get_nowait()
        while not self._queue.empty():
            batch.extend(self._queue.get_nowait())
        return batch

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.hub.unsubscribe(self)


class StreamHub:
    """Follows the subscribed streams of one event loop. Get it with `hub()`."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}
        self._positions: dict[str, str] = {}  # stream -> last id the reader has seen
        self._wake_key = f"stream-hub-wake:{uuid.uuid4().hex}"
        self._wake_position = "0-0"
        self._reader_task: asyncio.Task | None = None
        self._failing_since: float | None = None
        # A plain counter, so other threads (the health check) can read it safely.
        self.subscriber_count = 0

    # -- subscribers' side ------------------------------------------------------------------------

    async def subscribe(self, key: str, after: str = "0-0") -> Subscription:
        subscription = Subscription(self, key, after)
        # Registered before catching up: whatever the reader sees from now on reaches it too.
        self._subscribers.setdefault(key, set()).add(subscription)
        self.subscriber_count += 1
        try:
            if key in self._positions:
                # The reader is further along this stream: what lies between comes from XRANGE.
                await self._catch_up(subscription, after)
            else:
                # Nobody here follows it yet: the reader starts it at `after`, and its next XREAD
                # returns what was written since, old and new alike, with no catch-up read.
                self._positions[key] = after
                await self._wake()
        except BaseException:
            subscription.close()
            raise
        self._ensure_reader()
        return subscription

    async def _catch_up(self, subscription: Subscription, after: str) -> None:
        commands = redis_clients.async_client()
        start = f"({after}"
        while True:
            entries = await commands.xrange(subscription.key, min=start, max="+", count=CATCH_UP_PAGE)
            subscription.deliver(entries)
            if len(entries) < CATCH_UP_PAGE:
                return
            start = f"({_text(entries[-1][0])}"

    async def _wake(self) -> None:
        pipe = redis_clients.async_client().pipeline(transaction=False)
        pipe.xadd(self._wake_key, {"w": "1"}, maxlen=16, approximate=False)
        pipe.expire(self._wake_key, WAKE_STREAM_TTL_SECONDS)
        await pipe.execute()

    def unsubscribe(self, subscription: Subscription) -> None:
        followers = self._subscribers.get(subscription.key)
        if followers is None or subscription not in followers:
            return
        followers.discard(subscription)
        self.subscriber_count -= 1
        if not followers:
            # The reader drops the stream from its next XREAD; no need to wake it for that.
            del self._subscribers[subscription.key]
            self._positions.pop(subscription.key, None)

    def raise_if_unavailable(self) -> None:
        if self._failing_since is not None and time.monotonic() - self._failing_since > UNAVAILABLE_AFTER_SECONDS:
            raise StreamUnavailable("the event store (Redis) is not answering")

    # -- the reader -------------------------------------------------------------------------------

    def _ensure_reader(self) -> None:
        if self._reader_task is None or self._reader_task.done():
            self._reader_task = asyncio.get_running_loop().create_task(self._read_forever(), name="stream-hub-reader")

    async def _read_forever(self) -> None:
        reader = redis_clients.async_blocking_client(READ_BLOCK_SECONDS)
        backoff = 0.1
        try:
            while True:
                streams = {self._wake_key: self._wake_position, **self._positions}
                try:
                    result = await reader.xread(streams, block=READ_BLOCK_SECONDS * 1000, count=READ_COUNT)
                except redis.RedisError as exc:
                    if self._failing_since is None:
                        self._failing_since = time.monotonic()
                        logger.warning("stream hub: Redis read failed (%s); retrying", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                self._failing_since, backoff = None, 0.1
                self._dispatch(result or [])
        finally:
            await reader.aclose()

    def _dispatch(self, result: list) -> None:
        for raw_key, entries in result:
            key = _text(raw_key)
            if not entries:
                continue
            if key == self._wake_key:
                self._wake_position = _text(entries[-1][0])
                continue
            if key not in self._positions:
                continue  # its last subscriber left while the read was under way
            self._positions[key] = _text(entries[-1][0])
            for subscription in list(self._subscribers.get(key, ())):
                subscription.deliver(entries)


# One hub per event loop (uvicorn runs one per process). A short-lived loop (async_to_sync in a
# test client or a WSGI server) takes its hub with it: asyncio cancels the reader when the loop
# ends, and the reader closes its connection.
_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StreamHub] = weakref.WeakKeyDictionary()


def open_subscriptions() -> int:
    """Streams this process follows right now, over all its event loops (for /healthz)."""
    return sum(current.subscriber_count for current in list(_hubs.values()))  # hubs: created once per loop


def hub() -> StreamHub:
    """The hub of the running event loop."""
    loop = asyncio.get_running_loop()
    current = _hubs.get(loop)
    if current is None:
        current = _hubs[loop] = StreamHub()
    return current

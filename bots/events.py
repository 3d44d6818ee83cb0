"""Turn events on Redis Streams: workers append, the web process relays them as SSE.

One stream per assistant message (`turn:<message id>`), kept for STREAM_TTL_SECONDS after the
last event, so a client that drops can reconnect with Last-Event-ID and get exactly what it
missed. Deltas go through Redis only; the database is written once, at the end of the turn.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from switchboard import redis_clients

STREAM_TTL_SECONDS = 3600
STREAM_MAX_LENGTH = 20_000
# Every turn ends with exactly one message.end (after an `error` event when it failed).
TERMINAL_EVENTS = ("message.end",)

# Event names (also documented in the API schema and README).
MESSAGE_START = "message.start"
MESSAGE_RESET = "message.reset"
RETRIEVAL = "retrieval"
TOOL_CALL = "tool.call"
TOOL_CONFIRMATION_REQUIRED = "tool.confirmation_required"
TOOL_RESULT = "tool.result"
DELTA = "delta"
MESSAGE_END = "message.end"
ERROR = "error"


def stream_key(message_id: str) -> str:
    return f"turn:{message_id}"


def cancel_key(message_id: str) -> str:
    return f"turn-cancel:{message_id}"


def client() -> redis.Redis:
    return redis_clients.client()


def emit(message_id: str, event: str, data: dict[str, Any], *, conn: redis.Redis | None = None) -> str:
    """Append one event; returns its id (the SSE `id:`)."""
    conn = conn or client()
    payload = json.dumps({"message_id": message_id, **data}, ensure_ascii=False, separators=(",", ":"))
    key = stream_key(message_id)
    pipe = conn.pipeline(transaction=False)
    pipe.xadd(key, {"event": event, "data": payload}, maxlen=STREAM_MAX_LENGTH, approximate=True)
    pipe.expire(key, STREAM_TTL_SECONDS)
    entry_id, _ = pipe.execute()
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def emit_delta(message_id: str, text: str, *, conn: redis.Redis | None = None) -> None:
    """A `delta` event: the hot path, one command (the stream's expiry was set by message.start
    and is renewed by every other event)."""
    payload = json.dumps({"message_id": message_id, "text": text}, ensure_ascii=False, separators=(",", ":"))
    (conn or client()).xadd(stream_key(message_id), {"event": DELTA, "data": payload}, maxlen=STREAM_MAX_LENGTH,
                            approximate=True)


def read_all(message_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every event of a turn so far: [(id, event, data)]."""
    entries = client().xrange(stream_key(message_id))
    return [decode(entry_id, fields) for entry_id, fields in entries]


def decode(entry_id: bytes | str, fields: dict) -> tuple[str, str, dict[str, Any]]:
    """(id, event name, data) of one stream entry."""
    entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    event = fields[b"event"].decode() if b"event" in fields else fields["event"]
    data = fields[b"data"] if b"data" in fields else fields["data"]
    return entry_id, event, json.loads(data)


def request_cancel(message_id: str) -> None:
    client().set(cancel_key(message_id), "1", ex=STREAM_TTL_SECONDS)


def cancel_requested(message_id: str, *, conn: redis.Redis | None = None) -> bool:
    return bool((conn or client()).exists(cancel_key(message_id)))


def sse_frame(entry_id: str, event: str, data: dict[str, Any]) -> bytes:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {entry_id}\nevent: {event}\ndata: {payload}\n\n".encode()

"""Turn events: one typed definition of each, and their transport on Redis Streams.

Workers append, the web process relays them as SSE. One stream per assistant message
(`turn:<message id>`), kept for STREAM_TTL_SECONDS after the last event, so a client that drops
can reconnect with Last-Event-ID and get exactly what it missed. Deltas go through Redis only;
the database is written once, at the end of the turn.

Each event is a frozen dataclass whose fields, in order, are its wire payload (the stream stores
`{"message_id": …, **fields}`); the same classes read payloads back for the SSE relay, the
OpenAI-compatible stream and the blocking answers, so producer and consumers cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import redis

from bots.models import Message, ToolCall, ToolCallState
from switchboard import redis_clients

STREAM_TTL_SECONDS = 3600
STREAM_MAX_LENGTH = 20_000


@dataclass(frozen=True)
class Event:
    event_name: ClassVar[str]

    def data(self) -> dict[str, Any]:
        """The payload without `message_id` (the stream adds it); optional fields left out when unset."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if not (f.metadata.get("optional") and getattr(self, f.name) is None)
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Any:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


@dataclass(frozen=True)
class MessageStart(Event):
    event_name: ClassVar[str] = "message.start"
    conversation_id: str
    user_message_id: str | None
    model: str


@dataclass(frozen=True)
class Retrieval(Event):
    event_name: ClassVar[str] = "retrieval"
    citations: list[dict[str, Any]]


@dataclass(frozen=True)
class ToolCallRequested(Event):
    event_name: ClassVar[str] = "tool.call"
    tool_call_id: str
    name: str
    arguments: dict[str, Any]
    consequential: bool

    @classmethod
    def of(cls, tool_call: ToolCall) -> ToolCallRequested:
        return cls(tool_call.call_id, tool_call.name, tool_call.arguments, tool_call.consequential)


@dataclass(frozen=True)
class ToolConfirmationRequired(Event):
    event_name: ClassVar[str] = "tool.confirmation_required"
    tool_call_id: str
    name: str
    arguments: dict[str, Any]
    confirm_url: str

    @classmethod
    def of(cls, tool_call: ToolCall) -> ToolConfirmationRequired:
        return cls(
            tool_call.call_id,
            tool_call.name,
            tool_call.arguments,
            f"/api/v1/messages/{tool_call.message_id}/confirmations",
        )


@dataclass(frozen=True)
class ToolResult(Event):
    event_name: ClassVar[str] = "tool.result"
    tool_call_id: str
    name: str
    ok: bool
    error: str | None
    duration_ms: float | None
    result: str

    @classmethod
    def of(cls, tool_call: ToolCall) -> ToolResult:
        return cls(
            tool_call.call_id,
            tool_call.name,
            ok=tool_call.state == ToolCallState.COMPLETED,
            error=tool_call.error or None,
            duration_ms=tool_call.duration_ms,
            result=tool_call.result[:2000],
        )


@dataclass(frozen=True)
class Delta(Event):
    event_name: ClassVar[str] = "delta"
    text: str


@dataclass(frozen=True)
class MessageReset(Event):
    """Clients drop the text of the current step: a dead attempt's, or a failed call's before a retry."""

    event_name: ClassVar[str] = "message.reset"
    step: int
    reason: str
    retry_in: float | None = field(default=None, metadata={"optional": True})


@dataclass(frozen=True)
class Error(Event):
    event_name: ClassVar[str] = "error"
    code: str
    message: str


@dataclass(frozen=True)
class MessageEnd(Event):
    """Every turn ends with exactly one (after an `error` when it failed); it carries the outcome."""

    event_name: ClassVar[str] = "message.end"
    state: str
    content: str
    conversation_id: str
    usage: dict[str, int]
    cost: str
    latency: dict[str, float | None]
    citations: list[dict[str, Any]]
    error: dict[str, str] | None

    @classmethod
    def of(cls, message: Message) -> MessageEnd:
        return cls(
            state=message.state,
            content=message.content,
            conversation_id=message.conversation_id,
            usage=usage_of(message),
            cost=str(message.cost),
            latency=latency_of(message),
            citations=message.citations,
            error=message.error,
        )


@dataclass(frozen=True)
class StreamError(Event):
    """Not stored: the relay says why a stream stops before its turn ends (the turn goes on)."""

    event_name: ClassVar[str] = "stream.error"
    code: str
    message: str


def usage_of(message: Message) -> dict[str, int]:
    return {
        "input_tokens": message.input_tokens,
        "output_tokens": message.output_tokens,
        "total_tokens": message.input_tokens + message.output_tokens,
    }


def latency_of(message: Message) -> dict[str, float | None]:
    return {"queue_ms": message.queue_ms, "ttft_ms": message.ttft_ms, "total_ms": message.total_ms}


EVENT_TYPES: dict[str, type[Event]] = {
    cls.event_name: cls
    for cls in (
        MessageStart,
        Retrieval,
        ToolCallRequested,
        ToolConfirmationRequired,
        ToolResult,
        Delta,
        MessageReset,
        Error,
        MessageEnd,
    )
}
# The event after which a turn's stream holds nothing more.
TERMINAL_EVENTS = (MessageEnd.event_name,)


def parse(event: str, data: dict[str, Any]) -> Event | None:
    """A stored event as its type (None for a name this version does not know)."""
    cls = EVENT_TYPES.get(event)
    return cls.from_data(data) if cls else None


# -- transport ---------------------------------------------------------------------------------------


def stream_key(message_id: str) -> str:
    return f"turn:{message_id}"


def cancel_key(message_id: str) -> str:
    return f"turn-cancel:{message_id}"


def client() -> redis.Redis:
    return redis_clients.client()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def emit(message_id: str, event: Event, *, conn: redis.Redis | None = None) -> str:
    """Append one event; returns its id (the SSE `id:`)."""
    conn = conn or client()
    key = stream_key(message_id)
    pipe = conn.pipeline(transaction=False)
    pipe.xadd(
        key,
        {"event": event.event_name, "data": _dumps({"message_id": message_id, **event.data()})},
        maxlen=STREAM_MAX_LENGTH,
        approximate=True,
    )
    pipe.expire(key, STREAM_TTL_SECONDS)
    entry_id, _ = pipe.execute()
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def emit_delta(message_id: str, text: str, *, conn: redis.Redis | None = None) -> None:
    """A `delta` event: the hot path, one command (the stream's expiry was set by message.start
    and is renewed by every other event)."""
    (conn or client()).xadd(
        stream_key(message_id),
        {"event": Delta.event_name, "data": _dumps({"message_id": message_id, "text": text})},
        maxlen=STREAM_MAX_LENGTH,
        approximate=True,
    )


def read_all(message_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every event of a turn so far: [(id, event, data)]."""
    # redis-py types XRANGE's reply loosely; it is [(id, {field: value})].
    entries = cast("list[tuple[bytes, dict[bytes, bytes]]]", client().xrange(stream_key(message_id)))
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
    return f"id: {entry_id}\nevent: {event}\ndata: {_dumps(data)}\n\n".encode()


def stored_end_frame(message: Message) -> bytes:
    """The whole story of a finished turn whose stream expired, as the one event a client needs."""
    return sse_frame("0-1", MessageEnd.event_name, {"message_id": message.pk, **MessageEnd.of(message).data()})


def stream_error_frame(error: StreamError) -> bytes:
    # Spaced separators and no id: what clients of earlier versions parse.
    return f"event: {error.event_name}\ndata: {json.dumps(error.data(), ensure_ascii=False)}\n\n".encode()

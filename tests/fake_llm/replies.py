"""Scripted replies understood by :class:`tests.fake_llm.FakeLLM`.

Each test queues the replies it needs; chat completion calls consume them in
FIFO order. Delays are in seconds and are interrupted when the server stops,
so a test that forgets a long hang cannot stall the suite on teardown.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_ALPHABET = string.ascii_letters + string.digits


def random_id(prefix: str, length: int = 24) -> str:
    """An id shaped like OpenAI's (``call_…``, ``chatcmpl-…``)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _new_call_id() -> str:
    return random_id("call_")


@dataclass(frozen=True)
class Usage:
    """Token counts to report instead of the built-in estimate."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class TextReply:
    """A plain assistant message.

    ``chunks`` fixes how the content is split when streaming; without it the
    content is split into word-sized pieces (one piece per CJK character),
    roughly like OpenAI's token-by-token deltas.
    """

    content: str = ""
    chunks: list[str] | None = None
    finish_reason: str = "stop"
    usage: Usage | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0

    def __post_init__(self) -> None:
        if self.chunks is None:
            return
        joined = "".join(self.chunks)
        if not self.content:
            self.content = joined
        elif joined != self.content:
            raise ValueError("TextReply.chunks must join to TextReply.content")


@dataclass
class ToolCall:
    """One function call; ``arguments`` may be given as a dict for convenience."""

    name: str
    arguments: str | Mapping[str, Any] = "{}"
    id: str = field(default_factory=_new_call_id)

    def __post_init__(self) -> None:
        if not isinstance(self.arguments, str):
            # Compact separators match what OpenAI models emit.
            self.arguments = json.dumps(self.arguments, separators=(",", ":"))

    @property
    def arguments_json(self) -> str:
        assert isinstance(self.arguments, str)
        return self.arguments


@dataclass
class ToolCallReply:
    """An assistant message that calls one or more tools.

    When streaming, each call's arguments are sent in fragments of
    ``argument_chunk_size`` characters so clients must reassemble them.
    """

    tool_calls: list[ToolCall]
    content: str | None = None
    finish_reason: str = "tool_calls"
    usage: Usage | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    argument_chunk_size: int = 8

    def __post_init__(self) -> None:
        if not self.tool_calls:
            raise ValueError("ToolCallReply needs at least one ToolCall")
        if self.argument_chunk_size < 1:
            raise ValueError("argument_chunk_size must be positive")


# OpenAI's own (type, code, message) for the statuses tests usually script.
_ERROR_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "You are not allowed to perform this request."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    408: ("timeout", None, "Request timed out."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests. Please try again later.",
    ),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


@dataclass
class ErrorReply:
    """An HTTP error with OpenAI's ``{"error": {...}}`` body.

    ``type``/``code``/``message`` default to what OpenAI sends for ``status``.
    ``retry_after`` becomes the ``Retry-After`` header (seconds; fractional
    values are accepted by the openai SDK and keep retry tests fast).
    """

    status: int = 500
    message: str | None = None
    type: str | None = None
    code: str | None = None
    param: str | None = None
    retry_after: float | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def body(self) -> dict[str, Any]:
        default_type, default_code, default_message = _ERROR_DEFAULTS.get(
            self.status,
            ("server_error" if self.status >= 500 else "invalid_request_error", None, "Error."),
        )
        return {
            "error": {
                "message": self.message if self.message is not None else default_message,
                "type": self.type if self.type is not None else default_type,
                "param": self.param,
                "code": self.code if self.code is not None else default_code,
            }
        }

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


@dataclass
class HangReply:
    """Wait ``seconds`` before answering with ``then`` (or the default echo).

    Used to exercise client timeouts; the wait ends early when the server
    stops, and a client that gave up simply gets nothing.
    """

    seconds: float
    then: TextReply | ToolCallReply | ErrorReply | DropReply | None = None


@dataclass
class DropReply:
    """Stream ``drop_after`` content chunks, then cut the connection.

    The stream is left without ``finish_reason``, ``[DONE]`` or the chunked
    terminator, which clients see as a broken connection. A blocking request
    gets the connection closed without any response.
    """

    content: str = ""
    chunks: list[str] | None = None
    drop_after: int = 2
    chunk_delay: float = 0.0

    def __post_init__(self) -> None:
        # Validate here rather than in the server thread, where a mistake
        # would only surface as a 500.
        text = TextReply(self.content, chunks=self.chunks)
        self.content = text.content or "This reply will be cut short"


ChatReply = TextReply | ToolCallReply | ErrorReply | HangReply | DropReply
EmbeddingReply = ErrorReply | HangReply

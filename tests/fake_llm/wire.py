"""OpenAI wire-format payloads: completions, stream chunks, embeddings, errors.

Kept free of any HTTP concerns so the shapes can be read side by side with
the OpenAI API reference.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.fake_llm.replies import TextReply, ToolCallReply, Usage, random_id

SYSTEM_FINGERPRINT = "fp_fake_llm"

# CJK ideographs, kana and hangul: scripts written without spaces, where
# OpenAI tokenizers spend roughly one token per character.
_CJK = (
    "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
)
_CJK_RE = re.compile(f"[{_CJK}]")
# Each piece keeps its leading whitespace, like BPE tokens do, so the pieces
# always join back to the exact original text.
_PIECE_RE = re.compile(rf"\s*(?:[{_CJK}]|[^\s{_CJK}]+)|\s+", re.DOTALL)


def estimate_tokens(text: str) -> int:
    """Deterministic token estimate: one per CJK character plus one per
    whitespace-separated run of other characters.

    It is not a tokenizer; it only needs to be stable and to grow with the
    text so usage accounting can be asserted exactly.
    """
    cjk = len(_CJK_RE.findall(text))
    words = len(_CJK_RE.sub(" ", text).split())
    return cjk + words


def split_content(text: str) -> list[str]:
    """Split text into streaming deltas (see ``_PIECE_RE``)."""
    return _PIECE_RE.findall(text)


def split_fixed(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def message_text(content: Any) -> str:
    """Text of a message ``content``: a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def prompt_tokens(messages: list[Any]) -> int:
    """Sum of ``estimate_tokens`` over every message's text and tool-call arguments."""
    total = 0
    for message in messages:
        if not isinstance(message, dict):
            continue
        total += estimate_tokens(message_text(message.get("content")))
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                total += estimate_tokens(str(function.get("arguments", "")))
    return total


def roles_alternate(messages: list[Any]) -> bool:
    """After optional system messages: user, assistant, user, … (an assistant's tool calls, their
    results and the assistant's answer to them count as that one assistant turn)."""
    roles = [m.get("role") for m in messages if isinstance(m, dict)]
    while roles and roles[0] in ("system", "developer"):
        roles.pop(0)
    turns: list[str] = []
    for index, role in enumerate(roles):
        if role == "tool":
            if not turns or turns[-1] != "assistant":
                return False
            continue
        if role == "assistant" and turns and turns[-1] == "assistant" and roles[index - 1] == "tool":
            continue
        turns.append(role)
    return bool(turns) and all(role == ("user" if i % 2 == 0 else "assistant") for i, role in enumerate(turns))


def last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message.get("content"))
    return ""


def completion_tokens(reply: TextReply | ToolCallReply) -> int:
    if isinstance(reply, TextReply):
        return estimate_tokens(reply.content)
    tokens = estimate_tokens(reply.content or "")
    return tokens + sum(estimate_tokens(call.arguments_json) for call in reply.tool_calls)


def usage_payload(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def error_payload(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


@dataclass(frozen=True)
class Completion:
    """Everything needed to render one chat completion, blocking or streamed."""

    model: str
    reply: TextReply | ToolCallReply
    usage: Usage
    id: str
    created: int

    @classmethod
    def build(cls, model: str, reply: TextReply | ToolCallReply, messages: list[Any]) -> Completion:
        usage = reply.usage or Usage(prompt_tokens(messages), completion_tokens(reply))
        return cls(
            model=model,
            reply=reply,
            usage=usage,
            id=random_id("chatcmpl-"),
            created=int(time.time()),
        )

    def usage_payload(self) -> dict[str, Any]:
        return usage_payload(self.usage.prompt_tokens, self.usage.completion_tokens)

    def message(self) -> dict[str, Any]:
        reply = self.reply
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.content,
            "refusal": None,
            "annotations": [],
        }
        if isinstance(reply, ToolCallReply):
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json},
                }
                for call in reply.tool_calls
            ]
        return message

    def blocking_payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": self.message(),
                    "logprobs": None,
                    "finish_reason": self.reply.finish_reason,
                }
            ],
            "usage": self.usage_payload(),
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }

    def chunk(self, delta: dict[str, Any], finish_reason: str | None, include_usage: bool) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if include_usage:
            # OpenAI sends an explicit null on every chunk but the last.
            chunk["usage"] = None
        return chunk

    def usage_chunk(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [],
            "usage": self.usage_payload(),
        }

    def deltas(self) -> Iterator[dict[str, Any]]:
        """The ``delta`` objects OpenAI streams for this reply, in order."""
        reply = self.reply
        if isinstance(reply, TextReply):
            yield {"role": "assistant", "content": "", "refusal": None}
            yield from ({"content": piece} for piece in (reply.chunks or split_content(reply.content)))
            return
        if reply.content:
            yield {"role": "assistant", "content": "", "refusal": None}
            yield from ({"content": piece} for piece in split_content(reply.content))
            yield from self._tool_call_deltas(reply, first_carries_role=False)
        else:
            yield from self._tool_call_deltas(reply, first_carries_role=True)

    @staticmethod
    def _tool_call_deltas(reply: ToolCallReply, first_carries_role: bool) -> Iterator[dict[str, Any]]:
        for index, call in enumerate(reply.tool_calls):
            opening: dict[str, Any] = {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": ""},
                    }
                ]
            }
            if index == 0 and first_carries_role:
                # OpenAI folds the role into the first tool-call delta.
                opening = {"role": "assistant", "content": None, **opening, "refusal": None}
            yield opening
            for fragment in split_fixed(call.arguments_json, reply.argument_chunk_size):
                yield {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}

    def stream_payloads(self, include_usage: bool) -> Iterator[dict[str, Any]]:
        """All stream chunks except the ``[DONE]`` sentinel."""
        for delta in self.deltas():
            yield self.chunk(delta, None, include_usage)
        yield self.chunk({}, self.reply.finish_reason, include_usage)
        if include_usage:
            yield self.usage_chunk()


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """A unit vector seeded by the text: identical texts give identical vectors."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    rng = random.Random(seed)
    values = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    # Round-trip through float32 so "float" and "base64" encodings agree.
    return list(struct.unpack(f"<{dimensions}f", struct.pack(f"<{dimensions}f", *(v / norm for v in values))))


def encode_base64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def embedding_inputs(raw: Any) -> list[str] | None:
    """Normalise ``input`` (string, list of strings, or token arrays) to texts."""
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw:
        if all(isinstance(item, int) for item in raw):
            return [" ".join(map(str, raw))]
        if all(isinstance(item, str) for item in raw):
            return list(raw)
        if all(isinstance(item, list) and all(isinstance(t, int) for t in item) for item in raw):
            return [" ".join(map(str, item)) for item in raw]
    return None


def embeddings_payload(model: str, texts: list[str], dimensions: int, encoding_format: str) -> dict[str, Any]:
    data = []
    for index, text in enumerate(texts):
        vector = embedding_vector(text, dimensions)
        encoded: Any = encode_base64(vector) if encoding_format == "base64" else vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(estimate_tokens(text) for text in texts)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }

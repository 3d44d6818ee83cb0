"""A fake OpenAI-compatible LLM server for tests and latency benchmarks.

    import openai
    from tests.fake_llm import ErrorReply, FakeLLM, TextReply

    with FakeLLM() as fake:
        fake.script(ErrorReply(429, retry_after="0.01"), TextReply("Hello!"))
        client = openai.OpenAI(base_url=fake.base_url, api_key="unused", max_retries=1)
        reply = client.chat.completions.create(model="fake-chat", messages=[...])
        assert reply.choices[0].message.content == "Hello!"
        assert len(fake.chat_requests) == 2

Routes: ``POST /v1/chat/completions`` (blocking and streamed),
``POST /v1/embeddings``, ``GET /v1/models`` and ``GET /v1/models/{id}``;
anything else is an OpenAI-style 404.

Chat calls consume scripted replies in FIFO order (``TextReply``,
``ToolCallReply``, ``ErrorReply``, ``HangReply``, ``DropReply``) and echo the
last user message as ``"Echo: <text>"`` once the script is empty.

Usage is a deterministic estimate (see ``estimate_tokens``): one token per
CJK character plus one per whitespace-separated word, summed over message
texts and tool-call arguments. Embeddings are unit vectors seeded by a hash
of the input text (see ``embedding_vector``).
"""

from tests.fake_llm.replies import (
    ChatReply,
    DropReply,
    EmbeddingReply,
    ErrorReply,
    HangReply,
    TextReply,
    ToolCall,
    ToolCallReply,
    Usage,
)
from tests.fake_llm.server import DEFAULT_MODELS, FakeLLM, RecordedRequest
from tests.fake_llm.wire import embedding_vector, estimate_tokens

__all__ = [
    "DEFAULT_MODELS",
    "ChatReply",
    "DropReply",
    "EmbeddingReply",
    "ErrorReply",
    "FakeLLM",
    "HangReply",
    "RecordedRequest",
    "TextReply",
    "ToolCall",
    "ToolCallReply",
    "Usage",
    "embedding_vector",
    "estimate_tokens",
]

"""The chat stream of a provider, read the way the worker reads it."""

from __future__ import annotations

from providers.clients import Completion, TextDelta, stream_chat


def _collect(provider) -> list:
    return list(stream_chat(provider, model="fake-chat", messages=[{"role": "user", "content": "ping"}]))


def test_consecutive_streams_share_one_connection(fake_provider, fake_llm):
    first, second = _collect(fake_provider), _collect(fake_provider)

    for items in (first, second):
        assert any(isinstance(item, TextDelta) for item in items)
        assert isinstance(items[-1], Completion) and items[-1].finish_reason == "stop"
    chats = [r for r in fake_llm.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 2
    # The first stream's body was read to its end, so its connection went back to the pool.
    assert chats[0].client == chats[1].client

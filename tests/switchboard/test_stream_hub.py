"""The web process's stream hub: many Redis Streams followed over one blocking read."""

from __future__ import annotations

import asyncio
import uuid

from switchboard.stream_hub import hub


def _texts(entries) -> list[str]:
    return [fields[b"n"].decode() for _, fields in entries]


async def _read_until(subscription, count: int) -> list[str]:
    seen: list[str] = []
    while len(seen) < count:
        batch = await subscription.next(timeout=5)
        assert batch, f"nothing arrived after {seen}"
        seen.extend(_texts(batch))
    return seen


def test_subscribers_get_old_and_new_entries_in_order_whenever_they_join(redis_client):
    key = f"turn:test-{uuid.uuid4().hex}"
    ids = [redis_client.xadd(key, {"n": str(n)}).decode() for n in range(3)]

    async def scenario() -> None:
        # The first subscriber of a stream gets what was written before it came, then the rest.
        first = await hub().subscribe(key, "0-0")
        assert await _read_until(first, 3) == ["0", "1", "2"]
        redis_client.xadd(key, {"n": "3"})
        assert await _read_until(first, 1) == ["3"]
        # A later one, resuming after an id, gets what followed it (caught up), and no duplicate.
        late = await hub().subscribe(key, ids[0])
        assert await _read_until(late, 3) == ["1", "2", "3"]
        redis_client.xadd(key, {"n": "4"})
        assert await _read_until(first, 1) == ["4"] and await _read_until(late, 1) == ["4"]
        # A second stream joins the same read.
        other_key = f"{key}-other"
        redis_client.xadd(other_key, {"n": "a"})
        other = await hub().subscribe(other_key, "0-0")
        assert await _read_until(other, 1) == ["a"]
        for subscription in (first, late, other):
            subscription.close()
        assert hub().subscriber_count == 0

    try:
        asyncio.run(scenario())
    finally:
        redis_client.delete(key, f"{key}-other")

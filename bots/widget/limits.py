"""Message limits for visitors: per visitor and per IP address each minute, and per bot each day.

Counters are Redis keys that expire with their window, so limits hold across every web process
and cost one round trip per message. Per-bot values fall back to the workspace's defaults.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import redis
from django.conf import settings

from switchboard import redis_clients
from switchboard.errors import RateLimited, Unavailable


@dataclass(frozen=True)
class Limits:
    visitor_per_minute: int
    ip_per_minute: int
    daily_cap: int


def client_ip(request) -> str:
    """The visitor's address: the connection's, or the one the trusted proxies saw."""
    hops = settings.TRUSTED_PROXY_HOPS
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(addresses) >= hops:
            return addresses[-hops]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _count(keys: list[tuple[str, int]]) -> list[int]:
    """Increment each key, setting its expiry on first use; the new counts."""
    try:
        pipe = redis_clients.client().pipeline(transaction=False)
        for key, ttl in keys:
            # SET NX then INCR: the window's expiry is set once, when its counter is made (Redis 6
            # has no EXPIRE NX).
            pipe.set(key, 0, ex=ttl, nx=True)
            pipe.incr(key)
        results = pipe.execute()
    except redis.RedisError:
        raise Unavailable(
            "The chat is briefly unavailable (the rate limiter cannot be reached); try again in a moment.",
            code="limiter_unavailable",
            retry_after=5,
        ) from None
    return [int(results[index * 2 + 1]) for index in range(len(keys))]


def check_message(*, public_id: str, visitor_id: str, ip: str, limits: Limits, now: float | None = None) -> None:
    """Count one visitor message; RateLimited (with the wait) when a limit is passed.

    One round trip counts all three; a message refused per minute is taken back off the day's count
    so that a flood held back by the minute limits does not use up the bot's day."""
    now = time.time() if now is None else now
    minute = int(now // 60)
    to_next_minute = 60 - now % 60
    day_key = f"widget:rate:day:{public_id}:{time.strftime('%Y%m%d', time.gmtime(now))}"
    visitor_count, ip_count, day_count = _count(
        [
            (f"widget:rate:v:{public_id}:{visitor_id}:{minute}", 120),
            (f"widget:rate:ip:{public_id}:{ip}:{minute}", 120),
            (day_key, 2 * 86400),
        ]
    )
    if visitor_count > limits.visitor_per_minute or ip_count > limits.ip_per_minute:
        _uncount(day_key)
        per_visitor = visitor_count > limits.visitor_per_minute
        raise RateLimited(
            (
                f"You are sending messages too fast (at most {limits.visitor_per_minute} a minute); "
                if per_visitor
                else f"Too many messages from your network (at most {limits.ip_per_minute} a minute); "
            )
            + f"wait {int(to_next_minute) + 1} seconds.",
            code="rate_limited",
            retry_after=to_next_minute,
            details={"limit": "visitor_per_minute" if per_visitor else "ip_per_minute"},
        )
    if day_count > limits.daily_cap:
        raise RateLimited(
            f"This assistant has answered its {limits.daily_cap} messages for today; it is back tomorrow (UTC).",
            code="daily_cap_reached",
            retry_after=86400 - now % 86400,
            details={"limit": "daily_cap"},
        )


def _uncount(key: str) -> None:
    with contextlib.suppress(redis.RedisError):  # else the day's count stays one high: harmless
        redis_clients.client().decr(key)


def check_session_start(*, ip: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    minute = int(now // 60)
    (count,) = _count([(f"widget:rate:session:{ip}:{minute}", 120)])
    if count > settings.WIDGET_SESSIONS_PER_IP_PER_MINUTE:
        wait = 60 - now % 60
        raise RateLimited(
            f"Too many new chat sessions from your network; wait {int(wait) + 1} seconds.",
            code="rate_limited",
            retry_after=wait,
            details={"limit": "sessions_per_ip_per_minute"},
        )


def messages_today(public_id: str, now: float | None = None) -> int:
    """How many visitor messages the bot has taken today (UTC), for the Embed page."""
    day = time.strftime("%Y%m%d", time.gmtime(time.time() if now is None else now))
    try:
        value = redis_clients.client().get(f"widget:rate:day:{public_id}:{day}")
    except redis.RedisError:
        return 0
    return int(value or 0)

"""The Redis clients of a process, made in one place with timeouts chosen on purpose.

redis-py's default socket timeout (5 s) is shorter than a blocking `XREAD` that waits for a slow
model's first token, and a timeout there used to end event streams mid-turn. So commands get an
explicit timeout (a dead Redis is noticed within seconds), and blocking reads go through a
client whose timeout is derived from the longest block it is used with.

Clients share one connection pool per process (per event loop for asyncio clients), so the
number of connections stays bounded whatever the number of requests or green threads.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from functools import lru_cache

import redis
import redis.asyncio as aioredis
from django.conf import settings

# A Redis command that takes longer than this means Redis is gone or stuck.
COMMAND_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5.0
# Margin on top of a blocking read's own block time before the socket read gives up.
BLOCKING_MARGIN_SECONDS = 10.0


def _common_options() -> dict:
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "health_check_interval": 30,
        # Shown by CLIENT LIST, so an operator (and the tests) can tell whose connections these are.
        "client_name": f"switchboard-{process_role()}-{os.getpid()}",
    }


def process_role() -> str:
    """web, worker, … : set by the process's entry point (see asgi.py and celery_app.py)."""
    return settings.PROCESS_ROLE


@lru_cache(maxsize=1)
def _pool() -> redis.ConnectionPool:
    # Created lazily and once per process. A prefork worker child must not inherit the parent's
    # sockets: `reset_after_fork` (below) clears this cache in each child. Bounded: past the limit
    # a caller waits for a free connection instead of opening one more (a burst of requests or
    # green threads must not grow the connection count without end).
    return redis.BlockingConnectionPool.from_url(
        settings.REDIS_URL,
        socket_timeout=COMMAND_TIMEOUT_SECONDS,
        max_connections=settings.REDIS_POOL_SIZE,
        timeout=COMMAND_TIMEOUT_SECONDS,
        **_common_options(),
    )


@lru_cache(maxsize=1)
def client() -> redis.Redis:
    """The process's Redis client for ordinary (non-blocking) commands.

    One object, shared: it takes a connection from the pool for each command, so threads and green
    threads may use it at once, and making a client costs more than many commands (redis-py builds
    its table of reply parsers in every new one).
    """
    return redis.Redis(connection_pool=_pool())


def blocking_client(block_seconds: float) -> redis.Redis:
    """A client for commands that block up to `block_seconds` on the server (XREAD BLOCK, BLPOP).

    Its own connection, not the shared pool's: a blocked connection is unusable for anything else.
    """
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=block_seconds + BLOCKING_MARGIN_SECONDS, **_common_options()
    )


# Per event loop: asyncio connections belong to the loop that opened them. uvicorn runs one loop
# per process; code run through async_to_sync gets short-lived loops, whose pools go with them.
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = weakref.WeakKeyDictionary()


def async_client() -> aioredis.Redis:
    """The asyncio client of the running event loop (one per loop, on a pool of its own)."""
    loop = asyncio.get_running_loop()
    found = _async_clients.get(loop)
    if found is None:
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            socket_timeout=COMMAND_TIMEOUT_SECONDS,
            max_connections=settings.REDIS_POOL_SIZE,
            timeout=COMMAND_TIMEOUT_SECONDS,
            **_common_options(),
        )
        found = _async_clients[loop] = aioredis.Redis(connection_pool=pool)
    return found


def async_blocking_client(block_seconds: float) -> aioredis.Redis:
    """An asyncio client on a single connection of its own, for one long-lived blocking reader."""
    return aioredis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=block_seconds + BLOCKING_MARGIN_SECONDS,
        single_connection_client=True,
        **_common_options(),
    )


def reset_after_fork() -> None:
    """Forget connections made before a fork; the child opens its own."""
    _pool.cache_clear()
    client.cache_clear()
    _async_clients.clear()

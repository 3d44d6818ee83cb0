"""Leases: at most one worker runs a given piece of work, and a dead worker's work is taken over.

Celery on Redis redelivers a task whose worker vanished once the visibility timeout passes, and
redelivers a task that is merely *slow* just the same. A lease tells the two apart: the running
task holds a short-lived Redis key and renews it from a background thread; a second delivery
that finds the lease held knows the work is alive elsewhere and retries later, while one that
finds it expired (the holder died and stopped renewing) takes the work over.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import redis
from django.conf import settings

from switchboard import redis_clients

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


_scripts: dict[tuple[int, str], object] = {}


def _script(conn: redis.Redis, source: str):
    key = (id(conn), source)
    if key not in _scripts:
        _scripts[key] = conn.register_script(source)
    return _scripts[key]


def _client() -> redis.Redis:
    return redis_clients.client()  # the process's shared, bounded pool


class LeaseBusy(Exception):
    """Another live worker holds the lease."""


class Lease:
    def __init__(self, name: str, *, ttl_seconds: float | None = None, conn: redis.Redis | None = None):
        self.key = f"lease:{name}"
        self.ttl_ms = int((ttl_seconds or settings.LEASE_SECONDS) * 1000)
        self.token = uuid.uuid4().hex
        self.conn = conn or _client()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> bool:
        if not self.conn.set(self.key, self.token, nx=True, px=self.ttl_ms):
            return False
        self._thread = threading.Thread(target=self._renew_loop, daemon=True, name=f"lease-{self.key}")
        self._thread.start()
        return True

    def _renew_loop(self) -> None:
        renew = _script(self.conn, _RENEW)
        while not self._stop.wait(self.ttl_ms / 3000):
            try:
                if not renew(keys=[self.key], args=[self.token, self.ttl_ms]):
                    return  # lost (expired while we stalled): someone else may hold it now
            except redis.RedisError:
                continue

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        with contextlib.suppress(redis.RedisError):  # it expires on its own
            _script(self.conn, _RELEASE)(keys=[self.key], args=[self.token])

    def __enter__(self) -> Lease:
        if not self.acquire():
            raise LeaseBusy(self.key)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


@contextmanager
def held_or_retried(task, name: str, *, args: tuple[Any, ...] | None = None) -> Iterator[Lease]:
    """Run the body of a bound Celery `task` under the lease `name`.

    When another live worker holds it (a redelivery of a slow task), the task is retried later
    with `args` (default: its own), without limit: if that worker dies, its lease expires and a
    later delivery takes the work over.
    """
    lease = Lease(name)
    if not lease.acquire():
        busy = LeaseBusy(lease.key)
        raise task.retry(countdown=max(1, settings.LEASE_SECONDS / 2), exc=busy, max_retries=None, args=args) from busy
    try:
        yield lease
    finally:
        lease.release()

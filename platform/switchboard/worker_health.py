"""Worker heartbeat: each worker writes a short-lived Redis key that /healthz reads.

A key per worker with a TTL of three beats means a worker that died (or lost Redis) disappears
from the health report within seconds, without anyone having to clean up after it. Reading keys
is instant, unlike a broadcast `inspect ping`, so /healthz stays cheap enough to poll.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time

import redis
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings

KEY_PREFIX = "switchboard:worker-heartbeat:"

_stop = threading.Event()


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)


def _beat(hostname: str, queues: list[str]) -> None:
    client = _client()
    interval = settings.WORKER_HEARTBEAT_SECONDS
    payload = json.dumps({"hostname": hostname, "pid": os.getpid(), "queues": queues})
    while not _stop.is_set():
        # Redis down: the key expires and /healthz reports the worker missing.
        with contextlib.suppress(redis.RedisError):
            client.set(KEY_PREFIX + hostname, payload, ex=interval * 3)
        _stop.wait(interval)
    with contextlib.suppress(redis.RedisError):
        client.delete(KEY_PREFIX + hostname)


@worker_ready.connect
def _start_heartbeat(sender=None, **_kwargs) -> None:
    queues = sorted(q.name for q in sender.app.amqp.queues.consume_from.values()) if sender else []
    hostname = getattr(sender, "hostname", f"worker@{os.getpid()}")
    threading.Thread(target=_beat, args=(hostname, queues), daemon=True, name="heartbeat").start()


@worker_shutdown.connect
def _stop_heartbeat(**_kwargs) -> None:
    _stop.set()


def live_workers(client: redis.Redis | None = None) -> list[dict]:
    client = client or _client()
    workers = []
    for key in client.scan_iter(match=KEY_PREFIX + "*", count=100):
        raw = client.get(key)
        if raw:
            workers.append(json.loads(raw))
    return sorted(workers, key=lambda w: w["hostname"])


def wait_for_worker(timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if live_workers():
            return True
        time.sleep(0.1)
    return False

"""Health of the components a chat turn needs: database (with pgvector), Redis, workers."""

from __future__ import annotations

import time
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from switchboard.stream_hub import open_subscriptions
from switchboard.worker_health import live_workers


def timed_check(check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = check()
        result.setdefault("status", "ok")
    except Exception as exc:  # a health check reports failures; it must not raise them
        result = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('server_version'), (SELECT extversion FROM pg_extension WHERE extname = 'vector')"
        )
        server_version, vector_version = cursor.fetchone()
    result: dict[str, Any] = {
        "postgres": server_version,
        "pgvector": vector_version,
        "embedded": settings.USES_EMBEDDED_POSTGRES,
    }
    if vector_version is None:
        result.update(status="error", error="the pgvector extension is not installed; run migrations")
    return result


def check_redis() -> dict[str, Any]:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
        return {"version": client.info("server").get("redis_version"), "embedded": settings.USES_EMBEDDED_REDIS}
    finally:
        client.close()


def check_workers() -> dict[str, Any]:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        workers = live_workers(client)
    finally:
        client.close()
    if not workers:
        return {
            "status": "error",
            "workers": [],
            "error": "no Celery worker has sent a heartbeat in the last "
            f"{settings.WORKER_HEARTBEAT_SECONDS * 3} s; start one with "
            "`celery -A switchboard worker`",
        }
    return {"workers": workers}


def database_pool_usage() -> dict[str, int] | None:
    """This process's connection pool: how many connections exist, are lent out, are awaited.

    Read before the health check borrows one, so `in_use` counts other requests only: with
    streams waiting on turns it stays near zero, since a waiting stream holds no connection.
    """
    pool = getattr(connection, "pool", None)
    if pool is None:
        return None
    stats = pool.get_stats()
    size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
    return {
        "size": size,
        "max": stats.get("pool_max", 0),
        "in_use": size - available,
        "waiting": stats.get("requests_waiting", 0),
    }


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    pool = database_pool_usage()
    checks = {
        "database": timed_check(check_database),
        "redis": timed_check(check_redis),
        "workers": timed_check(check_workers),
    }
    if pool is not None:
        checks["database"]["pool"] = pool
    # Clients this process is relaying a turn to (SSE streams and blocking calls waiting).
    checks["redis"]["streams_followed"] = open_subscriptions()
    healthy = all(check["status"] == "ok" for check in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)


@require_GET
def liveness(request: HttpRequest) -> JsonResponse:
    """The process serves requests; says nothing about its dependencies (for container restarts)."""
    return JsonResponse({"status": "ok"})

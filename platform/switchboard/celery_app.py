"""The Celery app. Workers start with `celery -A switchboard worker`.

Two kinds of worker run the platform (see the README's "Execution model"): the chat worker
(queues chat, tools, default) on green threads, and the ingest worker (queue ingest) on
processes. Their database connections are set up to suit each (below).
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")
os.environ.setdefault("SWITCHBOARD_PROCESS_ROLE", "worker")

app = Celery("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django integration closes the database connection before and after every task unless
# told otherwise; reconnecting costs PostgreSQL a new backend process per task, several ms each.
# Connections are instead reused (below).
app.conf.CELERY_DB_REUSE_MAX = 1_000_000
app.autodiscover_tasks()


def _runs_tasks_in_threads(worker) -> bool:
    """gevent/eventlet green threads or real threads: many tasks at once in one process."""
    pool = getattr(worker, "pool_cls", "")
    name = pool if isinstance(pool, str) else f"{pool.__module__}.{pool.__qualname__}"
    return any(kind in name.lower() for kind in ("gevent", "eventlet", "thread"))


@worker_init.connect
def _configure_database_connections(sender=None, **_kwargs) -> None:
    # Runs in the worker's main process before any connection exists (and before pool processes
    # fork). Many tasks in one process share a bounded psycopg pool, each task giving its
    # connection back while it waits and when it ends; one task per process keeps one
    # persistent, health-checked connection instead.
    from django.conf import settings

    threaded = sender is not None and _runs_tasks_in_threads(sender)
    for database in settings.DATABASES.values():
        options = database.setdefault("OPTIONS", {})
        if threaded:
            options["pool"] = {
                "min_size": 1,
                "max_size": settings.WORKER_DB_POOL_SIZE,
                "timeout": settings.DB_POOL_TIMEOUT_SECONDS,
            }
            database["CONN_MAX_AGE"] = 0
        else:
            options.pop("pool", None)
            database["CONN_MAX_AGE"] = settings.WORKER_DB_CONN_MAX_AGE
            database["CONN_HEALTH_CHECKS"] = True


@worker_process_init.connect
def _forget_parent_connections(**_kwargs) -> None:
    from switchboard import redis_clients

    redis_clients.reset_after_fork()


@task_prerun.connect
def _reuse_healthy_connections(**_kwargs) -> None:
    # Django's own per-request rule: drop connections past CONN_MAX_AGE or broken, and with
    # CONN_HEALTH_CHECKS verify a reused one before the task's first query.
    from django.db import close_old_connections

    close_old_connections()


@task_postrun.connect
def _return_pooled_connections(**_kwargs) -> None:
    # A green thread's connection would otherwise stay checked out of the pool after its task.
    from switchboard.db_connections import release_pooled_connections

    release_pooled_connections()


# Registers the worker heartbeat that /healthz reads.
import switchboard.worker_health  # noqa: E402,F401

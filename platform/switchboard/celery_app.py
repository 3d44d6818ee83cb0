"""The Celery app. Workers start with `celery -A switchboard worker`."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")

app = Celery("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django integration closes the database connection before and after every task unless
# told otherwise; reconnecting costs PostgreSQL a new backend process per task, several ms each.
# Connections are instead reused the way Django reuses them between requests (below).
app.conf.CELERY_DB_REUSE_MAX = 1_000_000
app.autodiscover_tasks()


@worker_init.connect
def _persistent_connections_in_workers(**_kwargs) -> None:
    # Runs in the worker's main process before any connection exists (and before pool processes
    # fork), so every task process gets a plain, persistent connection instead of a pool.
    from django.conf import settings

    for database in settings.DATABASES.values():
        database.get("OPTIONS", {}).pop("pool", None)
        database["CONN_MAX_AGE"] = settings.WORKER_DB_CONN_MAX_AGE
        database["CONN_HEALTH_CHECKS"] = True


@task_prerun.connect
def _reuse_healthy_connections(**_kwargs) -> None:
    # Django's own per-request rule: drop connections past CONN_MAX_AGE or broken, and with
    # CONN_HEALTH_CHECKS verify a reused one before the task's first query.
    from django.db import close_old_connections

    close_old_connections()


# Registers the worker heartbeat that /healthz reads.
import switchboard.worker_health  # noqa: E402,F401

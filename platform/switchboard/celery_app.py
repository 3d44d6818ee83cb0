"""The Celery app. Workers start with `celery -A switchboard worker`."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")

app = Celery("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Registers the worker heartbeat that /healthz reads.
import switchboard.worker_health  # noqa: E402,F401

"""Platform-level tasks."""

from __future__ import annotations

import socket

from celery import shared_task
from django.db import connection


@shared_task(name="switchboard.round_trip", ignore_result=False)
def round_trip(token: str) -> dict:
    """Proves a worker can take a task, reach the database and answer: used by diagnostics and tests."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        (database,) = cursor.fetchone()
    return {"token": token, "database": database, "host": socket.gethostname()}

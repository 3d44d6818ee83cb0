"""The embedded PostgreSQL and Redis for a benchmark that needs the platform's services as they
run in production (`manage.py run` starts the same ones), in a data folder of its own.

    DATA_DIR = use_data_dir("actions")   # before Django is imported
    started = start_services()
    try: ...
    finally: stop_services(started)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def use_data_dir(name: str) -> Path:
    """Point the settings at .data/bench/<name> and the embedded services (never a configured
    DATABASE_URL or REDIS_URL: a benchmark must not write to a real deployment)."""
    for path in (str(ROOT), str(ROOT / "platform")):
        if path not in sys.path:
            sys.path.insert(0, path)
    for variable in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(variable, None)
    data_dir = ROOT / ".data" / "bench" / name
    os.environ["SWITCHBOARD_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "switchboard.settings"
    os.environ.setdefault("SWITCHBOARD_LOG_LEVEL", "warning")
    return data_dir


def start_services() -> list:
    """Embedded PostgreSQL + Redis, migrated. Returns what to stop."""
    import django
    from django.conf import settings

    django.setup()
    from django.core.management import call_command

    from switchboard import embedded

    started = embedded.start_configured(settings)
    call_command("migrate", interactive=False, verbosity=0)
    return started


def stop_services(started: list) -> None:
    from django.db import connections

    from switchboard import embedded

    connections.close_all()
    embedded.stop_all(started)

"""Settings for the test suite: the same real services, in a data folder of their own."""

import os
from pathlib import Path

# Before base reads the environment: tests keep their embedded servers apart from a developer's
# running platform, and never pick up a developer's DATABASE_URL by accident unless asked to.
os.environ.setdefault("SWITCHBOARD_DATA_DIR", str(Path(__file__).resolve().parents[3] / ".data" / "test"))

from switchboard.settings.base import *  # noqa: F403
from switchboard.settings.base import DATABASES

# Fast hashing: password hashing is not what the tests measure.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WORKER_DB_CONN_MAX_AGE = 0
DATABASES["default"]["TEST"] = {"NAME": "switchboard_test"}
if os.environ.get("SWITCHBOARD_USE_TEST_DATABASE") == "1":
    # A web server or Celery worker started by the suite uses the database the tests created,
    # with the connection pool it has in production.
    DATABASES["default"]["NAME"] = DATABASES["default"]["TEST"]["NAME"]
else:
    # In the test process itself the pool would keep connections to the test database open across
    # pytest-django's create/drop of it; plain connections are simpler there.
    DATABASES["default"]["OPTIONS"].pop("pool", None)
# Keep heartbeats, broker and cache apart from anything else on the same Redis.
WORKER_HEARTBEAT_SECONDS = 1

# Recover killed work fast in tests (production values are seconds, too, but longer).
CELERY_VISIBILITY_TIMEOUT = 4
CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "visibility_timeout": 4}  # noqa: F405
LEASE_SECONDS = 2

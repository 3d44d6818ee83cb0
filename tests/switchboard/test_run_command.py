"""`manage.py run` with no configuration: everything starts, is healthy, persists and stops cleanly."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest

from tests.processes import Process

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration  # starts the whole platform

SECRET = "sb-run-command-test-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def processes_using(path: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(attrs=("cmdline",)):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(path) in cmdline:
            found.append(proc)
    return found


class Platform(Process):
    """`manage.py run` with no configuration but a data folder of its own."""

    def __init__(self, data_dir: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_"))}
        env.update(
            SWITCHBOARD_DATA_DIR=str(data_dir),
            SWITCHBOARD_BOOTSTRAP_EMAIL="owner@example.com",
            SWITCHBOARD_BOOTSTRAP_PASSWORD="run command password",
            SWITCHBOARD_BOOTSTRAP_API_KEY=SECRET,
            SWITCHBOARD_WORKER_CONCURRENCY="1",
        )
        super().__init__(
            "manage.py run",
            [sys.executable, "manage.py", "run", "--port", str(self.port)],
            env=env,
            cwd=ROOT,
            log_path=data_dir.parent / f"{data_dir.name}.log",
        )

    def start(self, *, timeout: float = 120, workers: int = 1) -> dict:
        """Start `manage.py run`; healthy once `workers` workers have reported in."""
        health: dict = {}

        def healthy() -> bool:
            try:
                status, body = get_json(f"{self.base}/healthz")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False
            health.update(body)
            return status == 200 and len(body["checks"]["workers"]["workers"]) >= workers

        super().start(ready=healthy, timeout=timeout, interval=0.5)
        return health

    def stop(self) -> int:
        """Ctrl-C to `manage.py run` alone: stopping what it started is its own job."""
        return super().stop(signal.SIGINT, grace=60, group=False)


@pytest.fixture
def data_dir():
    path = ROOT / ".data" / "test" / f"run-{uuid.uuid4().hex[:8]}"
    yield path
    for proc in processes_using(path):  # never leave a server behind, even when the test failed
        proc.kill()
    shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(path.parent / f"{path.name}.log", ignore_errors=True)


def port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_run_starts_everything_healthy_persists_and_stops_cleanly(data_dir):
    platform = Platform(data_dir)
    chat_workers = min(2, os.cpu_count() or 1)  # the default: one green-thread process per core, up to two
    health = platform.start(workers=chat_workers + 1)
    checks = health["checks"]
    assert checks["database"]["embedded"] is True and checks["database"]["pgvector"]
    assert checks["redis"]["embedded"] is True
    queues = sorted(tuple(worker["queues"]) for worker in checks["workers"]["workers"])
    # The chat workers (green threads) and the ingest worker (processes), each on its own queues.
    assert queues == [("chat", "default", "tools")] * chat_workers + [("ingest",)], checks["workers"]
    status, workspace = get_json(f"{platform.base}/api/v1/workspace", SECRET)
    assert status == 200 and workspace["role"] == "admin"
    assert "Switchboard is starting on" in platform.log(tail=None)

    assert platform.stop() == 0, platform.log()
    assert processes_using(data_dir) == [], "embedded PostgreSQL/Redis or a child outlived Ctrl-C"
    assert port_is_closed(platform.port), "the web server outlived Ctrl-C"

    # Same data folder, second start: the bootstrap key created the first time still works.
    platform = Platform(data_dir)
    platform.start()
    status, again = get_json(f"{platform.base}/api/v1/workspace", SECRET)
    assert status == 200 and again["id"] == workspace["id"]
    assert platform.stop() == 0
    assert processes_using(data_dir) == []

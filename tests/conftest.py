"""Test harness: the real embedded PostgreSQL/pgvector and Redis, a real Celery worker, a fake LLM.

Only the third-party LLM is faked (tests.fake_llm speaks the OpenAI wire format over real HTTP).
The services run from `.data/test` so they never touch a developer's running platform.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from django.conf import settings

from switchboard import embedded
from tests import processes
from tests.fake_llm import FakeLLM
from tests.processes import Process

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")


# -- the fast lane: `pytest -m "not integration"` ---------------------------------------------------

# The fixtures that start processes: a Celery worker, the web server, a browser. A test using one,
# even through another fixture, gets the integration marker here rather than by hand. Failing
# collection on a missing marker would also keep the fast lane clean, but only once someone noticed;
# marking from the fixtures makes it hold by construction, also when a fixture a test already uses
# comes to need a worker. Tests that start a process themselves are checked when they do it
# (tests.processes.guard), since no fixture gives them away.
STARTS_PROCESSES = {"celery_worker", "live_server_url", "page"}
DRIVES_A_BROWSER = {"page"}


@pytest.hookimpl(tryfirst=True)  # before pytest's own hook deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & STARTS_PROCESSES:
            item.add_marker(pytest.mark.integration)
        if used & DRIVES_A_BROWSER:
            item.add_marker(pytest.mark.browser)


_running: list[pytest.Item] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> None:
    _running[:] = [item]


processes.guard(lambda: not _running or _running[0].get_closest_marker("integration") is not None)


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
def django_db_setup(embedded_services, django_db_setup):
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
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "switchboard.settings.test",
            "SWITCHBOARD_USE_TEST_DATABASE": "1",
            "SWITCHBOARD_DATA_DIR": str(settings.DATA_DIR),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
        }
    )
    return env


class WorkerProcess(Process):
    """A real `celery worker` process on the suite's Redis and test database."""

    def __init__(
        self, *, queues: str = "chat,tools,default", concurrency: int = 100, pool: str = "gevent", role: str = "worker"
    ):
        self.hostname = f"test-{role}-{os.getpid()}-{time.monotonic_ns()}@localhost"
        super().__init__(
            f"the Celery worker {self.hostname}",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "switchboard",
                "worker",
                "--queues",
                queues,
                "--concurrency",
                str(concurrency),
                "--hostname",
                self.hostname,
                "--loglevel",
                "INFO",
                "--without-mingle",
                "--without-gossip",
                "--pool",
                pool,
            ],
            env={**_worker_env(), "SWITCHBOARD_PROCESS_ROLE": role},
            cwd=ROOT,
            log_path=settings.DATA_DIR / f"worker-{self.hostname.split('@')[0]}.log",
        )

    def start(self, *, timeout: float = 60.0) -> WorkerProcess:
        from switchboard.worker_health import KEY_PREFIX

        client = redis_lib.Redis.from_url(settings.REDIS_URL)
        try:
            super().start(ready=lambda: client.exists(KEY_PREFIX + self.hostname), timeout=timeout)
        finally:
            client.close()
        return self


class Workers:
    """The platform's two workers, as `manage.py run` starts them: chat (green threads) and ingest
    (processes)."""

    def __init__(self):
        self.chat = WorkerProcess()
        self.ingest = WorkerProcess(queues="ingest", concurrency=2, pool="prefork", role="ingest-worker")

    def start(self) -> Workers:
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


class LiveServer(Process):
    """uvicorn serving the project on the test database, like production (ASGI, real sockets)."""

    def __init__(self):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            "uvicorn",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "switchboard.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "1",
            ],
            # Keep-alive comments every 2 s instead of 15, so tests see them without waiting long.
            env={**_worker_env(), "SWITCHBOARD_PROCESS_ROLE": "web", "SWITCHBOARD_SSE_PING_SECONDS": "2"},
            cwd=ROOT,
            log_path=settings.DATA_DIR / f"web-{self.port}.log",
        )

    def start(self, *, timeout: float = 60.0) -> LiveServer:
        import urllib.request

        def answers() -> bool:
            try:
                urllib.request.urlopen(f"{self.url}/healthz/live", timeout=1)
            except OSError:
                return False
            return True

        super().start(ready=answers, timeout=timeout)
        return self


@pytest.fixture(scope="session")
def live_server_url(django_db_setup) -> Iterator[str]:
    server = LiveServer().start()
    yield server.url
    server.stop(grace=10)


# -- a browser ------------------------------------------------------------------------------------


@pytest.fixture
def page(live_server_url, monkeypatch) -> Iterator:
    """A tab of Debian's headless Chromium on the live server (relative URLs go there), driven by
    Playwright. Fails the test on an uncaught error in the page's scripts."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"The browser tests need Debian's chromium at {CHROMIUM}: apt-get install chromium "
            "(the README's test command installs it). Playwright never downloads a browser here."
        )
    # Playwright's sync API keeps an event loop running in this thread while it is open, and Django
    # then refuses this test's own ORM queries as if they came from async code. The platform under
    # test runs in its own processes, so nothing is hidden by allowing them, for browser tests only
    # (which is also why the browser is started per test rather than once per session). Django also
    # keeps the connections of such queries apart from the test's usual one: they are closed below,
    # or the test database could not be dropped at the end.
    from django.db import connections
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"] if os.geteuid() == 0 else []
        )
        context = browser.new_context(base_url=live_server_url)
        context.set_default_timeout(20_000)  # a turn goes through the worker and the fake model
        expect.set_options(timeout=20_000)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield tab
        finally:
            connections.close_all()
            browser.close()
        assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def owner_page(page, client, owner, live_server_url):
    """`page`, signed in as the workspace's owner (the session cookie of a Django test client login)."""
    client.force_login(owner)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server_url}]
    )
    return page


# -- a bot wired to the fake LLM ------------------------------------------------------------------


@pytest.fixture
def chat_model(workspace, fake_llm):
    from providers.services import provider_create, provider_model_create

    provider = provider_create(
        workspace=workspace,
        name="Fake LLM",
        kind="openai_compatible",
        base_url=fake_llm.base_url,
        api_key="sk-fake-test-key",
        timeout_seconds=10,
    )
    return provider_model_create(
        provider=provider, model="fake-chat", input_price_per_million=1, output_price_per_million=2
    )


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

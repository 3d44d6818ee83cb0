"""`python manage.py run`: the whole platform on one machine, from one command.

Starts what is not configured (embedded PostgreSQL+pgvector unless DATABASE_URL is set,
embedded Redis unless REDIS_URL is set), applies migrations, creates the bootstrap owner if
asked to, then runs the ASGI web server and two Celery workers as child processes: the chat
worker (turns and tool calls, on green threads) and the ingest worker (documents, on processes).
Ctrl-C (or SIGTERM) stops the children, then the embedded servers, in that order, so nothing
outlives it.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from switchboard import config, embedded


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--host", default=config.env_str("SWITCHBOARD_HOST", "127.0.0.1"))
        parser.add_argument(
            "--port", type=int, default=config.env_int("SWITCHBOARD_PORT", 8000, minimum=1, maximum=65535)
        )
        parser.add_argument("--no-worker", action="store_true", help="Do not start the Celery workers.")
        parser.add_argument(
            "--web-workers", type=int, default=config.env_int("SWITCHBOARD_WEB_WORKERS", 1, minimum=1, maximum=64)
        )

    def handle(self, *args, host: str, port: int, no_worker: bool, web_workers: int, **options):
        self._services: list = []
        self._children: list[tuple[str, subprocess.Popen]] = []
        self._stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            self._start_services()
            self._prepare_database()
            self._start_children(host=host, port=port, no_worker=no_worker, web_workers=web_workers)
            self._announce(host=host, port=port)
            self._supervise()
        except KeyboardInterrupt:
            pass
        finally:
            self._shutdown()

    # -- start-up ------------------------------------------------------------------------------

    def _start_services(self) -> None:
        if settings.USES_EMBEDDED_POSTGRES:
            self.stdout.write(f"Starting embedded PostgreSQL (data in {settings.EMBEDDED_PGDATA}) …")
        if settings.USES_EMBEDDED_REDIS:
            self.stdout.write(f"Starting embedded Redis (data in {settings.EMBEDDED_REDIS_DIR}) …")
        self._services = embedded.start_configured(settings)

    def _prepare_database(self) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        from accounts.services import bootstrap_from_environment

        message = bootstrap_from_environment(os.environ)
        if message:
            self.stdout.write(self.style.SUCCESS(message))

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        root = Path(settings.BASE_DIR)
        # Children import `switchboard` whether or not the project is pip-installed.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root / "platform"), str(root), env.get("PYTHONPATH")]))
        env["SWITCHBOARD_DATA_DIR"] = str(settings.DATA_DIR)
        env.setdefault("DJANGO_SETTINGS_MODULE", os.environ.get("DJANGO_SETTINGS_MODULE", "switchboard.settings"))
        return env

    def _spawn(self, name: str, argv: list[str], *, role: str) -> None:
        env = {**self._child_env(), "SWITCHBOARD_PROCESS_ROLE": role}
        process = subprocess.Popen(argv, env=env, cwd=settings.BASE_DIR, start_new_session=True)
        self._children.append((name, process))

    def _worker_argv(self, *, queues: str, pool: str, concurrency: int, name: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "switchboard",
            "worker",
            "--queues",
            queues,
            "--loglevel",
            settings.LOG_LEVEL,
            "--concurrency",
            str(concurrency),
            "--pool",
            pool,
            "--without-mingle",
            "--without-gossip",
            "--hostname",
            f"{name}-{os.getpid()}@%h",
        ]

    def _start_children(self, *, host: str, port: int, no_worker: bool, web_workers: int) -> None:
        python = sys.executable
        self._spawn(
            "web",
            [
                python,
                "-m",
                "uvicorn",
                "switchboard.asgi:application",
                "--host",
                host,
                "--port",
                str(port),
                "--workers",
                str(web_workers),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "5",
            ],
            role="web",
        )
        if not no_worker:
            # One green-thread process uses one core; more processes use more of the machine.
            for number in range(1, settings.CHAT_WORKER_PROCESSES + 1):
                self._spawn(
                    f"chat worker {number}",
                    self._worker_argv(
                        queues=",".join(settings.CHAT_WORKER_QUEUES),
                        pool=settings.CHAT_WORKER_POOL,
                        concurrency=settings.CHAT_WORKER_CONCURRENCY,
                        name=f"chat{number}",
                    ),
                    role="worker",
                )
            self._spawn(
                "ingest worker",
                self._worker_argv(
                    queues=",".join(settings.INGEST_WORKER_QUEUES),
                    pool="prefork",
                    concurrency=settings.INGEST_WORKER_CONCURRENCY,
                    name="ingest",
                ),
                role="ingest-worker",
            )

    def _announce(self, *, host: str, port: int) -> None:
        from accounts.models import User

        shown_host = "localhost" if _is_local_or_any(host) else host
        url = f"http://{shown_host}:{port}/"
        self.stdout.write(
            self.style.SUCCESS(f"Switchboard is starting on {url} (health: {url}healthz, API docs: {url}api/docs/).")
        )
        if not User.objects.exists():
            self.stdout.write(
                self.style.WARNING(
                    "No account exists yet. Create the first owner in another terminal with:\n"
                    "    .venv/bin/python manage.py createowner --email you@example.com\n"
                    "(or set SWITCHBOARD_BOOTSTRAP_EMAIL and SWITCHBOARD_BOOTSTRAP_PASSWORD and restart), "
                    f"then sign in at {url}login/"
                )
            )
        self.stdout.write("Press Ctrl-C to stop everything.")

    # -- running and stopping ------------------------------------------------------------------

    def _on_signal(self, signum, frame) -> None:
        self._stopping = True

    def _supervise(self) -> None:
        while not self._stopping:
            for name, process in self._children:
                if process.poll() is not None:
                    raise CommandError(
                        f"The {name} process exited with code {process.returncode}; "
                        "stopping everything (see its output above)."
                    )
            time.sleep(0.2)

    def _shutdown(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        if self._children:
            self.stdout.write("Stopping …")
        for _, process in self._children:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, process in self._children:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        from django.db import connections

        connections.close_all()
        had_services = bool(self._services)
        embedded.stop_all(self._services)
        if had_services or self._children:
            self.stdout.write("Stopped.")


def _is_local_or_any(host: str) -> bool:
    """Loopback or "every interface": either way a browser on this machine reaches it as localhost."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return address.is_loopback or address.is_unspecified

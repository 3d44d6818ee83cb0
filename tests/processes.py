"""The suite's child processes (workers, the web server, `manage.py run`): one way to start them,
wait for them and make sure none outlives its test."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import psutil

T = TypeVar("T")

_marked_integration: Callable[[], bool] | None = None


def guard(marked_integration: Callable[[], bool]) -> None:
    """The conftest tells whether the running test is marked `integration`: a test that starts a
    process without it would slip into the fast lane (`-m "not integration"`)."""
    global _marked_integration
    _marked_integration = marked_integration


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    detail: Callable[[], str] = lambda: "",
) -> T:
    """The first truthy value of `predicate`, polled until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{detail()}".rstrip())
        time.sleep(interval)


class Process:
    """A child process writing to a log file, in a process group of its own so that stopping it
    also stops what it started (a worker's pool processes, a server's reloader)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.popen: subprocess.Popen | None = None

    def start(self, *, ready: Callable[[], object], timeout: float = 60.0, interval: float = 0.1) -> Process:
        """Start and return once `ready()` is truthy; the log's tail explains a failure."""
        if _marked_integration is not None and not _marked_integration():
            raise RuntimeError(
                f"{self.name}: a test that starts a process must be marked integration, "
                "or `pytest -m 'not integration'` would start it too"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            self.popen = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

        def started() -> object:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start ({self.popen.returncode}):\n{self.log()}")
            return ready()

        try:
            wait_until(started, timeout=timeout, interval=interval, what=f"{self.name} to be ready", detail=self.log)
        except BaseException:
            self.kill()
            raise
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log(self, *, tail: int | None = 5000) -> str:
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace")
        return text if tail is None else text[-tail:]

    def stop(self, sig: int = signal.SIGTERM, *, grace: float = 20.0, group: bool = True) -> int | None:
        """Send `sig` (to the whole group, or to the process alone when its own shutdown is under
        test) and wait; after `grace` seconds kill everything. Returns the exit code."""
        if not self.running:
            return self.popen.returncode if self.popen else None
        try:
            if group:
                os.killpg(self.popen.pid, sig)
            else:
                self.popen.send_signal(sig)
            return self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.popen.returncode
        except ProcessLookupError:
            return self.popen.wait()

    def kill(self) -> None:
        """SIGKILL the process, its group and any child that left the group: no goodbye."""
        if self.popen is None:
            return
        try:
            children = psutil.Process(self.popen.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        self.popen.wait()

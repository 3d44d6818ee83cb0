"""The platform's own cost of one tool call, excluding the target API's time.

Starts embedded PostgreSQL and Redis in .data/bench/actions (stopped again at the end), imports an
action pointing at a local HTTP server that answers instantly (loopback allowlisted for the bench
workspace, API key auth), then measures:

  baseline      one keep-alive HTTP request straight to the target (httpx): the target's own time
                plus the loopback round trip, i.e. what any client pays
  invoke_tool   `actions.tools.invoke_tool` called directly: load the operation, validate the
                arguments (JSON Schema 2020-12), build the request, apply credentials, egress checks,
                send, read and shape the response
  celery        the same call as the `actions.tool_invoke` task on a real worker (`tools` queue):
                .delay() -> request arriving at the target (dispatch + everything above up to the
                wire), and .delay() -> result back in the caller (adds the result's trip back
                through Redis)

overhead = median(path) − median(baseline). Budget: p50 ≤ 15 ms.

Run:  .venv/bin/python -m bench.tool_call_overhead [--calls 300]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.services import start_services, stop_services, use_data_dir

ROOT = Path(__file__).resolve().parents[1]

DATA_DIR = use_data_dir("actions")

API_KEY = "sk-bench-3f9a0c7d2e5b41a8"


class Worker:
    """A `celery worker` on the tools queue, one process, like a production tools worker."""

    def __init__(self) -> None:
        self.hostname = f"bench-tools-{os.getpid()}@localhost"
        self.process: subprocess.Popen | None = None
        self.log_path = DATA_DIR / "bench-worker.log"

    def start(self, timeout: float = 60) -> None:
        import redis
        from django.conf import settings

        from switchboard.worker_health import KEY_PREFIX

        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "platform"), str(ROOT)]))
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "switchboard",
                "worker",
                "--queues",
                "tools",
                "--concurrency",
                "1",
                "--hostname",
                self.hostname,
                "--loglevel",
                "WARNING",
                "--without-mingle",
                "--without-gossip",
                "--pool",
                "prefork",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        client = redis.Redis.from_url(settings.REDIS_URL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the worker exited; see {self.log_path}")
            if client.exists(KEY_PREFIX + self.hostname):
                return
            time.sleep(0.1)
        raise SystemExit("the worker did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def report(label: str, values: list[float], baseline: float | None = None) -> float:
    p50, p95 = statistics.median(values), percentile(values, 95)
    extra = f"   overhead p50 {p50 - baseline:6.2f} ms" if baseline is not None else ""
    print(f"  {label:<46} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms{extra}")
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--no-celery", action="store_true", help="only measure invoke_tool directly")
    args = parser.parse_args()

    started = start_services()
    worker = Worker()
    try:
        import httpx

        from accounts.models import Workspace
        from actions.importing import SpecSource, action_import
        from actions.models import Action, Operation, SourceKind
        from actions.tasks import tool_invoke
        from actions.tools import invoke_tool
        from network import services as network_services
        from tests.actions.target_api import TargetAPI

        with TargetAPI() as target:
            target.handlers["/items/{id}"] = None  # echo (the default)
            workspace = Workspace.objects.create(name=f"bench-{time.time_ns()}")
            network_services.allowlist_entry_create(workspace=workspace, value="127.0.0.1")
            spec = {
                "openapi": "3.0.3",
                "info": {"title": "Bench", "version": "1"},
                "servers": [{"url": target.url}],
                "paths": {
                    "/items/{id}": {
                        "get": {
                            "operationId": "getItem",
                            "parameters": [
                                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                                {
                                    "name": "fields",
                                    "in": "query",
                                    "schema": {"type": "array", "items": {"type": "string"}},
                                },
                                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
                            ],
                            "responses": {"200": {"description": "ok"}},
                        }
                    }
                },
            }
            action = action_import(
                workspace=workspace,
                source=SpecSource(kind=SourceKind.TEXT, text=json.dumps(spec)),
                auth_data={"type": "api_key", "location": "header", "name": "X-API-Key", "api_key": API_KEY},
            ).action
            operation_id = Operation.objects.get(action=action).pk
            arguments = json.dumps({"id": "item 42", "fields": ["name", "price"], "limit": 10})
            url = f"{target.url}/items/item%2042?fields=name&fields=price&limit=10"

            print(f"{args.calls} calls each, after warm-up; target answers instantly on loopback")
            print("results:")
            with httpx.Client() as client:
                for _ in range(20):
                    client.get(url, headers={"X-API-Key": API_KEY})
                samples = []
                for _ in range(args.calls):
                    t0 = time.perf_counter()
                    client.get(url, headers={"X-API-Key": API_KEY}).raise_for_status()
                    samples.append((time.perf_counter() - t0) * 1000)
            baseline = report("baseline: direct HTTP request", samples)

            for _ in range(20):
                assert invoke_tool(workspace_id=workspace.pk, operation_id=operation_id, arguments_json=arguments).ok
            samples, inner = [], []
            for _ in range(args.calls):
                t0 = time.perf_counter()
                outcome = invoke_tool(workspace_id=workspace.pk, operation_id=operation_id, arguments_json=arguments)
                samples.append((time.perf_counter() - t0) * 1000)
                inner.append(outcome.trace["overhead_ms"])
            direct = report("invoke_tool (in process)", samples, baseline)
            report("  of which validate+build+read, without egress", inner)

            if not args.no_celery:
                worker.start()
                for _ in range(20):
                    assert tool_invoke.delay(workspace.pk, operation_id, arguments).get(timeout=30)["ok"]
                to_target, round_trip = [], []
                for _ in range(args.calls):
                    before = len(target.seen)
                    t0 = time.perf_counter()
                    result = tool_invoke.delay(workspace.pk, operation_id, arguments).get(timeout=30)
                    t1 = time.perf_counter()
                    assert result["ok"]
                    arrived = target.seen[before].received_at
                    to_target.append((arrived - t0) * 1000)
                    round_trip.append((t1 - t0) * 1000)
                # The direct request's arrival at the target costs about half its round trip.
                report("celery: .delay() -> request at the target", to_target, baseline / 2)
                report("celery: .delay() -> result in the caller", round_trip, baseline)
            print(
                f"\nbudget: overhead p50 ≤ 15 ms -> invoke_tool {direct - baseline:.2f} ms "
                f"({'OK' if direct - baseline <= 15 else 'OVER'})"
            )
            Action.objects.filter(workspace=workspace).delete()
            workspace.delete()
    finally:
        worker.stop()
        stop_services(started)


if __name__ == "__main__":
    main()

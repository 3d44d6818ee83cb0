"""Platform overhead on time-to-first-token, measured end to end.

Starts the platform the way `manage.py run` does (embedded PostgreSQL and Redis in .data/bench,
uvicorn, a Celery worker), points a bot at the fake OpenAI-compatible server from the test suite
(which answers instantly), then measures, at the client:

  baseline  time to the first content chunk when calling the fake LLM directly
  platform  time from POST /api/v1/bots/{id}/chat (stream=true) to the first `delta` event

Overhead = platform − baseline median. Run:  .venv/bin/python bench/chat_latency.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as stdlib_platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from tests.fake_llm import FakeLLM  # noqa: E402

API_KEY = "sb-bench-0123456789abcdefghijklmnopqrstuv"
DATA_DIR = ROOT / ".data" / "bench" / "chat"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def start_platform(data_dir: Path, port: int, web_workers: int, concurrency: int | None = None) -> subprocess.Popen:
    """Start `manage.py run` on its own embedded services; `concurrency` None keeps the chat
    worker's default (green threads)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        SWITCHBOARD_DATA_DIR=str(data_dir),
        SWITCHBOARD_BOOTSTRAP_EMAIL="bench@example.com",
        SWITCHBOARD_BOOTSTRAP_PASSWORD="bench password 123",
        SWITCHBOARD_BOOTSTRAP_API_KEY=API_KEY,
        SWITCHBOARD_WEB_WORKERS=str(web_workers),
        SWITCHBOARD_LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "warning"),
    )
    if concurrency is not None:
        env["SWITCHBOARD_WORKER_CONCURRENCY"] = str(concurrency)
    log = (data_dir.parent / "bench-platform.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit("the platform exited; see .data/bench-platform.log")
        time.sleep(0.5)
    raise SystemExit("the platform did not become healthy")


def setup_bot(base: str, fake: FakeLLM) -> str:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        provider = client.post(
            "/api/v1/providers/",
            json={
                "name": f"fake-{time.time_ns()}",
                "kind": "openai_compatible",
                "base_url": fake.base_url,
                "api_key": "sk-bench",
            },
        ).json()
        model = client.post(f"/api/v1/providers/{provider['id']}/models/", json={"model": "fake-chat"}).json()
        bot = client.post(
            "/api/v1/bots/",
            json={
                "name": f"bench-{time.time_ns()}",
                "config": {"system_prompt": "You are fast.", "model": {"provider_model_id": model["id"]}},
            },
        ).json()
        client.post(f"/api/v1/bots/{bot['id']}/publish", json={}).raise_for_status()
        return bot["id"]


SERVER_SIDE: list[dict] = []


async def first_delta_ms(client: httpx.AsyncClient, bot_id: str, conversation: str | None) -> tuple[float, str]:
    body = {"message": "ping", "stream": True, **({"conversation_id": conversation} if conversation else {})}
    started = time.perf_counter()
    first = None
    async with client.stream("POST", f"/api/v1/bots/{bot_id}/chat", json=body) as response:
        response.raise_for_status()
        conversation_id = response.headers["x-conversation-id"]
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "delta" and first is None:
                first = (time.perf_counter() - started) * 1000
            elif line.startswith("data: ") and event == "message.end":
                end = json.loads(line[6:])
                SERVER_SIDE.append(end["latency"])
                state = end["state"]
                if state != "completed":
                    raise RuntimeError(f"turn ended {state}")
                break
    if first is None:
        raise RuntimeError("no delta")
    return first, conversation_id


async def baseline_ms(fake: FakeLLM, n: int) -> list[float]:
    results = []
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(n):
            started = time.perf_counter()
            async with client.stream(
                "POST",
                f"{fake.base_url}/chat/completions",
                json={"model": "fake-chat", "stream": True, "messages": [{"role": "user", "content": "ping"}]},
            ) as response:
                first = None
                async for line in response.aiter_lines():
                    if first is None and ('"content":"E' in line or '"content": "E' in line):
                        first = (time.perf_counter() - started) * 1000
                results.append(first)
    return results


async def run_clients(
    base: str, bot_id: str, clients: int, turns: int, think: tuple[float, float] = (0.0, 0.0)
) -> tuple[list[float], int]:
    """`clients` conversations at once, each `turns` turns; between turns a person reads and types
    for a random `think` seconds (0 = back-to-back, which saturates the machine)."""
    import random

    rng = random.Random(42)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60, limits=limits
    ) as client:

        async def conversation():
            nonlocal errors
            conversation_id = None
            await asyncio.sleep(rng.uniform(0, think[1]))  # people do not all press Enter at once
            for _ in range(turns):
                try:
                    latency, conversation_id = await first_delta_ms(client, bot_id, conversation_id)
                    latencies.append(latency)
                except Exception:
                    errors += 1
                if think[1]:
                    await asyncio.sleep(rng.uniform(*think))

        await asyncio.gather(*(conversation() for _ in range(clients)))
    return latencies, errors


def cpu_by_component(root_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the platform's processes, grouped by component."""
    import psutil

    totals: dict[str, float] = {}
    procs = [psutil.Process(root_pid), *psutil.Process(root_pid).children(recursive=True)]
    data_dir = str(DATA_DIR)
    for proc in psutil.process_iter(["cmdline", "name"]):
        # Only this benchmark's own embedded servers (and PostgreSQL's backends of them).
        if data_dir in " ".join(proc.info["cmdline"] or []) and proc not in procs:
            procs.append(proc)
            procs.extend(child for child in proc.children(recursive=True) if child not in procs)
    for proc in procs:
        try:
            cmdline = " ".join(proc.cmdline())
            times = proc.cpu_times()
        except psutil.Error:
            continue
        # uvicorn's worker processes are multiprocessing children: judge them by their parents too.
        lineage = (
            cmdline
            + " "
            + " ".join(
                " ".join(parent.cmdline()) for parent in proc.parents() if parent.pid != root_pid and parent.pid != 1
            )
        )
        name = (
            "web"
            if "uvicorn" in lineage
            else "worker"
            if "celery" in lineage
            else "postgres"
            if "postgres" in cmdline
            else "redis"
            if "redis-server" in cmdline
            else "supervisor"
        )
        totals[name] = totals.get(name, 0.0) + times.user + times.system
    return totals


def report(name: str, values: list[float], baseline: float, errors: int) -> dict:
    overhead = [v - baseline for v in values]
    server = SERVER_SIDE[-len(values) :]
    queue = statistics.median(s["queue_ms"] for s in server)
    ttft = statistics.median(s["ttft_ms"] for s in server)
    row = {
        "scenario": name,
        "turns": len(values),
        "errors": errors,
        "ttft_p50_ms": round(statistics.median(values), 1),
        "ttft_p95_ms": round(percentile(values, 95), 1),
        "overhead_p50_ms": round(statistics.median(overhead), 1),
        "overhead_p95_ms": round(percentile(overhead, 95), 1),
        "server_queue_p50_ms": round(queue, 1),
        "server_ttft_p50_ms": round(ttft, 1),
    }
    print(json.dumps(row))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=200, help="sequential turns at 1 conversation")
    parser.add_argument("--clients", type=int, default=50, help="concurrent streaming conversations")
    parser.add_argument("--turns-per-client", type=int, default=6)
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(2.0, 6.0),
        metavar=("MIN", "MAX"),
        help="seconds a person spends between turns in the concurrent scenario",
    )
    parser.add_argument("--web-workers", type=int, default=1)
    parser.add_argument(
        "--worker-concurrency", type=int, default=None, help="chat worker concurrency (default: the platform's own)"
    )
    args = parser.parse_args()

    data_dir = DATA_DIR
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(
        f"# machine: {stdlib_platform.processor() or stdlib_platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {stdlib_platform.python_version()}; web workers {args.web_workers}, "
        f"chat worker concurrency {args.worker_concurrency or 'default'}"
    )
    with FakeLLM() as fake:
        process = start_platform(data_dir, port, args.web_workers, args.worker_concurrency)
        try:
            bot_id = setup_bot(base, fake)
            baseline = statistics.median(asyncio.run(baseline_ms(fake, 100)))
            print(json.dumps({"scenario": "fake LLM direct", "ttft_p50_ms": round(baseline, 2)}))
            asyncio.run(run_clients(base, bot_id, 1, 20))  # warm-up: connections, pools, caches
            if os.environ.get("BENCH_PROFILE"):
                import psutil

                for child in psutil.Process(process.pid).children(recursive=True):
                    kind = "worker" if "celery" in " ".join(child.cmdline()) else "web"
                    subprocess.Popen(
                        [
                            str(Path(sys.executable).parent / "py-spy"),
                            "record",
                            "-p",
                            str(child.pid),
                            "-d",
                            "12",
                            "-f",
                            "raw",
                            "-o",
                            f"/tmp/prof-{kind}-{child.pid}.txt",
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                time.sleep(1)
            before = cpu_by_component(process.pid)
            latencies, errors = asyncio.run(run_clients(base, bot_id, 1, args.turns))
            after = cpu_by_component(process.pid)
            report("1 conversation", latencies, baseline, errors)
            print(
                json.dumps(
                    {"cpu_ms_per_turn": {k: round((after[k] - before.get(k, 0)) * 1000 / args.turns, 2) for k in after}}
                )
            )
            latencies, errors = asyncio.run(
                run_clients(base, bot_id, args.clients, args.turns_per_client, think=tuple(args.think))
            )
            report(
                f"{args.clients} concurrent conversations, {args.think[0]:g}-{args.think[1]:g} s between turns",
                latencies,
                baseline,
                errors,
            )
            latencies, errors = asyncio.run(run_clients(base, bot_id, args.clients, 3))
            report(f"{args.clients} concurrent conversations, back-to-back (saturation)", latencies, baseline, errors)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(60)


if __name__ == "__main__":
    main()

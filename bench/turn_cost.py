"""What one chat turn costs: time to first token and total against a bare model, throughput at 50
clients, CPU per turn of every process, and memory — in one run.

Starts the platform as `manage.py run` does, on its own embedded PostgreSQL and Redis (in
.data/bench/chat), with one web process and one chat worker process, and the test suite's fake
OpenAI-compatible model, which answers at once. Then, with the same streaming HTTP client:

  1 client    20 warm-up turns, then TURNS turns one after another: time to the first `delta`
              and to `message.end`, next to the same request sent to the model directly;
              CPU seconds of web, worker, PostgreSQL and Redis over those turns, per turn
  50 clients  back to back for SECONDS: turns per second, time to first token p50/p95, errors
  memory      peak RSS of the web and worker processes over the run (with --soak N, after N more
              turns, to show whether it grows)

Run:  .venv/bin/python -m bench.turn_cost [--turns 200] [--clients 50] [--seconds 30] [--soak 10000] [--route rest]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as stdlib_platform
import re
import shutil
import signal
import statistics
import threading
import time
from collections.abc import Callable

import httpx
import psutil

from bench.chat_latency import API_KEY, DATA_DIR, cpu_by_component, free_port, percentile, setup_bot, start_platform
from tests.fake_llm import FakeLLM


async def _stream_turn(
    client: httpx.AsyncClient, method: str, url: str, body: dict, first_marker
) -> tuple[float, float]:
    started = time.perf_counter()
    first = None
    async with client.stream(method, url, json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if first is None and first_marker(line):
                first = (time.perf_counter() - started) * 1000
            if line.startswith("event: message.end") or line.strip() == "data: [DONE]":
                break
    total = (time.perf_counter() - started) * 1000
    if first is None:
        raise RuntimeError("no first token")
    return first, total


_NON_EMPTY_CONTENT = re.compile(r'"content": ?"[^"]')


def _is_delta(state: dict):
    def marker(line: str) -> bool:
        if line.startswith("event: "):
            state["event"] = line[7:]
        return line.startswith("data: ") and state.get("event") == "delta"

    return marker


def _route(base: str, bot_id: str, route: str) -> tuple[str, dict, Callable[[], Callable[[str], bool]]]:
    """URL, body and first-token marker of one streamed turn on the chosen route."""
    if route == "rest":
        return f"/api/v1/bots/{bot_id}/chat", {"message": "ping", "stream": True}, lambda: _is_delta({})
    bot = httpx.get(f"{base}/api/v1/bots/{bot_id}", headers={"Authorization": f"Bearer {API_KEY}"}).json()
    body = {"model": bot["slug"], "stream": True, "messages": [{"role": "user", "content": "ping"}]}
    return "/v1/chat/completions", body, lambda: _NON_EMPTY_CONTENT.search


async def platform_turns(base: str, bot_id: str, turns: int, route: str = "openai") -> list[tuple[float, float]]:
    url, body, marker = _route(base, bot_id, route)
    results = []
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60) as client:
        for _ in range(turns):
            results.append(await _stream_turn(client, "POST", url, body, marker()))
    return results


async def direct_turns(fake: FakeLLM, turns: int) -> list[tuple[float, float]]:
    body = {"model": "fake-chat", "stream": True, "messages": [{"role": "user", "content": "ping"}]}
    results = []
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(turns):
            results.append(
                await _stream_turn(client, "POST", f"{fake.base_url}/chat/completions", body, _NON_EMPTY_CONTENT.search)
            )
    return results


async def back_to_back(
    base: str, bot_id: str, clients: int, seconds: float, route: str = "openai"
) -> tuple[list[float], int, float]:
    """`clients` clients each sending a turn as soon as the last one ended, for `seconds`."""
    url, body, marker = _route(base, bot_id, route)
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=120, limits=limits
    ) as client:

        async def one_client():
            nonlocal errors
            while time.monotonic() < deadline:
                try:
                    first, _ = await _stream_turn(client, "POST", url, body, marker())
                    latencies.append(first)
                except Exception:
                    errors += 1

        started = time.monotonic()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.monotonic() - started
    return latencies, errors, elapsed


class PeakMemory:
    """Samples the RSS of the web and worker processes every 200 ms."""

    def __init__(self, root_pid: int):
        self.root = psutil.Process(root_pid)
        self.peak = {"web": 0, "worker": 0}
        self.last = {"web": 0, "worker": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> PeakMemory:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            now = {"web": 0, "worker": 0}
            for child in self.root.children(recursive=True):
                try:
                    cmdline = " ".join(child.cmdline())
                    rss = child.memory_info().rss
                except psutil.Error:
                    continue
                kind = (
                    "worker" if "celery" in cmdline and "chat" in cmdline else "web" if "uvicorn" in cmdline else None
                )
                if kind:
                    now[kind] = max(now[kind], rss)  # per process, the largest
            for kind, rss in now.items():
                self.last[kind] = rss
                self.peak[kind] = max(self.peak[kind], rss)


def _ms(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values), 1), "p95": round(percentile(values, 95), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--soak", type=int, default=0, help="then this many more turns, to watch memory")
    parser.add_argument(
        "--route",
        choices=["openai", "rest"],
        default="openai",
        help="POST /v1/chat/completions (a published bot, as an OpenAI SDK calls it) or /api/v1/bots/{id}/chat",
    )
    args = parser.parse_args()
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    DATA_DIR.mkdir(parents=True)
    os.environ["SWITCHBOARD_CHAT_WORKER_PROCESSES"] = "1"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(
        f"# machine: {stdlib_platform.processor() or stdlib_platform.machine()}, {os.cpu_count()} CPUs, "
        f"{round(psutil.virtual_memory().total / 2**30)} GB, Python {stdlib_platform.python_version()}; "
        "1 web process, 1 chat worker process"
    )
    with FakeLLM() as fake:
        process = start_platform(DATA_DIR, port, web_workers=1)
        memory = PeakMemory(process.pid).start()
        try:
            bot_id = setup_bot(base, fake)
            asyncio.run(direct_turns(fake, 20))
            direct = asyncio.run(direct_turns(fake, args.turns))
            asyncio.run(platform_turns(base, bot_id, 20, args.route))  # warm-up
            before = cpu_by_component(process.pid)
            through = asyncio.run(platform_turns(base, bot_id, args.turns, args.route))
            after = cpu_by_component(process.pid)
            direct_first = statistics.median(first for first, _ in direct)
            direct_total = statistics.median(total for _, total in direct)
            print(
                json.dumps(
                    {
                        "scenario": f"1 client, {args.route} route",
                        "turns": args.turns,
                        "direct_ttft_ms": _ms([f for f, _ in direct]),
                        "direct_total_ms": _ms([t for _, t in direct]),
                        "platform_ttft_ms": _ms([f for f, _ in through]),
                        "platform_total_ms": _ms([t for _, t in through]),
                        "ttft_overhead_ms": _ms([f - direct_first for f, _ in through]),
                        "total_overhead_ms": _ms([t - direct_total for _, t in through]),
                    }
                )
            )
            per_turn = {
                name: round((after[name] - before.get(name, 0.0)) * 1000 / args.turns, 2)
                for name in ("web", "worker", "postgres", "redis")
                if name in after
            }
            print(json.dumps({"cpu_ms_per_turn": per_turn, "total": round(sum(per_turn.values()), 2)}))
            latencies, errors, elapsed = asyncio.run(back_to_back(base, bot_id, args.clients, args.seconds, args.route))
            print(
                json.dumps(
                    {
                        "scenario": f"{args.clients} clients back to back, {args.seconds:g} s",
                        "turns": len(latencies),
                        "errors": errors,
                        "turns_per_second": round(len(latencies) / elapsed, 1),
                        "ttft_ms": _ms(latencies) if latencies else None,
                    }
                )
            )
            if args.soak:
                asyncio.run(platform_turns(base, bot_id, args.soak, args.route))
            memory.stop()
            print(
                json.dumps(
                    {
                        "peak_rss_mb": {kind: round(rss / 2**20) for kind, rss in memory.peak.items()},
                        "final_rss_mb": {kind: round(rss / 2**20) for kind, rss in memory.last.items()},
                        "turns_served": args.turns + 20 + len(latencies) + args.soak,
                    }
                )
            )
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(60)


if __name__ == "__main__":
    main()

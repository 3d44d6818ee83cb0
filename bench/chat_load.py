"""Many visitors at once on a real-speed model: does every turn complete, and how fast does it start?

Starts the platform exactly as `manage.py run` does with its defaults (embedded PostgreSQL and
Redis in .data/bench/load, one web process, the chat worker on green threads, the ingest
worker), and a fake model in a process of its own that stays silent `--first-token` seconds
and then streams `--tokens` tokens over `--stream-seconds` (like a real one). Then `--visitors`
people each talk to a published bot over `/v1/chat/completions` (streaming, with their history)
for `--duration` seconds: send a message, read the answer to the end, think 2.5–7.5 s, again.

Reported: turns completed and failed; lost messages (every answer a visitor saw must be stored,
completed, with the same text); time to the first token at the visitor against the model's own
(measured directly on the same fake); total turn time; turns/s; peak resident memory of the web
and worker processes; CPU used per turn by each component.

    .venv/bin/python bench/chat_load.py                      # 200 visitors, 2 minutes
    .venv/bin/python bench/chat_load.py --visitors 50 --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as stdlib_platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from bench.chat_latency import API_KEY, free_port, percentile, setup_bot  # noqa: E402

DATA_DIR = ROOT / ".data" / "bench" / "load"
TURN_DEADLINE_SECONDS = 120


@dataclass
class Turn:
    visitor: int
    started: float
    ttft: float | None = None
    total: float | None = None
    text: str = ""
    message_id: str | None = None
    error: str | None = None


@dataclass
class Results:
    turns: list[Turn] = field(default_factory=list)


def start_platform(port: int, settings: list[str]) -> subprocess.Popen:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE") and not k.startswith("SWITCHBOARD_")
    }
    env.update(
        SWITCHBOARD_DATA_DIR=str(DATA_DIR),
        SWITCHBOARD_BOOTSTRAP_EMAIL="bench@example.com",
        SWITCHBOARD_BOOTSTRAP_PASSWORD="bench password 123",
        SWITCHBOARD_BOOTSTRAP_API_KEY=API_KEY,
        SWITCHBOARD_LOG_LEVEL="warning",
    )
    env.update(setting.split("=", 1) for setting in settings)
    log = (DATA_DIR.parent / "load-platform.log").open("w")
    # start_new_session: the platform gets Ctrl-C from us, once, not from the terminal as well.
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit("the platform exited; see .data/bench/load-platform.log")
        time.sleep(0.5)
    raise SystemExit("the platform did not become healthy")


def start_model(port: int, args) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "fake_model.py"),
            "--port",
            str(port),
            "--first-token",
            str(args.first_token),
            "--tokens",
            str(args.tokens),
            "--seconds",
            str(args.stream_seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    process.stdout.readline()  # "fake model on …": it listens
    return process


async def model_ttft(model_url: str, n: int) -> list[float]:
    """The model's own time to first token and total, called directly, `n` at a time."""
    async with httpx.AsyncClient(timeout=60) as client:

        async def one() -> float:
            started = time.perf_counter()
            async with client.stream(
                "POST",
                f"{model_url}/chat/completions",
                json={"model": "fake-chat", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
            ) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data: {"):
                        choices = json.loads(line[6:]).get("choices") or [{}]
                        if (choices[0].get("delta") or {}).get("content"):
                            return time.perf_counter() - started
            raise RuntimeError("no token")

        return list(await asyncio.gather(*(one() for _ in range(n))))


async def visitor(
    number: int,
    client: httpx.AsyncClient,
    model: str,
    deadline: float,
    rng: random.Random,
    think: tuple[float, float],
    results: Results,
) -> None:
    history: list[dict[str, str]] = []
    await asyncio.sleep(rng.uniform(0, think[1]))  # people do not all arrive in the same second
    while time.monotonic() < deadline:
        question = f"Visitor {number}, question {len(history) // 2 + 1}: how does this work?"
        turn = Turn(visitor=number, started=time.perf_counter())
        results.turns.append(turn)
        body = {"model": model, "stream": True, "messages": [*history[-6:], {"role": "user", "content": question}]}
        try:
            # Pings keep a stream alive forever; a turn that never ends must still end the run.
            await asyncio.wait_for(send_and_read(client, body, turn), TURN_DEADLINE_SECONDS)
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            turn.error = f"{type(exc).__name__}: {exc}"
        except TimeoutError:
            turn.error = f"no complete answer within {TURN_DEADLINE_SECONDS} s"
        turn.total = time.perf_counter() - turn.started
        if turn.error is None:
            history += [{"role": "user", "content": question}, {"role": "assistant", "content": turn.text}]
        await asyncio.sleep(rng.uniform(*think))


async def send_and_read(client: httpx.AsyncClient, body: dict, turn: Turn) -> None:
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            turn.error = f"HTTP {response.status_code}: {(await response.aread())[:200]!r}"
        else:
            await read_completion(response, turn)


async def read_completion(response: httpx.Response, turn: Turn) -> None:
    parts: list[str] = []
    done = False
    async for line in response.aiter_lines():
        if not line.startswith("data: "):
            continue
        data = line[6:]
        if data == "[DONE]":
            done = True
            break
        chunk = json.loads(data)
        if "error" in chunk:
            turn.error = f"stream error: {chunk['error']}"
            return
        for choice in chunk.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                if turn.ttft is None:
                    turn.ttft = time.perf_counter() - turn.started
                parts.append(text)
        extension = chunk.get("switchboard") or {}
        if extension.get("message_id"):
            turn.message_id = extension["message_id"]
            if extension.get("state") not in (None, "completed"):
                turn.error = f"turn ended {extension.get('state')}"
    turn.text = "".join(parts)
    if not done and turn.error is None:
        turn.error = "the stream ended without [DONE]"


class MemoryWatch:
    """Peak resident memory of the web and worker processes, sampled every half second."""

    def __init__(self, root_pid: int):
        self.root = psutil.Process(root_pid)
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> MemoryWatch:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for name, rss in rss_by_component(self.root).items():
                self.peak[name] = max(self.peak.get(name, 0.0), rss)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {name: round(value / 2**20, 1) for name, value in sorted(self.peak.items())}


def component(proc: psutil.Process) -> str:
    cmdline = " ".join(proc.cmdline())
    if "uvicorn" in cmdline:
        return "web"
    if "celery" in cmdline:
        return "ingest worker" if "--queues ingest" in cmdline else "chat worker"
    return "other"


def rss_by_component(root: psutil.Process) -> dict[str, float]:
    totals: dict[str, float] = {}
    for proc in root.children(recursive=True):
        try:
            name = component(proc) if "python" in proc.name() else "other"
            if name != "other":
                totals[name] = totals.get(name, 0.0) + proc.memory_info().rss
        except psutil.Error:
            continue
    return totals


def cpu_seconds(root: psutil.Process) -> dict[str, float]:
    totals: dict[str, float] = {}
    data_dir = str(DATA_DIR)
    procs = root.children(recursive=True)
    for proc in psutil.process_iter(["cmdline"]):
        if data_dir in " ".join(proc.info["cmdline"] or []) and proc not in procs:
            procs.append(proc)
            procs.extend(proc.children(recursive=True))
    for proc in procs:
        try:
            cmdline = " ".join(proc.cmdline())
            times = proc.cpu_times()
            name = "postgres" if "postgres" in cmdline else "redis" if "redis-server" in cmdline else component(proc)
        except psutil.Error:
            continue
        totals[name] = totals.get(name, 0.0) + times.user + times.system
    return totals


def check_stored(base: str, turns: list[Turn], latencies: list[dict]) -> tuple[int, list[str]]:
    """Every answer a visitor saw is stored, completed, with the same text. Collects the
    server-side latencies of each (queue wait, first token) into `latencies`."""
    problems: list[str] = []
    seen = [t for t in turns if t.error is None]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30) as client:
        for turn in seen:
            if turn.message_id is None:
                problems.append(f"visitor {turn.visitor}: no message id")
                continue
            stored = client.get(f"/api/v1/messages/{turn.message_id}").json()
            latencies.append(stored.get("latency") or {})
            if stored.get("state") != "completed" or stored.get("content") != turn.text:
                problems.append(
                    f"{turn.message_id}: stored {stored.get('state')} with "
                    f"{len(stored.get('content') or '')} characters, the visitor saw {len(turn.text)}"
                )
    return len(seen), problems


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(statistics.median(values) * 1000),
        "p95": round(percentile(values, 95) * 1000),
        "max": round(max(values) * 1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--duration", type=float, default=120, help="seconds visitors keep starting turns")
    parser.add_argument("--think", type=float, nargs=2, default=(2.5, 7.5), metavar=("MIN", "MAX"))
    parser.add_argument("--first-token", type=float, default=0.5, help="the model's silence before its first token")
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--stream-seconds", type=float, default=2.0)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="VARIABLE=VALUE",
        help="a platform setting to change from its default, e.g. SWITCHBOARD_WEB_WORKERS=2",
    )
    args = parser.parse_args()

    shutil.rmtree(DATA_DIR, ignore_errors=True)
    DATA_DIR.mkdir(parents=True)
    port, model_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    print(
        f"# machine: {stdlib_platform.machine()}, {os.cpu_count()} CPUs, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GB, Python {stdlib_platform.python_version()}; "
        f"{args.visitors} visitors for {args.duration:g} s, think {args.think[0]:g}-{args.think[1]:g} s; model "
        f"silent {args.first_token:g} s then {args.tokens} tokens over {args.stream_seconds:g} s; "
        f"settings changed: {', '.join(args.set) or 'none'}",
        flush=True,
    )
    model_process = start_model(model_port, args)
    process = start_platform(port, args.set)
    try:
        model_url = f"http://127.0.0.1:{model_port}/v1"

        class Model:  # what setup_bot needs of a fake
            base_url = model_url

        bot_id = setup_bot(base, Model)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
            slug = client.get(f"/api/v1/bots/{bot_id}").json()["slug"]
        direct = asyncio.run(model_ttft(model_url, 20))
        model_p50, model_p95 = statistics.median(direct), percentile(direct, 95)
        root = psutil.Process(process.pid)
        memory = MemoryWatch(process.pid).start()
        cpu_before = cpu_seconds(root)
        outside = {"visitors (this client)": psutil.Process(), "model": psutil.Process(model_process.pid)}
        outside_before = {name: sum(proc.cpu_times()[:2]) for name, proc in outside.items()}
        results = Results()
        started = time.monotonic()
        asyncio.run(run_visitors(base, slug, args, results))
        elapsed = time.monotonic() - started
        cpu_after = cpu_seconds(root)
        cpu_after.update({name: sum(proc.cpu_times()[:2]) for name, proc in outside.items()})
        cpu_before.update(outside_before)
        busy = sum(cpu_after.get(name, 0) - cpu_before.get(name, 0) for name in cpu_after) / elapsed
        peak_rss = memory.stop()
        server_side: list[dict] = []
        checked, problems = check_stored(base, results.turns, server_side)
        failed = [t for t in results.turns if t.error]
        done = [t for t in results.turns if not t.error]
        ttft = [t.ttft for t in done if t.ttft is not None]
        report = {
            "turns": len(results.turns),
            "completed": len(done),
            "failed": len(failed),
            "lost_messages": len(problems),
            "turns_per_s": round(len(done) / elapsed, 1),
            "model_ttft_ms": {"p50": round(model_p50 * 1000), "p95": round(model_p95 * 1000)},
            "ttft_ms": summary(ttft),
            "ttft_over_model_p95_ms": round((percentile(ttft, 95) - model_p95) * 1000) if ttft else None,
            "turn_total_ms": summary([t.total for t in done]),
            # Where the time to first token goes, as the platform recorded it: accepted → picked
            # up by the worker, and accepted → first token from the model.
            "server_queue_ms": summary([s["queue_ms"] / 1000 for s in server_side if s.get("queue_ms") is not None]),
            "server_ttft_ms": summary([s["ttft_ms"] / 1000 for s in server_side if s.get("ttft_ms") is not None]),
            "peak_rss_mb": peak_rss,
            "machine_cpu_busy": f"{busy:.2f} of {os.cpu_count()} cores",
            "cpu_ms_per_turn": {
                name: round((cpu_after.get(name, 0) - cpu_before.get(name, 0)) * 1000 / max(1, len(done)), 1)
                for name in sorted(cpu_after)
            },
        }
        print(json.dumps(report, indent=2))
        for turn in failed[:10]:
            print(f"failed: visitor {turn.visitor}: {turn.error}")
        for problem in problems[:10]:
            print(f"lost: {problem}")
        print(f"checked {checked} stored answers")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
        model_process.send_signal(signal.SIGTERM)
        model_process.wait(10)


async def run_visitors(base: str, model: str, args, results: Results) -> None:
    limits = httpx.Limits(max_connections=args.visitors + 10, max_keepalive_connections=args.visitors + 10)
    deadline = time.monotonic() + args.duration
    async with httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=httpx.Timeout(30, read=300),
        limits=limits,
    ) as client:
        await asyncio.gather(
            *(
                visitor(n, client, model, deadline, random.Random(n), tuple(args.think), results)
                for n in range(args.visitors)
            )
        )


if __name__ == "__main__":
    main()

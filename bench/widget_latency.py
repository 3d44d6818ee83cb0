"""The widget's own overhead on time to first token, next to the REST API's, on one platform.

Starts the platform (`manage.py run` on its own embedded services, as bench/chat_latency.py does)
and the test suite's instant fake OpenAI-compatible model, publishes a bot, allows a host origin,
starts one visitor session the way the chat frame does (frame document → ticket → session), then
alternates turns: one through POST /api/v1/bots/{id}/chat (stream) with an API key, one through
POST /widget/v1/chat with the visitor's session. It prints time to the first `delta` for each and
the difference of the medians and 95th percentiles.

Run:  .venv/bin/python -m bench.widget_latency [--turns 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform as stdlib_platform
import re
import shutil
import signal
import statistics
import time

import httpx

from bench.chat_latency import API_KEY, ROOT, free_port, percentile, setup_bot, start_platform
from tests.fake_llm import FakeLLM

DATA_DIR = ROOT / ".data" / "bench" / "widget"
HOST = "https://shop.example"


def visitor_session(base: str, bot_id: str) -> str:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    widget = httpx.patch(
        f"{base}/api/v1/bots/{bot_id}/widget",
        json={
            "allowed_origins": [HOST],
            "visitor_messages_per_minute": 1_000_000,
            "ip_messages_per_minute": 1_000_000,
            "daily_message_cap": 1_000_000,
        },
        headers=headers,
        timeout=30,
    ).json()
    page = httpx.get(f"{base}/widget/frame/{widget['public_id']}", params={"host": HOST}, timeout=30).text
    config = json.loads(re.search(r'type="application/json">(.*?)</script>', page)[1])
    session = httpx.post(
        f"{base}/widget/v1/sessions", json={"ticket": config["ticket"]}, headers={"Origin": base}, timeout=30
    )
    session.raise_for_status()
    return session.json()["token"]


def first_delta_ms(client: httpx.Client, url: str, body: dict) -> tuple[float, str]:
    started = time.perf_counter()
    first = None
    with client.stream("POST", url, json=body) as response:
        response.raise_for_status()
        conversation = response.headers["x-conversation-id"]
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "delta" and first is None:
                first = (time.perf_counter() - started) * 1000
            elif line.startswith("data: ") and event == "message.end":
                if json.loads(line[6:])["state"] != "completed":
                    raise RuntimeError("a turn did not complete")
                break
    if first is None:
        raise RuntimeError("no delta")
    return first, conversation


def summary(name: str, values: list[float]) -> dict:
    row = {
        "route": name,
        "turns": len(values),
        "ttft_p50_ms": round(statistics.median(values), 1),
        "ttft_p95_ms": round(percentile(values, 95), 1),
    }
    print(json.dumps(row))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=200, help="turns on each route, alternating")
    args = parser.parse_args()
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    DATA_DIR.mkdir(parents=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(
        f"# machine: {stdlib_platform.processor() or stdlib_platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {stdlib_platform.python_version()}"
    )
    with FakeLLM() as fake:
        process = start_platform(DATA_DIR, port, web_workers=1)
        try:
            bot_id = setup_bot(base, fake)
            token = visitor_session(base, bot_id)
            rest = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60)
            widget = httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}", "Origin": base}, timeout=60
            )
            routes = {
                "REST API": (rest, f"/api/v1/bots/{bot_id}/chat", {"stream": True}),
                "widget": (widget, "/widget/v1/chat", {}),
            }
            conversations: dict[str, str | None] = dict.fromkeys(routes)
            results: dict[str, list[float]] = {name: [] for name in routes}
            for turn in range(20 + args.turns):  # the first 20 of each warm connections and caches
                for name, (client, url, extra) in routes.items():
                    body = {"message": "ping", **extra}
                    if conversations[name]:
                        body["conversation_id"] = conversations[name]
                    latency, conversations[name] = first_delta_ms(client, url, body)
                    if turn % 10 == 9:
                        conversations[name] = None  # a new conversation every 10 turns, as visitors do
                    if turn >= 20:
                        results[name].append(latency)
            rows = [summary(name, values) for name, values in results.items()]
            print(
                json.dumps(
                    {
                        "widget_minus_rest_p50_ms": round(rows[1]["ttft_p50_ms"] - rows[0]["ttft_p50_ms"], 1),
                        "widget_minus_rest_p95_ms": round(rows[1]["ttft_p95_ms"] - rows[0]["ttft_p95_ms"], 1),
                    }
                )
            )
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(60)


if __name__ == "__main__":
    main()

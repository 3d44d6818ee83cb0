"""The widget as a visitor's browser gets it: what it downloads, when the launcher shows, how soon
the greeting appears, and what the widget adds to the time to the first token.

Starts the platform as `manage.py run` does (embedded PostgreSQL and Redis in .data/bench/widget),
a bot on the fake OpenAI-compatible server of the test suite, and a host page on a server of its
own (another origin), then drives Debian's Chromium with Playwright:

  sizes     widget.js, the frame document and its script and style files, raw and gzipped
  launcher  from navigation start to the launcher on screen, beside the page's load event (the page
            has an image that takes 300 ms, as real pages have)
  greeting  from the click on the launcher to the greeting visible in the window: warm (the frame
            was made after the page's load) and cold (the page is still loading, so the frame is
            made when the pointer reaches the launcher)
  first token  POST /widget/v1/chat versus POST /api/v1/bots/{id}/chat to the first `delta` event

Run:  .venv/bin/python -m bench.widget_frontend [--runs 20]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from bench.chat_latency import API_KEY, free_port, percentile, setup_bot, start_platform
from tests.fake_llm import FakeLLM

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / ".data" / "bench" / "widget"
STATIC = ROOT / "templates" / "static"
CHROMIUM = "/usr/bin/chromium"
SLOW_IMAGE_SECONDS = 0.3
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4a50000000049454e44ae426082"
)


class HostSite:
    """The customer's site: one page with the snippet and an image answered after a delay
    (`/?image=SECONDS`)."""

    def __init__(self, platform: str):
        self.public_id = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                seconds = float(query.partition("image=")[2].partition("&")[0] or SLOW_IMAGE_SECONDS)
                if path == "/slow.png":
                    time.sleep(seconds)
                    body, kind = PIXEL, "image/png"
                else:
                    body = (
                        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>'
                        f'<body><h1>Shop</h1><img src="/slow.png?image={seconds}" width="200" height="100" alt="">'
                        f'<script src="{platform}/widget.js" data-bot="{site.public_id}" '
                        'data-greeting="Hello! How can I help?" async></script></body></html>'
                    ).encode()
                    kind = "text/html"
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Cache-Control", "no-store")
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the browser left before the slow image came

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def sizes(platform: str, public_id: str, host: str) -> list[tuple[str, int, int]]:
    rows = []
    for name in ("widget/widget.js", "chat/core.js", "widget/frame.js", "widget/frame.css"):
        raw = (STATIC / name).read_bytes()
        rows.append((name, len(raw), len(gzip.compress(raw, 9))))
    document = httpx.get(f"{platform}/widget/frame/{public_id}", params={"host": host}).content
    rows.append(("frame document", len(document), len(gzip.compress(document, 9))))
    return rows


def allow_host(public_id_of_bot: str, host: str) -> str:
    """Let `host` show the bot's widget (no API for it: the Embed & share page's service, run in a
    shell on the benchmark's own data folder); returns the widget's public id."""
    code = (
        "from bots.models import Bot; from bots.widget.services import widget_update;"
        f"w = widget_update(bot=Bot.objects.get(pk={public_id_of_bot!r}), allowed_origins=[{host!r}],"
        " visitor_messages_per_minute=100000, ip_messages_per_minute=100000, daily_message_cap=1000000);"
        "print(w.public_id)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(SWITCHBOARD_DATA_DIR=str(DATA_DIR), SWITCHBOARD_LOG_LEVEL="warning")
    output = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return output.strip().splitlines()[-1]


# Installed before the page's own scripts: when the widget's host element joins the page and the
# next frame is painted, and when the load event starts.
WATCH_LAUNCHER = """(() => {
  if (window.top !== window) return;
  window.__bench = {};
  new MutationObserver((changes, observer) => {
    if (!document.querySelector("[data-switchboard-widget]")) return;
    observer.disconnect();
    requestAnimationFrame(() => requestAnimationFrame(() => { __bench.launcher = performance.now(); }));
  }).observe(document, { childList: true, subtree: true });
  document.addEventListener("pointerdown", () => { __bench.click = performance.timeOrigin + performance.now(); },
                            true);
})();"""

# In the chat frame: when the greeting first intersects the screen (the window has opened).
WATCH_GREETING = """(() => {
  if (!location.pathname.startsWith("/widget/frame/")) return;
  window.__greeting = null;
  const watch = () => {
    const node = document.querySelector(".msg.opening");
    if (!node) { setTimeout(watch, 5); return; }  // no animation frames while the window is hidden
    new IntersectionObserver(entries => {
      if (entries.some(e => e.isIntersecting) && __greeting === null) {
        __greeting = performance.timeOrigin + performance.now();
      }
    }).observe(node);
  };
  watch();
})();"""


def browser_runs(platform: str, host: HostSite, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    results: dict[str, list[float]] = {"launcher": [], "load": [], "warm": [], "cold": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"] if os.geteuid() == 0 else []
        )
        for run in range(runs + 1):  # the first run warms caches and is not counted
            for mode in ("warm", "cold"):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.add_init_script(WATCH_LAUNCHER)
                page.add_init_script(WATCH_GREETING)
                # Cold: the page's image takes long, so the load event (and the frame) wait for the pointer.
                image = 30 if mode == "cold" else SLOW_IMAGE_SECONDS
                page.goto(f"{host.origin}/?image={image}&run={run}", wait_until="load" if mode == "warm" else "commit")
                if mode == "warm":
                    page.wait_for_function("window.__bench.launcher !== undefined")
                    load = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventStart")
                    launcher = page.evaluate("window.__bench.launcher")
                    frame = wait_for_frame(page)
                    frame.wait_for_function("() => !!document.querySelector('.msg.opening')", polling=20)
                else:
                    page.wait_for_function("window.__bench.launcher !== undefined")
                page.mouse.click(1280 - 48, 800 - 48)
                frame = wait_for_frame(page)
                frame.wait_for_function("() => window.__greeting !== null", polling=5)
                greeting = frame.evaluate("window.__greeting") - page.evaluate("window.__bench.click")
                if run:
                    results[mode].append(greeting)
                    if mode == "warm":
                        results["launcher"].append(launcher)
                        results["load"].append(load)
                context.close()
        browser.close()
    return results


def wait_for_frame(page):
    for _ in range(600):
        for frame in page.frames:
            if "/widget/frame/" in frame.url:
                return frame
        page.wait_for_timeout(20)
    raise SystemExit("the widget's frame never appeared")


def first_delta(client: httpx.Client, url: str, body: dict, headers: dict) -> float:
    started = time.perf_counter()
    with client.stream("POST", url, json=body, headers=headers) as response:
        response.raise_for_status()
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "delta":
                return (time.perf_counter() - started) * 1000
    raise RuntimeError(f"no delta from {url}")


def first_tokens(platform: str, bot_id: str, public_id: str, host: str, turns: int) -> dict[str, list[float]]:
    """Alternate widget and REST turns (one conversation each) and time each to its first delta."""
    with httpx.Client(base_url=platform, timeout=30) as client:
        page = client.get(f"/widget/frame/{public_id}", params={"host": host}).text
        config = json.loads(re.search(r'"switchboard-widget-config" type="application/json">(.*?)</script>', page)[1])
        origin = {"Origin": host}
        session = client.post("/widget/v1/sessions", json={"ticket": config["ticket"]}, headers=origin).json()
        widget_headers = {**origin, "Authorization": f"Bearer {session['token']}"}
        rest_headers = {"Authorization": f"Bearer {API_KEY}"}
        times: dict[str, list[float]] = {"widget": [], "rest": []}
        conversations: dict[str, str | None] = {"widget": None, "rest": None}
        for turn in range(turns + 2):  # two warm-up turns
            for kind in ("widget", "rest"):
                if kind == "widget":
                    body = {"message": "ping", "conversation_id": conversations["widget"], "inputs": {}}
                    ms = first_delta(client, "/widget/v1/chat", body, widget_headers)
                else:
                    body = {"message": "ping", "stream": True}
                    if conversations["rest"]:
                        body["conversation_id"] = conversations["rest"]
                    ms = first_delta(client, f"/api/v1/bots/{bot_id}/chat", body, rest_headers)
                if turn >= 2:
                    times[kind].append(ms)
                time.sleep(0.05)
    return times


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):7.1f} ms   p95 {percentile(values, 95):7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="page loads per measurement")
    parser.add_argument("--turns", type=int, default=30, help="turns per API for the first-token comparison")
    args = parser.parse_args()

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # Every page load starts a visitor session from 127.0.0.1: far more a minute than one visitor does.
    os.environ["SWITCHBOARD_WIDGET_SESSIONS_PER_IP_PER_MINUTE"] = "1000000"
    port = free_port()
    platform = f"http://127.0.0.1:{port}"
    process = start_platform(DATA_DIR, port, web_workers=1)
    try:
        with FakeLLM(api_key="sk-bench") as fake:
            bot_id = setup_bot(platform, fake)
            host = HostSite(platform)
            host.public_id = public_id = allow_host(bot_id, host.origin)

            print("sizes (bytes)                 raw   gzip -9")
            for name, raw, packed in sizes(platform, public_id, host.origin):
                print(f"  {name:<24} {raw:>7} {packed:>8}")
            total = sum(packed for name, _, packed in sizes(platform, public_id, host.origin)[1:])
            print(f"  {'frame with its files':<24} {'':>7} {total:>8}")

            results = browser_runs(platform, host, args.runs)
            print(f"\nhost page ({args.runs} loads; its image takes {SLOW_IMAGE_SECONDS * 1000:.0f} ms)")
            print(f"  launcher on screen        {summary(results['launcher'])}   (from navigation start)")
            print(f"  load event                {summary(results['load'])}")
            before = sum(1 for a, b in zip(results["launcher"], results["load"], strict=True) if a < b)
            print(f"  launcher before load      {before} of {len(results['load'])}")
            print(f"\nclick on the launcher to the greeting visible ({args.runs} runs)")
            print(f"  warm (frame made after load)     {summary(results['warm'])}")
            print(f"  cold (frame made at first hover) {summary(results['cold'])}")

            tokens = first_tokens(platform, bot_id, public_id, host.origin, args.turns)
            print(f"\nto the first delta ({args.turns} turns each, alternating)")
            print(f"  widget API  {summary(tokens['widget'])}")
            print(f"  REST API    {summary(tokens['rest'])}")
            difference = statistics.median(tokens["widget"]) - statistics.median(tokens["rest"])
            print(f"  widget − REST, medians: {difference:+.1f} ms")
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()

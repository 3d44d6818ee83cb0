"""Fixtures for the widget in a browser: a host site on another origin than the platform, a bot
published with its widget allowed there, and the limits' counters cleared between tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# The action target and its imported operations, as the bots' tool-call tests use them.
from tests.bots.conftest import _target, operations, target

__all__ = ["_target", "operations", "target"]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "widget"


class HostSite:
    """A customer's site: pages served by a small HTTP server of its own on 127.0.0.1 and another port
    than the platform's, so the browser treats it as another origin."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                html = site.pages.get(self.path.split("?")[0])
                body = (html if html is not None else "not found").encode()
                self.send_response(200 if html is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def page(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.origin + path

    def __enter__(self) -> HostSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def _host_site() -> Iterator[HostSite]:
    with HostSite() as site:
        yield site


@pytest.fixture
def host_site(_host_site: HostSite) -> Iterator[HostSite]:
    _host_site.pages.clear()
    yield _host_site
    _host_site.pages.clear()


def host_page(
    live_server_url: str,
    public_id: str | None,
    *,
    lang: str = "en",
    dark: bool = False,
    attributes: str = "",
    before: str = "",
) -> str:
    """A host page with the snippet the Embed & share page gives, its own styles meant to disturb."""
    background, colour = ("#0b1020", "#e5e7eb") if dark else ("#ffffff", "#111827")
    bot = f' data-bot="{public_id}"' if public_id else ""
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customer site</title>
<style>
  body {{ background: {background}; color: {colour}; font: 16px Georgia, serif; margin: 0; padding: 24px; }}
  button, div, iframe {{ border: 3px dotted red !important; background: yellow; }}
  * {{ box-sizing: content-box; }}
</style></head>
<body>
<h1 id="heading">A customer's page</h1>
<p>Products, prices and a chat in the corner.</p>
<input id="search" aria-label="Search" placeholder="Search">
{before}
<script src="{live_server_url}/widget.js"{bot}{attributes} async></script>
</body></html>"""


@pytest.fixture(autouse=True)
def _fresh_limits(redis_client) -> Iterator[None]:
    """Every test starts sessions and sends messages from 127.0.0.1: the counters of the limits
    start at zero for each, as if each ran in a minute and a day of its own."""

    def clear() -> None:
        keys = list(redis_client.scan_iter("widget:rate:*"))
        if keys:
            redis_client.delete(*keys)

    clear()
    yield
    clear()


@pytest.fixture
def widget_bot(make_bot, host_site):
    """A published bot whose widget the host site may show."""
    from bots.widget.services import widget_update

    def make(*, origins: list[str] | None = None, **config):
        config.setdefault("name", "Hotel helper")
        bot = make_bot(**config)
        widget_update(bot=bot, allowed_origins=[host_site.origin] if origins is None else origins)
        return bot

    return make


def public_id(bot) -> str:
    from bots.models import BotWidget

    return BotWidget.objects.get(bot=bot).public_id


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

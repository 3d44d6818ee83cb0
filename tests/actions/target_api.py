"""A real HTTP server standing in for the API an action calls (stdlib ThreadingHTTPServer).

Every request is recorded (method, raw path with query, headers, body). By default the server
echoes the request back as JSON; tests register handlers for paths that should behave otherwise
(OAuth2 token endpoint, slow answers, 500s, huge bodies, redirects).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    target: str  # path and query as sent
    headers: dict[str, str]
    body: bytes
    received_at: float = 0.0

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query

    @property
    def query_params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Seen], Reply | None]


class TargetAPI:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        target = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle's algorithm meets the
            # client's delayed ACK and every keep-alive response waits ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(
                    method=self.command,
                    target=self.path,
                    headers=dict(self.headers.items()),
                    body=body,
                    received_at=time.perf_counter(),
                )
                with target._lock:
                    target.seen.append(seen)
                handler = target.handlers.get(seen.path)
                reply = handler(seen) if handler else None
                if reply is None:
                    reply = Reply(
                        200,
                        {
                            "method": seen.method,
                            "path": seen.path,
                            "query": seen.query,
                            "headers": seen.headers,
                            "body": body.decode("utf-8", "replace"),
                        },
                    )
                if callable(getattr(reply, "stream", None)):
                    reply.stream(self)
                    return
                payload = reply.body
                headers = dict(reply.headers)
                if not isinstance(payload, (bytes, str)):
                    payload = json.dumps(payload)
                    headers.setdefault("Content-Type", "application/json")
                if isinstance(payload, str):
                    payload = payload.encode("utf-8")
                    headers.setdefault("Content-Type", "text/plain; charset=utf-8")
                self.send_response(reply.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TargetAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()
        self.handlers.clear()

    @property
    def last(self) -> Seen:
        return self.seen[-1]

    def calls_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]


class Streamed:
    """A reply written in chunks (for bodies too big to build in memory)."""

    def __init__(
        self,
        total_bytes: int,
        chunk: bytes = b"x" * 65536,
        content_type: str = "text/plain",
        declare_length: bool = True,
    ) -> None:
        self.total_bytes = total_bytes
        self.chunk = chunk
        self.content_type = content_type
        self.declare_length = declare_length

    def stream(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", self.content_type)
        if self.declare_length:
            handler.send_header("Content-Length", str(self.total_bytes))
        else:
            handler.send_header("Connection", "close")  # the body ends when the connection does
            handler.close_connection = True
        handler.end_headers()
        sent = 0
        try:
            while sent < self.total_bytes:
                piece = self.chunk[: self.total_bytes - sent]
                handler.wfile.write(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading, as it should

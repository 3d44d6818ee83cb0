"""A fake OpenAI-compatible LLM server speaking real HTTP.

The LLM provider is the one third-party service the test suite does not run
for real, so this server reproduces its wire format closely enough that the
official ``openai`` SDK and our own HTTP clients work against it unchanged.

It is built on ``http.server.ThreadingHTTPServer`` (one thread per
connection, HTTP/1.1 keep-alive, TCP_NODELAY) so pooled clients reuse
connections and latency benchmarks measure our code rather than the fake.
Streams use chunked transfer encoding so the connection survives them too.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from tests.fake_llm import wire
from tests.fake_llm.replies import (
    ChatReply,
    DropReply,
    EmbeddingReply,
    ErrorReply,
    HangReply,
    TextReply,
    ToolCallReply,
    random_id,
)

DEFAULT_MODELS = ("fake-chat", "fake-embed")
_MODEL_CREATED = 1_700_000_000
# Upper bound on how long stop() waits for in-flight handlers; they are
# daemon threads, so anything slower is abandoned rather than waited for.
_STOP_JOIN_SECONDS = 2.0


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it. Header names are lower-cased;
    ``client`` is the peer (host, port), which tells connections apart."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    client: tuple[str, int]


class _Abort(Exception):
    """The server is stopping: drop the connection without answering."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Idle keep-alive connections would make server_close() wait forever;
    # stop() closes connections itself and joins with a deadline instead.
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops connections when many clients open at once.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], fake: FakeLLM) -> None:
        self.fake = fake
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._connections_lock = threading.Lock()
        self._closing = False
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            closing = self._closing
            if not closing:
                self._connections[connection] = threading.current_thread()
        if closing:
            _shutdown_quietly(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.pop(connection, None)

    def close_connections(self) -> list[threading.Thread]:
        """Unblock every handler (idle keep-alive reads included)."""
        with self._connections_lock:
            self._closing = True
            connections = dict(self._connections)
        for connection in connections:
            _shutdown_quietly(connection)
        return list(connections.values())

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response (timeouts, dropped streams) are
        # expected here and not worth a traceback on stderr.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def _shutdown_quietly(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "fake-llm"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        # Per-request stderr lines would swamp test output and skew benchmarks.
        pass

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # -- plumbing --------------------------------------------------------

    def _dispatch(self) -> None:
        fake = self.server.fake
        # The body is always consumed, even for requests we reject, so the
        # next request on this keep-alive connection starts at a clean offset.
        raw = self._read_body()
        split = urlsplit(self.path)
        record = RecordedRequest(
            method=self.command,
            path=split.path,
            query=split.query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=_parse_json(raw),
            raw_body=raw,
            client=(str(self.client_address[0]), int(self.client_address[1])),
        )
        fake._record(record)
        try:
            _Exchange(self, fake, record).respond()
        except (_Abort, OSError):
            # Stopping, or the client went away (timeout, dropped stream).
            self.close_connection = True
        except Exception:
            fake._record_error(traceback.format_exc())
            self._try_internal_error()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked_body()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked_body(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # Skip optional trailers up to the terminating blank line.
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _try_internal_error(self) -> None:
        try:
            self.send_json(
                500,
                wire.error_payload("fake_llm crashed; see FakeLLM.server_errors", "server_error"),
            )
        except OSError:
            self.close_connection = True

    # -- responses -------------------------------------------------------

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", random_id("req_", 32))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self) -> Callable[[bytes], object]:
        """Send stream headers; return a writer for raw body bytes."""
        chunked = self.request_version == "HTTP/1.1"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("x-request-id", random_id("req_", 32))
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            # HTTP/1.0 has no chunking: the end of the body is the close.
            self.send_header("Connection", "close")
        self.end_headers()
        if not chunked:
            return self.wfile.write

        def write_chunk(data: bytes) -> None:
            # One write per chunk: with TCP_NODELAY each event leaves at once.
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        return write_chunk

    def end_stream(self, write: Callable[[bytes], object], last: bytes) -> None:
        """Write the final event and close the body in one packet."""
        if self.request_version != "HTTP/1.1":
            write(last)
            return
        self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(last), last))


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _sse(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload).encode("utf-8") + b"\n\n"


_SSE_DONE = b"data: [DONE]\n\n"


class _Exchange:
    """Routes one request and writes its response."""

    def __init__(self, handler: _Handler, fake: FakeLLM, record: RecordedRequest) -> None:
        self.handler = handler
        self.fake = fake
        self.record = record

    def respond(self) -> None:
        auth_error = self.fake._auth_error(self.record.headers.get("authorization"))
        if auth_error is not None:
            self.handler.send_json(401, auth_error)
            return
        route = self._route()
        if route is None:
            message = f"Invalid URL ({self.record.method} {self.record.path})"
            self.handler.send_json(404, wire.error_payload(message, "invalid_request_error"))
            return
        route()

    def _route(self) -> Callable[[], None] | None:
        method, path = self.record.method, self.record.path
        if method == "POST" and path == "/v1/chat/completions":
            return self._chat
        if method == "POST" and path == "/v1/embeddings":
            return self._embeddings
        if method == "GET" and path == "/v1/models":
            return self._models
        if method == "GET" and path.startswith("/v1/models/"):
            return lambda: self._model(path.removeprefix("/v1/models/"))
        return None

    def _bad_request(self, message: str, param: str | None = None, code: str | None = None) -> None:
        self.handler.send_json(400, wire.error_payload(message, "invalid_request_error", code, param))

    def _json_body(self) -> dict[str, Any] | None:
        body = self.record.body
        if isinstance(body, dict):
            return body
        self._bad_request(
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
            "but what was sent was not valid JSON.)"
        )
        return None

    def _wait(self, seconds: float) -> None:
        if seconds > 0 and self.fake._stopping.wait(seconds):
            raise _Abort

    def _send_error(self, reply: ErrorReply) -> None:
        self._wait(reply.delay)
        self.handler.send_json(reply.status, reply.body(), reply.response_headers())

    # -- chat ------------------------------------------------------------

    def _chat(self) -> None:
        body = self._json_body()
        if body is None:
            return
        if not body.get("model"):
            self._bad_request("you must provide a model parameter")
            return
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            self._bad_request(
                "Missing required parameter: 'messages'.",
                param="messages",
                code="missing_required_parameter",
            )
            return
        if self.fake.require_alternating_roles and not wire.roles_alternate(messages):
            # What vLLM and llama.cpp answer when a chat template insists on alternation.
            self._bad_request("Conversation roles must alternate user/assistant/user/assistant/...")
            return
        with self.fake._chat_in_flight():
            self._answer_chat(body, messages)

    def _answer_chat(self, body: dict[str, Any], messages: list[Any]) -> None:
        reply = self.fake._next_chat_reply()
        if reply is None and self.fake.default_reply is not None:
            reply = self.fake.default_reply(messages)
        if isinstance(reply, HangReply):
            self._wait(reply.seconds)
            reply = reply.then
        if reply is None:
            reply = TextReply(f"Echo: {wire.last_user_text(messages)}")
        stream = body.get("stream") is True
        if isinstance(reply, ErrorReply):
            self._send_error(reply)
        elif isinstance(reply, DropReply):
            self._drop(reply, str(body["model"]), messages, stream)
        elif stream:
            self._stream(reply, str(body["model"]), messages, _include_usage(body))
        else:
            self._wait(reply.delay)
            completion = wire.Completion.build(str(body["model"]), reply, messages)
            self.handler.send_json(200, completion.blocking_payload())

    def _stream(self, reply: TextReply | ToolCallReply, model: str, messages: list[Any], include_usage: bool) -> None:
        completion = wire.Completion.build(model, reply, messages)
        self._wait(reply.delay)
        write = self.handler.start_stream()
        self._write_events(write, completion.stream_payloads(include_usage), reply.chunk_delay)
        self.handler.end_stream(write, _SSE_DONE)

    def _write_events(self, write: Callable[[bytes], object], payloads: Iterable[Any], delay: float) -> None:
        for position, payload in enumerate(payloads):
            if position:
                self._wait(delay)
            write(_sse(payload))

    def _drop(self, reply: DropReply, model: str, messages: list[Any], stream: bool) -> None:
        self.handler.close_connection = True
        if not stream:
            return
        text = TextReply(reply.content, chunks=reply.chunks)
        completion = wire.Completion.build(model, text, messages)
        # The role delta plus `drop_after` content deltas, then nothing: no
        # finish_reason, no [DONE], no chunked terminator.
        payloads = [completion.chunk(delta, None, False) for delta in completion.deltas()][: reply.drop_after + 1]
        write = self.handler.start_stream()
        self._write_events(write, payloads, reply.chunk_delay)
        _shutdown_quietly(self.handler.connection)

    # -- embeddings ------------------------------------------------------

    def _embeddings(self) -> None:
        body = self._json_body()
        if body is None:
            return
        texts = wire.embedding_inputs(body.get("input"))
        if texts is None:
            self._bad_request(
                "'input' must be a string, an array of strings or an array of tokens.",
                param="input",
            )
            return
        if not body.get("model"):
            self._bad_request("you must provide a model parameter")
            return
        dimensions = body.get("dimensions", self.fake.embedding_dimensions)
        if not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1:
            self._bad_request("'dimensions' must be a positive integer.", param="dimensions")
            return
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            self._bad_request("'encoding_format' must be 'float' or 'base64'.", param="encoding_format")
            return
        reply = self.fake._next_embedding_reply()
        if isinstance(reply, HangReply):
            self._wait(reply.seconds)
            reply = reply.then if isinstance(reply.then, ErrorReply) else None
        if isinstance(reply, ErrorReply):
            self._send_error(reply)
            return
        self.handler.send_json(200, wire.embeddings_payload(str(body["model"]), texts, dimensions, encoding))

    # -- models ----------------------------------------------------------

    def _models(self) -> None:
        data = [_model_payload(model) for model in self.fake.models]
        self.handler.send_json(200, {"object": "list", "data": data})

    def _model(self, model: str) -> None:
        if model in self.fake.models:
            self.handler.send_json(200, _model_payload(model))
            return
        message = f"The model '{model}' does not exist or you do not have access to it."
        self.handler.send_json(404, wire.error_payload(message, "invalid_request_error", "model_not_found", "model"))


def _include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _model_payload(model: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": _MODEL_CREATED, "owned_by": "switchboard"}


class FakeLLM:
    """A scriptable OpenAI-compatible server on 127.0.0.1.

    Chat completions consume replies queued with :meth:`script` (FIFO) and
    fall back to echoing the last user message as ``"Echo: <text>"``.
    Every request is recorded for assertions; :meth:`reset` clears both the
    records and any unconsumed replies, so one server can serve many tests.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Iterable[str] = DEFAULT_MODELS,
        default_reply: Callable[[list[Any]], ChatReply] | None = None,
        embedding_dimensions: int = 8,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.models = tuple(models)
        # What an unscripted chat call gets (by default an echo of the last user message).
        self.default_reply = default_reply
        # Refuse histories whose roles do not alternate, as strict chat templates do.
        self.require_alternating_roles = False
        self._active_chats = 0
        self._peak_chats = 0
        self.embedding_dimensions = embedding_dimensions
        self.host = host
        self._port = port
        self._lock = threading.Lock()
        self._chat_replies: deque[ChatReply] = deque()
        self._embedding_replies: deque[EmbeddingReply] = deque()
        self._requests: list[RecordedRequest] = []
        self._errors: list[str] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------

    def start(self) -> FakeLLM:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self.host, self._port), self)
        # Keep the port so a restarted fake is reachable at the same base_url.
        self._port = self._server.server_address[1]
        # A short poll interval keeps stop() fast; the cost is a few idle wakeups.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-llm",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        self._stopping.set()
        server.shutdown()
        server.server_close()
        handlers = server.close_connections()
        deadline = time.monotonic() + _STOP_JOIN_SECONDS
        for handler in [thread, *handlers]:
            handler.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if not self.running:
            raise RuntimeError("FakeLLM is not running; call start() first")
        return self._port

    @property
    def url(self) -> str:
        """Server root, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What OpenAI clients take as ``base_url``: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    # -- scripting -------------------------------------------------------

    def script(self, *replies: ChatReply) -> None:
        """Queue replies for the next chat completion calls, in order."""
        with self._lock:
            self._chat_replies.extend(replies)

    def script_embeddings(self, *replies: EmbeddingReply) -> None:
        """Queue failures/hangs for the next embedding calls, in order."""
        with self._lock:
            self._embedding_replies.extend(replies)

    @property
    def pending_replies(self) -> int:
        """Scripted chat replies not consumed yet."""
        with self._lock:
            return len(self._chat_replies)

    def reset(self) -> None:
        self.require_alternating_roles = False
        with self._lock:
            self._peak_chats = self._active_chats
            self._chat_replies.clear()
            self._embedding_replies.clear()
            self._requests.clear()
            self._errors.clear()

    # -- recordings ------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order (a snapshot copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """JSON bodies of chat completion calls, in arrival order."""
        return self._bodies("/v1/chat/completions")

    @property
    def embedding_requests(self) -> list[dict[str, Any]]:
        return self._bodies("/v1/embeddings")

    @property
    def last_chat_request(self) -> dict[str, Any]:
        bodies = self.chat_requests
        if not bodies:
            raise AssertionError("FakeLLM received no chat completion request")
        return bodies[-1]

    @property
    def server_errors(self) -> list[str]:
        """Tracebacks of bugs in the fake itself (each also answered with a 500)."""
        with self._lock:
            return list(self._errors)

    def _bodies(self, path: str) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.method == "POST" and r.path == path and isinstance(r.body, dict)]

    # -- called from handler threads -------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _record_error(self, error: str) -> None:
        with self._lock:
            self._errors.append(error)

    @contextlib.contextmanager
    def _chat_in_flight(self):
        with self._lock:
            self._active_chats += 1
            self._peak_chats = max(self._peak_chats, self._active_chats)
        try:
            yield
        finally:
            with self._lock:
                self._active_chats -= 1

    @property
    def active_chats(self) -> int:
        """Chat completions being answered right now (a silent reply counts until it ends)."""
        with self._lock:
            return self._active_chats

    @property
    def peak_concurrent_chats(self) -> int:
        """The most chat completions answered at the same moment since the last reset()."""
        with self._lock:
            return self._peak_chats

    def _next_chat_reply(self) -> ChatReply | None:
        with self._lock:
            return self._chat_replies.popleft() if self._chat_replies else None

    def _next_embedding_reply(self) -> EmbeddingReply | None:
        with self._lock:
            return self._embedding_replies.popleft() if self._embedding_replies else None

    def _auth_error(self, authorization: str | None) -> dict[str, Any] | None:
        if self.api_key is None or authorization == f"Bearer {self.api_key}":
            return None
        if not authorization or not authorization.startswith("Bearer "):
            message = (
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
        else:
            message = (
                f"Incorrect API key provided: {_mask_key(authorization.removeprefix('Bearer '))}. "
                "You can find your API key at https://platform.openai.com/account/api-keys."
            )
        return wire.error_payload(message, "invalid_request_error", "invalid_api_key")


def _mask_key(key: str) -> str:
    # OpenAI echoes only the ends of a rejected key.
    return key if len(key) <= 8 else f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}"

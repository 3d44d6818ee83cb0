"""The egress client against real local HTTP(S) servers on 127.0.0.1."""

from __future__ import annotations

import datetime
import gzip
import json
import logging
import socket
import ssl
import threading
import time
import tracemalloc
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from switchboard import egress

MB = 1024 * 1024
CHUNK = b"x" * 65536


def _compressed_zeros(total: int, wbits: int) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(MB)
    parts = [comp.compress(block) for _ in range(total // MB)]
    parts.append(comp.flush())
    return b"".join(parts)


GZIP_BOMB = _compressed_zeros(50 * MB, 31)  # ~50 KB on the wire, 50 MB decoded
DEFLATE_BOMB = _compressed_zeros(50 * MB, 15)


class ServerState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.hits: Counter[str] = Counter()
        self.requests: list[dict] = []
        self.bytes_sent = 0
        self.stream_done = threading.Event()
        self.release = threading.Event()
        self.sni: list[str | None] = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: ServerState  # set per server class

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _reply(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        state = self.state
        with state.lock:
            state.hits[url.path] += 1
            state.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": body.decode("latin-1"),
                    "client": self.client_address,
                }
            )
        path = url.path
        if path == "/ok":
            echo = {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body": body.decode("latin-1"),
            }
            self._reply(200, json.dumps(echo).encode())
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self._reply(code, f"status {code}".encode(), "text/plain")
        elif path == "/redirect":
            self._reply(int(query.get("code", 302)), b"", extra={"Location": query["to"]})
        elif path.startswith("/chain/"):
            n = int(path.rsplit("/", 1)[1])
            if n > 0:
                self._reply(302, b"", extra={"Location": f"/chain/{n - 1}"})
            else:
                self._reply(200, b"done", "text/plain")
        elif path == "/loop":
            self._reply(302, b"", extra={"Location": "/loop"})
        elif path in ("/big", "/declared-big"):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if path == "/declared-big":
                self.send_header("Content-Length", str(50 * MB))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            try:
                while state.bytes_sent < 50 * MB:
                    self.wfile.write(CHUNK)
                    state.bytes_sent += len(CHUNK)
            except OSError:
                pass
            finally:
                state.stream_done.set()
        elif path in ("/gzip-bomb", "/deflate-bomb"):
            bomb = GZIP_BOMB if path == "/gzip-bomb" else DEFLATE_BOMB
            encoding = "gzip" if path == "/gzip-bomb" else "deflate"
            self._reply(200, bomb, "text/plain", {"Content-Encoding": encoding})
        elif path == "/gzip-ok":
            payload = json.dumps({"hello": "world", "n": list(range(100))}).encode()
            self._reply(200, gzip.compress(payload), extra={"Content-Encoding": "gzip"})
        elif path == "/slow":
            state.release.wait(5)
            self._reply(200, b"late", "text/plain")
        elif path == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b".")
            self.wfile.flush()
            state.release.wait(5)
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.close_connection = True
            self.end_headers()
            try:
                for _ in range(100):
                    if state.release.wait(0.05):
                        break
                    self.wfile.write(b".")
                    self.wfile.flush()
            except OSError:
                pass
        else:
            self._reply(404, b"not found", "text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


class Server:
    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        self.state = ServerState()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        if tls_context is not None:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def close(self) -> None:
        self.state.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server():
    srv = Server()
    yield srv
    srv.close()
    egress.close_pools()


@pytest.fixture
def state(server):
    server.state.reset()
    yield server.state
    server.state.release.set()


class StubResolver:
    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


def local(**kwargs) -> egress.EgressPolicy:
    """A policy that deliberately allowlists the local test server."""
    kwargs.setdefault("allow_networks", ("127.0.0.1/32",))
    return egress.EgressPolicy(**kwargs)


# --- loopback and the allowlist --------------------------------------------------------


def test_loopback_is_refused_without_allowlist(server, state):
    with pytest.raises(egress.BlockedAddress) as info:
        egress.request("GET", server.url("/ok"))
    assert info.value.address == "127.0.0.1"
    assert "loopback" in info.value.message
    assert state.hits["/ok"] == 0  # refused before connecting


def test_loopback_is_allowed_with_allowlist(server, state):
    resp = egress.request("GET", server.url("/ok?a=1"), policy=local(), params={"b": "2"})
    assert resp.status_code == 200
    assert resp.address == "127.0.0.1"
    echo = resp.json()
    assert echo["path"] == "/ok?a=1&b=2"
    assert echo["headers"]["Host"] == f"127.0.0.1:{server.port}"
    assert echo["headers"]["User-Agent"] == "Switchboard"
    assert resp.url == server.url("/ok?a=1&b=2")
    assert resp.redirects == ()
    assert resp.elapsed > 0
    assert state.hits["/ok"] == 1


def test_json_and_form_bodies(server, state):
    resp = egress.request("POST", server.url("/ok"), policy=local(), json={"x": [1, "é"]})
    echo = resp.json()
    assert echo["method"] == "POST"
    assert json.loads(echo["body"].encode("latin-1")) == {"x": [1, "é"]}
    assert echo["headers"]["Content-Type"] == "application/json"
    resp = egress.request("PUT", server.url("/ok"), policy=local(), data={"a": "1 2"})
    assert resp.json()["body"] == "a=1+2"
    with pytest.raises(egress.InvalidRequest):
        egress.request("POST", server.url("/ok"), policy=local(), json={}, content=b"x")


def test_error_statuses_are_responses(server, state):
    resp = egress.request("GET", server.url("/status/500"), policy=local())
    assert resp.status_code == 500
    assert resp.text == "status 500"
    assert not resp.is_success
    assert egress.request("GET", server.url("/status/404"), policy=local()).status_code == 404


def test_connections_are_reused(server, state):
    egress.close_pools()
    for _ in range(3):
        assert egress.request("GET", server.url("/ok"), policy=local()).status_code == 200
    clients = {r["client"] for r in state.requests}
    assert len(clients) == 1


def test_caller_cannot_override_host_or_framing_headers(server, state):
    resp = egress.request(
        "POST",
        server.url("/ok"),
        policy=local(),
        content=b"abc",
        headers={
            "Host": "evil.example",
            "Content-Length": "999",
            "Transfer-Encoding": "chunked",
            "X-Custom": "yes",
        },
    )
    echo = resp.json()
    assert echo["headers"]["Host"] == f"127.0.0.1:{server.port}"
    assert echo["headers"]["Content-Length"] == "3"
    assert "Transfer-Encoding" not in echo["headers"]
    assert echo["headers"]["X-Custom"] == "yes"
    with pytest.raises(egress.InvalidRequest) as info:
        egress.request(
            "GET",
            server.url("/ok"),
            policy=local(),
            headers={"Authorization": "Bearer x\r\nX-Injected: 1"},
        )
    assert "Bearer" not in info.value.message
    with pytest.raises(egress.InvalidRequest):
        egress.request("TRACE", server.url("/ok"), policy=local())


def test_head_requests_and_concurrent_callers(server, state):
    head = egress.request("HEAD", server.url("/ok"), policy=local())
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 0

    results: list[int] = []
    errors: list[Exception] = []

    def worker(n: int) -> None:
        try:
            for i in range(10):
                resp = egress.request("GET", server.url(f"/ok?w={n}&i={i}"), policy=local())
                assert resp.json()["path"] == f"/ok?w={n}&i={i}"
                results.append(resp.status_code)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert results == [200] * 80


# --- redirects ------------------------------------------------------------------------------


def test_redirect_to_metadata_service_is_refused(server, state):
    to = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(egress.BlockedAddress) as info:
        egress.request("GET", server.url(f"/redirect?to={to}"), policy=local())
    err = info.value
    assert err.address == "169.254.169.254"
    assert "redirect" in err.message
    assert "169.254.169.254" in err.message and "metadata" in err.message
    assert state.hits["/redirect"] == 1


def test_redirect_to_a_name_that_resolves_to_metadata_is_refused_even_if_allowlisted(server, state):
    resolver = StubResolver({"metadata.example": ["169.254.169.254"]})
    p = local(resolver=resolver, allow_hosts=("metadata.example",), allow_networks=("0.0.0.0/0",))
    with pytest.raises(egress.BlockedAddress) as info:
        egress.request("GET", server.url("/redirect?to=http://metadata.example/latest/"), policy=p)
    assert info.value.address == "169.254.169.254"
    assert resolver.calls == ["metadata.example"]


def test_redirect_to_other_schemes_is_refused(server, state):
    with pytest.raises(egress.InvalidURL) as info:
        egress.request("GET", server.url("/redirect?to=file:///etc/passwd"), policy=local())
    assert "redirected" in info.value.message


def test_redirect_chain_is_followed_and_recorded(server, state):
    resp = egress.request("GET", server.url("/chain/3"), policy=local())
    assert resp.status_code == 200 and resp.content == b"done"
    assert [h.url for h in resp.redirects] == [server.url(f"/chain/{n}") for n in (3, 2, 1)]
    assert [h.status_code for h in resp.redirects] == [302, 302, 302]
    assert resp.url == server.url("/chain/0")


def test_every_hop_is_rechecked(server, state):
    resolver = StubResolver({"svc.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    p = egress.EgressPolicy(resolver=resolver, allow_hosts=(f"svc.example:{server.port}",))
    ok = egress.request("GET", server.url("/ok", host="svc.example"), policy=p)
    assert ok.json()["headers"]["Host"] == f"svc.example:{server.port}"
    to = server.url("/ok", host="other.example")
    with pytest.raises(egress.BlockedAddress) as info:
        egress.request("GET", server.url(f"/redirect?to={to}", host="svc.example"), policy=p)
    assert "other.example resolves to 127.0.0.1" in info.value.message
    assert "redirect" in info.value.message
    assert resolver.calls == ["svc.example", "svc.example", "other.example"]
    assert state.hits["/ok"] == 1  # only the first, allowed request got through


def test_too_many_redirects(server, state):
    with pytest.raises(egress.TooManyRedirects) as info:
        egress.request("GET", server.url("/loop"), policy=local(max_redirects=3))
    assert info.value.code == "too_many_redirects"
    assert "3 redirects" in info.value.message
    assert state.hits["/loop"] == 4
    resp = egress.request("GET", server.url("/chain/5"), policy=local())  # default limit is 5
    assert resp.content == b"done"
    with pytest.raises(egress.TooManyRedirects):
        egress.request("GET", server.url("/chain/6"), policy=local())


def test_redirects_can_be_left_to_the_caller(server, state):
    resp = egress.request("GET", server.url("/chain/2"), policy=local(), follow_redirects=False)
    assert resp.status_code == 302
    assert resp.headers["location"] == "/chain/1"


def test_303_becomes_get_and_307_keeps_method_and_body(server, state):
    resp = egress.request("POST", server.url("/redirect?code=303&to=/ok"), policy=local(), json={"a": 1})
    echo = resp.json()
    assert echo["method"] == "GET" and echo["body"] == ""
    assert "Content-Type" not in echo["headers"]
    resp = egress.request("POST", server.url("/redirect?code=307&to=/ok"), policy=local(), json={"a": 1})
    echo = resp.json()
    assert echo["method"] == "POST" and json.loads(echo["body"]) == {"a": 1}
    assert resp.redirects[0].status_code == 307


def test_credentials_are_dropped_when_a_redirect_changes_origin(server, state):
    resolver = StubResolver({"elsewhere.example": ["127.0.0.1"]})
    secret = {
        "Authorization": "Bearer sekrit",
        "X-Api-Key": "k",
        "Cookie": "s=1",
        "X-Custom-Auth": "c",
        "Accept-Language": "fr",
    }
    same = egress.request("GET", server.url("/redirect?to=/ok"), policy=local(), headers=secret)
    kept = same.json()["headers"]
    assert kept["Authorization"] == "Bearer sekrit" and kept["X-Api-Key"] == "k"
    to = server.url("/ok", host="elsewhere.example")
    moved = egress.request("GET", server.url(f"/redirect?to={to}"), headers=secret, policy=local(resolver=resolver))
    got = moved.json()["headers"]
    for name in ("Authorization", "X-Api-Key", "Cookie", "X-Custom-Auth"):
        assert name not in got
    assert got["Accept-Language"] == "fr"
    assert got["Host"] == f"elsewhere.example:{server.port}"


# --- size limits ------------------------------------------------------------------------------


def test_streaming_response_over_the_cap_is_aborted_early(server, state):
    cap = 1 * MB
    tracemalloc.start()
    try:
        with pytest.raises(egress.ResponseTooLarge) as info:
            egress.request("GET", server.url("/big"), policy=local(max_response_bytes=cap))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    err = info.value
    assert err.code == "response_too_large"
    assert err.limit == cap and err.received <= cap
    assert "1 MB" in err.message
    assert peak < 4 * MB
    assert state.stream_done.wait(5)
    # The server hit a closed connection long before 50 MB (socket buffers hold a few MB).
    assert state.bytes_sent < 20 * MB


def test_declared_content_length_over_the_cap_is_refused_up_front(server, state):
    with pytest.raises(egress.ResponseTooLarge) as info:
        egress.request("GET", server.url("/declared-big"), policy=local())
    assert info.value.received == 0
    assert info.value.limit == 5 * MB
    assert "5 MB" in info.value.message
    assert state.stream_done.wait(5)
    assert state.bytes_sent < 20 * MB


@pytest.mark.parametrize("path", ["/gzip-bomb", "/deflate-bomb"])
def test_decompression_bomb_is_capped_on_decoded_bytes(server, state, path):
    cap = 1 * MB
    assert len(GZIP_BOMB) < cap  # the wire size alone would pass
    tracemalloc.start()
    try:
        with pytest.raises(egress.ResponseTooLarge) as info:
            egress.request("GET", server.url(path), policy=local(max_response_bytes=cap))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.received <= cap
    assert peak < 4 * MB


def test_gzip_responses_are_decoded(server, state):
    resp = egress.request("GET", server.url("/gzip-ok"), policy=local())
    assert resp.json() == {"hello": "world", "n": list(range(100))}


# --- timeouts and connection errors -------------------------------------------------------


def test_read_timeout(server, state):
    started = time.monotonic()
    with pytest.raises(egress.ReadTimeout) as info:
        egress.request("GET", server.url("/slow"), policy=local(read_timeout=0.3))
    assert time.monotonic() - started < 2
    assert info.value.code == "read_timeout"
    assert "0.3 s" in info.value.message


def test_overall_deadline_stops_a_trickling_server(server, state):
    started = time.monotonic()
    with pytest.raises(egress.DeadlineExceeded) as info:
        egress.request("GET", server.url("/trickle"), policy=local(read_timeout=2, total_timeout=0.5))
    assert time.monotonic() - started < 1.5
    assert info.value.code == "deadline_exceeded"


def test_overall_deadline_caps_a_single_stalled_read(server, state):
    # Each read may wait up to read_timeout (3 s), but the deadline (0.5 s) wins.
    started = time.monotonic()
    with pytest.raises(egress.DeadlineExceeded):
        egress.request("GET", server.url("/stall"), policy=local(read_timeout=3, total_timeout=0.5))
    assert time.monotonic() - started < 1.5


def test_connect_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))  # fills the accept queue
    try:
        started = time.monotonic()
        with pytest.raises(egress.ConnectTimeout) as info:
            egress.request("GET", f"http://127.0.0.1:{port}/", policy=local(connect_timeout=0.3))
        assert time.monotonic() - started < 2
        assert info.value.code == "connect_timeout"
    finally:
        filler.close()
        listener.close()


def test_connection_refused():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(egress.ConnectionFailed) as info:
        egress.request("GET", f"http://127.0.0.1:{port}/", policy=local())
    assert info.value.code == "connection_error"
    assert "refused" in info.value.message


# --- DNS rebinding ------------------------------------------------------------------------------


class RebindingResolver:
    """Answers `first` on the first lookup and `then` on every later one."""

    def __init__(self, first: str, then: str) -> None:
        self.first, self.then, self.calls = first, then, 0

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return [self.first if self.calls == 1 else self.then]


def test_rebinding_resolution_happens_once_and_the_pinned_address_is_used(monkeypatch):
    resolver = RebindingResolver("93.184.216.34", "10.0.0.5")
    connected: list[tuple] = []

    def fake_create_connection(address, *args, **kwargs):
        connected.append(address)  # nothing leaves the machine
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "create_connection", fake_create_connection)
    with pytest.raises(egress.ConnectionFailed):
        egress.request("GET", "http://rebind.example/x", policy=egress.EgressPolicy(resolver=resolver))
    assert resolver.calls == 1
    assert connected == [("93.184.216.34", 80)]


def test_rebinding_against_a_real_server(server, state):
    # First answer: the (allowlisted) test server. Any second lookup would get
    # 127.0.0.2, which is neither allowlisted nor listening.
    resolver = RebindingResolver("127.0.0.1", "127.0.0.2")
    p = local(resolver=resolver)
    resp = egress.request("GET", server.url("/ok", host="rebind.example"), policy=p)
    assert resp.status_code == 200
    assert resp.address == "127.0.0.1"
    assert resp.json()["headers"]["Host"] == f"rebind.example:{server.port}"
    assert resolver.calls == 1
    # Each request resolves afresh and is checked again.
    with pytest.raises(egress.BlockedAddress) as info:
        egress.request("GET", server.url("/ok", host="rebind.example"), policy=p)
    assert info.value.address == "127.0.0.2"
    assert resolver.calls == 2
    assert state.hits["/ok"] == 1


def test_falls_back_to_the_next_validated_address(server, state):
    # Nothing listens on 127.0.0.3, so the first connect is refused.
    resolver = StubResolver({"multi.example": ["127.0.0.3", "127.0.0.1"]})
    p = local(resolver=resolver, allow_networks=("127.0.0.0/8",))
    resp = egress.request("GET", server.url("/ok", host="multi.example"), policy=p)
    assert resp.status_code == 200
    assert resp.address == "127.0.0.1"


# --- logging ---------------------------------------------------------------------------------------


def test_logs_never_contain_headers_or_query_strings(server, state, caplog):
    caplog.set_level(logging.DEBUG, logger="switchboard.egress")
    headers = {"Authorization": "Bearer hdr-secret", "X-Api-Key": "key-secret"}
    egress.request("GET", server.url("/ok?token=query-secret"), policy=local(), headers=headers)
    with pytest.raises(egress.BlockedAddress):
        egress.request("GET", server.url("/ok?token=query-secret"), headers=headers)
    with pytest.raises(egress.BlockedAddress):
        egress.request(
            "GET",
            server.url("/redirect?to=http://10.0.0.1/?token=query-secret"),
            policy=local(),
            headers=headers,
        )
    assert caplog.records, "expected egress log records"
    text = caplog.text
    for secret in ("hdr-secret", "key-secret", "query-secret", "Authorization", "X-Api-Key"):
        assert secret not in text


# --- TLS: pinned IP, real host name verified --------------------------------------------------


@pytest.fixture(scope="module")
def pki():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name("Egress Test CA"))
        .issuer_name(name("Egress Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("svc.example"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("svc.example")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return {
        "ca": ca_cert.public_bytes(pem).decode(),
        "cert": cert.public_bytes(pem),
        "key": key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    }


@pytest.fixture(scope="module")
def tls_server(pki, tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    (directory / "cert.pem").write_bytes(pki["cert"])
    (directory / "key.pem").write_bytes(pki["key"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    seen_sni: list[str | None] = []
    ctx.sni_callback = lambda sslobj, server_name, context: seen_sni.append(server_name)
    srv = Server(tls_context=ctx)
    srv.seen_sni = seen_sni
    yield srv
    srv.close()
    egress.close_pools()


def test_https_connects_to_pinned_ip_but_verifies_the_real_host_name(tls_server, pki):
    client_ctx = ssl.create_default_context(cadata=pki["ca"])
    resolver = StubResolver({"svc.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    p = egress.EgressPolicy(resolver=resolver, ssl_context=client_ctx, allow_hosts=("svc.example", "other.example"))
    tls_server.seen_sni.clear()

    resp = egress.request("GET", tls_server.url("/ok", host="svc.example", scheme="https"), policy=p)
    assert resp.status_code == 200
    assert resp.address == "127.0.0.1"
    assert resp.json()["headers"]["Host"] == f"svc.example:{tls_server.port}"
    assert tls_server.seen_sni == ["svc.example"]

    # Same IP and port, different name: the pooled svc.example connection must
    # not be reused, and the certificate (svc.example only) must be rejected.
    with pytest.raises(egress.ConnectionFailed) as info:
        egress.request("GET", tls_server.url("/ok", host="other.example", scheme="https"), policy=p)
    assert "certificate" in info.value.message
    assert "other.example" in info.value.message
    assert tls_server.seen_sni[-1] == "other.example"

    # By IP the certificate must cover the IP, which it does not.
    with pytest.raises(egress.ConnectionFailed) as info:
        egress.request(
            "GET",
            tls_server.url("/ok", scheme="https"),
            policy=egress.EgressPolicy(ssl_context=client_ctx, allow_networks=("127.0.0.1/32",)),
        )
    assert "certificate" in info.value.message


def test_https_uses_the_system_trust_store_by_default(tls_server):
    resolver = StubResolver({"svc.example": ["127.0.0.1"]})
    p = egress.EgressPolicy(resolver=resolver, allow_hosts=("svc.example",))
    with pytest.raises(egress.ConnectionFailed) as info:
        egress.request("GET", tls_server.url("/ok", host="svc.example", scheme="https"), policy=p)
    assert "certificate" in info.value.message

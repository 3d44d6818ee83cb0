"""Sending requests to user-supplied URLs.

How a request reaches the right machine
---------------------------------------
1. The URL is parsed strictly and the host resolved **once** (``urls.py``);
   every resolved address must pass the address policy (``addresses.py``).
2. The request is sent with httpcore (the engine underneath httpx) to an
   origin whose host is the validated **IP address**, so the connection layer
   never sees a name and cannot resolve it again (DNS rebinding). The
   network backend additionally refuses to connect to anything that is not
   an IP literal.
3. The ``Host`` header is set from the parsed URL (host name and non-default
   port), so virtual hosting works as usual.
4. For https, the ``sni_hostname`` request extension carries the real host
   name. httpcore passes it as ``server_hostname`` to
   ``SSLContext.wrap_socket`` (see ``httpcore/_sync/connection.py``), which is
   both the SNI value sent and, because the context has ``check_hostname``
   enabled, the name the certificate is verified against. Connecting by IP
   therefore does not weaken verification: a certificate for another name
   fails exactly as it would without pinning. For IP-literal https URLs no
   SNI is sent and the certificate must cover the IP address.
5. Connection pools are keyed by (scheme, pinned IP, port, SNI host name,
   TLS context): httpcore's own pool key is only (scheme, host, port), and
   sharing a pool across SNI names would let a request for b.example reuse a
   TLS session whose certificate was verified for a.example on the same IP.

httpx itself is used to build requests (body encoding, query parameters),
not to send them: an ``httpx.Client`` would keep cookies between callers,
read proxy settings from the environment and follow redirects on its own.

Timeouts: ``connect_timeout`` bounds DNS, TCP connect and the TLS handshake;
``read_timeout`` bounds each wait for data (and each send); ``total_timeout``
is an overall deadline that caps every socket operation through a context
variable read by the network backend, so a server trickling a byte at a time
cannot hold a worker past it.

Bodies are streamed and decoded here (gzip/deflate via ``zlib`` with
``max_length``), so ``max_response_bytes`` bounds the *decoded* size and
memory use even for decompression bombs; raw bytes are bounded too.

Nothing here logs request headers or query strings.
"""

from __future__ import annotations

import codecs
import contextvars
import ipaddress
import json as jsonlib
import logging
import os
import re
import ssl
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpcore
import httpx

from ..lru import LRUCache
from .errors import (
    BlockedAddress,
    ConnectionFailed,
    ConnectTimeout,
    DeadlineExceeded,
    EgressError,
    InvalidRequest,
    InvalidResponse,
    InvalidURL,
    ReadTimeout,
    ResponseTooLarge,
    TooManyRedirects,
)
from .policy import DEFAULT_POLICY, EgressPolicy
from .urls import ParsedURL, ResolvedTarget, check_parsed, parse_url

logger = logging.getLogger("switchboard.egress")

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

#: Headers the client controls; values passed by callers are dropped.
_CONTROLLED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "upgrade",
        "expect",
    }
)
#: Headers that survive a redirect to a different origin; everything else a
#: caller set (Authorization, Cookie, X-Api-Key, custom auth headers...) is
#: dropped at the first origin change and stays dropped.
_CROSS_ORIGIN_SAFE_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "user-agent",
        "content-type",
        "content-language",
        "cache-control",
        "pragma",
    }
)
_BODY_HEADERS = ("content-type", "content-language", "content-encoding", "content-md5")

_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_HEADER_VALUE_BAD = re.compile(r"[\x00\r\n]")

#: How many of a host's validated addresses to try when connecting fails.
MAX_CONNECT_ATTEMPTS = 3


# --- deadline-aware network backend -----------------------------------------

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("switchboard_egress_deadline", default=None)


def _bounded(timeout: float | None) -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    remaining = max(0.001, deadline - time.monotonic())
    return remaining if timeout is None or remaining < timeout else timeout


class _DeadlineStream(httpcore.NetworkStream):
    __slots__ = ("_inner",)

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects only to IP literals, with timeouts capped by the request deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise httpcore.ConnectError(f"refusing to connect to unresolved host {host!r}") from None
        return _DeadlineStream(self._inner.connect_tcp(host, port, _bounded(timeout), local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not available for egress")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


_BACKEND = _PinnedBackend()


# --- TLS and connection pools -------------------------------------------------

_ssl_lock = threading.Lock()
_default_ssl_context: ssl.SSLContext | None = None


def default_ssl_context() -> ssl.SSLContext:
    """A verifying client context using certifi's CA bundle (created once)."""
    global _default_ssl_context
    if _default_ssl_context is None:
        with _ssl_lock:
            if _default_ssl_context is None:
                try:
                    import certifi

                    ctx = ssl.create_default_context(cafile=certifi.where())
                except ImportError:  # pragma: no cover - certifi ships with httpx
                    ctx = ssl.create_default_context()
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                _default_ssl_context = ctx
    return _default_ssl_context


class _PoolRegistry:
    """One small httpcore pool per (scheme, pinned ip, port, SNI name, TLS context)."""

    def __init__(self, max_pools: int = 128) -> None:
        self._pools: LRUCache[httpcore.ConnectionPool] = LRUCache(max_pools)

    def get(
        self, scheme: str, ip: str, port: int, sni: str | None, ctx: ssl.SSLContext | None
    ) -> httpcore.ConnectionPool:
        key = (scheme, ip, port, sni, id(ctx) if ctx is not None else None)
        # A pool dropped from the cache is not closed explicitly: a request may still be using it.
        # Its idle sockets are closed when it is garbage collected.
        return self._pools.get(
            key,
            lambda: httpcore.ConnectionPool(
                ssl_context=ctx,
                max_connections=16,
                max_keepalive_connections=8,
                keepalive_expiry=30.0,
                http1=True,
                http2=False,
                retries=0,
                network_backend=_BACKEND,
            ),
        )

    def close(self) -> None:
        for pool in self._pools.clear():
            pool.close()

    def reset_after_fork(self) -> None:
        # Sockets inherited from the parent belong to the parent's sessions.
        self._pools.reset_after_fork()

    def __len__(self) -> int:
        return len(self._pools)


_pools = _PoolRegistry()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_pools.reset_after_fork)


def close_pools() -> None:
    """Close every pooled connection (e.g. at worker shutdown or in tests)."""
    _pools.close()


# --- bounded content decoding ---------------------------------------------------


class _Identity:
    def decode(self, data: bytes, max_out: int) -> bytes:
        return data


class _Zlib:
    """gzip/deflate decoding that never produces more than ``max_out`` bytes per call."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._gzip = encoding in ("gzip", "x-gzip")
        wbits = zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(wbits)
        self._started = False

    def decode(self, data: bytes, max_out: int) -> bytes:
        if self._obj.eof or not data:
            return b""  # trailing bytes after the compressed stream are ignored
        try:
            out = self._obj.decompress(data, max_out)
        except zlib.error:
            if not self._gzip and not self._started:
                # "deflate" is specified as zlib-wrapped, but some servers send raw deflate.
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                self._started = True
                return self.decode(data, max_out)
            raise InvalidResponse(f"The response body could not be decoded as {self._encoding}.") from None
        self._started = True
        return out


class _Chain:
    def __init__(self, decoders: list) -> None:
        self._decoders = decoders

    def decode(self, data: bytes, max_out: int) -> bytes:
        for decoder in self._decoders:
            data = decoder.decode(data, max_out)
        return data


def _decoder_for(content_encoding: str | None):
    if not content_encoding:
        return _Identity(), False
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return _Identity(), False
    if any(c not in ("gzip", "x-gzip", "deflate") for c in codings):
        # Not something we asked for or can decode: hand the bytes over as they are.
        return _Identity(), False
    decoders = [_Zlib(c) for c in reversed(codings)]
    return (decoders[0] if len(decoders) == 1 else _Chain(decoders)), True


# --- response ----------------------------------------------------------------------


@dataclass(frozen=True)
class RedirectHop:
    """A redirect that was followed: ``url`` answered ``status_code`` pointing at ``location``."""

    url: str
    status_code: int
    location: str


@dataclass(frozen=True)
class EgressResponse:
    status_code: int
    headers: httpx.Headers
    #: The decoded body (Content-Encoding removed; the header is left as received).
    content: bytes
    #: The URL that produced this response, after redirects.
    url: str
    method: str
    redirects: tuple[RedirectHop, ...] = ()
    #: Seconds from the call until the body was read, including redirects.
    elapsed: float = 0.0
    #: The IP address the final response came from.
    address: str = ""
    reason_phrase: str = ""
    _text: list = field(default_factory=list, repr=False, compare=False)

    @property
    def status(self) -> int:
        return self.status_code

    @property
    def body(self) -> bytes:
        return self.content

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def encoding(self) -> str:
        content_type = self.headers.get("content-type", "")
        match = re.search(r"charset\s*=\s*\"?([\w.:-]+)", content_type, re.IGNORECASE)
        if match:
            try:
                return codecs.lookup(match.group(1)).name
            except LookupError:
                pass
        return "utf-8"

    @property
    def text(self) -> str:
        if not self._text:
            self._text.append(self.content.decode(self.encoding, errors="replace"))
        return self._text[0]

    def json(self, **kwargs: Any) -> Any:
        return jsonlib.loads(self.content, **kwargs)


# --- request -----------------------------------------------------------------------


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    if n >= 1024:
        return f"{n / 1024:g} KB"
    return f"{n} bytes"


def _prepare_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None, policy: EgressPolicy
) -> httpx.Headers:
    items: list[tuple[str, str]] = []
    supplied: set[str] = set()
    if headers is not None:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        for name, value in pairs:
            if not isinstance(name, str) or not _HEADER_NAME.match(name):
                raise InvalidRequest(f"The header name {str(name)[:100]!r} is not valid.")
            value = value if isinstance(value, str) else str(value)
            if _HEADER_VALUE_BAD.search(value):
                # Name only: the value may be a credential.
                raise InvalidRequest(f"The value of the header {name} contains a line break or NUL byte.")
            lower = name.lower()
            if lower in _CONTROLLED_HEADERS:
                continue
            supplied.add(lower)
            items.append((name, value))
    defaults = [
        ("User-Agent", policy.user_agent),
        ("Accept", "*/*"),
        ("Accept-Encoding", "gzip, deflate"),
    ]
    return httpx.Headers([d for d in defaults if d[0].lower() not in supplied] + items)


def _body_kwargs(json: Any, data: Any, content: Any) -> dict[str, Any]:
    given = [name for name, value in (("json", json), ("data", data), ("content", content)) if value is not None]
    if len(given) > 1:
        raise InvalidRequest(f"Pass only one of json, data and content (got {', '.join(given)}).")
    if json is not None:
        return {"json": json}
    if data is not None:
        if isinstance(data, (bytes, str)):
            return {"content": data}
        if isinstance(data, Mapping):
            return {"data": data}
        raise InvalidRequest("data must be a mapping (form fields), bytes or str.")
    if content is not None:
        if not isinstance(content, (bytes, str)):
            # A body is re-sent on 307/308 redirects and connection retries,
            # so it must be replayable.
            raise InvalidRequest("content must be bytes or str.")
        return {"content": content}
    return {}


def _same_origin(a: ParsedURL, b: ParsedURL) -> bool:
    if a.origin == b.origin:
        return True
    # http://host -> https://host on default ports is an upgrade, not a new origin.
    return a.scheme == "http" and b.scheme == "https" and a.host == b.host and a.port == 80 and b.port == 443


def _redirect_method(method: str, status: int) -> str:
    if status == 303 and method != "HEAD":
        return "GET"
    if status == 302 and method not in ("GET", "HEAD"):
        return "GET"
    if status == 301 and method == "POST":
        return "GET"
    return method


def _is_past(deadline: float) -> bool:
    return time.monotonic() >= deadline - 0.005


def _cert_error(exc: BaseException) -> ssl.SSLError | None:
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 10:
        if isinstance(cur, ssl.SSLError):
            return cur
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return None


def _map_transport_error(
    exc: Exception, target: ResolvedTarget, address: str, policy: EgressPolicy, deadline: float
) -> EgressError:
    where = f"{target.host} ({address}:{target.port})" if target.host != address else f"{address}:{target.port}"
    url = target.parsed.display
    if isinstance(exc, httpcore.TimeoutException) and _is_past(deadline):
        return DeadlineExceeded(
            f"The request to {target.host} did not complete within the overall limit of "
            f"{policy.total_timeout:g} s; the server may be slow or overloaded.",
            url=url,
        )
    if isinstance(exc, (httpcore.ConnectTimeout, httpcore.PoolTimeout)):
        return ConnectTimeout(
            f"Timed out after {policy.connect_timeout:g} s connecting to {where}; check that the "
            "server is up and reachable from the platform.",
            url=url,
        )
    if isinstance(exc, httpcore.WriteTimeout):
        return ReadTimeout(
            f"Timed out after {policy.read_timeout:g} s sending the request to {where}; the server "
            "stopped accepting data.",
            url=url,
        )
    if isinstance(exc, httpcore.ReadTimeout):
        return ReadTimeout(
            f"{target.host} did not respond within {policy.read_timeout:g} s; the server may be "
            "slow or overloaded, try again later.",
            url=url,
        )
    tls = _cert_error(exc)
    if tls is not None:
        detail = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or str(tls)
        if isinstance(tls, ssl.SSLCertVerificationError):
            return ConnectionFailed(
                f"The TLS certificate presented by {where} could not be verified ({detail}); "
                "check the host name in the URL and the server's certificate.",
                url=url,
            )
        return ConnectionFailed(f"The TLS handshake with {where} failed ({detail}).", url=url)
    if isinstance(exc, httpcore.ConnectError):
        cause = exc.__cause__ or exc.__context__
        detail = getattr(cause, "strerror", None) or str(exc) or type(exc).__name__
        return ConnectionFailed(
            f"Could not connect to {where} ({str(detail).lower()}); check that the server is "
            "running and reachable from the platform.",
            url=url,
        )
    detail = str(exc) or type(exc).__name__
    return ConnectionFailed(f"The connection to {where} failed during the request ({detail}).", url=url)


def _send(
    target: ResolvedTarget, req: httpx.Request, policy: EgressPolicy, deadline: float
) -> tuple[httpcore.Response, str]:
    https = target.scheme == "https"
    ctx = (policy.ssl_context or default_ssl_context()) if https else None
    sni = target.host if https and not target.is_ip_literal else None
    raw_target = req.url.raw_path
    headers = req.headers.raw
    remaining = max(0.001, deadline - time.monotonic())
    extensions: dict[str, Any] = {
        "timeout": {
            "connect": policy.connect_timeout,
            "read": policy.read_timeout,
            "write": policy.read_timeout,
            "pool": min(policy.connect_timeout, remaining),
        },
    }
    if sni is not None:
        extensions["sni_hostname"] = sni
    content = req.content

    attempts = target.addresses[:MAX_CONNECT_ATTEMPTS]
    for index, address in enumerate(attempts):
        ip = str(address)
        pool = _pools.get(target.scheme, ip, target.port, sni, ctx)
        core_req = httpcore.Request(
            method=req.method.encode("ascii"),
            url=httpcore.URL(
                scheme=target.scheme.encode("ascii"),
                host=ip.encode("ascii"),
                port=target.port,
                target=raw_target,
            ),
            headers=headers,
            content=content,
            extensions=extensions,
        )
        try:
            return pool.handle_request(core_req), ip
        except httpcore.ConnectError as exc:
            last = index == len(attempts) - 1 or _cert_error(exc) is not None or _is_past(deadline)
            if last:
                raise _map_transport_error(exc, target, ip, policy, deadline) from None
        except httpcore.ConnectTimeout as exc:
            if index == len(attempts) - 1 or _is_past(deadline):
                raise _map_transport_error(exc, target, ip, policy, deadline) from None
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise _map_transport_error(exc, target, ip, policy, deadline) from None
        logger.debug("egress connect to %s:%s failed, trying the next address", ip, target.port)
    raise AssertionError("unreachable")  # pragma: no cover


def _read_body(
    resp: httpcore.Response,
    headers: httpx.Headers,
    target: ResolvedTarget,
    address: str,
    policy: EgressPolicy,
    deadline: float,
    method: str,
) -> bytes:
    cap = policy.max_response_bytes
    url = target.parsed.display
    try:
        too_large = (
            f"The response from {target.host} is larger than the {_size(cap)} limit "
            f"({cap} bytes); request a smaller resource or ask a workspace admin to raise the limit."
        )
        declared = headers.get("content-length")
        if declared is not None:
            try:
                declared_n = int(declared.split(",")[0].strip())
            except ValueError:
                declared_n = -1
            if declared_n > cap:
                raise ResponseTooLarge(too_large, url=url, limit=cap, received=0)
        decoder, decoding = _decoder_for(headers.get("content-encoding"))
        raw_cap = cap + cap // 8 + 65536 if decoding else cap
        out = bytearray()
        raw_total = 0
        for chunk in resp.stream:
            raw_total += len(chunk)
            if raw_total > raw_cap:
                raise ResponseTooLarge(too_large, url=url, limit=cap, received=len(out))
            piece = decoder.decode(chunk, cap - len(out) + 1)
            if len(out) + len(piece) > cap:
                raise ResponseTooLarge(too_large, url=url, limit=cap, received=len(out))
            out += piece
            if _is_past(deadline):
                raise DeadlineExceeded(
                    f"The response from {target.host} did not finish within the overall limit of "
                    f"{policy.total_timeout:g} s; the server may be slow or overloaded.",
                    url=url,
                )
        return bytes(out)
    except EgressError:
        raise
    except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
        raise _map_transport_error(exc, target, address, policy, deadline) from None
    finally:
        resp.close()


def _build(method: str, parsed: ParsedURL, headers: httpx.Headers, params: Any, body: dict[str, Any]) -> httpx.Request:
    headers["Host"] = parsed.netloc
    try:
        target_url = httpx.URL(parsed.url)
        if params:
            target_url = target_url.copy_merge_params(params)  # merge, as httpx.Client does
        req = httpx.Request(method, target_url, headers=headers, **body)
    except (TypeError, ValueError, httpx.InvalidURL) as exc:
        raise InvalidRequest(f"The request could not be built: {exc}.", url=parsed.display) from None
    if req.url.raw_host.decode("ascii").lower() != parsed.hostinfo.host or req.url.port not in (
        None,
        parsed.port,
    ):
        # Our parser and httpx's disagree about the host: refuse rather than guess.
        raise InvalidURL("The URL's host is ambiguous.", url=parsed.display)
    return req


def request(
    method: str,
    url: str,
    *,
    policy: EgressPolicy | None = None,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    params: Any = None,
    json: Any = None,
    data: Any = None,
    content: bytes | str | None = None,
    follow_redirects: bool = True,
) -> EgressResponse:
    """Send one HTTP request to a user-supplied URL under ``policy``.

    Any HTTP status (including 4xx/5xx) is returned as a response; everything
    else raises an :class:`~switchboard.egress.errors.EgressError` subclass.
    Redirects (301/302/303/307/308) are followed manually up to
    ``policy.max_redirects``, and every hop is validated like the first URL.
    """
    policy = policy or DEFAULT_POLICY
    started = time.monotonic()
    deadline = started + policy.total_timeout
    method = method.upper() if isinstance(method, str) else method
    if method not in ALLOWED_METHODS:
        raise InvalidRequest(f"The HTTP method {str(method)[:20]!r} is not allowed.")

    token = _deadline.set(deadline)
    parsed: ParsedURL | None = None
    try:
        parsed = parse_url(url)
        send_headers = _prepare_headers(headers, policy)
        body = _body_kwargs(json, data, content)
        hops: list[RedirectHop] = []
        target = check_parsed(parsed, policy, deadline=deadline)
        while True:
            req = _build(method, parsed, send_headers, params if not hops else None, body)
            sent_url = f"{parsed.scheme}://{parsed.netloc}{req.url.raw_path.decode('ascii')}"
            resp, address = _send(target, req, policy, deadline)
            response_headers = httpx.Headers(resp.headers)
            location = None
            if follow_redirects and resp.status in REDIRECT_STATUSES:
                locations = response_headers.get_list("location")
                if len(locations) > 1:
                    resp.close()
                    raise InvalidResponse(
                        f"{target.host} answered a redirect with several Location headers.",
                        url=parsed.display,
                    )
                location = locations[0].strip() if locations else None
            if not location:
                content_bytes = _read_body(resp, response_headers, target, address, policy, deadline, method)
                elapsed = time.monotonic() - started
                reason = resp.extensions.get("reason_phrase", b"")
                result = EgressResponse(
                    status_code=resp.status,
                    headers=response_headers,
                    content=content_bytes,
                    url=sent_url,
                    method=method,
                    redirects=tuple(hops),
                    elapsed=elapsed,
                    address=address,
                    reason_phrase=reason.decode("latin-1") if isinstance(reason, bytes) else str(reason),
                )
                logger.debug(
                    "egress %s %s -> %s (%d bytes, %.1f ms, %d redirects, via %s)",
                    method,
                    parsed.display,
                    resp.status,
                    len(content_bytes),
                    elapsed * 1000,
                    len(hops),
                    address,
                )
                return result

            resp.close()
            hops.append(RedirectHop(sent_url, resp.status, location))
            if len(hops) > policy.max_redirects:
                raise TooManyRedirects(
                    f"Stopped after {policy.max_redirects} redirects (the last one from "
                    f"{parsed.display}); check the URL for a redirect loop or use the final URL "
                    "directly.",
                    url=parsed.display,
                    redirects=tuple(hops),
                )
            try:
                next_parsed = parse_url(urljoin(sent_url, location))
            except InvalidURL as exc:
                exc.message = f"{parsed.display} redirected to a URL that is not allowed: {exc.message}"
                exc.args = (exc.message,)
                raise
            new_method = _redirect_method(method, resp.status)
            if new_method != method:
                method = new_method
                body = {}
                for name in _BODY_HEADERS:
                    if name in send_headers:
                        del send_headers[name]
            if not _same_origin(parsed, next_parsed):
                for name in list(send_headers.keys()):
                    if name.lower() not in _CROSS_ORIGIN_SAFE_HEADERS:
                        del send_headers[name]
            previous, parsed = parsed, next_parsed
            try:
                target = check_parsed(parsed, policy, deadline=deadline)
            except EgressError as exc:
                exc.message = (
                    f"Refused to follow the redirect from {previous.display} to {parsed.display}: {exc.message}"
                )
                exc.args = (exc.message,)
                raise
    except EgressError as exc:
        level = logging.WARNING if isinstance(exc, BlockedAddress) else logging.INFO
        logger.log(
            level,
            "egress %s %s refused or failed: %s (%s)",
            method,
            parsed.display if parsed is not None else "<unparsed url>",
            exc.code,
            exc.message,
        )
        raise
    finally:
        _deadline.reset(token)


__all__ = [
    "EgressResponse",
    "RedirectHop",
    "close_pools",
    "default_ssl_context",
    "request",
]

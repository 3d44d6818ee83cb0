"""Errors raised by the egress client.

Every error carries a machine ``code`` (stable, safe to switch on and to show
in API responses) and a human ``message`` that says what happened and what to
do about it. Messages never contain request headers or query strings.
"""

from __future__ import annotations

from typing import Any


class EgressError(Exception):
    """Base class: an outbound request to a user-supplied URL failed or was refused."""

    code = "egress_error"

    def __init__(self, message: str, *, url: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.details = details

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly description, e.g. for an API error body."""
        return {"code": self.code, "message": self.message}


class InvalidURL(EgressError):
    """The URL is malformed or uses something the platform does not allow."""

    code = "invalid_url"


class InvalidRequest(EgressError):
    """The request itself (method, headers, body) cannot be sent as given."""

    code = "invalid_request"


class BlockedAddress(EgressError):
    """The host is, or resolves to, an address the policy refuses."""

    code = "blocked_address"

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        address: str | None = None,
        reason: str | None = None,
        allowlistable: bool = True,
        listed: bool = False,
        **details: Any,
    ) -> None:
        super().__init__(message, url=url, **details)
        self.address = address
        self.reason = reason
        #: Whether an allowlist entry could lift the refusal.
        self.allowlistable = allowlistable
        #: Whether an allowlist entry already covers the address (and could not lift it).
        self.listed = listed


class DNSFailure(EgressError):
    """The host name could not be resolved."""

    code = "dns_failure"


class EgressTimeout(EgressError):
    """Base class for the timeouts below."""

    code = "timeout"


class ConnectTimeout(EgressTimeout):
    code = "connect_timeout"


class ReadTimeout(EgressTimeout):
    code = "read_timeout"


class DeadlineExceeded(EgressTimeout):
    """The request as a whole (DNS, connect, redirects, body) took too long."""

    code = "deadline_exceeded"


class TooManyRedirects(EgressError):
    code = "too_many_redirects"


class ResponseTooLarge(EgressError):
    code = "response_too_large"

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        limit: int = 0,
        received: int = 0,
        **details: Any,
    ) -> None:
        super().__init__(message, url=url, **details)
        self.limit = limit
        #: Decoded bytes accepted before the transfer was aborted (0 when the
        #: declared Content-Length alone was enough to refuse).
        self.received = received


class ConnectionFailed(EgressError):
    """Connection refused/reset, TLS failure, or a broken HTTP exchange."""

    code = "connection_error"


class InvalidResponse(EgressError):
    """The server's response could not be decoded (e.g. corrupt gzip)."""

    code = "invalid_response"


__all__ = [
    "BlockedAddress",
    "ConnectTimeout",
    "ConnectionFailed",
    "DNSFailure",
    "DeadlineExceeded",
    "EgressError",
    "EgressTimeout",
    "InvalidRequest",
    "InvalidResponse",
    "InvalidURL",
    "ReadTimeout",
    "ResponseTooLarge",
    "TooManyRedirects",
]


def release_traceback(exc: BaseException) -> None:
    """Drop the tracebacks of ``exc`` and of the exceptions chained to it.

    A failed DNS lookup leaves a reference cycle (resolver frame -> future -> exception ->
    traceback -> resolver frame). Through the frames' back links it would keep every caller's
    locals alive — a whole parsed spec during an import — until the cyclic garbage collector
    runs, which then spends most of a second on them.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__

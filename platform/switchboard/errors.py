"""Errors the domain raises: what went wrong, in words a person can act on, and nothing of HTTP.

Services, selectors and tasks raise these. Each interface maps them to its own form exactly once:
the API in `switchboard.api.errors` (an OpenAI-style JSON body and a status code chosen by the
error's class), the admin pages in `accounts.pages.add_service_error` (a message on the form
field the error names), the command line in the management commands (a CommandError).

    raise InvalidInput("The file is empty.", code="empty_file", param="file")

`code` is stable and machine-readable (clients switch on it); `message` says what to do;
`param` names the input it concerns, as a dotted path (`config.model.provider_model_id`).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Something a caller asked for cannot be done as asked."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        param: str | None = None,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.retry_after = retry_after  # seconds, when trying again later will help
        self.details = details or {}  # extra fields for the caller (e.g. the operations skipped)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, param={self.param!r})"


class InvalidInput(DomainError):
    """The input is malformed or breaks a rule (a missing variable, an unknown model)."""


class Unprocessable(DomainError):
    """The input is well-formed but its content cannot be used (an empty file, an unreadable spec)."""


class Unauthenticated(DomainError):
    """The caller's credential is missing, forged or expired."""


class NotFound(DomainError):
    """The object does not exist, or belongs to another workspace (which callers must not learn)."""


class Forbidden(DomainError):
    """The caller may not do this (a role or a scope too small)."""


class Conflict(DomainError):
    """The object's current state does not allow it (already published, still importing, a duplicate)."""


class TooLarge(DomainError):
    """The input exceeds a configured limit."""


class RateLimited(DomainError):
    """Too many requests: try again after `retry_after` seconds."""


class UpstreamFailed(DomainError):
    """A service the platform depends on (a model provider, a target API) failed."""


class Unavailable(DomainError):
    """The platform itself cannot serve this right now (Redis unreachable, no worker)."""


class TimedOut(DomainError):
    """Waiting took longer than allowed; the work itself may still finish."""

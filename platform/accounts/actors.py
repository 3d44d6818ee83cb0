"""Who is acting in the current request, for the audit log.

The audit log is written by the services (`accounts.services.audit_record`), which know nothing of
HTTP. The web side says once per request who acts: `ActiveWorkspaceMiddleware` for the signed-in
person, `ApiKeyAuthentication` for an API key. Work with no request behind it (a worker, a
management command) has no actor unless it names one, and is logged as the system.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

# A function rather than the actor itself: the session's user is loaded only if something is logged.
_resolver: ContextVar[Callable[[], Any] | None] = ContextVar("switchboard_actor", default=None)


def actor_set(resolve: Callable[[], Any]) -> Token:
    return _resolver.set(resolve)


def actor_reset(token: Token) -> None:
    _resolver.reset(token)


def actor_current() -> Any:
    """The user or API key acting now, or None."""
    resolve = _resolver.get()
    return resolve() if resolve is not None else None

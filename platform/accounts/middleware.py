"""Puts the signed-in user's active workspace on the request for server-rendered pages, and names
the person acting for the audit log (accounts.actors)."""

from __future__ import annotations

import structlog
from django.utils.functional import SimpleLazyObject

from accounts.actors import actor_reset, actor_set
from accounts.tenancy import access_for_session


def _signed_in_user(request):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated and getattr(user, "pk", None) else None


class ActiveWorkspaceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace_access = SimpleLazyObject(lambda: access_for_session(request))
        token = actor_set(lambda: _signed_in_user(request))
        try:
            return self.get_response(request)
        finally:
            actor_reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            structlog.contextvars.bind_contextvars(user_id=user.pk)
        return None

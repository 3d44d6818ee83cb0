"""Puts the signed-in user's active workspace on the request for server-rendered pages."""

from __future__ import annotations

import structlog
from django.utils.functional import SimpleLazyObject

from accounts.tenancy import access_for_session


class ActiveWorkspaceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace_access = SimpleLazyObject(lambda: access_for_session(request))
        response = self.get_response(request)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            structlog.contextvars.bind_contextvars(user_id=user.pk)
        return None

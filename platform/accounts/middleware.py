"""Puts the signed-in user's active workspace on the request for server-rendered pages, names the
person acting for the audit log (accounts.actors), and speaks the language they chose."""

from __future__ import annotations

import structlog
from django.utils import translation
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


# The APIs speak English whatever the caller's Accept-Language, like OpenAI's: their messages are
# read by programs and by developers searching for them.
API_PATH_PREFIXES = ("/api/", "/v1/")


class UserLanguageMiddleware:
    """After LocaleMiddleware (browser, then the language menu's cookie): a signed-in person's own
    setting wins on every page; the API stays English."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = None
        if request.path.startswith(API_PATH_PREFIXES):
            language = "en"
        else:
            user = _signed_in_user(request)
            language = getattr(user, "language", "") or None
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)

"""DRF views whose answer is a long wait: validate in the view, wait outside of it.

DRF views are synchronous: under ASGI each request runs its view in a thread, holding that
thread (and, once it queried, a database connection) until the view returns. A blocking chat
call may wait minutes for a slow model, so its view does the quick part (authenticate, validate,
store) and returns a `DeferredResponse`; `deferred_api_view` then releases the request's
database connection and awaits the rest on the event loop, where a wait costs a coroutine and
nothing else.

    urlpatterns = [path("chat", deferred_api_view(ChatApi))]

    class ChatApi(APIView):
        def post(self, request):
            accepted = ...  # validate and store
            return DeferredResponse(lambda: wait_and_answer(accepted))  # an async callable
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from rest_framework.renderers import JSONRenderer

from switchboard.api.errors import ApiError, error_body
from switchboard.errors import DomainError


class DeferredResponse(HttpResponse):
    """What a view returns when the answer must be awaited: `complete()` produces it."""

    def __init__(self, complete: Callable[[], Awaitable[HttpResponseBase]]):
        super().__init__(status=202)
        self.complete = complete


def deferred_api_view(view_class, **initkwargs):
    """An async view around a DRF APIView that may return a DeferredResponse."""
    sync_view = view_class.as_view(**initkwargs)

    async def view(request, *args, **kwargs):
        response = await sync_to_async(sync_view)(request, *args, **kwargs)
        if isinstance(response, DeferredResponse):
            deferred = response
            await release_database_connections()
            try:
                response = await deferred.complete()
            except ApiError as error:
                response = api_error_response(error)
            except DomainError as error:
                response = api_error_response(ApiError.from_domain(error))
            # Headers the view set (a warning, an id) go out with whatever answer completes it.
            for name, value in deferred.items():
                if name.lower() != "content-type":
                    response.setdefault(name, value)
        return response

    # DRF enforces CSRF itself for session-authenticated requests (as its own as_view does).
    view.csrf_exempt = True  # type: ignore[attr-defined]
    # drf-spectacular and Django's introspection look for these on the view function.
    for name in ("cls", "initkwargs", "view_class", "view_initkwargs"):
        if hasattr(sync_view, name):
            setattr(view, name, getattr(sync_view, name))
    return view


async def release_database_connections() -> None:
    """Give the request thread's database connections back (to the pool) before a long wait.

    Runs on the request's own thread (`sync_to_async` is thread-sensitive), which is the thread
    whose connections Django keeps for this request.
    """
    await sync_to_async(connections.close_all)()


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    """A JSON response rendered exactly as DRF renders a view's `Response`."""
    response = HttpResponse(JSONRenderer().render(data), status=status, content_type="application/json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def api_error_response(error: ApiError) -> HttpResponse:
    body = error_body(
        message=error.message,
        code=error.error_code,
        status_code=error.status_code,
        param=error.param,
        error_type=error.error_type,
        **error.extra,
    )
    return json_response(body, status=error.status_code, headers=error.headers)

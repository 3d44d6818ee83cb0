"""OpenAI-style error bodies for every API response that is not a success.

    {"error": {"type": "invalid_request_error", "code": "missing_variable",
               "message": "Variable 'city' is required.", "param": "inputs.city"}}

Clients of the OpenAI-compatible API already know this shape, so the REST API uses it too.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from switchboard import errors as domain

_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable_error",
}


# The one place a domain error becomes an HTTP status (the pages map them in accounts.pages).
_STATUS_BY_DOMAIN_ERROR: dict[type[domain.DomainError], int] = {
    domain.InvalidInput: 400,
    domain.Unauthenticated: 401,
    domain.Forbidden: 403,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.TooLarge: 413,
    domain.Unprocessable: 422,
    domain.RateLimited: 429,
    domain.UpstreamFailed: 502,
    domain.Unavailable: 503,
    domain.TimedOut: 504,
}
_TYPE_BY_DOMAIN_ERROR: dict[type[domain.DomainError], str] = {
    domain.UpstreamFailed: "api_error",
    domain.TimedOut: "timeout_error",
}


def status_for(error: domain.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in _STATUS_BY_DOMAIN_ERROR:
            return _STATUS_BY_DOMAIN_ERROR[cls]
    return 400


class ApiError(exceptions.APIException):
    """A domain error raised by a service or view with a specific code and message."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status_code: int = 400,
        param: str | None = None,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.message = message
        self.error_code = code
        self.param = param
        self.error_type = error_type or _TYPE_BY_STATUS.get(status_code, "api_error")
        self.headers = headers or {}
        self.extra: dict[str, Any] = {}

    @classmethod
    def from_domain(cls, error: domain.DomainError) -> ApiError:
        """The HTTP form of a domain error: its status from its class, its fields unchanged."""
        status_code = status_for(error)
        headers = {"Retry-After": str(max(1, round(error.retry_after)))} if error.retry_after is not None else None
        api_error = cls(
            error.message,
            code=error.code,
            status_code=status_code,
            param=error.param,
            error_type=_TYPE_BY_DOMAIN_ERROR.get(type(error)),
            headers=headers,
        )
        api_error.extra = dict(error.details)
        return api_error


def error_body(
    *, message: str, code: str, status_code: int, param: str | None = None, error_type: str | None = None, **extra: Any
) -> dict[str, Any]:
    body = {
        "type": error_type or _TYPE_BY_STATUS.get(status_code, "api_error"),
        "code": code,
        "message": message,
        "param": param,
    }
    body.update(extra)
    return {"error": body}


def json_error(
    *, message: str, code: str, status_code: int, param: str | None = None, headers: dict[str, str] | None = None
) -> JsonResponse:
    response = JsonResponse(
        error_body(message=message, code=code, status_code=status_code, param=param),
        status=status_code,
        json_dumps_params={"ensure_ascii": False},
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _flatten_validation(detail: Any, path: str = "") -> list[tuple[str, str, str]]:
    """[(param path, code, message)] from DRF's nested ValidationError detail."""
    if isinstance(detail, dict):
        items: list[tuple[str, str, str]] = []
        for key, value in detail.items():
            child = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            items.extend(_flatten_validation(value, child))
        return items
    if isinstance(detail, list):
        items = []
        for index, value in enumerate(detail):
            nested = isinstance(value, (dict, list))
            items.extend(_flatten_validation(value, f"{path}[{index}]" if nested else path))
        return items
    code = getattr(detail, "code", None) or "invalid"
    return [(path, str(code), str(detail))]


def _validation_message(param: str, message: str) -> str:
    return f"{param}: {message}" if param else message


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, domain.DomainError):
        exc = ApiError.from_domain(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: Django's 500 handler (JSON for API paths) takes it

    from rest_framework.views import set_rollback  # not at import: DRF's views import our settings

    set_rollback()
    headers: dict[str, str] = {}
    if isinstance(exc, ApiError):
        body = error_body(
            message=exc.message,
            code=exc.error_code,
            status_code=exc.status_code,
            param=exc.param,
            error_type=exc.error_type,
            **exc.extra,
        )
        headers.update(exc.headers)
    elif isinstance(exc, exceptions.ValidationError):
        problems = _flatten_validation(exc.detail) or [("", "invalid", "Invalid input.")]
        param, code, message = problems[0]
        extra = {}
        if len(problems) > 1:
            extra["errors"] = [{"param": p or None, "code": c, "message": m} for p, c, m in problems]
        body = error_body(
            message=_validation_message(param, message), code=code, status_code=400, param=param or None, **extra
        )
    else:
        code = _code_for(exc)
        body = error_body(message=str(exc.detail), code=code, status_code=exc.status_code)

    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait) + 1)
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    status_code = exc.status_code
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        status_code = status.HTTP_401_UNAUTHORIZED
    return Response(body, status=status_code, headers=headers)


def _code_for(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.NotAuthenticated):
        return "not_authenticated"
    if isinstance(exc, exceptions.AuthenticationFailed):
        codes = exc.get_codes()
        return codes if isinstance(codes, str) and codes != "authentication_failed" else "invalid_api_key"
    if isinstance(exc, exceptions.ParseError):
        return "invalid_json"
    if isinstance(exc, exceptions.NotFound):
        return "not_found"
    if isinstance(exc, exceptions.PermissionDenied):
        return "insufficient_role"
    if isinstance(exc, exceptions.Throttled):
        return "rate_limited"
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def _is_api_path(path: str) -> bool:
    return path.startswith(("/api/", "/v1/", "/healthz", "/widget/v1/"))


def handler404(request, exception=None):
    if _is_api_path(request.path):
        return json_error(
            message=f"No route matches {request.method} {request.path}.", code="route_not_found", status_code=404
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if _is_api_path(request.path):
        return json_error(
            message="Internal server error. The request id in the X-Request-ID header "
            "identifies it in the server logs.",
            code="internal_error",
            status_code=500,
        )
    from django.views.defaults import server_error

    return server_error(request)

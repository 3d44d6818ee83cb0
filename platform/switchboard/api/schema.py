"""Error responses for the OpenAPI schema, described once and specialised per app."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.utils import OpenApiResponse

_GENERIC = {
    400: "Invalid input. OpenAI-style error body; `error.param` names the field.",
    401: "Missing, invalid or revoked API key.",
    403: "The caller's role is below what the operation needs.",
    404: "No such id in the caller's workspace.",
    409: "Conflicts with existing state.",
    413: "The request body is too large.",
    422: "The content cannot be used.",
    503: "A dependency is unavailable; try again.",
}


def error_responses(**specific: str) -> Callable[..., dict[int, OpenApiResponse]]:
    """`errors(400, 404)` → schema responses; `specific` overrides texts by status (`_409="…"`)."""
    texts = {**_GENERIC, **{int(key.lstrip("_")): text for key, text in specific.items()}}

    def errors(*codes: int) -> dict[int, OpenApiResponse]:
        return {code: OpenApiResponse(description=texts[code]) for code in codes}

    return errors

"""The OpenAPI schema: the generator the API uses, and error responses described once."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.views import APIView

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


class SwitchboardAutoSchema(AutoSchema):
    """drf-spectacular's schema generator with one house rule, below."""

    def map_parsers(self) -> list[str]:
        # DRF's default parsers also take form encodings, but those cannot carry the nested objects
        # most bodies here hold (a bot's `config`, chat `inputs`), so a client generated from them
        # would send bodies the view cannot read. JSON is the contract; views that take uploads pick
        # their parsers, and document their content types, themselves.
        if type(self.view).parser_classes is APIView.parser_classes:
            return ["application/json"]
        return super().map_parsers()

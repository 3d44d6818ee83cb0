"""Cursor pagination: `?cursor=…&limit=…` → `{"data": [...], "next_cursor": "…" | null}`.

Cursors (not page numbers) stay correct while rows are being added, which chat history and
document lists constantly are.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from rest_framework import pagination
from rest_framework.response import Response

from switchboard.api.errors import ApiError


class CursorPagination(pagination.CursorPagination):
    cursor_query_param = "cursor"
    page_size_query_param = "limit"
    max_page_size = 100
    ordering = "-created_at"

    def paginate_queryset(self, queryset, request, view=None):
        raw_limit = request.query_params.get(self.page_size_query_param)
        if raw_limit is not None and (not raw_limit.isdigit() or not 1 <= int(raw_limit) <= self.max_page_size):
            raise ApiError(
                f"limit must be an integer between 1 and {self.max_page_size}.", code="invalid_limit", param="limit"
            )
        try:
            return super().paginate_queryset(queryset, request, view)
        except Exception as exc:  # DRF raises NotFound for a mangled cursor; that is a 400
            from rest_framework.exceptions import NotFound

            if isinstance(exc, NotFound):
                raise ApiError(
                    "The cursor is invalid or expired; start again without it.", code="invalid_cursor", param="cursor"
                ) from exc
            raise

    def _cursor_value(self, link: str | None) -> str | None:
        if not link:
            return None
        return parse_qs(urlsplit(link).query).get(self.cursor_query_param, [None])[0]

    def get_paginated_response(self, data):
        return Response({"data": data, "next_cursor": self._cursor_value(self.get_next_link())})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["data", "next_cursor"],
            "properties": {
                "data": schema,
                "next_cursor": {
                    "type": "string",
                    "nullable": True,
                    "description": "Pass as ?cursor= to get the next page; null on the last page.",
                },
            },
        }

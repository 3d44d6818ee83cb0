"""List filters of the API, declared as django-filter FilterSets.

A view names its FilterSet (`filterset_class`) and lists `FilterBackend` in `filter_backends`.
A value that does not parse answers like every other bad input: 400 with one error naming the
parameter, a code (the FilterSet's `error_codes` for that parameter, else `invalid_filter`) and a
message saying what to write — not django-filter's form-error dict.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend

from switchboard.errors import InvalidInput


class FilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            name, problems = next(iter(filterset.errors.as_data().items()))
            code = getattr(filterset, "error_codes", {}).get(name, "invalid_filter")
            raise InvalidInput(" ".join(problems[0].messages), code=code, param=name)
        return filterset.qs


class _StrictBooleanField(forms.NullBooleanField):
    """true/false (1/0, yes/no) or absent; anything else is an error, not "no filter"."""

    TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")
    widget = forms.TextInput  # NullBooleanField's select widget would turn "maybe" into "unknown"

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(f"{self.label or 'This filter'} must be true or false.", code="invalid_filter")

    def validate(self, value: Any) -> None:
        return None


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = _StrictBooleanField


def iso_datetime_filter(name: str, *, lookup: str, field_name: str = "created_at") -> django_filters.IsoDateTimeFilter:
    """A date-time bound whose error message shows the format to write."""
    return django_filters.IsoDateTimeFilter(
        field_name=field_name,
        lookup_expr=lookup,
        error_messages={"invalid": f"{name} must be an ISO 8601 date-time such as 2026-01-31T12:00:00Z."},
    )

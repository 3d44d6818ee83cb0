"""Filters of the actions app's lists (django-filter FilterSets; see switchboard.api.filters)."""

from __future__ import annotations

import django_filters

from actions import selectors
from actions.models import Operation
from switchboard.api.filters import StrictBooleanFilter


class OperationFilter(django_filters.FilterSet):
    enabled = StrictBooleanFilter(label="enabled")
    consequential = StrictBooleanFilter(label="consequential", method="filter_consequential")
    q = django_filters.CharFilter(method="filter_search", help_text="Search in name, path and summary.")

    class Meta:
        model = Operation
        fields = ["enabled", "consequential", "q"]

    def filter_consequential(self, queryset, name, value):
        return selectors.operations_consequential(queryset, consequential=value)

    def filter_search(self, queryset, name, value):
        return selectors.operations_matching(queryset, search=value.strip()[:200])

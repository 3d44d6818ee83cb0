"""Filters of the knowledge app's lists (django-filter FilterSets; see switchboard.api.filters)."""

from __future__ import annotations

import django_filters

from knowledge.models import Document, DocumentStatus


class DocumentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=DocumentStatus.choices,
        error_messages={
            "invalid_choice": f"Unknown status '%(value)s'; use one of {', '.join(DocumentStatus.values)}."
        },
    )

    error_codes = {"status": "invalid_status"}

    class Meta:
        model = Document
        fields = ["status"]

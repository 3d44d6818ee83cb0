"""Filters of the accounts app's lists (django-filter FilterSets; see switchboard.api.filters)."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from accounts.models import AuditAction, AuditEvent
from switchboard.api.filters import iso_datetime_filter


class AuditEventFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(method="filter_actor", help_text="A user id (`usr_…`) or an email address.")
    action = django_filters.ChoiceFilter(
        choices=AuditAction.choices,
        error_messages={"invalid_choice": f"Unknown action '%(value)s'; use one of {', '.join(AuditAction.values)}."},
    )
    created_after = iso_datetime_filter("created_after", lookup="gte")
    created_before = iso_datetime_filter("created_before", lookup="lt")

    error_codes = {"action": "invalid_action", "created_after": "invalid_date", "created_before": "invalid_date"}

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "created_after", "created_before"]

    def filter_actor(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(actor_id=value) | Q(actor__email=value.lower())) if value else queryset

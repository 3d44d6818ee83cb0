"""Filters of the bots app's lists (django-filter FilterSets; see switchboard.api.filters)."""

from __future__ import annotations

import django_filters

from bots.models import Conversation
from switchboard.api.filters import iso_datetime_filter


class ConversationFilter(django_filters.FilterSet):
    bot = django_filters.CharFilter(field_name="bot_id")
    user = django_filters.CharFilter(field_name="end_user")
    created_after = iso_datetime_filter("created_after", lookup="gte")
    created_before = iso_datetime_filter("created_before", lookup="lt")

    error_codes = {"created_after": "invalid_date", "created_before": "invalid_date"}

    class Meta:
        model = Conversation
        fields = ["bot", "user", "created_after", "created_before"]

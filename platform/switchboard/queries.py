"""Small query helpers for the hot paths."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet


def one_or_none(queryset: QuerySet[Any]) -> Any:
    """The row a lookup by a unique key finds, or None.

    `QuerySet.first()` orders by the model's default ordering (or the primary key), which means
    nothing for a unique key and costs the ORM a copy of every ordering expression on each call;
    this asks for one row with no ORDER BY.
    """
    return next(iter(queryset.order_by()[:1]), None)

"""Usage per day, aggregated in PostgreSQL: conversations, messages, active end users, tokens,
cost, time to first token (p50/p95) and errors, for a workspace or one bot.

One GROUP BY over the range's messages (served by the (workspace, created_at) index), never a scan
of a workspace's whole history and never rows loaded into Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.models import Workspace
from switchboard.errors import InvalidInput

MAX_DAYS = 366

_MESSAGES_BY_DAY = """
SELECT (m.created_at AT TIME ZONE %(tz)s)::date AS day,
       count(*) FILTER (WHERE m.role = 'user') AS messages,
       count(DISTINCT c.end_user) FILTER (WHERE m.role = 'user') AS active_users,
       coalesce(sum(m.input_tokens + m.output_tokens), 0) AS tokens,
       coalesce(sum(m.cost), 0) AS cost,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY m.ttft_ms) AS ttft_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY m.ttft_ms) AS ttft_p95,
       count(*) FILTER (WHERE m.state = 'failed') AS errors
FROM bots_message m
JOIN bots_conversation c ON c.id = m.conversation_id
WHERE m.workspace_id = %(workspace)s AND m.created_at >= %(start)s AND m.created_at < %(end)s
  AND (%(bot)s::text IS NULL OR c.bot_id = %(bot)s)
GROUP BY 1
"""

_TOTALS = """
SELECT count(*) FILTER (WHERE m.role = 'user'),
       count(DISTINCT c.end_user) FILTER (WHERE m.role = 'user'),
       coalesce(sum(m.input_tokens + m.output_tokens), 0),
       coalesce(sum(m.cost), 0),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY m.ttft_ms),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY m.ttft_ms),
       count(*) FILTER (WHERE m.state = 'failed')
FROM bots_message m
JOIN bots_conversation c ON c.id = m.conversation_id
WHERE m.workspace_id = %(workspace)s AND m.created_at >= %(start)s AND m.created_at < %(end)s
  AND (%(bot)s::text IS NULL OR c.bot_id = %(bot)s)
"""

_CONVERSATIONS_BY_DAY = """
SELECT (c.created_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS conversations
FROM bots_conversation c
WHERE c.workspace_id = %(workspace)s AND c.created_at >= %(start)s AND c.created_at < %(end)s
  AND (%(bot)s::text IS NULL OR c.bot_id = %(bot)s)
GROUP BY 1
"""


@dataclass
class Day:
    day: date
    conversations: int = 0
    messages: int = 0
    active_users: int = 0
    tokens: int = 0
    cost: Decimal = Decimal(0)
    ttft_p50: float | None = None
    ttft_p95: float | None = None
    errors: int = 0


@dataclass
class Usage:
    days: list[Day] = field(default_factory=list)
    # The whole range: active users and percentiles do not add up from days.
    totals: Day | None = None

    def series(self, name: str) -> list:
        return [getattr(day, name) for day in self.days]


def check_range(start: date, end: date) -> None:
    if end < start:
        raise InvalidInput("The end date is before the start date.", code="invalid_range", param="date_to")
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput(f"Choose at most {MAX_DAYS} days.", code="range_too_long", param="date_from")


def usage_by_day(*, workspace: Workspace, start: date, end: date, bot_id: str | None = None) -> Usage:
    """Every day from `start` to `end` (inclusive, in the site's time zone), empty days included."""
    check_range(start, end)
    tz = timezone.get_current_timezone()
    params: dict[str, Any] = {
        "tz": str(tz),
        "workspace": workspace.pk,
        "start": timezone.make_aware(datetime.combine(start, time.min), tz),
        "end": timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz),
        "bot": bot_id or None,
    }
    days = {start + timedelta(days=i): Day(start + timedelta(days=i)) for i in range((end - start).days + 1)}
    with connection.cursor() as cursor:
        cursor.execute(_MESSAGES_BY_DAY, params)
        for day, messages, users, tokens, cost, p50, p95, errors in cursor.fetchall():
            if day in days:
                row = days[day]
                row.messages, row.active_users, row.tokens, row.cost, row.errors = messages, users, tokens, cost, errors
                row.ttft_p50, row.ttft_p95 = p50, p95
        cursor.execute(_CONVERSATIONS_BY_DAY, params)
        for day, count in cursor.fetchall():
            if day in days:
                days[day].conversations = count
        cursor.execute(_TOTALS, params)
        messages, users, tokens, cost, p50, p95, errors = cursor.fetchone()
    totals = Day(
        day=start,
        conversations=sum(day.conversations for day in days.values()),
        messages=messages,
        active_users=users,
        tokens=tokens,
        cost=cost,
        ttft_p50=p50,
        ttft_p95=p95,
        errors=errors,
    )
    return Usage(days=list(days.values()), totals=totals)

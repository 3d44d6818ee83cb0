"""The workspace's conversation log: filters across bots, one page at a time, and exports.

Pages are keyset-paginated on (created_at, id): a workspace with a million conversations pays for
one page, not for counting them all. A filter on what is inside the conversations (a word, a
rating, a state) is an EXISTS over the conversation's messages, which the message index serves.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Workspace
from bots.models import Conversation, Message, MessageState
from switchboard.errors import InvalidInput

PAGE_SIZE = 50
MAX_SEARCH_CHARS = 200
MAX_RANGE_DAYS = 366
EXPORT_MAX_MESSAGES = 100_000


@dataclass(frozen=True)
class LogFilters:
    bot_id: str = ""
    version: int | None = None
    channel: str = ""
    user: str = ""
    rating: str = ""  # "", "good", "bad", "rated", "unrated"
    state: str = ""  # a message state an assistant message of the conversation is in
    date_from: date | None = None
    date_to: date | None = None
    search: str = ""

    def check(self) -> LogFilters:
        """InvalidInput naming the filter, when one asks for something the log cannot do."""
        if len(self.search) > MAX_SEARCH_CHARS:
            raise InvalidInput(
                f"Search for at most {MAX_SEARCH_CHARS} characters (this is {len(self.search):,}).",
                code="search_too_long",
                param="q",
            )
        if self.date_from and self.date_to:
            if self.date_to < self.date_from:
                raise InvalidInput("The end date is before the start date.", code="invalid_range", param="date_to")
            if (self.date_to - self.date_from).days >= MAX_RANGE_DAYS:
                raise InvalidInput(
                    f"Choose at most {MAX_RANGE_DAYS} days at a time (export month by month for more).",
                    code="range_too_long",
                    param="date_from",
                )
        if self.rating not in ("", "good", "bad", "rated", "unrated"):
            raise InvalidInput("rating is good, bad, rated or unrated.", code="invalid_choice", param="rating")
        if self.state and self.state not in MessageState.values:
            raise InvalidInput(f"{self.state!r} is not a message state.", code="invalid_choice", param="state")
        return self


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def conversations(*, workspace: Workspace, filters: LogFilters) -> QuerySet[Conversation]:
    """The workspace's conversations matching `filters`, newest first, with per-conversation sums."""
    filters.check()
    rows = Conversation.objects.for_workspace(workspace).select_related("bot")
    if filters.bot_id:
        rows = rows.filter(bot_id=filters.bot_id)
    if filters.version is not None:
        rows = rows.filter(version_number=filters.version)
    if filters.channel:
        rows = rows.filter(channel=filters.channel)
    if filters.user:
        rows = rows.filter(Q(end_user__icontains=filters.user) | Q(end_user_name__icontains=filters.user))
    if filters.date_from:
        rows = rows.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        rows = rows.filter(created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    inside = Message.objects.filter(conversation=OuterRef("pk"))
    if filters.rating == "good":
        rows = rows.filter(Exists(inside.filter(rating=1)))
    elif filters.rating == "bad":
        rows = rows.filter(Exists(inside.filter(rating=-1)))
    elif filters.rating == "rated":
        rows = rows.filter(Exists(inside.filter(rating__isnull=False)))
    elif filters.rating == "unrated":
        rows = rows.filter(~Exists(inside.filter(rating__isnull=False)))
    if filters.state:
        rows = rows.filter(Exists(inside.filter(role="assistant", state=filters.state)))
    if filters.search:
        rows = rows.filter(
            Q(title__icontains=filters.search) | Exists(inside.filter(content__icontains=filters.search))
        )
    return rows.order_by("-created_at", "-id")


def page(rows: QuerySet[Conversation], *, before: str = "") -> tuple[list[Any], str]:
    """One page of `rows` older than the cursor `before`, with message counts, tokens, cost and
    ratings; and the cursor of the next page ("" at the end)."""
    if before:
        stamp, _, last_id = before.partition("|")
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError:
            raise InvalidInput("That page link is broken; start from the first page.", code="invalid_cursor") from None
        rows = rows.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=last_id))
    batch = list(
        rows.annotate(
            message_count=Count("messages"),
            tokens=Sum("messages__input_tokens") + Sum("messages__output_tokens"),
            total_cost=Sum("messages__cost"),
            good=Count("messages", filter=Q(messages__rating=1)),
            bad=Count("messages", filter=Q(messages__rating=-1)),
            failed=Count("messages", filter=Q(messages__state=MessageState.FAILED)),
        )[: PAGE_SIZE + 1]
    )
    more = len(batch) > PAGE_SIZE
    batch = batch[:PAGE_SIZE]
    cursor = f"{batch[-1].created_at.isoformat()}|{batch[-1].pk}" if more and batch else ""
    return batch, cursor


EXPORT_FIELDS = [
    "conversation_id",
    "bot",
    "version",
    "channel",
    "user",
    "user_verified",
    "message_id",
    "role",
    "content",
    "state",
    "rating",
    "feedback",
    "input_tokens",
    "output_tokens",
    "cost",
    "ttft_ms",
    "total_ms",
    "created_at",
]


def export_rows(rows: QuerySet[Conversation]) -> Iterator[dict[str, Any]]:
    """Every message of the matching conversations, oldest conversation first, as flat records."""
    messages = (
        Message.objects.filter(conversation__in=rows.order_by().values("pk"))
        .select_related("conversation__bot")
        .order_by("conversation__created_at", "conversation_id", "created_at")[:EXPORT_MAX_MESSAGES]
    )
    for message in messages.iterator(chunk_size=2000):
        conversation = message.conversation
        yield {
            "conversation_id": conversation.pk,
            "bot": conversation.bot.name,
            "version": conversation.version_number,
            "channel": conversation.channel,
            "user": conversation.end_user,
            "user_verified": conversation.end_user_verified,
            "message_id": message.pk,
            "role": message.role,
            "content": message.content,
            "state": message.state,
            "rating": message.rating,
            "feedback": message.feedback,
            "input_tokens": message.input_tokens,
            "output_tokens": message.output_tokens,
            "cost": str(message.cost),
            "ttft_ms": message.ttft_ms,
            "total_ms": message.total_ms,
            "created_at": message.created_at.isoformat(),
        }


def as_jsonl(records: Iterator[dict[str, Any]]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, ensure_ascii=False) + "\n"


def as_csv(records: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    # A byte-order mark, so spreadsheet programs read the UTF-8 (Chinese text included) correctly.
    yield "\ufeff"
    writer.writeheader()
    for record in records:
        writer.writerow({key: _csv_safe(value) for key, value in record.items()})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _csv_safe(value: Any) -> Any:
    # A cell starting with = + - @ is a formula to spreadsheet programs: a visitor's message could
    # otherwise run one on the exporting person's machine.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value

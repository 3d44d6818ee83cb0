"""Usage per day: the SQL aggregates, the page with its plots, and the ranges it refuses."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bots import charts, usage
from bots.models import Conversation, Message, MessageState
from bots.services import bot_create


@pytest.fixture
def traffic(workspace):
    """Two bots; today two users talk, three days ago one, one answer failed."""
    support = bot_create(workspace=workspace, name="Support", config={})
    sales = bot_create(workspace=workspace, name="Sales", config={})
    now = timezone.now()

    def turn(bot, user, *, ago_days=0, ttft=100.0, state=MessageState.COMPLETED, cost="0.01"):
        when = now - timedelta(days=ago_days)
        conversation = Conversation.objects.create(workspace=workspace, bot=bot, end_user=user)
        Conversation.objects.filter(pk=conversation.pk).update(created_at=when)
        question = Message.objects.create(workspace=workspace, conversation=conversation, role="user", content="q")
        answer = Message.objects.create(
            workspace=workspace,
            conversation=conversation,
            role="assistant",
            content="a",
            state=state,
            reply_to=question,
            input_tokens=100,
            output_tokens=20,
            cost=Decimal(cost),
            ttft_ms=ttft if state == MessageState.COMPLETED else None,
        )
        Message.objects.filter(pk__in=[question.pk, answer.pk]).update(created_at=when)

    turn(support, "alice", ttft=100)
    turn(support, "alice", ttft=300)
    turn(sales, "bob", ttft=200)
    turn(support, "carol", ago_days=3, ttft=1000, state=MessageState.FAILED)
    return support, sales


def test_usage_is_aggregated_per_day_with_empty_days(workspace, traffic):
    today = timezone.localdate()
    figures = usage.usage_by_day(workspace=workspace, start=today - timedelta(days=6), end=today)
    assert len(figures.days) == 7 and figures.days[-1].day == today
    last = figures.days[-1]
    assert (last.conversations, last.messages, last.active_users, last.tokens) == (3, 3, 2, 360)
    assert last.cost == Decimal("0.03") and last.ttft_p50 == 200 and last.errors == 0
    three_days_ago = figures.days[-4]
    assert (three_days_ago.messages, three_days_ago.errors, three_days_ago.ttft_p50) == (1, 1, None)
    assert figures.days[0].messages == 0
    totals = figures.totals
    assert (totals.conversations, totals.messages, totals.active_users, totals.errors) == (4, 4, 3, 1)


def test_usage_of_one_bot(workspace, traffic):
    support, sales = traffic
    today = timezone.localdate()
    figures = usage.usage_by_day(workspace=workspace, start=today, end=today, bot_id=sales.pk)
    assert figures.days[0].messages == 1 and figures.totals.active_users == 1


def test_another_workspace_counts_nothing(traffic):
    from tests.factories import WorkspaceFactory

    today = timezone.localdate()
    figures = usage.usage_by_day(workspace=WorkspaceFactory(), start=today - timedelta(days=6), end=today)
    assert figures.totals.messages == 0


def test_the_page_shows_plots_with_their_numbers(signed_in, traffic):
    response = signed_in.get("/usage/", {"days": "7"})
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('<svg class="chart"') == 7
    assert "Time to first token" in page and "Active end users" in page
    assert "<desc" in page and "Messages:" in page  # the numbers, for screen readers
    head = page.split("</head>")[0]
    assert "<section" not in head and "<title>Usage · Switchboard</title>" in head


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"date_from": "2014-01-01", "date_to": "2024-01-01"}, "at most 366 days"),
        ({"date_from": "2024-03-01", "date_to": "2024-01-01"}, "before the start"),
        ({"days": "99999"}, "Fix the choices"),
    ],
)
def test_bad_ranges_say_what_is_wrong(signed_in, traffic, query, says):
    response = signed_in.get("/usage/", query)
    assert response.status_code == 200 and says in response.content.decode()
    assert response.context["figures"] is None


def test_chart_text_is_escaped():
    svg = charts.chart("<script>x</script>", ["<b>"], [charts.Series("s", [1.0])])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "<b>" not in svg
    assert svg.startswith('<svg class="chart"') and 'role="img"' in svg

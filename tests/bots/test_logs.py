"""The Logs page: search and filters across bots, pages, exports, and the inputs it refuses."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from bots import logs
from bots.models import Channel, Conversation, Message, MessageState
from bots.services import bot_create


@pytest.fixture
def history(workspace):
    support = bot_create(workspace=workspace, name="Support", config={})
    sales = bot_create(workspace=workspace, name="Sales", config={})

    def talk(bot, title, user, text, *, rating=None, state=MessageState.COMPLETED, channel=Channel.API, days_ago=0):
        conversation = Conversation.objects.create(
            workspace=workspace, bot=bot, end_user=user, channel=channel, title=title, version_number=1
        )
        Conversation.objects.filter(pk=conversation.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
        question = Message.objects.create(workspace=workspace, conversation=conversation, role="user", content=title)
        Message.objects.create(
            workspace=workspace,
            conversation=conversation,
            role="assistant",
            content=text,
            state=state,
            rating=rating,
            reply_to=question,
            input_tokens=10,
            output_tokens=5,
        )
        return conversation

    return {
        "refund": talk(support, "Refund please", "alice", "退款将在五个工作日内到账。", rating=-1),
        "hours": talk(support, "Opening hours", "bob", "We open at nine.", rating=1, channel=Channel.WIDGET),
        "price": talk(sales, "Price of the pro plan", "carol", '=HYPERLINK("http://evil")', days_ago=40),
        "broken": talk(sales, "Broken", "dave", "", state=MessageState.FAILED),
    }


def titles(response) -> list[str]:
    return [c.title for c in response.context["conversations"]]


def test_the_log_lists_every_bots_conversations_newest_first(signed_in, history):
    response = signed_in.get("/logs/")
    assert response.status_code == 200
    assert titles(response) == ["Broken", "Opening hours", "Refund please", "Price of the pro plan"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "工作日"}, ["Refund please"]),
        ({"q": "opening"}, ["Opening hours"]),
        ({"rating": "bad"}, ["Refund please"]),
        ({"rating": "good"}, ["Opening hours"]),
        ({"rating": "unrated"}, ["Broken", "Price of the pro plan"]),
        ({"state": "failed"}, ["Broken"]),
        ({"channel": "widget"}, ["Opening hours"]),
        ({"user": "CAR"}, ["Price of the pro plan"]),
    ],
)
def test_filters(signed_in, history, query, expected):
    assert titles(signed_in.get("/logs/", query)) == expected


def test_filter_by_bot_and_dates(signed_in, history):
    sales = history["price"].bot
    assert titles(signed_in.get("/logs/", {"bot": sales.pk})) == ["Broken", "Price of the pro plan"]
    today = timezone.localdate()
    recent = signed_in.get(
        "/logs/", {"date_from": (today - timedelta(days=7)).isoformat(), "date_to": today.isoformat()}
    )
    assert "Price of the pro plan" not in titles(recent) and len(titles(recent)) == 3


def test_pages_follow_a_cursor(signed_in, history, monkeypatch):
    monkeypatch.setattr(logs, "PAGE_SIZE", 3)
    first = signed_in.get("/logs/")
    assert len(titles(first)) == 3 and first.context["next_query"]
    second = signed_in.get("/logs/?" + first.context["next_query"])
    assert titles(second) == ["Price of the pro plan"] and not second.context["next_query"]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"q": "x" * 10_000}, "at most"),
        ({"date_from": "2014-01-01", "date_to": "2024-01-01"}, "at most 366 days"),
        ({"date_from": "2024-02-01", "date_to": "2024-01-01"}, "before the start"),
        ({"date_from": "yesterday"}, "Fix the filters"),
        ({"bot": "bot_not_mine"}, "Fix the filters"),
        ({"before": "garbage|x"}, "page link is broken"),
    ],
)
def test_bad_filters_say_what_is_wrong(signed_in, history, query, says):
    response = signed_in.get("/logs/", query)
    assert response.status_code == 200
    assert says in response.content.decode()
    assert response.context["conversations"] == []


def test_another_workspaces_conversations_never_show(signed_in, history):
    from tests.factories import WorkspaceFactory

    other = WorkspaceFactory()
    theirs = bot_create(workspace=other, name="Theirs", config={})
    Conversation.objects.create(workspace=other, bot=theirs, end_user="x", title="Secret plans")
    assert "Secret plans" not in titles(signed_in.get("/logs/"))
    assert "Secret plans" not in signed_in.get("/logs/export.jsonl").getvalue().decode()
    assert signed_in.get("/logs/", {"bot": theirs.pk}).context["conversations"] == []


def test_export_jsonl_has_every_message_of_the_filtered_conversations(signed_in, history):
    response = signed_in.get("/logs/export.jsonl", {"bot": history["refund"].bot_id})
    assert response["Content-Disposition"].startswith("attachment;")
    records = [json.loads(line) for line in response.getvalue().decode().splitlines()]
    assert {r["conversation_id"] for r in records} == {history["refund"].pk, history["hours"].pk}
    assert len(records) == 4 and {r["role"] for r in records} == {"user", "assistant"}
    assert any(r["content"] == "退款将在五个工作日内到账。" for r in records)


def test_export_csv_opens_in_a_spreadsheet_without_running_formulas(signed_in, history):
    response = signed_in.get("/logs/export.csv", {"q": "pro plan"})
    text = response.getvalue().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [row["role"] for row in rows] == ["user", "assistant"]
    assert rows[1]["content"].startswith("'=HYPERLINK")


def test_an_export_with_bad_filters_is_refused(signed_in, history):
    response = signed_in.get("/logs/export.csv", {"q": "x" * 10_000})
    assert response.status_code == 400 and "at most" in response.content.decode()
    assert signed_in.get("/logs/export.xlsx").status_code == 404

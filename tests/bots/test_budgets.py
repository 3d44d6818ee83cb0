"""Monthly budgets: warnings at 80 %, refusals at 100 %, for a bot and for an API key."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import ApiKey
from bots import budgets
from bots.models import Budget, Conversation, Message
from switchboard.errors import InvalidInput, RateLimited


@pytest.fixture(autouse=True)
def no_spend_cache(settings):
    settings.BUDGET_SPEND_CACHE_SECONDS = 0


@pytest.fixture
def relay_not_followed(monkeypatch):
    async def accepted(message_id, after="0-0", **kwargs):
        yield b": accepted\n\n"

    monkeypatch.setattr("bots.sse.relay", accepted)


def spent(bot, *, tokens: int, cost: str, api_key=None, days_ago: int = 0):
    conversation = Conversation.objects.create(workspace=bot.workspace, bot=bot, end_user="x", version_number=1)
    message = Message.objects.create(
        workspace=bot.workspace,
        conversation=conversation,
        role="assistant",
        content="a",
        input_tokens=tokens,
        output_tokens=0,
        cost=Decimal(cost),
        api_key=api_key,
    )
    if days_ago:
        Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(days=days_ago))


def test_a_bot_is_warned_at_80_percent_and_refused_at_100(make_bot):
    bot = make_bot()
    budgets.budget_set(workspace=bot.workspace, bot=bot, monthly_tokens=1000, monthly_cost=None)
    spent(bot, tokens=700, cost="0")
    assert budgets.check_turn(bot=bot, api_key_id=None) == []
    spent(bot, tokens=150, cost="0")
    (warning,) = budgets.check_turn(bot=bot, api_key_id=None)
    assert warning.percent == 85 and "850 of 1,000 tokens" in warning.describe()
    spent(bot, tokens=150, cost="0")
    with pytest.raises(RateLimited) as refused:
        budgets.check_turn(bot=bot, api_key_id=None)
    assert refused.value.code == "budget_exceeded" and refused.value.retry_after > 0
    assert "raises the budget" in refused.value.message


def test_only_this_months_spend_counts(make_bot):
    bot = make_bot()
    budgets.budget_set(workspace=bot.workspace, bot=bot, monthly_tokens=None, monthly_cost=Decimal("1.00"))
    spent(bot, tokens=0, cost="5.00", days_ago=40)
    assert budgets.check_turn(bot=bot, api_key_id=None) == []


def test_a_budget_needs_a_limit_and_a_target_in_the_workspace(make_bot, workspace):
    bot = make_bot()
    with pytest.raises(InvalidInput):
        budgets.budget_set(workspace=workspace, bot=bot, monthly_tokens=None, monthly_cost=None)
    from tests.factories import WorkspaceFactory

    with pytest.raises(InvalidInput):
        budgets.budget_set(workspace=WorkspaceFactory(), bot=bot, monthly_tokens=5, monthly_cost=None)
    assert not Budget.objects.exists()


def test_the_chat_api_warns_in_headers_and_refuses_a_spent_key(api, api_key_secret, make_bot, relay_not_followed):
    bot = make_bot()
    key = ApiKey.objects.get(workspace=bot.workspace)
    budgets.budget_set(workspace=bot.workspace, api_key=key, monthly_tokens=None, monthly_cost=Decimal("1.00"))
    spent(bot, tokens=0, cost="0.90", api_key=key)
    response = api.post(f"/api/v1/bots/{bot.pk}/chat", {"message": "hi", "stream": True}, format="json")
    assert response.status_code == 200
    assert response["X-Budget-Used"] == "0.90" and "90% of its monthly budget" in response["X-Budget-Warning"]
    assert Message.objects.get(pk=response["X-Message-Id"]).api_key_id == key.pk
    spent(bot, tokens=0, cost="0.20", api_key=key)
    before = Message.objects.count()
    response = api.post(f"/api/v1/bots/{bot.pk}/chat", {"message": "hi", "stream": True}, format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "budget_exceeded" and "Retry-After" in response
    assert Message.objects.count() == before
    # Another key of the workspace is not held back by this key's budget.
    from rest_framework.test import APIClient

    from accounts.services import api_key_create

    _, secret = api_key_create(workspace=bot.workspace, name="second")
    other = APIClient(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = other.post(f"/api/v1/bots/{bot.pk}/chat", {"message": "hi", "stream": True}, format="json")
    assert response.status_code == 200 and "X-Budget-Warning" not in response


def test_the_usage_page_sets_shows_and_removes_budgets(signed_in, make_bot):
    bot = make_bot(name="Support")
    response = signed_in.post("/usage/budgets/", {"target": f"bot:{bot.pk}", "monthly_tokens": "1000"})
    assert response.status_code == 302
    budget = Budget.objects.get(bot=bot)
    spent(bot, tokens=900, cost="0")
    page = signed_in.get("/usage/").content.decode()
    assert "The bot Support has used 90 % of its monthly budget" in page and "<meter" in page
    assert "The bot Support has used 90 %" in signed_in.get(f"/bots/{bot.pk}/").content.decode()
    response = signed_in.post("/usage/budgets/", {"target": f"bot:{bot.pk}"})
    assert Budget.objects.get(pk=budget.pk).monthly_tokens == 1000  # an empty budget is refused
    signed_in.post(f"/usage/budgets/{budget.pk}/delete/")
    assert not Budget.objects.exists()


def test_a_viewer_cannot_set_budgets(viewer_client, make_bot):
    bot = make_bot()
    response = viewer_client.post("/usage/budgets/", {"target": f"bot:{bot.pk}", "monthly_tokens": "5"})
    assert response.status_code == 403 and not Budget.objects.exists()


def test_the_budgets_api(api, make_bot):
    bot = make_bot()
    response = api.post("/api/v1/budgets", {"bot_id": bot.pk, "monthly_cost": "2.50"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["bot_id"] == bot.pk and body["used"]["fraction"] == 0 and body["monthly_cost"] == "2.5000"
    spent(bot, tokens=0, cost="2.25")
    listed = api.get("/api/v1/budgets").json()["data"]
    assert listed[0]["used"]["warning"] is True and listed[0]["used"]["fraction"] == 0.9
    for bad, param in [
        ({"bot_id": "bot_nope", "monthly_tokens": 5}, "bot_id"),
        ({"bot_id": bot.pk}, "monthly_tokens"),
        ({"monthly_tokens": 5}, "target"),
    ]:
        response = api.post("/api/v1/budgets", bad, format="json")
        assert response.status_code == 400 and response.json()["error"]["param"] == param, bad
    assert api.delete(f"/api/v1/budgets/{body['id']}").status_code == 204
    assert not Budget.objects.exists()

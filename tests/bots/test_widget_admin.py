"""The Embed & share page: the snippet, allowed sites, the public link, the identity secret, limits."""

from __future__ import annotations

import pytest

from bots.models import BotWidget, WidgetDefaults
from bots.widget import access


@pytest.fixture
def bot(make_bot):
    return make_bot(name="Shop helper")


def form_data(**changes):
    data = {
        "action": "save",
        "enabled": "on",
        "allowed_origins": "",
        "title": "",
        "accent": "#2563eb",
        "position": "right",
        "greeting": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_the_page_shows_the_snippet_with_only_the_public_id(signed_in, bot):
    response = signed_in.get(f"/bots/{bot.pk}/embed/")
    assert response.status_code == 200
    widget = BotWidget.objects.get(bot=bot)
    page = response.content.decode()
    assert f'data-bot="{widget.public_id}"' in page and "/widget.js" in page
    assert "No site may show the widget yet" in page
    assert bot.pk not in page.split('data-role="snippet"')[1].split("</pre>")[0]
    assert f"/s/{widget.public_id}" in page


def test_saving_sites_normalises_them(signed_in, bot):
    response = signed_in.post(
        f"/bots/{bot.pk}/embed/",
        form_data(allowed_origins="www.Example.com\nhttps://*.shop.example\n\n", share_enabled="on"),
    )
    assert response.status_code == 302
    widget = BotWidget.objects.get(bot=bot)
    assert widget.allowed_origins == ["https://www.example.com", "https://*.shop.example"]
    assert widget.share_enabled


def test_a_bad_site_is_shown_on_the_field_and_nothing_is_saved(signed_in, bot):
    signed_in.post(f"/bots/{bot.pk}/embed/", form_data(allowed_origins="https://ok.example"))
    response = signed_in.post(
        f"/bots/{bot.pk}/embed/", form_data(allowed_origins="https://ok.example\nhttps://x.example/path", title="New")
    )
    assert response.status_code == 200
    assert "without a path" in response.content.decode()
    widget = BotWidget.objects.get(bot=bot)
    assert widget.allowed_origins == ["https://ok.example"] and widget.title == ""


def test_a_viewer_posting_directly_changes_nothing(viewer_client, bot):
    response = viewer_client.post(f"/bots/{bot.pk}/embed/", form_data(allowed_origins="https://evil.example"))
    assert response.status_code == 403 and "Not allowed" in response.content.decode()
    assert BotWidget.objects.get(bot=bot).allowed_origins == []
    response = viewer_client.post(f"/bots/{bot.pk}/embed/", {"action": "rotate_secret"})
    assert BotWidget.objects.get(bot=bot).identity_secret is None


def test_the_identity_secret_is_shown_once(signed_in, bot):
    response = signed_in.post(f"/bots/{bot.pk}/embed/", {"action": "rotate_secret"})
    page = response.content.decode()
    secret = page.split('data-role="identity-secret">')[1].split("<")[0]
    assert secret.startswith("whs_")
    widget = BotWidget.objects.get(bot=bot)
    assert widget.identity_secret.reveal() == secret
    access.identity_verify(secret=secret, user_id="7", user_hash=access.identity_hash(secret, "7"))
    again = signed_in.get(f"/bots/{bot.pk}/embed/").content.decode()
    assert secret not in again and "A secret is set" in again


def test_workspace_defaults_are_for_admins(editor_client, bot, client, workspace):
    response = editor_client.post(
        f"/bots/{bot.pk}/embed/",
        {"action": "defaults", "visitor_messages_per_minute": 5, "ip_messages_per_minute": 9, "daily_message_cap": 50},
    )
    assert response.status_code == 403 and "Only workspace admins and owners" in response.content.decode()
    assert not WidgetDefaults.objects.filter(workspace=workspace).exists()


def test_an_admin_sets_workspace_defaults_and_bad_values_say_why(signed_in, bot, workspace):
    response = signed_in.post(
        f"/bots/{bot.pk}/embed/",
        {"action": "defaults", "visitor_messages_per_minute": 0, "ip_messages_per_minute": 9, "daily_message_cap": 50},
    )
    assert response.status_code == 200 and "greater than or equal to 1" in response.content.decode()
    assert not WidgetDefaults.objects.filter(workspace=workspace).exists()
    signed_in.post(
        f"/bots/{bot.pk}/embed/",
        {"action": "defaults", "visitor_messages_per_minute": 5, "ip_messages_per_minute": 9, "daily_message_cap": 50},
    )
    defaults = WidgetDefaults.objects.get(workspace=workspace)
    assert (defaults.visitor_messages_per_minute, defaults.daily_message_cap) == (5, 50)


def test_another_workspaces_bot_is_404(signed_in, make_bot):
    from bots.services import bot_create
    from tests.factories import WorkspaceFactory

    other = bot_create(workspace=WorkspaceFactory(), name="Theirs", config={})
    assert signed_in.get(f"/bots/{other.pk}/embed/").status_code == 404
    assert signed_in.post(f"/bots/{other.pk}/embed/", form_data()).status_code == 404


def test_the_preview_frame_is_for_members_only(signed_in, bot, client):
    widget = BotWidget.objects.get_or_create(bot=bot, defaults={"workspace": bot.workspace})[0]
    response = signed_in.get(f"/widget/frame/{widget.public_id}", {"preview": "1"})
    assert response.status_code == 200
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    signed_in.logout()
    response = signed_in.get(f"/widget/frame/{widget.public_id}", {"preview": "1"})
    assert response.status_code == 403


# -- the same through the workspace API ----------------------------------------------------------------


def test_the_widget_api_reads_and_changes_settings(api, bot):
    response = api.get(f"/api/v1/bots/{bot.pk}/widget")
    assert response.status_code == 200
    body = response.json()
    assert body["public_id"].startswith("pub_") and body["allowed_origins"] == [] and not body["identity_secret_set"]
    response = api.patch(
        f"/api/v1/bots/{bot.pk}/widget",
        {"allowed_origins": ["Shop.Example"], "share_enabled": True, "daily_message_cap": 500},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["allowed_origins"] == ["https://shop.example"]
    assert response.json()["daily_message_cap"] == 500


def test_bad_widget_settings_are_a_400_naming_the_field_and_change_nothing(api, bot):
    api.patch(f"/api/v1/bots/{bot.pk}/widget", {"allowed_origins": ["https://ok.example"]}, format="json")
    for body, param in [
        ({"allowed_origins": ["https://ok.example", "javascript:alert(1)"], "title": "x"}, "allowed_origins"),
        ({"accent": "red"}, "accent"),
        ({"daily_message_cap": 0}, "daily_message_cap"),
        ({"position": "top"}, "position"),
    ]:
        response = api.patch(f"/api/v1/bots/{bot.pk}/widget", body, format="json")
        assert response.status_code == 400, body
        assert response.json()["error"]["param"] == param
    widget = BotWidget.objects.get(bot=bot)
    assert widget.allowed_origins == ["https://ok.example"] and widget.title == "" and widget.accent == "#2563eb"


def test_the_identity_secret_is_returned_once_and_never_read_back(api, bot):
    response = api.post(f"/api/v1/bots/{bot.pk}/widget/identity-secret")
    assert response.status_code == 201
    secret = response.json()["identity_secret"]
    body = api.get(f"/api/v1/bots/{bot.pk}/widget").json()
    assert body["identity_secret_set"] and secret not in str(body)


def test_another_workspaces_widget_is_404_through_the_api(api):
    from bots.services import bot_create
    from tests.factories import WorkspaceFactory

    other = bot_create(workspace=WorkspaceFactory(), name="Theirs", config={})
    assert api.get(f"/api/v1/bots/{other.pk}/widget").status_code == 404
    assert api.post(f"/api/v1/bots/{other.pk}/widget/identity-secret").status_code == 404


def test_widget_changes_and_budgets_are_audited(api, bot):
    from accounts.models import AuditEvent
    from bots import budgets

    for _ in range(2):  # the second one changes nothing, so it is not logged
        api.patch(f"/api/v1/bots/{bot.pk}/widget", {"allowed_origins": ["https://shop.example"]}, format="json")
    api.post(f"/api/v1/bots/{bot.pk}/widget/identity-secret")
    budgets.budget_set(workspace=bot.workspace, bot=bot, monthly_tokens=10, monthly_cost=None)
    events = list(AuditEvent.objects.filter(workspace=bot.workspace).order_by("created_at"))
    assert [e.action for e in events][-3:] == ["widget.update", "widget.identity_secret", "budget.set"]
    update = events[-3]
    assert update.details == {"allowed_origins": ["https://shop.example"]} and update.actor_api_key_id
    assert "whs_" not in str([e.details for e in events])

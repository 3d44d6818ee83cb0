"""The overview page warns about network allowlist entries that weaken the protection of the workspace."""

from __future__ import annotations

import pytest
from django.urls import reverse

from network import services

pytestmark = pytest.mark.django_db


def test_the_overview_warns_while_a_broad_entry_exists(signed_in, workspace) -> None:
    entry = services.allowlist_entry_create(workspace=workspace, value="0.0.0.0/0", confirm_broad=True)
    page = signed_in.get(reverse("dashboard")).content.decode()
    assert "0.0.0.0/0 opens 14 whole special-purpose ranges" in page
    assert reverse("network:allowlist") in page
    services.allowlist_entry_delete(entry=entry)
    assert "special-purpose" not in signed_in.get(reverse("dashboard")).content.decode()


def test_the_overview_does_not_warn_about_ordinary_entries_or_other_workspaces(signed_in, workspace) -> None:
    from tests.factories import WorkspaceFactory

    services.allowlist_entry_create(workspace=workspace, value="10.20.0.0/16")
    services.allowlist_entry_create(workspace=WorkspaceFactory(), value="::/0", confirm_broad=True)
    page = signed_in.get(reverse("dashboard")).content.decode()
    assert "special-purpose" not in page and "Review the network allowlist" not in page


def test_the_get_started_list_ticks_off_what_the_workspace_has_done(signed_in, workspace, make_bot):
    import re

    steps = ["model", "bot", "knowledge", "actions", "widget", "api_key"]

    def ticked(page: str) -> set[str]:
        items = re.findall(r'<li class="(done)?">', page.split('class="onboarding"')[1])
        return {step for step, flag in zip(steps, items, strict=True) if flag}

    # make_bot's chat model exists already; nothing else is done yet.
    assert ticked(signed_in.get(reverse("dashboard")).content.decode()) == {"model"}
    bot = make_bot()  # a chat model and a published bot
    from bots.widget.services import widget_update

    widget_update(bot=bot, allowed_origins=["https://shop.example"])
    page = signed_in.get(reverse("dashboard")).content.decode()
    assert ticked(page) == {"model", "bot", "widget"}
    assert "Every step is done" not in page


def test_error_pages_are_styled_and_say_what_to_do(signed_in, rf):
    from django.views.defaults import server_error

    response = signed_in.get("/bots/bot_nothing_here/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page and "switchboard.css" in page and "another workspace" in page
    assert signed_in.get("/api/v1/bots/bot_nothing_here").json()["error"]["code"] == "not_found"  # the API stays JSON
    failed = server_error(rf.get("/"))
    assert failed.status_code == 500 and b"X-Request-ID" in failed.content and b"favicon.svg" in failed.content


def test_the_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
    assert b'rel="icon"' in client.get("/login/").content

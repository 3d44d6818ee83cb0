"""Every form of the admin UI refuses, on the server, a role that may not use it, whatever is posted:
each page route is posted to as a viewer (and each admin-only one as an editor) with a payload that
would change things: a refused post answers 403 with the page saying why, and the database is
compared before and after. (The API's roles are checked
route by route in test_roles.py.)"""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import Role
from accounts.services import api_key_create, invitation_create
from tests.factories import MembershipFactory, handbook_and_shop

pytestmark = pytest.mark.django_db

# Routes a viewer may post to: signing in and out, switching or leaving a workspace, accepting an
# invitation, choosing the UI's language (a cookie, or the person's own setting).
OPEN_TO_EVERY_MEMBER = {
    "settings/language/",
    "login/",
    "logout/",
    "workspace/switch/",
    "settings/members/leave/",
    "invitations/<str:token>/",
    "i18n/setlang/",
}
APPS = ("accounts", "network", "providers", "knowledge", "actions", "bots")
# A payload that would change something on most forms, if a form accepted it.
PAYLOAD = {
    "name": "Changed",
    "slug": "changed",
    "system_prompt": "Changed",
    "note": "Changed",
    "email": "intruder@example.com",
    "role": "owner",
    "scope": "full",
    "value": "10.9.0.0/16",
    "kind": "openai",
    "base_url": "https://api.example.com/v1",
    "api_key": "sk-intruder",
    "timeout_seconds": "60",
    "model": "gpt-intruder",
    "enabled": "false",
    "is_enabled": "false",
    "confirm": "true",
    "type": "bearer",
    "token": "intruder",
    "text": "Changed",
    "url": "https://example.com/a.txt",
    "spec": '{"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {}}',
}


@pytest.fixture
def ids(workspace, make_bot, chat_model) -> dict[str, str]:
    from bots.models import Budget, Conversation
    from bots.widget.services import widget_update
    from knowledge.models import Chunk
    from network.services import allowlist_entry_create

    bot = make_bot()
    base, document, action = handbook_and_shop(workspace)
    key, _ = api_key_create(workspace=workspace, name="existing", role=Role.EDITOR)
    invitation, _ = invitation_create(workspace=workspace, email="p@example.com", role="viewer", inviter_role="owner")
    return {
        "bot_id": bot.pk,
        "number": "1",
        "conversation_id": Conversation.objects.create(workspace=workspace, bot=bot, end_user="u", version_number=1).pk,
        "base_id": base.pk,
        "document_id": document.pk,
        "chunk_id": str(Chunk.objects.filter(document=document).first().public_id),
        "action_id": action.pk,
        "operation_id": action.operations.get().pk,
        "provider_id": chat_model.provider_id,
        "model_id": chat_model.pk,
        "entry_id": allowlist_entry_create(workspace=workspace, value="10.0.0.0/8").pk,
        "key_id": key.pk,
        "member_id": MembershipFactory(workspace=workspace, role=Role.EDITOR).pk,
        "invitation_id": invitation.pk,
        "public_id": widget_update(bot=bot, allowed_origins=["https://shop.example"]).public_id,
        "fmt": "csv",
        "budget_id": Budget.objects.create(workspace=workspace, bot=bot, monthly_tokens=1000).pk,
    }


def _page_routes(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    routes: list[str] = []
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += _page_routes(entry, pattern)
        # The API, the visitor API (its own tokens, tested in tests/bots) and the favicon are not forms.
        elif isinstance(entry, URLPattern) and not pattern.startswith(
            ("api/", "v1/", "healthz", "widget/v1/", "favicon.ico")
        ):
            routes.append(pattern)
    return routes


def _snapshot() -> dict[str, list]:
    state = {}
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            state[model._meta.label] = list(model.objects.order_by("pk").values())
    return state


def _admin_only(route: str) -> bool:
    return route.startswith(("settings/", "providers/")) and route not in OPEN_TO_EVERY_MEMBER


@pytest.mark.parametrize(
    "role, which",
    [(Role.VIEWER, lambda route: route not in OPEN_TO_EVERY_MEMBER), (Role.EDITOR, _admin_only)],
    ids=["viewer, every form", "editor, admin forms"],
)
def test_a_role_posting_a_form_it_may_not_use_changes_nothing(workspace, ids, role, which):
    person = Client()
    person.force_login(MembershipFactory(workspace=workspace, role=role).user)
    routes = [route for route in _page_routes() if which(route)]
    assert len(routes) > 10
    before = _snapshot()
    for route in routes:
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: ids[m.group(1)], route)
        response = person.post(path, {**PAYLOAD, "file": SimpleUploadedFile("x.txt", b"intruder")})
        # A refused form answers 403 with the page saying why; read-only pages ignore the post (200).
        assert response.status_code in (200, 403, 405), (path, response.status_code)
        if response.status_code == 403:
            page = response.content.decode()
            assert "<h1>Not allowed</h1>" in page and "Nothing was changed." in page, path
        shown = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]
        assert not [text for level, text in shown if level == "success"], (path, shown)
        person.cookies.pop("messages", None)  # each route's messages on their own
    assert _snapshot() == before

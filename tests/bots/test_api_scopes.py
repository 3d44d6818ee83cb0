"""API-key scopes: a chat-scope key chats with published bots and reaches nothing else.

A chat-scope key can send messages (REST and OpenAI-compatible), follow, stop, confirm and rate
the turns, list the published bots as models and read its workspace. Every other route answers 403
naming the scope needed, before anything is read or written; the draft is refused too.
"""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey, ApiKeyScope, Role
from accounts.services import api_key_create
from bots.models import Bot, BotVersion, Conversation, Message

pytestmark = pytest.mark.django_db

# What a chat-scope key may call; every other operation in the schema must refuse it.
CHAT_ROUTES = {
    ("post", "/api/v1/bots/{id}/chat"),
    ("get", "/api/v1/messages/{id}"),
    ("get", "/api/v1/messages/{id}/events"),
    ("post", "/api/v1/messages/{id}/stop"),
    ("post", "/api/v1/messages/{id}/confirmations"),
    ("post", "/api/v1/messages/{id}/feedback"),
    ("post", "/v1/chat/completions"),
    ("get", "/v1/models"),
    ("get", "/api/v1/workspace"),
}


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def chat_key(workspace) -> APIClient:
    _, secret = api_key_create(workspace=workspace, name="website widget", scope=ApiKeyScope.CHAT)
    return bearer(secret)


def assert_needs_full_scope(response, *, param: str | None = None) -> None:
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["type"] == "permission_error" and error["code"] == "insufficient_scope"
    assert "full scope" in error["message"] and "chat scope" in error["message"]
    assert error["param"] == param


# -- refused ----------------------------------------------------------------------------------------


@pytest.fixture
def objects(workspace, chat_model, make_bot):
    bot = make_bot(system_prompt="Secret instructions.")
    conversation = Conversation.objects.create(workspace=workspace, bot=bot, end_user="someone", version_number=1)
    return {
        "bot": bot.pk,
        "conversation": conversation.pk,
        "provider": chat_model.provider_id,
        "key": ApiKey.objects.for_workspace(workspace).first().pk,
    }


REFUSED = [
    # bot configurations, drafts and versions
    ("get", "/api/v1/bots/", None),
    ("post", "/api/v1/bots/", {"name": "Mine now"}),
    ("get", "/api/v1/bots/{bot}", None),
    ("patch", "/api/v1/bots/{bot}", {"config": {"system_prompt": "Pwned."}}),
    ("delete", "/api/v1/bots/{bot}", None),
    ("post", "/api/v1/bots/{bot}/publish", {}),
    ("get", "/api/v1/bots/{bot}/versions", None),
    ("get", "/api/v1/bots/{bot}/versions/1", None),
    ("post", "/api/v1/bots/{bot}/versions/1/restore", None),
    # the workspace's conversations
    ("get", "/api/v1/conversations/", None),
    ("get", "/api/v1/conversations/{conversation}", None),
    ("get", "/api/v1/conversations/{conversation}/messages", None),
    ("delete", "/api/v1/conversations/{conversation}", None),
    # keys, providers and their credentials, actions and theirs, knowledge
    ("get", "/api/v1/api-keys/", None),
    ("post", "/api/v1/api-keys/", {"name": "escalate", "role": "admin"}),
    ("get", "/api/v1/api-keys/{key}", None),
    ("delete", "/api/v1/api-keys/{key}", None),
    ("get", "/api/v1/providers/", None),
    ("post", "/api/v1/providers/{provider}/test", None),
    ("get", "/api/v1/models/", None),
    ("get", "/api/v1/actions/", None),
    ("post", "/api/v1/actions/import", {"spec": "{}"}),
    ("get", "/api/v1/knowledge-bases/", None),
]


@pytest.mark.parametrize("method, template, body", REFUSED, ids=[f"{m} {t}" for m, t, _ in REFUSED])
def test_a_chat_key_is_refused_outside_the_chat_routes_and_changes_nothing(chat_key, objects, method, template, body):
    path = template.format(**objects)
    before = (
        list(Bot.objects.values("pk", "config", "published_version")),
        BotVersion.objects.count(),
        Conversation.objects.count(),
        list(ApiKey.objects.values("pk", "revoked_at")),
    )
    response = getattr(chat_key, method)(path, body, format="json")
    assert_needs_full_scope(response)
    assert f"{method.upper()} {path}" in response.json()["error"]["message"]
    assert "Secret instructions." not in response.content.decode()
    after = (
        list(Bot.objects.values("pk", "config", "published_version")),
        BotVersion.objects.count(),
        Conversation.objects.count(),
        list(ApiKey.objects.values("pk", "revoked_at")),
    )
    assert after == before


def test_a_chat_key_reaches_exactly_the_chat_routes(client, chat_key):
    """Every operation of the schema, new ones included: only the chat routes let a chat key in.
    The ids name nothing, so a route that lets it in answers 404 (or 400) and writes nothing; a
    route that does not answers 403 first, whatever the id."""
    schema = client.get("/api/schema/", {"format": "json"}).json()
    reached = set()
    for template, item in schema["paths"].items():
        for method in item.keys() & {"get", "post", "put", "patch", "delete"}:
            path = re.sub(r"\{\w+\}", "zz_nothing", template.replace("{number}", "999999").replace("{n}", "1"))
            response = getattr(chat_key, method)(path, {}, format="json")
            if template.startswith("/widget/v1/"):
                # The visitor API takes no API key at all: a session token, or (sessions) a ticket.
                expected = 400 if template == "/widget/v1/sessions" else 401
                assert response.status_code == expected, (method, template, response.content)
                continue
            error = (
                response.json().get("error", {})
                if response.get("Content-Type", "").startswith("application/json")
                else {}
            )
            if response.status_code == 403 and error.get("code") == "insufficient_scope":
                assert "full scope" in error["message"], (method, template)
            else:
                reached.add((method, template))
    assert reached == CHAT_ROUTES
    assert Message.objects.count() == 0 and Conversation.objects.count() == 0


# -- the chat routes, published versions only --------------------------------------------------------


def test_a_chat_key_cannot_talk_to_the_draft(chat_key, make_bot):
    bot = make_bot()
    response = chat_key.post(f"/api/v1/bots/{bot.pk}/chat", {"message": "hi", "version": "draft"}, format="json")
    assert_needs_full_scope(response, param="version")
    assert "draft" in response.json()["error"]["message"]
    assert Message.objects.count() == 0 and Conversation.objects.count() == 0


@pytest.mark.parametrize("route", ["rest", "openai"])
def test_a_chat_key_cannot_continue_a_conversation_held_on_the_draft(chat_key, make_bot, workspace, route):
    bot = make_bot()
    draft = Conversation.objects.create(
        workspace=workspace, bot=bot, end_user="owner", channel="preview", version_number=None
    )
    if route == "rest":
        response = chat_key.post(
            f"/api/v1/bots/{bot.pk}/chat", {"message": "hi", "conversation_id": draft.pk}, format="json"
        )
    else:
        response = chat_key.post(
            "/v1/chat/completions",
            {"model": bot.slug, "messages": [{"role": "user", "content": "hi"}], "conversation_id": draft.pk},
            format="json",
        )
    assert_needs_full_scope(response, param="conversation_id")
    assert Message.objects.count() == 0


def test_a_chat_key_sees_its_workspace_and_scope(chat_key, workspace):
    body = chat_key.get("/api/v1/workspace").json()
    assert body["id"] == workspace.pk and body["scope"] == "chat"


def test_a_chat_key_lists_published_bots_as_models(chat_key, make_bot):
    make_bot(name="Public one")
    make_bot(name="Draft only", publish=False)
    assert [m["id"] for m in chat_key.get("/v1/models").json()["data"]] == ["public-one"]


def test_a_chat_key_rates_and_reads_a_message_of_its_workspace_only(chat_key, make_bot, workspace):
    from tests.factories import WorkspaceFactory

    bot = make_bot()
    conversation = Conversation.objects.create(workspace=workspace, bot=bot, end_user="u", version_number=1)
    message = Message.objects.create(
        workspace=workspace, conversation=conversation, role="assistant", content="Hello.", state="completed"
    )
    rated = chat_key.post(f"/api/v1/messages/{message.pk}/feedback", {"rating": 1}, format="json")
    assert rated.status_code == 200 and rated.json()["rating"] == 1
    assert chat_key.get(f"/api/v1/messages/{message.pk}").json()["content"] == "Hello."

    other = WorkspaceFactory()
    theirs = Message.objects.create(
        workspace=other,
        role="assistant",
        content="Theirs.",
        state="completed",
        conversation=Conversation.objects.create(
            workspace=other, bot=Bot.objects.create(workspace=other, name="T", slug="t"), end_user="u"
        ),
    )
    assert chat_key.get(f"/api/v1/messages/{theirs.pk}").status_code == 404
    assert chat_key.post(f"/api/v1/messages/{theirs.pk}/feedback", {"rating": -1}, format="json").status_code == 404


# -- full-scope keys keep their roles --------------------------------------------------------------


def test_a_full_scope_viewer_key_still_cannot_chat_and_is_told_about_chat_keys(workspace, make_bot):
    bot = make_bot()
    _, secret = api_key_create(workspace=workspace, name="reader", role=Role.VIEWER)
    response = bearer(secret).post(f"/api/v1/bots/{bot.pk}/chat", {"message": "hi"}, format="json")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "insufficient_role" and "chat scope" in error["message"]
    assert Message.objects.count() == 0


def test_a_full_scope_viewer_key_still_reads_bots(workspace, make_bot):
    bot = make_bot()
    _, secret = api_key_create(workspace=workspace, name="reader", role=Role.VIEWER)
    assert bearer(secret).get(f"/api/v1/bots/{bot.pk}").status_code == 200


# -- a real turn ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_chat_key_chats_with_a_published_bot_over_rest_and_openai(chat_key, make_bot, fake_llm, celery_worker):
    from tests.fake_llm import TextReply

    bot = make_bot(system_prompt="Be brief.")
    fake_llm.script(TextReply("Hello from the published bot."))
    response = chat_key.post(f"/api/v1/bots/{bot.pk}/chat", {"message": "Hi"}, format="json")
    assert response.status_code == 200, response.content
    message = response.json()
    assert message["state"] == "completed" and message["content"] == "Hello from the published bot."
    assert chat_key.get(f"/api/v1/messages/{message['id']}").json()["content"] == message["content"]
    stopped = chat_key.post(f"/api/v1/messages/{message['id']}/stop")
    assert stopped.status_code == 409 and stopped.json()["error"]["code"] == "turn_already_finished"

    fake_llm.script(TextReply("And over the OpenAI API."))
    completion = chat_key.post(
        "/v1/chat/completions",
        {"model": bot.slug, "messages": [{"role": "user", "content": "Hi again"}]},
        format="json",
    )
    assert completion.status_code == 200, completion.content
    assert completion.json()["choices"][0]["message"]["content"] == "And over the OpenAI API."
    assert chat_key.get(f"/api/v1/conversations/{message['conversation_id']}").status_code == 403

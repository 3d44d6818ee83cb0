"""Bot CRUD, publishing, versions and the bad inputs of the chat route (no worker needed)."""

import pytest

from bots.models import Bot, Conversation, Message
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_create_bot_fills_defaults_and_slug(api, chat_model):
    response = api.post(
        "/api/v1/bots/",
        {
            "name": "Support Bot",
            "config": {
                "system_prompt": "You help {{customer}}.",
                "model": {"provider_model_id": chat_model.pk},
                "variables": [{"name": "customer", "required": True}],
            },
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    bot = response.json()
    assert bot["slug"] == "support-bot"
    assert bot["config"]["memory"] == {"max_turns": 10, "max_tokens": 4000}
    assert bot["published_version"] is None


def test_undeclared_prompt_variable_is_rejected(api):
    response = api.post("/api/v1/bots/", {"name": "x", "config": {"system_prompt": "Hi {{name}}"}}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "config.system_prompt"
    assert Bot.objects.count() == 0


def test_model_of_another_workspace_is_rejected(api):
    from providers.services import provider_create, provider_model_create

    other = WorkspaceFactory()
    foreign = provider_model_create(
        provider=provider_create(workspace=other, name="p", kind="openai"), model="gpt-4o-mini"
    )
    response = api.post(
        "/api/v1/bots/", {"name": "x", "config": {"model": {"provider_model_id": foreign.pk}}}, format="json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_model"


def _operation(workspace, operation_id: str = "createOrder"):
    """An action operation of `workspace`, imported from a one-operation spec."""
    import json

    from actions.importing import SpecSource, action_import
    from actions.models import SourceKind

    spec = {
        "openapi": "3.0.3",
        "info": {"title": "Shop", "version": "1"},
        "servers": [{"url": "https://shop.example.com"}],
        "paths": {"/orders": {"post": {"operationId": operation_id, "responses": {"201": {"description": "ok"}}}}},
    }
    action = action_import(workspace=workspace, source=SpecSource(kind=SourceKind.TEXT, text=json.dumps(spec))).action
    return action.operations.get()


@pytest.mark.parametrize("whose", ["another workspace's", "unknown"])
def test_operation_not_of_this_workspace_is_rejected_on_create(api, whose):
    operation_id = _operation(WorkspaceFactory()).pk if whose == "another workspace's" else "op_doesnotexist"
    response = api.post(
        "/api/v1/bots/", {"name": "x", "config": {"actions": {"operation_ids": [operation_id]}}}, format="json"
    )
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "unknown_operation" and error["param"] == "config.actions.operation_ids"
    assert operation_id in error["message"] and "this workspace" in error["message"]
    assert Bot.objects.count() == 0


def test_operation_of_another_workspace_is_rejected_on_update_and_the_draft_kept(api, make_bot, workspace):
    own = _operation(workspace)
    bot = make_bot(publish=False, actions={"operation_ids": [own.pk]})
    foreign = _operation(WorkspaceFactory())
    response = api.patch(
        f"/api/v1/bots/{bot.pk}",
        {"config": {"system_prompt": "Changed.", "actions": {"operation_ids": [own.pk, foreign.pk]}}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_operation"
    bot.refresh_from_db()
    assert bot.config["actions"]["operation_ids"] == [own.pk]
    assert bot.config["system_prompt"] != "Changed."


def test_own_disabled_operation_is_accepted_with_a_warning(api, workspace):
    from actions.services import operation_update

    operation = operation_update(operation=_operation(workspace), enabled=False)
    response = api.post(
        "/api/v1/bots/", {"name": "x", "config": {"actions": {"operation_ids": [operation.pk]}}}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["config"]["actions"]["operation_ids"] == [operation.pk]
    assert [w["code"] for w in response.json()["warnings"]] == ["unavailable_operations"]


def test_publish_versions_and_restore(api, make_bot):
    bot = make_bot(publish=False, system_prompt="v1 prompt")
    first = api.post(f"/api/v1/bots/{bot.pk}/publish", {"note": "first"}, format="json")
    assert first.status_code == 201 and first.json()["number"] == 1
    api.patch(f"/api/v1/bots/{bot.pk}", {"config": {"system_prompt": "v2 prompt"}}, format="json")
    assert api.post(f"/api/v1/bots/{bot.pk}/publish", {}, format="json").json()["number"] == 2
    versions = api.get(f"/api/v1/bots/{bot.pk}/versions").json()["data"]
    assert [(v["number"], v["is_published"]) for v in versions] == [(2, True), (1, False)]
    restored = api.post(f"/api/v1/bots/{bot.pk}/versions/1/restore").json()
    assert restored["config"]["system_prompt"] == "v1 prompt"
    assert restored["published_version"] == 2  # restoring changes the draft, not what is served


def test_patch_merges_config_sections(api, make_bot):
    bot = make_bot(publish=False)
    response = api.patch(f"/api/v1/bots/{bot.pk}", {"config": {"memory": {"max_turns": 3}}}, format="json")
    assert response.json()["config"]["memory"] == {"max_turns": 3, "max_tokens": 4000}
    assert response.json()["config"]["model"]["provider_model_id"] == bot.config["model"]["provider_model_id"]


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"message": ""}, 400, "empty_message"),
        ({"message": "   "}, 400, "empty_message"),
        ({"message": "x" * 40_000}, 413, "message_too_long"),
        ({"message": "hi", "conversation_id": "conv_doesnotexist"}, 404, "conversation_not_found"),
        ({"message": "hi", "inputs": {"city": ""}}, 400, "missing_variable"),
    ],
)
def test_bad_chat_requests_write_nothing(api, make_bot, body, status, code):
    bot = make_bot(system_prompt="Weather in {{city}}", variables=[{"name": "city", "required": True}])
    response = api.post(f"/api/v1/bots/{bot.pk}/chat", body, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert Message.objects.count() == 0 and Conversation.objects.count() == 0


def test_unpublished_bot_is_refused_on_the_public_api(api, make_bot):
    bot = make_bot(publish=False)
    response = api.post(f"/api/v1/bots/{bot.pk}/chat", {"message": "hi"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "bot_not_published"
    assert "publish" in response.json()["error"]["message"]


def test_bot_without_model_fails_at_once_saying_what_to_set_up(api, workspace):
    from bots.services import bot_create

    bot = bot_create(workspace=workspace, name="No model")
    response = api.post(f"/api/v1/bots/{bot.pk}/chat", {"message": "hi", "version": "draft"}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "model_not_configured" and "Model providers" in error["message"]
    assert Message.objects.count() == 0


def test_unknown_bot_and_other_workspaces_bot_are_404(api):
    from bots.services import bot_create

    foreign = bot_create(workspace=WorkspaceFactory(), name="Theirs")
    for bot_id in ("bot_nope", foreign.pk):
        response = api.post(f"/api/v1/bots/{bot_id}/chat", {"message": "hi"}, format="json")
        assert response.status_code == 404
        assert api.get(f"/api/v1/bots/{bot_id}").status_code == 404


def test_conversation_of_another_bot_is_refused(api, make_bot):
    from bots.turns import turn_accept

    first, second = make_bot(name="one"), make_bot(name="two")
    accepted = turn_accept(workspace=first.workspace, bot=first, text="hello")
    response = api.post(
        f"/api/v1/bots/{second.pk}/chat", {"message": "hi", "conversation_id": accepted.conversation.pk}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "conversation_bot_mismatch"


def test_openai_models_lists_published_bots_only(api, make_bot):
    make_bot(name="Public one")
    make_bot(name="Draft only", publish=False)
    models = api.get("/v1/models").json()
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == ["public-one"]


def test_openai_unknown_model_is_an_openai_style_404(api):
    response = api.post(
        "/v1/chat/completions", {"model": "nope", "messages": [{"role": "user", "content": "x"}]}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found" and response.json()["error"]["param"] == "model"


def test_undeclared_opening_message_variable_is_rejected(api):
    response = api.post("/api/v1/bots/", {"name": "x", "config": {"opening_message": "Hi {{guest}}"}}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "config.opening_message" and "{{guest}}" in error["message"]
    assert Bot.objects.count() == 0
    response = api.post(
        "/api/v1/bots/",
        {"name": "x", "config": {"opening_message": "Hi {{ guest }}", "variables": [{"name": "guest"}]}},
        format="json",
    )
    assert response.status_code == 201


def test_deleting_a_bot_takes_its_versions_and_conversations_and_only_its_own(api, make_bot, workspace):
    from bots.models import BotVersion
    from bots.services import bot_create

    bot = make_bot(name="Leaving")
    conversation = Conversation.objects.create(workspace=workspace, bot=bot, end_user="visitor")
    Message.objects.create(workspace=workspace, conversation=conversation, role="user", content="hi")
    kept = make_bot(name="Staying")
    foreign = bot_create(workspace=WorkspaceFactory(), name="Theirs")

    assert api.delete(f"/api/v1/bots/{foreign.pk}").status_code == 404
    assert Bot.objects.filter(pk=foreign.pk).exists()
    assert api.delete(f"/api/v1/bots/{bot.pk}").status_code == 204
    assert not Bot.objects.filter(pk=bot.pk).exists()
    assert not BotVersion.objects.filter(bot_id=bot.pk).exists()
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()
    assert api.get(f"/api/v1/bots/{kept.pk}").status_code == 200

"""The bots pages: list, create/edit through the form, publish/restore, conversations, the preview.

The preview's script, in a browser, is in test_preview.py.
"""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.messages import get_messages

from bots.models import Bot, BotVersion, Conversation, Message, MessageState, ToolCall
from bots.services import bot_create, bot_publish
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db

LIST = "/bots/"
NEW = "/bots/new/"


def _html(response) -> str:
    return response.content.decode()


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def form_data(**overrides) -> dict:
    """A complete bot form as the browser posts it."""
    data = {
        "name": "Concierge",
        "slug": "",
        "description": "Answers guests.",
        "avatar": "🛎️",
        "system_prompt": "You help guests of the hotel.",
        "provider_model_id": "",
        "temperature": "0.3",
        "top_p": "0.9",
        "max_output_tokens": "",
        "memory_max_turns": "6",
        "memory_max_tokens": "3000",
        "opening_message": "",
        "starter_questions": "",
        "max_tool_iterations": "5",
        "knowledge_base_ids": [],
        "knowledge_top_k": "5",
        "knowledge_score_threshold": "",
        "knowledge_no_match_reply": "",
        "operation_ids": [],
    }
    data.update(overrides)
    return data


def variable(
    index: int,
    name: str,
    type: str = "string",
    *,
    required: bool = False,
    default: str = "",
    options: str = "",
    description: str = "",
) -> dict:
    row = {
        f"var-{index}-name": name,
        f"var-{index}-type": type,
        f"var-{index}-default": default,
        f"var-{index}-options": options,
        f"var-{index}-description": description,
    }
    if required:
        row[f"var-{index}-required"] = "on"
    return row


def operations(workspace, *names: str) -> list[str]:
    """Ids of action operations of `workspace` named `names`, imported from a small spec."""
    from actions.importing import SpecSource, action_import
    from actions.models import SourceKind

    spec = {
        "openapi": "3.0.3",
        "info": {"title": "Hotel", "version": "1"},
        "servers": [{"url": "https://hotel.example.com"}],
        "paths": {
            f"/{name}": {"get": {"operationId": name, "responses": {"200": {"description": "ok"}}}} for name in names
        },
    }
    action = action_import(workspace=workspace, source=SpecSource(kind=SourceKind.TEXT, text=json.dumps(spec))).action
    by_name = {op.name: op.pk for op in action.operations.all()}
    return [by_name[name] for name in names]


# -- list --------------------------------------------------------------------------------------------


def test_list_shows_bots_with_their_model_and_published_version(signed_in, make_bot):
    make_bot(name="Concierge")
    make_bot(publish=False, name="Drafty")
    html = _html(signed_in.get(LIST))
    assert "Concierge" in html and "Drafty" in html
    assert "<code>concierge</code>" in html and "<code>drafty</code>" in html
    assert "fake-chat" in html and "Fake LLM" in html
    assert "v1" in html and "draft only" in html
    assert 'action="/bots/new/"' in html


def test_list_of_an_empty_workspace_invites_to_create(signed_in):
    html = _html(signed_in.get(LIST))
    assert "No bots yet." in html and "Create the first one" in html


def test_pages_need_a_signed_in_user(client, make_bot):
    bot = make_bot()
    for url in (LIST, NEW, f"/bots/{bot.pk}/", f"/bots/{bot.pk}/preview/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response.url, url


# -- create -------------------------------------------------------------------------------------------


def test_the_form_offers_the_workspace_chat_models(signed_in, chat_model, workspace):
    from providers.services import provider_model_create

    provider_model_create(provider=chat_model.provider, model="fake-embedder", kind="embedding", embedding_dimensions=8)
    html = _html(signed_in.get(NEW))
    assert f'value="{chat_model.pk}"' in html and "Fake LLM · fake-chat" in html
    assert "fake-embedder" not in html
    assert "csrfmiddlewaretoken" in html
    assert "{{variable}}" in html  # the prompt hint


def test_the_form_links_to_providers_when_there_is_no_chat_model(signed_in):
    html = _html(signed_in.get(NEW))
    assert "no enabled chat model" in html and 'href="/providers/"' in html


def test_owner_creates_a_bot_with_every_setting(signed_in, chat_model, workspace):
    op_one, op_two = operations(workspace, "bookTable", "callTaxi")
    data = form_data(
        system_prompt="You help guests in {{city}}. Tone: {{tone}}.",
        provider_model_id=chat_model.pk,
        max_output_tokens="800",
        json_output="on",
        opening_message="Welcome!",
        starter_questions="Where is breakfast?\n\n  When is checkout?  \n",
        max_tool_iterations="3",
        operation_ids=[op_one, op_two, op_one],
        knowledge_score_threshold="0.2",
        **variable(0, "city", required=True, description="Where the guest is"),
        **variable(1, "tone", "select", default="warm", options="warm, formal"),
        **variable(2, "nights", "number", default="2"),
        **variable(3, ""),  # a blank row is ignored
    )
    response = signed_in.post(NEW, data)
    bot = Bot.objects.get()
    assert response.status_code == 302 and response.url == f"/bots/{bot.pk}/"
    assert bot.workspace == workspace and bot.slug == "concierge" and bot.avatar == "🛎️"
    config = bot.config
    assert config["model"] == {
        "provider_model_id": chat_model.pk,
        "temperature": 0.3,
        "top_p": 0.9,
        "max_output_tokens": 800,
        "json_output": True,
    }
    assert config["memory"] == {"max_turns": 6, "max_tokens": 3000}
    assert config["starter_questions"] == ["Where is breakfast?", "When is checkout?"]
    assert config["actions"]["operation_ids"] == [op_one, op_two]
    assert config["knowledge"]["score_threshold"] == 0.2 and config["max_tool_iterations"] == 3
    assert [(v["name"], v["type"], v["required"], v["default"]) for v in config["variables"]] == [
        ("city", "string", True, None),
        ("tone", "select", False, "warm"),
        ("nights", "number", False, 2),
    ]
    assert config["variables"][1]["options"] == ["warm", "formal"]
    assert bot.published_version is None
    assert any("Created Concierge" in m for m in _messages(response))


@pytest.mark.parametrize("entered, stored", [("", None), ("0", 0.0), ("0.15", 0.15)])
def test_the_minimum_score_keeps_empty_for_the_default_apart_from_zero(signed_in, entered, stored):
    response = signed_in.post(NEW, form_data(knowledge_score_threshold=entered))
    assert response.status_code == 302
    assert Bot.objects.get().config["knowledge"]["score_threshold"] == stored


def test_the_minimum_score_form_explains_the_default_and_refuses_scores_above_one(signed_in):
    html = _html(signed_in.get(NEW))
    assert 'placeholder="each base&#x27;s"' in html and "base&#x27;s own minimum score" in html
    assert "0: keep every passage" in html
    response = signed_in.post(NEW, form_data(knowledge_score_threshold="1.5"))
    assert response.status_code == 200 and "less than or equal to 1" in _html(response)
    assert not Bot.objects.exists()


def test_an_undeclared_prompt_variable_is_shown_at_the_prompt_and_nothing_is_saved(signed_in):
    response = signed_in.post(NEW, form_data(system_prompt="Hello {{guest}}"))
    assert response.status_code == 200
    html = _html(response)
    assert 'id="id_system_prompt_error"' in html and "undeclared variables: {{guest}}" in html
    assert 'value="Concierge"' in html  # the input is kept
    assert not Bot.objects.exists()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (variable(0, "2fast"), "Use letters, digits and underscores"),
        (variable(0, "nights", "number", default="many"), "must be a number"),
        (variable(0, "mood", "select"), "A select variable needs at least one option."),
        (variable(0, "tone", "select", default="loud", options="warm, formal"), "must be one of the options"),
        ({**variable(0, "city"), **variable(1, "city")}, "Variable names must be unique: city."),
        (variable(0, "", description="no name"), "Give the variable a name."),
    ],
)
def test_bad_variables_are_reported_in_the_table_and_nothing_is_saved(signed_in, rows, message):
    response = signed_in.post(NEW, form_data(**rows))
    assert response.status_code == 200
    html = _html(response)
    assert message in html
    assert "Some variables need fixing" in html
    assert not Bot.objects.exists()


def test_field_errors_from_the_services_appear_next_to_their_fields(signed_in, workspace, chat_model):
    bot_create(workspace=workspace, name="Taken", slug="taken")
    response = signed_in.post(NEW, form_data(slug="taken"))
    assert 'id="id_slug_error"' in _html(response) and "is taken in this workspace" in _html(response)

    response = signed_in.post(NEW, form_data(knowledge_base_ids=["kb_nope"]))  # a forged post
    assert 'id="id_knowledge_base_ids_error"' in _html(response)
    assert "kb_nope is not one of the available choices" in _html(response)

    response = signed_in.post(NEW, form_data(provider_model_id="mdl_made_up"))
    assert 'id="id_provider_model_id_error"' in _html(response)

    response = signed_in.post(NEW, form_data(temperature="3", memory_max_tokens="10"))
    html = _html(response)
    assert 'id="id_temperature_error"' in html and 'id="id_memory_max_tokens_error"' in html

    response = signed_in.post(NEW, form_data(avatar="javascript:alert(1)"))
    assert 'id="id_avatar_error"' in _html(response)
    assert Bot.objects.count() == 1


def test_an_operation_of_another_workspace_is_a_form_error(signed_in, workspace):
    (operation_id,) = operations(WorkspaceFactory(), "listOrders")
    response = signed_in.post(NEW, form_data(operation_ids=[operation_id]))  # a forged post: it is not offered
    assert response.status_code == 200
    html = _html(response)
    assert 'id="id_operation_ids_error"' in html
    assert f"{operation_id} is not one of the available choices" in html
    assert "listOrders" not in html
    assert not Bot.objects.exists()


def test_every_problem_shows_on_the_first_submission(signed_in):
    response = signed_in.post(
        NEW,
        form_data(
            temperature="5", system_prompt="Hi {{ghost}} in {{city}}", **variable(0, "city"), **variable(1, "9lives")
        ),
    )
    html = _html(response)
    assert 'id="id_temperature_error"' in html
    assert "Nothing was saved" in html
    assert "Use letters, digits and underscores" in html  # the variables are checked too
    response = signed_in.post(
        NEW, form_data(temperature="5", system_prompt="Hi {{ghost}} in {{city}}", **variable(0, "city"))
    )
    assert 'id="id_system_prompt_error"' in _html(response) and "{{ghost}}" in _html(response)
    assert not Bot.objects.exists()


def test_add_a_row_keeps_the_input_and_saves_nothing(signed_in):
    response = signed_in.post(NEW, {**form_data(**variable(0, "city"), **variable(1, "")), "add_variable_row": "1"})
    html = _html(response)
    assert response.status_code == 200 and not Bot.objects.exists()
    assert 'name="var-0-name" value="city"' in html
    assert 'name="var-3-name"' in html  # one more empty row than usual


# -- edit ---------------------------------------------------------------------------------------------


def test_edit_shows_the_draft_and_saves_it(signed_in, make_bot, chat_model):
    bot = make_bot(
        system_prompt="Greet {{name}}.",
        variables=[{"name": "name", "required": True}],
        starter_questions=["Hi?"],
        memory={"max_turns": 4},
    )
    url = f"/bots/{bot.pk}/edit/"
    html = _html(signed_in.get(url))
    assert "Greet {{name}}." in html and 'name="var-0-name" value="name"' in html
    assert f'<option value="{chat_model.pk}" selected>' in html
    assert 'name="memory_max_turns" value="4"' in html

    response = signed_in.post(
        url,
        form_data(
            name="Greeter",
            slug="greeter",
            system_prompt="Greet {{who}} warmly.",
            provider_model_id=chat_model.pk,
            starter_questions="Hello?",
            **variable(0, "who", required=True),
        ),
    )
    assert response.status_code == 302 and response.url == f"/bots/{bot.pk}/"
    bot.refresh_from_db()
    assert bot.name == "Greeter" and bot.slug == "greeter"
    assert bot.config["system_prompt"] == "Greet {{who}} warmly."
    assert [v["name"] for v in bot.config["variables"]] == ["who"]
    assert bot.config["starter_questions"] == ["Hello?"]
    assert bot.published_version.config["system_prompt"] == "Greet {{name}}."  # published version untouched


def test_a_variable_ticked_for_removal_is_removed(signed_in, make_bot, chat_model):
    bot = make_bot(variables=[{"name": "a"}, {"name": "b"}])
    response = signed_in.post(
        f"/bots/{bot.pk}/edit/",
        form_data(
            slug=bot.slug,
            provider_model_id=chat_model.pk,
            **variable(0, "a"),
            **variable(1, "b"),
            **{"var-0-delete": "on"},
        ),
    )
    assert response.status_code == 302
    bot.refresh_from_db()
    assert [v["name"] for v in bot.config["variables"]] == ["b"]


def test_a_rejected_edit_changes_nothing(signed_in, make_bot, chat_model):
    bot = make_bot(name="Original")
    before = (bot.name, bot.slug, bot.config, bot.updated_at)
    response = signed_in.post(
        f"/bots/{bot.pk}/edit/",
        form_data(name="Renamed", slug=bot.slug, provider_model_id=chat_model.pk, system_prompt="Hi {{ghost}}"),
    )
    assert response.status_code == 200 and "undeclared variables" in _html(response)
    assert 'value="Renamed"' in _html(response)
    bot.refresh_from_db()
    assert (bot.name, bot.slug, bot.config, bot.updated_at) == before


def test_an_editor_may_edit(editor_client, make_bot, chat_model):
    bot = make_bot()
    response = editor_client.post(
        f"/bots/{bot.pk}/edit/", form_data(slug=bot.slug, name="By editor", provider_model_id=chat_model.pk)
    )
    assert response.status_code == 302
    assert Bot.objects.get(pk=bot.pk).name == "By editor"


# -- detail, publish, restore ----------------------------------------------------------------------


def test_detail_shows_summary_versions_and_recent_conversations(signed_in, make_bot, workspace, owner):
    bot = make_bot(name="Concierge", system_prompt="Be kind.")
    conversation = Conversation.objects.create(
        workspace=workspace, bot=bot, end_user="guest-42", channel="widget", title="Where is the pool?"
    )
    Conversation.objects.create(workspace=workspace, bot=bot, end_user=f"user:{owner.pk}", title="From the UI")
    html = _html(signed_in.get(f"/bots/{bot.pk}/"))
    assert owner.email in html and f"user:{owner.pk}" not in html
    assert "Be kind." in html and "fake-chat" in html
    assert "v1" in html and "live" in html and "Restore to draft" in html
    assert "Publish the draft" in html
    assert f'href="/conversations/{conversation.pk}/"' in html
    assert "Where is the pool?" in html and "guest-42" in html and "Chat widget" in html
    assert f'href="/bots/{bot.pk}/preview/"' in html or f'action="/bots/{bot.pk}/preview/"' in html


def test_publish_through_the_page_makes_a_version(signed_in, make_bot, owner):
    bot = make_bot(publish=False)
    response = signed_in.post(f"/bots/{bot.pk}/publish/", {"note": "first cut"})
    assert response.status_code == 302 and response.url == f"/bots/{bot.pk}/"
    version = BotVersion.objects.get(bot=bot)
    assert version.number == 1 and version.note == "first cut" and version.created_by == owner
    assert Bot.objects.get(pk=bot.pk).published_version == version
    assert any("Published version 1" in m for m in _messages(response))
    html = _html(signed_in.get(f"/bots/{bot.pk}/"))
    assert "first cut" in html and "The draft is the same as the published version." in html


def test_publish_without_a_model_shows_the_reason(signed_in, workspace):
    bot = bot_create(workspace=workspace, name="No model")
    response = signed_in.post(f"/bots/{bot.pk}/publish/", {"note": ""}, follow=True)
    assert not BotVersion.objects.exists()
    html = _html(response)
    assert "Choose a chat model before publishing" in html and 'class="flash error"' in html


def test_restore_copies_a_version_into_the_draft(signed_in, make_bot):
    bot = make_bot(system_prompt="first")
    from bots.services import bot_update

    bot_update(bot=bot, config={"system_prompt": "second"})
    bot_publish(bot=bot)
    response = signed_in.post(f"/bots/{bot.pk}/versions/1/restore/")
    assert response.status_code == 302
    bot.refresh_from_db()
    assert bot.config["system_prompt"] == "first" and bot.published_version.number == 2
    assert any("Copied version 1" in m for m in _messages(response))
    response = signed_in.post(f"/bots/{bot.pk}/versions/9/restore/")
    assert any("has no version 9" in m for m in _messages(response))


def test_publish_and_restore_only_accept_post(signed_in, make_bot):
    bot = make_bot()
    assert signed_in.get(f"/bots/{bot.pk}/publish/").status_code == 405
    assert signed_in.get(f"/bots/{bot.pk}/versions/1/restore/").status_code == 405


# -- roles and tenancy -------------------------------------------------------------------------------


def test_a_viewer_reads_but_cannot_change_anything(viewer_client, make_bot):
    bot = make_bot(publish=False, system_prompt="Original")
    listing = _html(viewer_client.get(LIST))
    assert "Helper" in listing and 'action="/bots/new/"' not in listing
    detail = _html(viewer_client.get(f"/bots/{bot.pk}/"))
    assert "Original" in detail and "Publish the draft" not in detail and "Edit draft" not in detail
    assert "/preview/" not in detail

    response = viewer_client.get(NEW)
    assert response.status_code == 403 and "Only workspace editors" in _html(response)
    response = viewer_client.post(NEW, form_data())
    assert response.status_code == 403 and Bot.objects.count() == 1
    viewer_client.post(f"/bots/{bot.pk}/edit/", form_data(slug=bot.slug, system_prompt="Changed"))
    viewer_client.post(f"/bots/{bot.pk}/publish/", {"note": "x"})
    assert not BotVersion.objects.exists()
    assert Bot.objects.get(pk=bot.pk).config["system_prompt"] == "Original"
    response = viewer_client.get(f"/bots/{bot.pk}/preview/")
    assert response.status_code == 403 and "use the preview" in _html(response)


def test_a_viewer_cannot_restore(viewer_client, make_bot):
    bot = make_bot(system_prompt="one")
    from bots.services import bot_update

    bot_update(bot=bot, config={"system_prompt": "two"})
    viewer_client.post(f"/bots/{bot.pk}/versions/1/restore/")
    assert Bot.objects.get(pk=bot.pk).config["system_prompt"] == "two"


def test_another_workspace_bot_and_conversation_are_404(signed_in):
    other = WorkspaceFactory()
    theirs = bot_create(workspace=other, name="Theirs")
    conversation = Conversation.objects.create(workspace=other, bot=theirs, end_user="x")
    for url in (f"/bots/{theirs.pk}/", f"/bots/{theirs.pk}/edit/", f"/bots/{theirs.pk}/preview/"):
        assert signed_in.get(url).status_code == 404, url
    for url in (f"/bots/{theirs.pk}/publish/", f"/bots/{theirs.pk}/versions/1/restore/", f"/bots/{theirs.pk}/edit/"):
        assert signed_in.post(url, form_data()).status_code == 404, url
    assert signed_in.get(f"/conversations/{conversation.pk}/").status_code == 404
    assert "Theirs" not in _html(signed_in.get(LIST))
    assert not BotVersion.objects.exists()


# -- preview ------------------------------------------------------------------------------------------


def test_the_preview_page_carries_the_bot_and_its_script(signed_in, make_bot):
    bot = make_bot(
        opening_message="Hi! </script><script>alert(1)</script>",
        starter_questions=["What's on?"],
        system_prompt="Help in {{city}} ({{level}}).",
        variables=[
            {"name": "city", "required": True},
            {"name": "level", "type": "select", "options": ["a", "b"], "default": "b"},
        ],
    )
    html = _html(signed_in.get(f"/bots/{bot.pk}/preview/"))
    assert f'data-bot-id="{bot.pk}"' in html
    assert '<script src="/static/bots/preview.js" defer></script>' in html
    assert "<script>alert(1)</script>" not in html  # json_script escapes < > &
    start = html.index('id="bot-preview-config"')
    config = json.loads(html[html.index(">", start) + 1 : html.index("</script>", start)])
    assert config["bot_id"] == bot.pk and config["chat_url"] == f"/api/v1/bots/{bot.pk}/chat"
    assert config["opening_message"].startswith("Hi! </script>")
    assert config["starter_questions"] == ["What's on?"]
    assert [v["name"] for v in config["variables"]] == ["city", "level"]
    assert 'data-variable="city"' in html and 'data-variable="level"' in html
    assert '<option value="b" selected>' in html
    assert "http://" not in html.split("<main>")[1].replace("http://testserver", "")  # no CDN


def test_the_preview_warns_when_the_bot_has_no_model(signed_in, workspace):
    bot = bot_create(workspace=workspace, name="Modelless")
    html = _html(signed_in.get(f"/bots/{bot.pk}/preview/"))
    assert "No chat model chosen." in html and "cannot answer" in html


def test_an_editor_may_use_the_preview(editor_client, make_bot):
    bot = make_bot()
    assert editor_client.get(f"/bots/{bot.pk}/preview/").status_code == 200


# -- conversation view --------------------------------------------------------------------------------


def test_the_conversation_view_shows_metrics_trace_and_escapes_model_output(signed_in, make_bot, workspace):
    bot = make_bot()
    conversation = Conversation.objects.create(
        workspace=workspace, bot=bot, end_user="user:1", title="<b>hi</b>", inputs={"city": "<i>Paris</i>"}
    )
    question = Message.objects.create(
        workspace=workspace, conversation=conversation, role="user", content="<img src=x onerror=alert(1)>"
    )
    answer = Message.objects.create(
        workspace=workspace,
        conversation=conversation,
        role="assistant",
        reply_to=question,
        content="<script>alert(1)</script>\nsecond line",
        state=MessageState.COMPLETED,
        model="fake-chat",
        input_tokens=12,
        output_tokens=34,
        cost="0.00012300",
        queue_ms=5.2,
        ttft_ms=120.4,
        total_ms=980.6,
        citations=[{"document_name": "Guide <x>.pdf", "page": 3, "score": 0.81, "snippet": "Pool opens at 7"}],
        trace=[
            {
                "type": "retrieval",
                "duration_ms": 12.5,
                "hits": [
                    {
                        "document_name": "Guide <x>.pdf",
                        "page": 3,
                        "score": 0.81,
                        "vector_score": 0.7,
                        "text_score": 0.0,
                        "text": "The pool opens at 7 <script>",
                    }
                ],
            },
            {
                "type": "generation",
                "step": 0,
                "model": "fake-chat",
                "finish_reason": "tool_calls",
                "input_tokens": 12,
                "output_tokens": 34,
                "duration_ms": 800,
            },
        ],
    )
    ToolCall.objects.create(
        workspace=workspace,
        message=answer,
        step=0,
        call_id="call_1",
        name="book_table",
        arguments={"time": "<19:00>"},
        state="completed",
        result='{"ok": "<yes>"}',
        duration_ms=42,
    )
    Message.objects.create(
        workspace=workspace,
        conversation=conversation,
        role="assistant",
        reply_to=question,
        state=MessageState.FAILED,
        error={"code": "provider_error", "message": "Upstream <down>"},
    )

    response = signed_in.get(f"/conversations/{conversation.pk}/")
    assert response.status_code == 200
    html = _html(response)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>second line" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>hi</b>" not in html and "&lt;b&gt;hi&lt;/b&gt;" in html
    assert "<i>Paris</i>" not in html and "Guide <x>" not in html and "<19:00>" not in html
    assert "queue 5 ms · first token 120 ms · total 981 ms" in html
    assert "12 in / 34 out tokens" in html and "$0.000123" in html
    assert "Guide &lt;x&gt;.pdf, page 3" in html and "Pool opens at 7" in html
    assert "<details" in html and "book_table" in html and "&lt;19:00&gt;" in html
    assert "retrieval" in html and "The pool opens at 7 &lt;script&gt;" in html and "generation" in html
    assert "Upstream &lt;down&gt;" in html and "provider_error" in html
    assert "Failed" in html and "Completed" in html


def test_an_undeclared_opening_message_variable_is_shown_at_the_field_and_nothing_is_saved(signed_in):
    response = signed_in.post(NEW, form_data(opening_message="Welcome {{guest}}!", temperature="3"))
    html = _html(response)
    assert 'id="id_opening_message_error"' in html and "undeclared variables: {{guest}}" in html
    assert 'id="id_temperature_error"' in html  # every problem shows on the first submission
    assert not Bot.objects.exists()
    response = signed_in.post(NEW, form_data(opening_message="Welcome {{guest}}!", **variable(0, "guest")))
    assert response.status_code == 302 and Bot.objects.get().config["opening_message"] == "Welcome {{guest}}!"


def test_the_pickers_offer_the_workspaces_bases_and_operations_by_name(signed_in, workspace):
    from knowledge import services as knowledge_services

    base = knowledge_services.knowledge_base_create(workspace=workspace, name="Handbook")
    knowledge_services.knowledge_base_create(workspace=WorkspaceFactory(), name="Their secrets")
    book, taxi = operations(workspace, "bookTable", "callTaxi")
    html = _html(signed_in.get(NEW))
    assert "Handbook · 0 documents" in html and "Their secrets" not in html
    assert "bookTable — GET /bookTable" in html and "Hotel" in html  # grouped under the action's name
    assert 'type="search"' in html and "pickers.js" in html
    response = signed_in.post(NEW, form_data(knowledge_base_ids=[base.pk], operation_ids=[taxi]))
    assert response.status_code == 302
    bot = Bot.objects.get()
    assert bot.config["knowledge"]["knowledge_base_ids"] == [base.pk]
    assert bot.config["actions"]["operation_ids"] == [taxi]
    html = _html(signed_in.get(f"/bots/{bot.pk}/edit/"))
    box = re.search(rf'<input[^>]*value="{base.pk}"[^>]*>', html)[0]
    assert "checked" in box


def test_a_chosen_base_that_was_deleted_can_be_unticked(signed_in, workspace):
    from knowledge import services as knowledge_services

    base = knowledge_services.knowledge_base_create(workspace=workspace, name="Old")
    bot = bot_create(workspace=workspace, name="Keeper", config={"knowledge": {"knowledge_base_ids": [base.pk]}})
    base_id = base.pk
    base.delete()
    html = _html(signed_in.get(f"/bots/{bot.pk}/edit/"))
    assert f"{base_id} (deleted: untick it)" in html


def test_deleting_a_bot_takes_its_conversations_and_is_for_editors(client, owner, workspace):
    from bots.models import Conversation
    from tests.factories import MembershipFactory

    bot = bot_create(workspace=workspace, name="Doomed")
    Conversation.objects.create(workspace=workspace, bot=bot, end_user="x")
    client.force_login(MembershipFactory(workspace=workspace, role="viewer").user)
    response = client.post(f"/bots/{bot.pk}/delete/")
    assert response.status_code == 403 and Bot.objects.filter(pk=bot.pk).exists()
    client.force_login(owner)
    signed_in = client
    assert signed_in.get(f"/bots/{bot.pk}/delete/").status_code == 405  # a link cannot delete
    html = _html(signed_in.get(f"/bots/{bot.pk}/"))
    assert "Delete bot" in html and "cannot be undone" in html
    response = signed_in.post(f"/bots/{bot.pk}/delete/")
    assert response.status_code == 302 and not Bot.objects.filter(pk=bot.pk).exists()
    assert not Conversation.objects.filter(bot_id=bot.pk).exists()


def test_deleting_a_conversation(signed_in, workspace):
    from bots.models import Conversation

    bot = bot_create(workspace=workspace, name="Keeper")
    conversation = Conversation.objects.create(workspace=workspace, bot=bot, end_user="x", title="Oops")
    other = Conversation.objects.create(
        workspace=WorkspaceFactory(), bot=bot_create(workspace=WorkspaceFactory(), name="T"), end_user="y"
    )
    assert signed_in.post(f"/conversations/{other.pk}/delete/").status_code == 404
    assert "Delete conversation" in _html(signed_in.get(f"/conversations/{conversation.pk}/"))
    signed_in.post(f"/conversations/{conversation.pk}/delete/")
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert Conversation.objects.filter(pk=other.pk).exists()


def test_the_bot_page_names_its_knowledge_bases_and_operations(signed_in, workspace):
    from knowledge import services as knowledge_services

    base = knowledge_services.knowledge_base_create(workspace=workspace, name="Handbook")
    (op,) = operations(workspace, "bookTable")
    bot = bot_create(
        workspace=workspace,
        name="Named",
        config={"knowledge": {"knowledge_base_ids": [base.pk]}, "actions": {"operation_ids": [op]}},
    )
    html = _html(signed_in.get(f"/bots/{bot.pk}/"))
    assert ">Handbook</a>" in html and "Hotel · bookTable" in html


def test_a_trace_shows_the_prompt_as_sent(signed_in, workspace):
    from bots.models import Conversation, Message

    bot = bot_create(workspace=workspace, name="Tracer")
    conversation = Conversation.objects.create(workspace=workspace, bot=bot, end_user="x")
    sent = [{"role": "system", "content": "Answer in <b>French</b>."}, {"role": "user", "content": "Bonjour"}]
    Message.objects.create(
        workspace=workspace,
        conversation=conversation,
        role="assistant",
        content="Salut",
        trace=[{"type": "generation", "prompt": {"messages": sent, "tools": ["getWeather"], "truncated": False}}],
    )
    html = _html(signed_in.get(f"/conversations/{conversation.pk}/"))
    assert "Prompt as sent: 2 messages, tools getWeather" in html
    assert "Answer in &lt;b&gt;French&lt;/b&gt;." in html  # shown as text, never as markup


def test_the_editor_shows_the_preview_beside_it_and_can_keep_editing(signed_in, workspace, chat_model):
    bot = bot_create(workspace=workspace, name="Beside", config={"model": {"provider_model_id": chat_model.pk}})
    html = _html(signed_in.get(f"/bots/{bot.pk}/edit/"))
    assert f'src="/bots/{bot.pk}/preview/?panel=1"' in html and "Save and keep editing" in html
    panel = signed_in.get(f"/bots/{bot.pk}/preview/?panel=1")
    assert panel["X-Frame-Options"] == "SAMEORIGIN"
    assert 'class="topbar"' not in panel.content.decode() and 'id="bot-preview"' in panel.content.decode()
    response = signed_in.post(f"/bots/{bot.pk}/edit/", {**form_data(name="Beside", slug="beside"), "stay": "1"})
    assert response.status_code == 302 and response.url == f"/bots/{bot.pk}/edit/"

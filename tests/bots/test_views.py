"""The bots pages: list, create/edit through the form, publish/restore, conversations, the preview.

The preview's script (templates/static/bots/preview.js) is exercised under Node when it is
installed: its SSE parser, its Markdown renderer and answer bubble on a small stand-in DOM, and
its turn client against the real ASGI server with a stream cut off mid-answer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.messages import get_messages

from bots.models import Bot, BotVersion, Conversation, Message, MessageState, ToolCall
from bots.services import bot_create, bot_publish
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PREVIEW_JS = ROOT / "templates" / "static" / "bots" / "preview.js"
NODE = shutil.which("node")


def needs_node(test):
    import functools

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        if NODE is None:
            pytest.fail("Node.js is needed by this test: install it (apt-get install nodejs).")
        return test(*args, **kwargs)
    return wrapper


LIST = "/bots/"
NEW = "/bots/new/"


def _html(response) -> str:
    return response.content.decode()


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def form_data(**overrides) -> dict:
    """A complete bot form as the browser posts it."""
    data = {
        "name": "Concierge", "slug": "", "description": "Answers guests.", "avatar": "🛎️",
        "system_prompt": "You help guests of the hotel.", "provider_model_id": "",
        "temperature": "0.3", "top_p": "0.9", "max_output_tokens": "", "memory_max_turns": "6",
        "memory_max_tokens": "3000", "opening_message": "", "starter_questions": "",
        "max_tool_iterations": "5", "knowledge_base_ids": "", "knowledge_top_k": "5",
        "knowledge_score_threshold": "", "knowledge_no_match_reply": "", "operation_ids": "",
    }
    data.update(overrides)
    return data


def variable(index: int, name: str, type: str = "string", *, required: bool = False, default: str = "",
             options: str = "", description: str = "") -> dict:
    row = {f"var-{index}-name": name, f"var-{index}-type": type, f"var-{index}-default": default,
           f"var-{index}-options": options, f"var-{index}-description": description}
    if required:
        row[f"var-{index}-required"] = "on"
    return row


def operations(workspace, *names: str) -> list[str]:
    """Ids of action operations of `workspace` named `names`, imported from a small spec."""
    from actions.importing import SpecSource, action_import
    from actions.models import SourceKind

    spec = {"openapi": "3.0.3", "info": {"title": "Hotel", "version": "1"},
            "servers": [{"url": "https://hotel.example.com"}],
            "paths": {f"/{name}": {"get": {"operationId": name, "responses": {"200": {"description": "ok"}}}}
                      for name in names}}
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

    provider_model_create(provider=chat_model.provider, model="fake-embedder", kind="embedding",
                          embedding_dimensions=8)
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
        system_prompt="You help guests in {{city}}. Tone: {{tone}}.", provider_model_id=chat_model.pk,
        max_output_tokens="800", json_output="on", opening_message="Welcome!",
        starter_questions="Where is breakfast?\n\n  When is checkout?  \n", max_tool_iterations="3",
        operation_ids=f"{op_one}, {op_two}\n{op_one}", knowledge_score_threshold="0.2",
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
    assert config["model"] == {"provider_model_id": chat_model.pk, "temperature": 0.3, "top_p": 0.9,
                               "max_output_tokens": 800, "json_output": True}
    assert config["memory"] == {"max_turns": 6, "max_tokens": 3000}
    assert config["starter_questions"] == ["Where is breakfast?", "When is checkout?"]
    assert config["actions"]["operation_ids"] == [op_one, op_two]
    assert config["knowledge"]["score_threshold"] == 0.2 and config["max_tool_iterations"] == 3
    assert [(v["name"], v["type"], v["required"], v["default"]) for v in config["variables"]] == [
        ("city", "string", True, None), ("tone", "select", False, "warm"), ("nights", "number", False, 2)]
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
    assert 'placeholder="0.05"' in html and "Empty: the default, 0.05" in html and "0: keep every passage" in html
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


@pytest.mark.parametrize(("rows", "message"), [
    (variable(0, "2fast"), "Use letters, digits and underscores"),
    (variable(0, "nights", "number", default="many"), "must be a number"),
    (variable(0, "mood", "select"), "A select variable needs at least one option."),
    (variable(0, "tone", "select", default="loud", options="warm, formal"), "must be one of the options"),
    ({**variable(0, "city"), **variable(1, "city")}, "Variable names must be unique: city."),
    (variable(0, "", description="no name"), "Give the variable a name."),
])
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

    response = signed_in.post(NEW, form_data(knowledge_base_ids="kb_nope"))
    assert 'id="id_knowledge_base_ids_error"' in _html(response)
    assert "No knowledge base &#x27;kb_nope&#x27;" in _html(response)

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
    response = signed_in.post(NEW, form_data(operation_ids=operation_id))
    assert response.status_code == 200
    html = _html(response)
    assert 'id="id_operation_ids_error"' in html
    assert f"No action operation &#x27;{operation_id}&#x27; in this workspace" in html
    assert not Bot.objects.exists()


def test_every_problem_shows_on_the_first_submission(signed_in):
    response = signed_in.post(NEW, form_data(temperature="5", system_prompt="Hi {{ghost}} in {{city}}",
                                             **variable(0, "city"), **variable(1, "9lives")))
    html = _html(response)
    assert 'id="id_temperature_error"' in html
    assert "Nothing was saved" in html
    assert "Use letters, digits and underscores" in html  # the variables are checked too
    response = signed_in.post(NEW, form_data(temperature="5", system_prompt="Hi {{ghost}} in {{city}}",
                                             **variable(0, "city")))
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
    bot = make_bot(system_prompt="Greet {{name}}.", variables=[{"name": "name", "required": True}],
                   starter_questions=["Hi?"], memory={"max_turns": 4})
    url = f"/bots/{bot.pk}/edit/"
    html = _html(signed_in.get(url))
    assert "Greet {{name}}." in html and 'name="var-0-name" value="name"' in html
    assert f'<option value="{chat_model.pk}" selected>' in html
    assert 'name="memory_max_turns" value="4"' in html

    response = signed_in.post(url, form_data(name="Greeter", slug="greeter", system_prompt="Greet {{who}} warmly.",
                                             provider_model_id=chat_model.pk, starter_questions="Hello?",
                                             **variable(0, "who", required=True)))
    assert response.status_code == 302 and response.url == f"/bots/{bot.pk}/"
    bot.refresh_from_db()
    assert bot.name == "Greeter" and bot.slug == "greeter"
    assert bot.config["system_prompt"] == "Greet {{who}} warmly."
    assert [v["name"] for v in bot.config["variables"]] == ["who"]
    assert bot.config["starter_questions"] == ["Hello?"]
    assert bot.published_version.config["system_prompt"] == "Greet {{name}}."  # published version untouched


def test_a_variable_ticked_for_removal_is_removed(signed_in, make_bot, chat_model):
    bot = make_bot(variables=[{"name": "a"}, {"name": "b"}])
    response = signed_in.post(f"/bots/{bot.pk}/edit/", form_data(
        slug=bot.slug, provider_model_id=chat_model.pk, **variable(0, "a"), **variable(1, "b"),
        **{"var-0-delete": "on"}))
    assert response.status_code == 302
    bot.refresh_from_db()
    assert [v["name"] for v in bot.config["variables"]] == ["b"]


def test_a_rejected_edit_changes_nothing(signed_in, make_bot, chat_model):
    bot = make_bot(name="Original")
    before = (bot.name, bot.slug, bot.config, bot.updated_at)
    response = signed_in.post(f"/bots/{bot.pk}/edit/", form_data(
        name="Renamed", slug=bot.slug, provider_model_id=chat_model.pk, system_prompt="Hi {{ghost}}"))
    assert response.status_code == 200 and "undeclared variables" in _html(response)
    assert 'value="Renamed"' in _html(response)
    bot.refresh_from_db()
    assert (bot.name, bot.slug, bot.config, bot.updated_at) == before


def test_an_editor_may_edit(editor_client, make_bot, chat_model):
    bot = make_bot()
    response = editor_client.post(f"/bots/{bot.pk}/edit/", form_data(slug=bot.slug, name="By editor",
                                                                      provider_model_id=chat_model.pk))
    assert response.status_code == 302
    assert Bot.objects.get(pk=bot.pk).name == "By editor"


# -- detail, publish, restore ----------------------------------------------------------------------

def test_detail_shows_summary_versions_and_recent_conversations(signed_in, make_bot, workspace, owner):
    bot = make_bot(name="Concierge", system_prompt="Be kind.")
    conversation = Conversation.objects.create(workspace=workspace, bot=bot, end_user="guest-42", channel="widget",
                                               title="Where is the pool?")
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
    assert response.status_code == 302 and any("Only workspace editors" in m for m in _messages(response))
    response = viewer_client.post(NEW, form_data())
    assert response.status_code == 302 and Bot.objects.count() == 1
    viewer_client.post(f"/bots/{bot.pk}/edit/", form_data(slug=bot.slug, system_prompt="Changed"))
    viewer_client.post(f"/bots/{bot.pk}/publish/", {"note": "x"})
    assert not BotVersion.objects.exists()
    assert Bot.objects.get(pk=bot.pk).config["system_prompt"] == "Original"
    response = viewer_client.get(f"/bots/{bot.pk}/preview/")
    assert response.status_code == 302 and response.url == f"/bots/{bot.pk}/"
    assert any("use the preview" in m for m in _messages(response))


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
    for url in (f"/bots/{theirs.pk}/publish/", f"/bots/{theirs.pk}/versions/1/restore/",
                f"/bots/{theirs.pk}/edit/"):
        assert signed_in.post(url, form_data()).status_code == 404, url
    assert signed_in.get(f"/conversations/{conversation.pk}/").status_code == 404
    assert "Theirs" not in _html(signed_in.get(LIST))
    assert not BotVersion.objects.exists()


# -- preview ------------------------------------------------------------------------------------------

def test_the_preview_page_carries_the_bot_and_its_script(signed_in, make_bot):
    bot = make_bot(opening_message="Hi! </script><script>alert(1)</script>", starter_questions=["What's on?"],
                   system_prompt="Help in {{city}} ({{level}}).",
                   variables=[{"name": "city", "required": True},
                              {"name": "level", "type": "select", "options": ["a", "b"], "default": "b"}])
    html = _html(signed_in.get(f"/bots/{bot.pk}/preview/"))
    assert f'data-bot-id="{bot.pk}"' in html
    assert '<script src="/static/bots/preview.js" defer></script>' in html
    assert "<script>alert(1)</script>" not in html  # json_script escapes < > &
    start = html.index('id="bot-preview-config"')
    config = json.loads(html[html.index(">", start) + 1:html.index("</script>", start)])
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
    conversation = Conversation.objects.create(workspace=workspace, bot=bot, end_user="user:1", title="<b>hi</b>",
                                               inputs={"city": "<i>Paris</i>"})
    question = Message.objects.create(workspace=workspace, conversation=conversation, role="user",
                                      content="<img src=x onerror=alert(1)>")
    answer = Message.objects.create(
        workspace=workspace, conversation=conversation, role="assistant", reply_to=question,
        content="<script>alert(1)</script>\nsecond line", state=MessageState.COMPLETED, model="fake-chat",
        input_tokens=12, output_tokens=34, cost="0.00012300", queue_ms=5.2, ttft_ms=120.4, total_ms=980.6,
        citations=[{"document_name": "Guide <x>.pdf", "page": 3, "score": 0.81, "snippet": "Pool opens at 7"}],
        trace=[{"type": "retrieval", "duration_ms": 12.5, "hits": [
                   {"document_name": "Guide <x>.pdf", "page": 3, "score": 0.81, "vector_score": 0.7,
                    "text_score": 0.0, "text": "The pool opens at 7 <script>"}]},
               {"type": "generation", "step": 0, "model": "fake-chat", "finish_reason": "tool_calls",
                "input_tokens": 12, "output_tokens": 34, "duration_ms": 800}])
    ToolCall.objects.create(workspace=workspace, message=answer, step=0, call_id="call_1", name="book_table",
                            arguments={"time": "<19:00>"}, state="completed", result='{"ok": "<yes>"}',
                            duration_ms=42)
    Message.objects.create(workspace=workspace, conversation=conversation, role="assistant", reply_to=question,
                           state=MessageState.FAILED, error={"code": "provider_error", "message": "Upstream <down>"})

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


# -- the preview script ------------------------------------------------------------------------------

def test_the_preview_script_never_writes_html():
    source = PREVIEW_JS.read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source.replace("Nothing in this file assigns innerHTML", ""), sink
    assert "http://" not in source and "https://" not in source.replace("https?:", "")


def _node(script: str, *, env: dict | None = None, timeout: float = 60) -> dict:
    import os

    result = subprocess.run([NODE, "-e", script], check=False, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "PREVIEW_JS": str(PREVIEW_JS), **(env or {})})
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout.strip().splitlines()[-1])


# A stand-in DOM: enough of Document/Element for the renderer and the answer bubble, and a
# serialiser that escapes text, so a test can see which markup became elements.
FAKE_DOM = r"""
class Node_ {
  constructor(tag) { this.tagName = tag; this.children = []; this.attributes = {}; this.className = "";
                     this.hidden = false; this.parent = null; this.listeners = {};
                     const self = this;
                     this.classList = { add(c) { self.className = (self.className + " " + c).trim(); },
                                        remove(c) { self.className = self.className.split(" ").filter(x => x !== c).join(" "); } }; }
  appendChild(child) {
    if (child.fragment) { child.children.slice().forEach(c => this.appendChild(c)); child.children = []; return child; }
    if (child.parent) child.parent.children.splice(child.parent.children.indexOf(child), 1);
    child.parent = this; this.children.push(child); return child; }
  insertBefore(child, ref) { this.appendChild(child); const list = this.children; list.pop();
                             list.splice(list.indexOf(ref), 0, child); return child; }
  replaceChildren(...nodes) { this.children.forEach(c => c.parent = null); this.children = [];
                              nodes.forEach(n => this.appendChild(n)); }
  remove() { if (this.parent) { this.parent.children.splice(this.parent.children.indexOf(this), 1); this.parent = null; } }
  setAttribute(k, v) { this.attributes[k] = String(v); }
  addEventListener(name, fn) { (this.listeners[name] = this.listeners[name] || []).push(fn); }
  click() { (this.listeners.click || []).forEach(fn => fn({})); }
  set textContent(v) { this.replaceChildren(); if (v !== "") this.appendChild(new Text_(v)); }
  get textContent() { return this.children.map(c => c.textContent).join(""); }
  set href(v) { this.attributes.href = v; }
  all() { return [this].concat(...this.children.filter(c => c.tagName).map(c => c.all())); }
  querySelector(sel) { return this.all().slice(1).find(n => sel[0] === "." && n.className.split(" ").includes(sel.slice(1))) || null; }
  get html() {
    if (this.fragment) return this.children.map(c => c.html).join("");
    const attrs = Object.entries(this.attributes).map(([k, v]) => ` ${k}="${v}"`).join("");
    const cls = this.className ? ` class="${this.className}"` : "";
    return `<${this.tagName}${cls}${attrs}>` + this.children.map(c => c.html).join("") + `</${this.tagName}>`;
  }
}
class Text_ { constructor(t) { this.text = String(t); this.parent = null; }
  get textContent() { return this.text; }
  get html() { return this.text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }
  remove() { if (this.parent) this.parent.children.splice(this.parent.children.indexOf(this), 1); } }
const doc = { createElement: t => new Node_(t), createTextNode: t => new Text_(t),
              createDocumentFragment: () => Object.assign(new Node_("#fragment"), { fragment: true }) };
globalThis.requestAnimationFrame = fn => fn();
"""


@needs_node
def test_the_preview_script_parses_sse_split_anywhere():
    result = _node(r"""
const { SSEParser } = require(process.env.PREVIEW_JS);
const stream = ": connected\r\n\r\nid: 1-0\r\nevent: delta\r\ndata: {\"text\":\"Hé\"}\r\n\r\n" +
               ": ping\n\nid: 2-0\nevent: message.end\ndata: {\"a\":1,\ndata: \"b\":2}\n\n";
const out = {};
for (let size = 1; size <= stream.length; size++) {
  const parser = new SSEParser(); const events = [];
  for (let i = 0; i < stream.length; i += size) events.push(...parser.push(stream.slice(i, i + size)));
  out[size] = events;
}
console.log(JSON.stringify(out));
""")
    expected = [{"id": "1-0", "event": "delta", "data": '{"text":"Hé"}'},
                {"id": "2-0", "event": "message.end", "data": '{"a":1,\n"b":2}'}]
    assert all(events == expected for events in result.values()), result


@needs_node
def test_the_preview_renders_markdown_only_as_elements_it_builds():
    result = _node(FAKE_DOM + r"""
const { renderMarkdown } = require(process.env.PREVIEW_JS);
const render = text => { const root = doc.createElement("div"); root.appendChild(renderMarkdown(text, doc)); return root.html; };
console.log(JSON.stringify({
  script: render("<script>alert(1)</script> and <img src=x onerror=alert(1)>"),
  rich: render("# Title\nSome **bold**, *em* and `a<b>`.\nNext line\n\n- one\n- [two](https://example.org/x)\n\n1. first"),
  unsafe: render("[click](javascript:alert(1))"),
  code: render("```html\n<b>raw</b>\n```"),
  streaming: render("```py\nprint(1)"),
}));
""")
    assert result["script"] == ("<div><p>&lt;script&gt;alert(1)&lt;/script&gt; and "
                                "&lt;img src=x onerror=alert(1)&gt;</p></div>")
    assert result["rich"] == (
        "<div><h3>Title</h3><p>Some <strong>bold</strong>, <em>em</em> and <code>a&lt;b&gt;</code>.<br></br>Next line</p>"
        '<ul><li>one</li><li><a href="https://example.org/x" target="_blank" rel="noopener noreferrer nofollow">two</a>'
        "</li></ul><ol><li>first</li></ol></div>")
    assert result["unsafe"] == "<div><p>[click](javascript:alert(1))</p></div>"
    assert result["code"] == '<div><pre><code data-language="html">&lt;b&gt;raw&lt;/b&gt;</code></pre></div>'
    assert result["streaming"] == '<div><pre><code data-language="py">print(1)</code></pre></div>'


@needs_node
def test_the_answer_bubble_follows_resets_tools_and_the_end():
    result = _node(FAKE_DOM + r"""
const { AssistantBubble } = require(process.env.PREVIEW_JS);
const decisions = [];
const chat = { doc, scrollToEnd() {}, conversationUrl: id => "/conversations/" + id + "/",
               confirm: (b, url, id, ok) => { decisions.push([url, id, ok]); return Promise.resolve({}); },
               feedback: () => Promise.resolve({}) };
const bubble = new AssistantBubble(chat);
bubble.append("Let me ");
bubble.reset({ step: 0, reason: "provider_stream_error", retry_in: 0.5 });
const afterReset = bubble.node.textContent;
bubble.append("Checking <b>now</b>.");
bubble.toolCall({ tool_call_id: "c1", name: "book", arguments: { at: "<7pm>" } });
bubble.confirmationRequired({ tool_call_id: "c1", name: "book", arguments: {}, confirm_url: "/api/v1/messages/m/confirmations" });
const approve = bubble.node.all().find(n => n.tagName === "button" && n.textContent === "Approve");
approve.click();
bubble.toolResult({ tool_call_id: "c1", name: "book", ok: true, duration_ms: 42, result: "{\"ok\":true}" });
bubble.append(" Booked.");
bubble.end({ state: "completed", content: "Checking <b>now</b>. Booked.", conversation_id: "conv_1",
             usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 }, cost: "0.000020",
             latency: { queue_ms: 3, ttft_ms: 250, total_ms: 1500 },
             citations: [{ document_name: "Menu.pdf", page: 2, score: 0.5, snippet: "Dinner at 7" }] }, "msg_1", "conv_1");
setTimeout(() => console.log(JSON.stringify({ afterReset, html: bubble.node.html, text: bubble.node.textContent, decisions })), 10);
""")
    html = result["html"]
    assert "Let me" not in html and "Let me" not in result["afterReset"]
    assert "Checking &lt;b&gt;now&lt;/b&gt;." in html and "<b>" not in html
    assert html.index("Checking") < html.index("✓ book · 42 ms") < html.index("Booked.")
    assert "&lt;7pm&gt;" in html and "Approved" in html
    assert result["decisions"] == [["/api/v1/messages/m/confirmations", "c1", True]]
    assert "queue 3 ms · first token 250 ms · total 1.5 s · 10 in / 5 out tokens · $0.000020" in result["text"]
    assert "Sources (1)" in result["text"] and "Menu.pdf" in result["text"]
    assert 'href="/conversations/conv_1/#msg_1"' in html


@needs_node
def test_the_preview_fills_variables_exactly_as_the_server_fills_the_system_prompt():
    from bots.prompting import fill_template

    values = {"name": "Zoë <b>", "city": "上海", "vip": True, "trial": False, "count": 3, "ratio": 2.5, "empty": ""}
    templates = ["Hi {{name}}, welcome to {{ city }}!", "{{vip}}/{{trial}}/{{count}}/{{ratio}}/{{empty}}",
                 "{{unknown}} stays empty, {{name}}{{name}} twice", "欢迎来到{{city}}，{{ name }}。",
                 "{{ 1bad }} {name} {{na-me}} are not variables", "", "no variables at all"]
    result = _node(r"""
const { fillTemplate } = require(process.env.PREVIEW_JS);
const input = JSON.parse(process.env.CASES);
console.log(JSON.stringify(input.templates.map(t => fillTemplate(t, input.values))));
""", env={"CASES": json.dumps({"templates": templates, "values": values})})
    assert result == [fill_template(template, values) for template in templates]
    assert result[0] == "Hi Zoë <b>, welcome to 上海!" and result[1] == "true/false/3/2.5/"


@needs_node
def test_source_markers_become_buttons_only_for_sources_that_exist():
    result = _node(FAKE_DOM + r"""
const { renderMarkdown } = require(process.env.PREVIEW_JS);
const sources = 2;
const citation = n => {
  if (n < 1 || n > sources) return null;
  const button = doc.createElement("button"); button.setAttribute("data-cite", n); button.textContent = String(n);
  return button;
};
const render = (text, options = { citation }) => {
  const root = doc.createElement("div"); root.appendChild(renderMarkdown(text, doc, options)); return root.html;
};
console.log(JSON.stringify({
  plain: render("Two years [1][2], see [1, 3] and [7]. Built in [2024]; `x[1]` is code."),
  rich: render("- **Covered [2]**\n- 保修两年【1】，退货三十天[1，2]。"),
  html: render("<img src=x onerror=alert(1)>[1]"),
  without: render("Two years [1].", null),
}));
""")
    assert result["plain"] == (
        '<div><p>Two years [<button data-cite="1">1</button>][<button data-cite="2">2</button>], see '
        '[<button data-cite="1">1</button>, 3] and [7]. Built in [2024]; <code>x[1]</code> is code.</p></div>')
    assert result["rich"] == (
        '<div><ul><li><strong>Covered [<button data-cite="2">2</button>]</strong></li>'
        '<li>保修两年【<button data-cite="1">1</button>】，退货三十天'
        '[<button data-cite="1">1</button>，<button data-cite="2">2</button>]。</li></ul></div>')
    assert result["html"] == '<div><p>&lt;img src=x onerror=alert(1)&gt;[<button data-cite="1">1</button>]</p></div>'
    assert result["without"] == "<div><p>Two years [1].</p></div>"


@needs_node
def test_a_source_marker_in_an_answer_jumps_to_its_source():
    result = _node(FAKE_DOM + r"""
const { AssistantBubble } = require(process.env.PREVIEW_JS);
const chat = { doc, scrollToEnd() {}, conversationUrl: () => null, feedback: () => Promise.resolve({}) };
const bubble = new AssistantBubble(chat);
const buttons = () => bubble.node.all().filter(n => n.tagName === "button" && n.attributes["data-cite"]);
bubble.append("Before any source [1]. ");
const beforeSources = buttons().length;
bubble.showCitations([{ document_name: "Policies <x>.pdf", page: 1, score: 0.61, snippet: "Two years." },
                      { document_name: "Handbook.docx", score: 0.12, snippet: "Holidays." }]);
const afterSources = buttons().map(b => b.attributes["data-cite"]);
bubble.append("Defects [2] and [3].");
const marker = buttons().find(b => b.attributes["data-cite"] === "2");
const details = bubble.citations.children[0];
const closedBefore = !details.open;
marker.click();
const items = bubble.citations.all().filter(n => n.tagName === "li");
const cited = items.map(item => item.className.split(" ").includes("cited"));
buttons().find(b => b.attributes["data-cite"] === "1").click();
const citedAfter = items.map(item => item.className.split(" ").includes("cited"));
bubble.end({ state: "completed", content: "Before any source [1]. Defects [2] and [3].", citations: [] }, "m", "c");
console.log(JSON.stringify({ beforeSources, afterSources, title: marker.attributes.title, closedBefore,
                             open: details.open, cited, citedAfter, afterEnd: buttons().length,
                             text: bubble.flow.textContent }));
""")
    assert result["beforeSources"] == 0  # no source yet: the marker is text
    assert result["afterSources"] == ["1"]  # the sources arrived: the marker already shown became a button
    assert result["title"] == "Source 2: Handbook.docx"
    assert result["closedBefore"] and result["open"]
    assert result["cited"] == [False, True] and result["citedAfter"] == [True, False]
    assert result["afterEnd"] == 0  # the final answer has no sources: the markers are text again
    assert result["text"] == "Before any source [1]. Defects [2] and [3]."


@needs_node
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_preview_client_resumes_a_cut_stream_against_the_real_server(live_server_url, api_key_secret, make_bot,
                                                                          fake_llm, celery_worker):
    from tests.fake_llm import TextReply

    bot = make_bot(publish=False)
    chunks = [f"piece{i} " for i in range(15)]
    fake_llm.script(TextReply(chunks=chunks, chunk_delay=0.04))
    result = _node(r"""
const { TurnClient } = require(process.env.PREVIEW_JS);
let cut = false;
async function cuttingFetch(url, init) {
  const response = await fetch(url, init);
  if (init.method !== "POST" || cut) return response;
  cut = true;  // the first response ends after a few events, as when a proxy drops the connection
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let frames = 0;
  const body = new ReadableStream({ async pull(controller) {
    const { done, value } = await reader.read();
    if (done) { controller.close(); return; }
    controller.enqueue(value);
    frames += (decoder.decode(value).match(/\n\n/g) || []).length;
    if (frames >= 5) { reader.cancel(); controller.close(); }
  } });
  return new Response(body, { status: response.status, headers: response.headers });
}
const seen = [];
const client = new TurnClient({ apiRoot: process.env.BASE + "/api/v1/", fetch: cuttingFetch, retryDelays: [100, 200, 400],
                                headers: { Authorization: "Bearer " + process.env.KEY },
                                onEvent: (name, data, id) => seen.push([id, name, data]) });
client.send(process.env.BASE + "/api/v1/bots/" + process.env.BOT + "/chat",
            { message: "tell me", stream: true, version: "draft" })
  .then(() => console.log(JSON.stringify({ seen, reconnects: client.reconnects, messageId: client.messageId,
                                           conversationId: client.conversationId })),
        error => { console.error(error); process.exit(1); });
""", env={"BASE": live_server_url, "KEY": api_key_secret, "BOT": bot.pk})
    seen = result["seen"]
    ids = [entry_id for entry_id, _, _ in seen]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    assert result["reconnects"] == 1
    assert seen[0][1] == "message.start" and seen[-1][1] == "message.end"
    assert "".join(data["text"] for _, name, data in seen if name == "delta") == "".join(chunks)
    end = seen[-1][2]
    assert end["state"] == "completed" and end["content"] == "".join(chunks)
    message = Message.objects.get(pk=result["messageId"])
    assert message.conversation_id == result["conversationId"] and message.conversation.version_number is None


# -- the preview in a real browser (headless Chromium over the DevTools protocol) -------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class Browser:
    """Headless Chromium driven over the DevTools protocol: just navigate, set cookies, run JS."""

    def __init__(self, tmp_path: Path):
        import time

        self.profile = tmp_path / "chromium-profile"
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not start")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        import urllib.request

        deadline = time.monotonic() + 10
        while True:
            targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5).read())
            pages = [t for t in targets if t.get("type") == "page"]
            if pages or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        from contextlib import ExitStack

        from websockets.sync.client import connect

        self._stack = ExitStack()
        self.socket = self._stack.enter_context(connect(pages[0]["webSocketDebuggerUrl"], max_size=None,
                                                        open_timeout=10))
        self.next_id = 0

    def send(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.socket.recv(timeout=30))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def js(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0):
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {expression}; page text: {self.js('document.body.innerText')}")

    def open(self, url: str) -> None:
        self.send("Page.enable")
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && !!window.SwitchboardPreview")

    def close(self) -> None:
        import os
        import signal

        if hasattr(self, "_stack"):
            self._stack.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def browser(tmp_path):
    if CHROMIUM is None:
        pytest.fail("Debian's chromium is needed by the browser tests: apt-get install chromium "
                    "(the README's test command installs it).")
    instance = Browser(tmp_path)
    yield instance
    instance.close()


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_preview_chats_with_the_draft_in_a_browser(browser, client, owner, live_server_url, make_bot, fake_llm,
                                                       celery_worker):
    from urllib.parse import urlparse

    from tests.fake_llm import TextReply

    bot = make_bot(publish=False, opening_message="Welcome to **the hotel**.", starter_questions=["Where is the pool?"],
                   system_prompt="You help guests in {{city}}.", variables=[{"name": "city", "required": True}])
    client.force_login(owner)
    browser.send("Network.enable")
    browser.send("Network.setCookie", name="sessionid", value=client.cookies["sessionid"].value,
                 domain=urlparse(live_server_url).hostname, path="/")
    browser.open(f"{live_server_url}/bots/{bot.pk}/preview/")
    assert browser.js("document.querySelector('.chat-message.opening strong').textContent") == "the hotel"

    # A required variable is asked for before anything is sent.
    browser.js("document.querySelector('.preview-starters button').click()")
    assert browser.wait_for("document.querySelector('[data-error-for=city]').textContent") == "Required."
    assert fake_llm.chat_requests == []

    fake_llm.script(TextReply(chunks=["<img src=x onerror=\"window.pwned=1\"> ", "**Top floor**, ", "open 7–22."],
                              chunk_delay=0.05))
    browser.js("document.querySelector('[data-variable=city]').value = 'Lisbon'")
    browser.js("document.querySelector('.preview-starters button').click()")
    metrics = browser.wait_for("(document.querySelector('.chat-message.assistant:not(.opening) .metrics') || {})"
                               ".textContent")
    assert "first token" in metrics and "tokens" in metrics
    answer = browser.js("document.querySelector('.chat-message.assistant:not(.opening) .text').textContent")
    assert answer == '<img src=x onerror="window.pwned=1"> Top floor, open 7–22.'
    assert browser.js("document.querySelector('.chat-message.assistant:not(.opening) .text strong').textContent") \
        == "Top floor"
    assert browser.js("document.querySelectorAll('.chat-message img').length") == 0
    assert browser.js("window.pwned === undefined")
    assert browser.js("document.querySelector('.preview-variables fieldset').disabled")
    sent = fake_llm.last_chat_request["messages"]
    assert sent[0] == {"role": "system", "content": "You help guests in Lisbon."}

    # A follow-up stays in the conversation.
    fake_llm.script(TextReply("Towels are at the desk."))
    browser.js("document.querySelector('[data-role=composer] textarea').value = 'And towels?'")
    browser.js("document.querySelector('[data-action=send]').click()")
    browser.wait_for("document.querySelectorAll('.chat-message.assistant .metrics').length === 2")
    conversation = Conversation.objects.get(bot=bot)
    assert conversation.inputs == {"city": "Lisbon"} and conversation.version_number is None
    assert [m.content for m in conversation.messages.order_by("created_at")] == [
        "Where is the pool?", '<img src=x onerror="window.pwned=1"> **Top floor**, open 7–22.', "And towels?",
        "Towels are at the desk."]

    # Stop keeps what was said so far.
    fake_llm.script(TextReply(chunks=[f"word{i} " for i in range(80)], chunk_delay=0.05))
    browser.js("document.querySelector('[data-role=composer] textarea').value = 'Tell me everything'")
    browser.js("document.querySelector('[data-action=send]').click()")
    browser.wait_for("(document.querySelectorAll('.chat-message.assistant .text')[2] || {}).textContent"
                     "?.includes('word2')")
    browser.js("document.querySelector('[data-action=stop]').click()")
    browser.wait_for("document.querySelectorAll('.chat-message.assistant .metrics').length === 3")
    assert "Stopped." in browser.js("document.querySelector('[data-role=log]').innerText")
    assert conversation.messages.filter(state=MessageState.CANCELLED).count() == 1

    # A new conversation starts over: opening message, starters, variables editable again.
    browser.js("document.querySelector('[data-action=new-conversation]').click()")
    assert browser.js("document.querySelectorAll('.chat-message').length") == 1
    assert not browser.js("document.querySelector('.preview-variables fieldset').disabled")
    assert not browser.js("document.querySelector('.preview-starters').hidden")



def _sign_in_browser(browser, client, owner, live_server_url) -> None:
    from urllib.parse import urlparse

    client.force_login(owner)
    browser.send("Network.enable")
    browser.send("Network.setCookie", name="sessionid", value=client.cookies["sessionid"].value,
                 domain=urlparse(live_server_url).hostname, path="/")


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_preview_fills_the_opening_message_with_the_variables_as_they_are_typed(
        browser, client, owner, live_server_url, make_bot, fake_llm, celery_worker):
    from tests.fake_llm import TextReply

    bot = make_bot(publish=False, opening_message="Hello **{{guest}}**! Your room in {{ city }} is ready. "
                                                  "VIP: {{vip}}. Plan: {{plan}}. Nights: {{nights}}.",
                   variables=[{"name": "guest", "default": "friend"}, {"name": "city", "required": True},
                              {"name": "vip", "type": "boolean", "default": False},
                              {"name": "plan", "type": "select", "options": ["basic", "gold"], "default": "basic"},
                              {"name": "nights", "type": "number", "default": 2}])
    _sign_in_browser(browser, client, owner, live_server_url)
    browser.open(f"{live_server_url}/bots/{bot.pk}/preview/")

    def opening() -> str:
        return browser.js("document.querySelector('.chat-message.opening .bubble').textContent")

    def type_into(name: str, value: str) -> None:
        browser.js(f"(field => {{ field.value = {json.dumps(value)}; "
                   f"field.dispatchEvent(new Event('input', {{ bubbles: true }})); }})"
                   f"(document.querySelector('[data-variable={name}]'))")

    # The defaults, before anything is typed; a variable with neither value nor default is empty.
    assert opening() == ("Hello friend! Your room in  is ready. VIP: false. Plan: basic. "
                                       "Nights: 2.")
    assert browser.js("document.querySelector('.chat-message.opening strong').textContent") == "friend"
    type_into("guest", "<img src=x onerror=\"window.pwned=1\">Zoë")
    type_into("city", "上海")
    type_into("nights", "3.50")
    browser.js("document.querySelector('[data-variable=vip]').click()")
    browser.js("(s => { s.value = 'gold'; s.dispatchEvent(new Event('change', { bubbles: true })); })"
               "(document.querySelector('[data-variable=plan]'))")
    assert opening() == ('Hello <img src=x onerror="window.pwned=1">Zoë! Your room in 上海 is ready. '
                                       "VIP: true. Plan: gold. Nights: 3.5.")
    assert browser.js("document.querySelectorAll('.chat-message img').length") == 0
    assert browser.js("window.pwned === undefined")
    type_into("guest", "  ")  # cleared: the default again, as the server would use it
    assert opening().startswith("Hello friend! Your room in 上海")

    # Once the conversation has started its values are fixed, and so is its opening message.
    fake_llm.script(TextReply("Welcome!"))
    browser.js("document.querySelector('[data-role=composer] textarea').value = 'Hi'")
    browser.js("document.querySelector('[data-action=send]').click()")
    browser.wait_for("document.querySelectorAll('.chat-message.assistant .metrics').length === 1")
    assert Conversation.objects.get(bot=bot).inputs == {"guest": "friend", "city": "上海", "vip": True,
                                                        "plan": "gold", "nights": 3.5}
    browser.js("document.querySelector('[data-action=new-conversation]').click()")
    type_into("guest", "Ann")
    assert opening().startswith("Hello Ann! Your room in 上海 is ready. VIP: true.")


HANDBOOK = """# Handbook

## Warranty

The warranty covers manufacturing defects for two years.

## Returns

Unused products can be returned within thirty days.

## Holidays

Every employee gets twenty-eight days of paid holiday per year.

## 发票

电子发票会在付款后二十四小时内发送到您的邮箱。
"""


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_source_markers_in_the_preview_jump_to_their_sources_in_a_browser(
        browser, client, owner, workspace, live_server_url, make_bot, fake_llm, celery_worker):
    from knowledge import services as knowledge_services
    from knowledge.retrieval import DEFAULT_SCORE_THRESHOLD

    from tests.fake_llm import TextReply
    from tests.knowledge.conftest import upload_file, wait_for_document

    base = knowledge_services.knowledge_base_create(workspace=workspace, name="Handbook", chunk_size=64,
                                                    chunk_overlap=0)
    document, _ = knowledge_services.document_create_from_upload(
        knowledge_base=base, file=upload_file("handbook.md", HANDBOOK.encode()))
    assert wait_for_document(document.pk).status == "ready"  # indexed by the worker
    bot = make_bot(publish=False, knowledge={"knowledge_base_ids": [base.pk], "top_k": 10})
    _sign_in_browser(browser, client, owner, live_server_url)
    browser.open(f"{live_server_url}/bots/{bot.pk}/preview/")

    filler = "\n\n".join(f"Detail {i} of the answer." for i in range(40))  # long: the sources start off-screen
    fake_llm.script(TextReply(chunks=["Defects are covered for two years [1]. ", "<b>Bold</b> claim [99].\n\n",
                                      filler], chunk_delay=0.02))
    browser.js("document.querySelector('[data-role=composer] textarea').value = "
               "'How long does the warranty cover defects?'")
    browser.js("document.querySelector('[data-action=send]').click()")
    browser.wait_for("document.querySelectorAll('.chat-message.assistant .metrics').length === 1")

    # Only relevant passages were given to the model and cited: nothing at 0.000, no Chinese passage.
    message = Message.objects.get(conversation__bot=bot, role="assistant")
    scores = [citation["score"] for citation in message.citations]
    assert scores and min(scores) >= DEFAULT_SCORE_THRESHOLD
    assert not any("发票" in citation["snippet"] for citation in message.citations)
    assert "发票" not in fake_llm.last_chat_request["messages"][0]["content"]
    assert browser.js("document.querySelector('.citations summary').textContent") == f"Sources ({len(scores)})"

    # [1] is a button; [99] has no source and stays text; the model's markup stays text.
    answer = ".chat-message.assistant .flow"
    assert browser.js(f"[...document.querySelectorAll('{answer} button.cite')].map(b => b.textContent)") == ["1"]
    assert browser.js(f"document.querySelector('{answer}').textContent").startswith(
        "Defects are covered for two years [1]. <b>Bold</b> claim [99].")
    assert browser.js(f"document.querySelector('{answer} b')") is None
    assert browser.js("document.querySelector('button.cite').title") == "Source 1: handbook.md"

    # Clicking it opens the sources, scrolls the first into view and highlights it.
    browser.js("document.querySelector('[data-role=log]').scrollTop = 0")
    assert not browser.js("document.querySelector('.citations details').open")
    browser.js("document.querySelector('button.cite').click()")
    assert browser.js("document.querySelector('.citations details').open")
    source = "document.querySelector('.citations li[data-source=\"1\"]')"
    assert browser.js(f"{source}.classList.contains('cited')")
    assert browser.js(f"document.activeElement === {source}")
    assert "The warranty covers manufacturing defects" in browser.js(f"{source}.textContent")
    browser.wait_for(f"(() => {{ const log = document.querySelector('[data-role=log]').getBoundingClientRect();"
                     f" const item = {source}.getBoundingClientRect();"
                     f" return item.top >= log.top - 1 && item.bottom <= log.bottom + 1; }})()")


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_preview_shows_retries_failures_and_refusals_in_a_browser(browser, client, owner, workspace,
                                                                      live_server_url, make_bot, fake_llm,
                                                                      celery_worker):
    from urllib.parse import urlparse

    from tests.fake_llm import DropReply, ErrorReply, TextReply

    client.force_login(owner)
    browser.send("Network.enable")
    browser.send("Network.setCookie", name="sessionid", value=client.cookies["sessionid"].value,
                 domain=urlparse(live_server_url).hostname, path="/")

    def say(text: str) -> None:
        browser.js(f"document.querySelector('[data-role=composer] textarea').value = {json.dumps(text)}")
        browser.js("document.querySelector('[data-action=send]').click()")

    # A model stream that breaks off is retried: the partial text is dropped (message.reset).
    bot = make_bot(publish=False)
    browser.open(f"{live_server_url}/bots/{bot.pk}/preview/")
    fake_llm.script(DropReply(chunks=["partial ", "answer "], drop_after=2, chunk_delay=0.05),
                    TextReply("whole answer"))
    say("hi")
    browser.wait_for("document.querySelectorAll('.chat-message.assistant .metrics').length === 1")
    assert browser.js("document.querySelector('.chat-message.assistant .flow').textContent") == "whole answer"

    # A failed turn shows the provider's error.
    fake_llm.script(ErrorReply(401, message="bad key"))
    say("again")
    browser.wait_for("document.querySelectorAll('.chat-message.assistant .metrics').length === 2")
    errors = browser.js("[...document.querySelectorAll('.chat-message.assistant .error')].map(e => e.textContent)")
    assert len(errors) == 1 and "provider_auth_error" in errors[0]

    # A turn the API refuses (no chat model) is not sent: the text goes back to the composer.
    modelless = bot_create(workspace=workspace, name="Modelless")
    browser.open(f"{live_server_url}/bots/{modelless.pk}/preview/")
    say("anyone there?")
    notice = browser.wait_for("(document.querySelector('.chat-notice.error') || {}).textContent")
    assert "has no chat model configured" in notice
    assert browser.js("document.querySelector('[data-role=composer] textarea').value") == "anyone there?"
    assert browser.js("document.querySelector('.chat-message.user.failed') !== null")
    assert not browser.js("document.querySelector('[data-action=send]').disabled")
    assert not Conversation.objects.filter(bot=modelless).exists()


def test_an_undeclared_opening_message_variable_is_shown_at_the_field_and_nothing_is_saved(signed_in):
    response = signed_in.post(NEW, form_data(opening_message="Welcome {{guest}}!", temperature="3"))
    html = _html(response)
    assert 'id="id_opening_message_error"' in html and "undeclared variables: {{guest}}" in html
    assert 'id="id_temperature_error"' in html  # every problem shows on the first submission
    assert not Bot.objects.exists()
    response = signed_in.post(NEW, form_data(opening_message="Welcome {{guest}}!", **variable(0, "guest")))
    assert response.status_code == 302 and Bot.objects.get().config["opening_message"] == "Welcome {{guest}}!"

"""The preview chat's script (templates/static/bots/preview.js) in headless Chromium on the live server.

Its parts first, loaded as the preview page loads them: the SSE parser, the Markdown renderer, the
answer bubble on the real DOM, the template filler, and the turn client against the real API with a
stream cut off mid-answer. Then the preview page itself, with a worker and the fake model behind it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bots.models import Conversation, Message, MessageState
from bots.services import bot_create
from tests.sse import CUTTING_FETCH_JS

ROOT = Path(__file__).resolve().parents[2]
PREVIEW_JS = ROOT / "templates" / "static" / "bots" / "preview.js"


def test_the_preview_script_never_writes_html():
    source = PREVIEW_JS.read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source.replace("Nothing in this file assigns innerHTML", ""), sink
    assert "http://" not in source and "https://" not in source.replace("https?:", "")


# -- the script's parts ------------------------------------------------------------------------------


@pytest.fixture
def script(page: Page) -> Page:
    """A page of the live server with the preview script added as the preview page adds it (the
    static file the server serves); it finds no preview there to start, so its parts are free."""
    page.goto("/login/")
    page.add_script_tag(url="/static/bots/preview.js")
    page.wait_for_function("!!window.SwitchboardPreview")
    return page


# Serialises what a renderer built: text comes out escaped, so markup in the input that became an
# element is told apart from markup that stayed text.
RENDER = """([texts, sources]) => {
  const { renderMarkdown } = window.SwitchboardPreview;
  const citation = n => {
    if (n < 1 || n > sources) return null;
    const button = document.createElement("button");
    button.setAttribute("data-cite", n);
    button.textContent = String(n);
    return button;
  };
  return texts.map(text => {
    const root = document.createElement("div");
    root.appendChild(renderMarkdown(text, document, sources ? { citation } : null));
    return root.outerHTML;
  });
}"""


def test_the_preview_script_parses_sse_split_anywhere(script):
    stream = (
        ': connected\r\n\r\nid: 1-0\r\nevent: delta\r\ndata: {"text":"Hé"}\r\n\r\n'
        ': ping\n\nid: 2-0\nevent: message.end\ndata: {"a":1,\ndata: "b":2}\n\n'
    )
    result = script.evaluate(
        """stream => {
      const { SSEParser } = window.SwitchboardPreview;
      const out = [];
      for (let size = 1; size <= stream.length; size++) {
        const parser = new SSEParser();
        const events = [];
        for (let i = 0; i < stream.length; i += size) events.push(...parser.push(stream.slice(i, i + size)));
        out.push(events);
      }
      return out;
    }""",
        stream,
    )
    expected = [
        {"id": "1-0", "event": "delta", "data": '{"text":"Hé"}'},
        {"id": "2-0", "event": "message.end", "data": '{"a":1,\n"b":2}'},
    ]
    assert len(result) == len(stream)
    assert all(events == expected for events in result), result


def test_the_preview_renders_markdown_only_as_elements_it_builds(script):
    texts = [
        "<script>alert(1)</script> and <img src=x onerror=alert(1)>",
        "# Title\nSome **bold**, *em* and `a<b>`.\nNext line\n\n- one\n- [two](https://example.org/x)\n\n1. first",
        "[click](javascript:alert(1))",
        "```html\n<b>raw</b>\n```",
        "```py\nprint(1)",
    ]
    script_, rich, unsafe, code, streaming = script.evaluate(RENDER, [texts, 0])
    assert script_ == ("<div><p>&lt;script&gt;alert(1)&lt;/script&gt; and &lt;img src=x onerror=alert(1)&gt;</p></div>")
    assert rich == (
        "<div><h3>Title</h3><p>Some <strong>bold</strong>, <em>em</em> and <code>a&lt;b&gt;</code>.<br>Next line</p>"
        '<ul><li>one</li><li><a href="https://example.org/x" target="_blank" rel="noopener noreferrer nofollow">two</a>'
        "</li></ul><ol><li>first</li></ol></div>"
    )
    assert unsafe == "<div><p>[click](javascript:alert(1))</p></div>"
    assert code == '<div><pre><code data-language="html">&lt;b&gt;raw&lt;/b&gt;</code></pre></div>'
    assert streaming == '<div><pre><code data-language="py">print(1)</code></pre></div>'


def test_source_markers_become_buttons_only_for_sources_that_exist(script):
    texts = [
        "Two years [1][2], see [1, 3] and [7]. Built in [2024]; `x[1]` is code.",
        "- **Covered [2]**\n- 保修两年【1】，退货三十天[1，2]。",
        "<img src=x onerror=alert(1)>[1]",
    ]
    plain, rich, html = script.evaluate(RENDER, [texts, 2])
    (without,) = script.evaluate(RENDER, [["Two years [1]."], 0])
    assert plain == (
        '<div><p>Two years [<button data-cite="1">1</button>][<button data-cite="2">2</button>], see '
        '[<button data-cite="1">1</button>, 3] and [7]. Built in [2024]; <code>x[1]</code> is code.</p></div>'
    )
    assert rich == (
        '<div><ul><li><strong>Covered [<button data-cite="2">2</button>]</strong></li>'
        '<li>保修两年【<button data-cite="1">1</button>】，退货三十天'
        '[<button data-cite="1">1</button>，<button data-cite="2">2</button>]。</li></ul></div>'
    )
    assert html == '<div><p>&lt;img src=x onerror=alert(1)&gt;[<button data-cite="1">1</button>]</p></div>'
    assert without == "<div><p>Two years [1].</p></div>"


def test_the_preview_fills_variables_exactly_as_the_server_fills_the_system_prompt(script):
    from bots.prompting import fill_template

    values = {"name": "Zoë <b>", "city": "上海", "vip": True, "trial": False, "count": 3, "ratio": 2.5, "empty": ""}
    templates = [
        "Hi {{name}}, welcome to {{ city }}!",
        "{{vip}}/{{trial}}/{{count}}/{{ratio}}/{{empty}}",
        "{{unknown}} stays empty, {{name}}{{name}} twice",
        "欢迎来到{{city}}，{{ name }}。",
        "{{ 1bad }} {name} {{na-me}} are not variables",
        "",
        "no variables at all",
    ]
    result = script.evaluate(
        """([templates, values]) =>
      templates.map(t => window.SwitchboardPreview.fillTemplate(t, values))""",
        [templates, values],
    )
    assert result == [fill_template(template, values) for template in templates]
    assert result[0] == "Hi Zoë <b>, welcome to 上海!" and result[1] == "true/false/3/2.5/"


# The bubble draws streamed text on the next animation frame, as it does on the page.
FRAME = "const frame = () => new Promise(resolve => requestAnimationFrame(() => resolve()));"


def test_the_answer_bubble_follows_resets_tools_and_the_end(script):
    result = script.evaluate(
        """async () => {
      """
        + FRAME
        + """
      const { AssistantBubble } = window.SwitchboardPreview;
      const decisions = [];
      const chat = { doc: document, scrollToEnd() {}, conversationUrl: id => "/conversations/" + id + "/",
                     confirm: (b, url, id, ok) => { decisions.push([url, id, ok]); return Promise.resolve({}); },
                     feedback: () => Promise.resolve({}) };
      const bubble = new AssistantBubble(chat);
      document.body.appendChild(bubble.node);
      bubble.append("Let me ");
      await frame();
      const beforeReset = bubble.flow.textContent;
      bubble.reset({ step: 0, reason: "provider_stream_error", retry_in: 0.5 });
      await frame();
      const afterReset = bubble.node.textContent;
      bubble.append("Checking <b>now</b>.");
      bubble.toolCall({ tool_call_id: "c1", name: "book", arguments: { at: "<7pm>" } });
      bubble.confirmationRequired({ tool_call_id: "c1", name: "book", arguments: {},
                                    confirm_url: "/api/v1/messages/m/confirmations" });
      [...bubble.node.querySelectorAll("button")].find(b => b.textContent === "Approve").click();
      bubble.toolResult({ tool_call_id: "c1", name: "book", ok: true, duration_ms: 42, result: '{"ok":true}' });
      bubble.append(" Booked.");
      bubble.end({ state: "completed", content: "Checking <b>now</b>. Booked.", conversation_id: "conv_1",
                   usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 }, cost: "0.000020",
                   latency: { queue_ms: 3, ttft_ms: 250, total_ms: 1500 },
                   citations: [{ document_name: "Menu.pdf", page: 2, score: 0.5, snippet: "Dinner at 7" }] },
                 "msg_1", "conv_1");
      await new Promise(resolve => setTimeout(resolve, 10));
      return { beforeReset, afterReset, html: bubble.node.outerHTML, text: bubble.node.textContent, decisions };
    }"""
    )
    html = result["html"]
    assert result["beforeReset"] == "Let me "  # shown while it streamed ...
    assert "Let me" not in result["afterReset"] and "Let me" not in html  # ... and dropped by the reset
    assert "The model call failed (provider_stream_error); trying again in 500 ms" in result["afterReset"]
    assert "Checking &lt;b&gt;now&lt;/b&gt;." in html and "<b>" not in html
    assert html.index("Checking") < html.index("✓ book · 42 ms") < html.index("Booked.")
    assert "&lt;7pm&gt;" in html and "Approved" in html
    assert result["decisions"] == [["/api/v1/messages/m/confirmations", "c1", True]]
    assert "queue 3 ms · first token 250 ms · total 1.5 s · 10 in / 5 out tokens · $0.000020" in result["text"]
    assert "Sources (1)" in result["text"] and "Menu.pdf" in result["text"]
    assert 'href="/conversations/conv_1/#msg_1"' in html


def test_a_source_marker_in_an_answer_jumps_to_its_source(script):
    result = script.evaluate(
        """async () => {
      """
        + FRAME
        + """
      const { AssistantBubble } = window.SwitchboardPreview;
      const chat = { doc: document, scrollToEnd() {}, conversationUrl: () => null,
                     feedback: () => Promise.resolve({}) };
      const bubble = new AssistantBubble(chat);
      document.body.appendChild(bubble.node);
      const buttons = () => [...bubble.node.querySelectorAll("button[data-cite]")];
      bubble.append("Before any source [1]. ");
      await frame();
      const textBeforeSources = bubble.flow.textContent;
      const beforeSources = buttons().length;
      bubble.showCitations([{ document_name: "Policies <x>.pdf", page: 1, score: 0.61, snippet: "Two years." },
                            { document_name: "Handbook.docx", score: 0.12, snippet: "Holidays." }]);
      const afterSources = buttons().map(b => b.getAttribute("data-cite"));
      bubble.append("Defects [2] and [3].");
      await frame();
      const marker = buttons().find(b => b.getAttribute("data-cite") === "2");
      const details = bubble.citations.querySelector("details");
      const closedBefore = !details.open;
      marker.click();
      const items = [...bubble.citations.querySelectorAll("li")];
      const cited = items.map(item => item.classList.contains("cited"));
      const focused = items.indexOf(document.activeElement);
      buttons().find(b => b.getAttribute("data-cite") === "1").click();
      const citedAfter = items.map(item => item.classList.contains("cited"));
      bubble.end({ state: "completed", content: "Before any source [1]. Defects [2] and [3].", citations: [] },
                 "m", "c");
      return { textBeforeSources, beforeSources, afterSources, title: marker.title, closedBefore,
               open: details.open, cited, focused, citedAfter, afterEnd: buttons().length,
               text: bubble.flow.textContent };
    }"""
    )
    assert result["textBeforeSources"] == "Before any source [1]. "
    assert result["beforeSources"] == 0  # no source yet: the marker is text
    assert result["afterSources"] == ["1"]  # the sources arrived: the marker already shown became a button
    assert result["title"] == "Source 2: Handbook.docx"
    assert result["closedBefore"] and result["open"]
    assert result["cited"] == [False, True] and result["focused"] == 1
    assert result["citedAfter"] == [True, False]
    assert result["afterEnd"] == 0  # the final answer has no sources: the markers are text again
    assert result["text"] == "Before any source [1]. Defects [2] and [3]."


@pytest.mark.django_db(transaction=True)
def test_the_preview_client_resumes_a_cut_stream_against_the_real_server(
    script, api_key_secret, make_bot, fake_llm, celery_worker
):
    from tests.fake_llm import TextReply

    bot = make_bot(publish=False)
    chunks = [f"piece{i} " for i in range(15)]
    fake_llm.script(TextReply(chunks=chunks, chunk_delay=0.04))
    result = script.evaluate(
        """async ({ key, bot }) => {
      const { TurnClient } = window.SwitchboardPreview;
"""
        + CUTTING_FETCH_JS
        + """      const seen = [];
      const client = new TurnClient({ fetch: cuttingFetch, retryDelays: [100, 200, 400],
                                      headers: { Authorization: "Bearer " + key },
                                      onEvent: (name, data, id) => seen.push([id, name, data]) });
      await client.send("/api/v1/bots/" + bot + "/chat", { message: "tell me", stream: true, version: "draft" });
      return { seen, reconnects: client.reconnects, messageId: client.messageId,
               conversationId: client.conversationId };
    }""",
        {"key": api_key_secret, "bot": bot.pk},
    )
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


# -- the preview page --------------------------------------------------------------------------------


def say(page: Page, text: str) -> None:
    page.locator("[data-role=composer] textarea").fill(text)
    page.locator("[data-action=send]").click()


def disabled(page: Page, selector: str) -> bool:
    return page.locator(selector).evaluate("node => node.disabled")


@pytest.mark.django_db(transaction=True)
def test_the_preview_chats_with_the_draft_in_a_browser(owner_page, make_bot, fake_llm, celery_worker):
    from tests.fake_llm import TextReply

    page = owner_page
    bot = make_bot(
        publish=False,
        opening_message="Welcome to **the hotel**.",
        starter_questions=["Where is the pool?"],
        system_prompt="You help guests in {{city}}.",
        variables=[{"name": "city", "required": True}],
    )
    page.goto(f"/bots/{bot.pk}/preview/")
    expect(page.locator(".chat-message.opening strong")).to_have_text("the hotel")

    # A required variable is asked for before anything is sent.
    page.locator(".preview-starters button").click()
    expect(page.locator("[data-error-for=city]")).to_have_text("Required.")
    assert fake_llm.chat_requests == []

    fake_llm.script(
        TextReply(chunks=['<img src=x onerror="window.pwned=1"> ', "**Top floor**, ", "open 7–22."], chunk_delay=0.05)
    )
    page.locator("[data-variable=city]").fill("Lisbon")
    page.locator(".preview-starters button").click()
    answer = page.locator(".chat-message.assistant:not(.opening)")
    expect(answer.locator(".metrics")).to_contain_text(re.compile(r"first token .* tokens"))
    assert answer.locator(".text").text_content() == '<img src=x onerror="window.pwned=1"> Top floor, open 7–22.'
    assert answer.locator(".text strong").text_content() == "Top floor"
    assert page.locator(".chat-message img").count() == 0
    assert page.evaluate("window.pwned === undefined")
    assert disabled(page, ".preview-variables fieldset")
    sent = fake_llm.last_chat_request["messages"]
    assert sent[0] == {"role": "system", "content": "You help guests in Lisbon."}

    # A follow-up stays in the conversation.
    fake_llm.script(TextReply("Towels are at the desk."))
    say(page, "And towels?")
    metrics = page.locator(".chat-message.assistant .metrics")
    expect(metrics).to_have_count(2)
    conversation = Conversation.objects.get(bot=bot)
    assert conversation.inputs == {"city": "Lisbon"} and conversation.version_number is None
    assert [m.content for m in conversation.messages.order_by("created_at")] == [
        "Where is the pool?",
        '<img src=x onerror="window.pwned=1"> **Top floor**, open 7–22.',
        "And towels?",
        "Towels are at the desk.",
    ]

    # Stop keeps what was said so far.
    fake_llm.script(TextReply(chunks=[f"word{i} " for i in range(80)], chunk_delay=0.05))
    say(page, "Tell me everything")
    expect(page.locator(".chat-message.assistant .text").nth(2)).to_contain_text("word2")
    page.locator("[data-action=stop]").click()
    expect(metrics).to_have_count(3)
    assert "Stopped." in page.locator("[data-role=log]").inner_text()
    assert conversation.messages.filter(state=MessageState.CANCELLED).count() == 1

    # A new conversation starts over: opening message, starters, variables editable again.
    page.locator("[data-action=new-conversation]").click()
    expect(page.locator(".chat-message")).to_have_count(1)
    assert not disabled(page, ".preview-variables fieldset")
    assert not page.locator(".preview-starters").evaluate("node => node.hidden")


@pytest.mark.django_db(transaction=True)
def test_the_preview_fills_the_opening_message_with_the_variables_as_they_are_typed(
    owner_page, make_bot, fake_llm, celery_worker
):
    from tests.fake_llm import TextReply

    page = owner_page
    bot = make_bot(
        publish=False,
        opening_message="Hello **{{guest}}**! Your room in {{ city }} is ready. "
        "VIP: {{vip}}. Plan: {{plan}}. Nights: {{nights}}.",
        variables=[
            {"name": "guest", "default": "friend"},
            {"name": "city", "required": True},
            {"name": "vip", "type": "boolean", "default": False},
            {"name": "plan", "type": "select", "options": ["basic", "gold"], "default": "basic"},
            {"name": "nights", "type": "number", "default": 2},
        ],
    )
    page.goto(f"/bots/{bot.pk}/preview/")
    opening = page.locator(".chat-message.opening .bubble")

    def field(name: str):
        return page.locator(f"[data-variable={name}]")

    # The defaults, before anything is typed; a variable with neither value nor default is empty.
    assert opening.text_content() == "Hello friend! Your room in  is ready. VIP: false. Plan: basic. Nights: 2."
    assert page.locator(".chat-message.opening strong").text_content() == "friend"
    field("guest").fill('<img src=x onerror="window.pwned=1">Zoë')
    field("city").fill("上海")
    field("nights").fill("3.50")
    field("vip").click()
    field("plan").select_option("gold")
    assert opening.text_content() == (
        'Hello <img src=x onerror="window.pwned=1">Zoë! Your room in 上海 is ready. VIP: true. Plan: gold. Nights: 3.5.'
    )
    assert page.locator(".chat-message img").count() == 0
    assert page.evaluate("window.pwned === undefined")
    field("guest").fill("  ")  # cleared: the default again, as the server would use it
    assert opening.text_content().startswith("Hello friend! Your room in 上海")

    # Once the conversation has started its values are fixed, and so is its opening message.
    fake_llm.script(TextReply("Welcome!"))
    say(page, "Hi")
    expect(page.locator(".chat-message.assistant .metrics")).to_have_count(1)
    assert Conversation.objects.get(bot=bot).inputs == {
        "guest": "friend",
        "city": "上海",
        "vip": True,
        "plan": "gold",
        "nights": 3.5,
    }
    page.locator("[data-action=new-conversation]").click()
    field("guest").fill("Ann")
    assert opening.text_content().startswith("Hello Ann! Your room in 上海 is ready. VIP: true.")


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


@pytest.mark.django_db(transaction=True)
def test_source_markers_in_the_preview_jump_to_their_sources_in_a_browser(
    owner_page, workspace, make_bot, fake_llm, celery_worker
):
    from knowledge import services as knowledge_services
    from knowledge.retrieval import DEFAULT_SCORE_THRESHOLD
    from tests.fake_llm import TextReply
    from tests.knowledge.conftest import upload_file, wait_for_document

    page = owner_page
    base = knowledge_services.knowledge_base_create(
        workspace=workspace, name="Handbook", chunk_size=64, chunk_overlap=0
    )
    document, _ = knowledge_services.document_create_from_upload(
        knowledge_base=base, file=upload_file("handbook.md", HANDBOOK.encode())
    )
    assert wait_for_document(document.pk).status == "ready"  # indexed by the worker
    bot = make_bot(publish=False, knowledge={"knowledge_base_ids": [base.pk], "top_k": 10})
    page.goto(f"/bots/{bot.pk}/preview/")

    filler = "\n\n".join(f"Detail {i} of the answer." for i in range(40))  # long: the sources start off-screen
    fake_llm.script(
        TextReply(
            chunks=["Defects are covered for two years [1]. ", "<b>Bold</b> claim [99].\n\n", filler], chunk_delay=0.02
        )
    )
    say(page, "How long does the warranty cover defects?")
    expect(page.locator(".chat-message.assistant .metrics")).to_have_count(1)

    # Only relevant passages were given to the model and cited: nothing at 0.000, no Chinese passage.
    message = Message.objects.get(conversation__bot=bot, role="assistant")
    scores = [citation["score"] for citation in message.citations]
    assert scores and min(scores) >= DEFAULT_SCORE_THRESHOLD
    assert not any("发票" in citation["snippet"] for citation in message.citations)
    assert "发票" not in fake_llm.last_chat_request["messages"][0]["content"]
    assert page.locator(".citations summary").text_content() == f"Sources ({len(scores)})"

    # [1] is a button; [99] has no source and stays text; the model's markup stays text.
    answer = page.locator(".chat-message.assistant .flow")
    assert answer.locator("button.cite").all_text_contents() == ["1"]
    assert answer.text_content().startswith("Defects are covered for two years [1]. <b>Bold</b> claim [99].")
    assert answer.locator("b").count() == 0
    assert page.locator("button.cite").get_attribute("title") == "Source 1: handbook.md"

    # Clicking it opens the sources, scrolls the first into view and highlights it.
    page.locator("[data-role=log]").evaluate("log => { log.scrollTop = 0; }")
    details = page.locator(".citations details")
    assert not details.evaluate("node => node.open")
    page.locator("button.cite").click()
    assert details.evaluate("node => node.open")
    source = page.locator('.citations li[data-source="1"]')
    expect(source).to_have_class(re.compile(r"\bcited\b"))
    expect(source).to_be_focused()
    expect(source).to_contain_text("The warranty covers manufacturing defects")
    page.wait_for_function("""() => {
      const log = document.querySelector("[data-role=log]").getBoundingClientRect();
      const item = document.querySelector('.citations li[data-source="1"]').getBoundingClientRect();
      return item.top >= log.top - 1 && item.bottom <= log.bottom + 1;
    }""")


@pytest.mark.django_db(transaction=True)
def test_the_preview_shows_retries_failures_and_refusals_in_a_browser(
    owner_page, workspace, make_bot, fake_llm, celery_worker
):
    from tests.fake_llm import DropReply, ErrorReply, TextReply

    page = owner_page
    metrics = page.locator(".chat-message.assistant .metrics")

    # A model stream that breaks off is retried: the partial text is dropped (message.reset).
    bot = make_bot(publish=False)
    page.goto(f"/bots/{bot.pk}/preview/")
    fake_llm.script(
        DropReply(chunks=["partial ", "answer "], drop_after=2, chunk_delay=0.05), TextReply("whole answer")
    )
    say(page, "hi")
    expect(metrics).to_have_count(1)
    assert page.locator(".chat-message.assistant .flow").text_content() == "whole answer"

    # A failed turn shows the provider's error.
    fake_llm.script(ErrorReply(401, message="bad key"))
    say(page, "again")
    expect(metrics).to_have_count(2)
    errors = page.locator(".chat-message.assistant .error").all_text_contents()
    assert len(errors) == 1 and "provider_auth_error" in errors[0]

    # A turn the API refuses (no chat model) is not sent: the text goes back to the composer.
    modelless = bot_create(workspace=workspace, name="Modelless")
    page.goto(f"/bots/{modelless.pk}/preview/")
    say(page, "anyone there?")
    expect(page.locator(".chat-notice.error")).to_contain_text("has no chat model configured")
    expect(page.locator("[data-role=composer] textarea")).to_have_value("anyone there?")
    assert page.locator(".chat-message.user.failed").count() == 1
    assert not disabled(page, "[data-action=send]")
    assert not Conversation.objects.filter(bot=modelless).exists()


@pytest.mark.django_db(transaction=True)
def test_the_preview_speaks_the_persons_chinese_in_a_browser(owner_page, owner, make_bot, fake_llm, celery_worker):
    from accounts.models import Language
    from accounts.services import user_language_set
    from tests.fake_llm import TextReply

    user_language_set(user=owner, language=Language.CHINESE)
    page = owner_page
    bot = make_bot(
        publish=False, starter_questions=["Where is the pool?"], variables=[{"name": "city", "required": True}]
    )
    page.goto(f"/bots/{bot.pk}/preview/")

    # The script's own words come from the page's table: a missing variable, the wait, the footer.
    page.locator(".preview-starters button").click()
    expect(page.locator("[data-error-for=city]")).to_have_text("必填。")
    fake_llm.script(TextReply("Top floor.", delay=1.5))
    page.locator("[data-variable=city]").fill("Lisbon")
    page.locator(".preview-starters button").click()
    answer = page.locator(".chat-message.assistant:not(.opening)")
    expect(answer.locator(".status")).to_have_text("正在思考…")
    expect(answer.locator(".metrics")).to_contain_text("首个令牌")
    assert answer.locator(".text").text_content() == "Top floor."
    assert "tokens" not in answer.locator(".metrics").text_content()
    assert answer.locator(".feedback button").first.get_attribute("title") == "回答不错"
    assert answer.locator(".meta a").text_content() == "追踪"

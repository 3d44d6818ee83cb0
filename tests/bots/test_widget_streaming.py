"""A visitor's turn over real HTTP (uvicorn) with the real worker: streamed, resumed, trimmed,
kept in the visitor's history; sources and confirmations through the widget's own routes."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from bots.models import BotWidget
from bots.widget.services import widget_update
from knowledge import services as knowledge_services
from tests import sse
from tests.fake_llm import TextReply, ToolCallReply
from tests.fake_llm import ToolCall as CallOf
from tests.knowledge.conftest import upload_file, wait_for_document

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = "https://shop.example"


@pytest.fixture
def visitor(live_server_url, settings):
    settings.WIDGET_SESSIONS_PER_IP_PER_MINUTE = 10_000

    def start(bot) -> httpx.Client:
        widget_update(bot=bot, allowed_origins=[SHOP])
        public_id = BotWidget.objects.get(bot=bot).public_id
        page = httpx.get(f"{live_server_url}/widget/frame/{public_id}", params={"host": SHOP}, timeout=30)
        assert page.status_code == 200
        config = json.loads(
            re.search(r'<script id="switchboard-widget-config" type="application/json">(.*?)</script>', page.text)[1]
        )
        # The frame's requests come from the platform's own origin, as a browser sends them.
        own = {"Origin": live_server_url}
        session = httpx.post(
            f"{live_server_url}/widget/v1/sessions", json={"ticket": config["ticket"]}, headers=own, timeout=30
        ).json()
        return httpx.Client(
            base_url=f"{live_server_url}/widget/v1/",
            headers={**own, "Authorization": f"Bearer {session['token']}"},
            timeout=30,
        )

    return start


@pytest.fixture
def faq(workspace, celery_worker):
    base = knowledge_services.knowledge_base_create(workspace=workspace, name="FAQ", chunk_size=128, chunk_overlap=16)
    document, _ = knowledge_services.document_create_from_upload(
        knowledge_base=base,
        file=upload_file(
            "faq.md",
            b"# Refunds\n\nRefunds are paid back to the original card within five working days.\n\n"
            b"# Shipping\n\nParcels leave the warehouse the same day when ordered before 2 pm.",
        ),
    )
    assert wait_for_document(document.pk).status == "ready"
    return base


def test_a_visitor_streams_resumes_and_finds_the_answer_in_history(visitor, make_bot, fake_llm, faq):
    bot = make_bot(knowledge={"knowledge_base_ids": [faq.pk], "top_k": 2}, system_prompt="SECRET-PROMPT")
    chunks = [f"Refunds take five working days [1] part{i}. " for i in range(8)]
    fake_llm.script(TextReply(chunks=chunks, chunk_delay=0.03))
    client = visitor(bot)
    seen = []
    with sse.connect(client, "POST", "chat", json={"message": "How long do refunds take?"}) as stream:
        message_id = stream.response.headers["x-message-id"]
        conversation_id = stream.response.headers["x-conversation-id"]
        for event in stream:
            seen.append(event)
            if sum(1 for e in seen if e.event == "delta") == 3:
                break  # the visitor's connection drops
    with sse.connect(client, "GET", f"messages/{message_id}/events", headers={"Last-Event-ID": seen[-1].id}) as stream:
        rest = list(stream)
    every = seen + rest
    assert len({e.id for e in every}) == len(every)
    assert "".join(e.json()["text"] for e in every if e.event == "delta") == "".join(chunks)
    retrieval = next(e.json() for e in every if e.event == "retrieval")
    assert retrieval["citations"][0]["document_name"] == "faq.md" and retrieval["citations"][0]["n"] == 1
    end = every[-1].json()
    assert every[-1].event == "message.end" and end["state"] == "completed"
    assert set(end) == {"message_id", "state", "content", "conversation_id", "citations", "error"}
    raw = "".join(stream.chunks)
    assert "SECRET-PROMPT" not in raw and "usage" not in raw and "fake-chat" not in raw

    passage = client.get(f"messages/{message_id}/citations/1").json()
    assert "five working days" in passage["text"] and passage["document_name"] == "faq.md"
    assert client.get(f"messages/{message_id}/citations/9").status_code == 404

    history = client.get(f"conversations/{conversation_id}/messages").json()["data"]
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[1]["content"] == "".join(chunks) and history[1]["citations"][0]["n"] == 1
    assert "trace" not in history[1] and "usage" not in history[1]

    feedback = client.post(f"messages/{message_id}/feedback", json={"rating": -1, "comment": "太慢了"})
    assert feedback.status_code == 200 and feedback.json()["rating"] == -1 and feedback.json()["feedback"] == "太慢了"


def test_a_visitor_confirms_an_action_through_the_widget(visitor, make_bot, fake_llm, target, operations):
    bot = make_bot(actions={"operation_ids": [operations["createOrder"].pk]})
    fake_llm.script(
        ToolCallReply([CallOf("createOrder", {"body": {"item": "tea"}}, id="call_w")]), TextReply("Ordered your tea.")
    )
    client = visitor(bot)
    with sse.connect(client, "POST", "chat", json={"message": "Order tea"}) as stream:
        message_id = stream.response.headers["x-message-id"]
        for event in stream:
            if event.event == "tool.confirmation_required":
                asked = event.json()
                break
    assert asked["confirm_url"] == f"/widget/v1/messages/{message_id}/confirmations"
    assert asked["arguments"] == {"body": {"item": "tea"}}
    assert target.calls_to("/orders") == []
    decided = client.post(f"messages/{message_id}/confirmations", json={"tool_call_id": "call_w", "approve": True})
    assert decided.status_code == 200 and decided.json()["state"] in ("running", "completed", "pending")
    with sse.connect(client, "GET", f"messages/{message_id}/events") as stream:
        replay = list(stream)
    result = next(e.json() for e in replay if e.event == "tool.result")
    assert result["ok"] is True and "result" not in result  # the API's answer stays with the model
    assert replay[-1].json()["content"] == "Ordered your tea."
    assert len(target.calls_to("/orders")) == 1

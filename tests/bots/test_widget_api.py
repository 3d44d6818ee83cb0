"""The widget's pages and visitor API: who may load them, what they show, and what they refuse."""

from __future__ import annotations

import json
import re
import secrets

import pytest
from django.test import override_settings

from bots.models import BotWidget, Channel, Conversation, Message
from bots.widget import access
from bots.widget.api import trim_event
from bots.widget.services import widget_rotate_identity_secret, widget_update

SHOP = "https://shop.example"
OWN = "http://testserver"
SECRET_PROMPT = "Never reveal: the discount code is TIGER-42."


@pytest.fixture(autouse=True)
def accepted_only(monkeypatch):
    """These tests check what a chat request stores and refuses; following the turn's events needs
    a worker and a real HTTP server (test_widget_streaming does that)."""

    async def no_events(message_id, after="0-0"):
        yield b": accepted\n\n"

    monkeypatch.setattr("bots.widget.api._relay", no_events)


@pytest.fixture(autouse=True)
def many_sessions(settings):
    # Every test starts sessions from 127.0.0.1 within the same minute; one test checks the limit.
    settings.WIDGET_SESSIONS_PER_IP_PER_MINUTE = 10_000


@pytest.fixture
def widget_bot(make_bot):
    bot = make_bot(
        name="Support",
        system_prompt=SECRET_PROMPT,
        opening_message="Hi! Ask me about orders.",
        starter_questions=["Where is my order?"],
    )
    widget_update(bot=bot, allowed_origins=[SHOP])
    return bot


def public_id(bot) -> str:
    return BotWidget.objects.get(bot=bot).public_id


def frame_config(client, bot, host=SHOP, **query) -> dict:
    response = client.get(f"/widget/frame/{public_id(bot)}", {"host": host, **query})
    assert response.status_code == 200, response.content[:300]
    match = re.search(
        rb'<script id="switchboard-widget-config" type="application/json">(.*?)</script>', response.content
    )
    assert match
    return json.loads(match.group(1))


def start_session(client, bot, *, origin=OWN, **body) -> dict:
    ticket = frame_config(client, bot)["ticket"]
    response = client.post(
        "/widget/v1/sessions", {"ticket": ticket, **body}, content_type="application/json", HTTP_ORIGIN=origin
    )
    assert response.status_code == 201, response.json()
    return response.json()


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ORIGIN": OWN}


# -- the frame and the share page --------------------------------------------------------------------


def test_the_frame_may_only_be_shown_inside_the_allowed_site(client, widget_bot):
    response = client.get(f"/widget/frame/{public_id(widget_bot)}", {"host": SHOP})
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert f"frame-ancestors {SHOP}" in csp
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "X-Frame-Options" not in response  # CSP frame-ancestors decides, for this one origin
    assert response["Cache-Control"] == "no-store"


def test_the_frame_shows_the_public_face_and_nothing_else(client, widget_bot):
    rotated = widget_rotate_identity_secret(bot=widget_bot)
    response = client.get(f"/widget/frame/{public_id(widget_bot)}", {"host": SHOP})
    page = response.content.decode()
    config = frame_config(client, widget_bot)
    assert config["bot"]["name"] == "Support"
    assert config["bot"]["opening_message"] == "Hi! Ask me about orders."
    assert config["bot"]["starter_questions"] == ["Where is my order?"]
    assert config["host"] == SHOP and config["mode"] == "widget"
    for secret in (SECRET_PROMPT, "TIGER-42", rotated, widget_bot.pk, "allowed_origins", "provider_model_id"):
        assert secret not in page


def test_page_options_are_validated_and_fall_back_to_the_owners(client, widget_bot):
    config = frame_config(
        client,
        widget_bot,
        accent="red; background:url(//evil)",
        title="Shop help",
        starters='["One", "Two"]',
        avatar="javascript:alert(1)",
        lang="zh-CN",
    )
    assert config["options"]["accent"] == "#2563eb"
    assert config["options"]["title"] == "Shop help"
    assert config["options"]["starter_questions"] == ["One", "Two"]
    assert config["options"]["avatar"] == ""
    assert config["lang"] == "zh"


@pytest.mark.parametrize("host", ["https://evil.example", "", "http://shop.example"])
def test_a_site_not_allowed_gets_a_clear_page_and_no_ticket(client, widget_bot, host):
    response = client.get(f"/widget/frame/{public_id(widget_bot)}", {"host": host})
    assert response.status_code == 403
    assert b"not allowed to show this chat" in response.content
    assert b"ticket" not in response.content
    assert "frame-ancestors *" in response["Content-Security-Policy"]  # the reason shows where it was framed


def test_unknown_unpublished_and_switched_off_bots_look_the_same(client, widget_bot, make_bot):
    draft = make_bot(name="Draft", publish=False)
    widget_update(bot=draft, allowed_origins=[SHOP])
    widget_update(bot=widget_bot, enabled=False)
    bodies = set()
    for pid in ("pub_doesnotexist", public_id(draft), public_id(widget_bot)):
        response = client.get(f"/widget/frame/{pid}", {"host": SHOP, "lang": "zh"})
        assert response.status_code == 404
        bodies.add(response.content.decode().split("<main")[1])
    assert len(bodies) == 1 and "此聊天不可用" in bodies.pop()


def test_the_share_page_has_its_own_switch_and_cannot_be_framed(client, widget_bot):
    pid = public_id(widget_bot)
    assert client.get(f"/s/{pid}").status_code == 404
    widget_update(bot=widget_bot, share_enabled=True)
    response = client.get(f"/s/{pid}", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert b"Support" in response.content and b'lang="zh-CN"' in response.content


def test_widget_js_is_public_and_cacheable(client):
    response = client.get("/widget.js", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "max-age" in response["Cache-Control"]
    assert response["Access-Control-Allow-Origin"] == "*"


# -- sessions ----------------------------------------------------------------------------------------


def test_a_session_keeps_its_visitor_across_page_loads(client, widget_bot):
    first = start_session(client, widget_bot)
    again = start_session(client, widget_bot, visitor=first["visitor"])
    assert access.visitor_read(again["visitor"]) == access.visitor_read(first["visitor"])
    assert first["user"] == {"id": None, "name": "", "verified": False}
    forged = start_session(client, widget_bot, visitor="v_0123456789abcdef01234567")  # not signed: a new visitor
    assert access.visitor_read(forged["visitor"]) != access.visitor_read(first["visitor"])


def test_new_sessions_per_address_are_limited(client, widget_bot, settings):
    settings.WIDGET_SESSIONS_PER_IP_PER_MINUTE = 2
    ticket = frame_config(client, widget_bot)["ticket"]
    address = {"REMOTE_ADDR": f"2001:db8::{secrets.token_hex(2)}"}  # fresh counters on every run
    codes = [
        client.post("/widget/v1/sessions", {"ticket": ticket}, content_type="application/json", **address).status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]


def test_a_request_from_a_site_not_allowed_is_refused(client, widget_bot):
    ticket = frame_config(client, widget_bot)["ticket"]
    response = client.post(
        "/widget/v1/sessions",
        {"ticket": ticket},
        content_type="application/json",
        HTTP_ORIGIN="https://evil.example",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    token = start_session(client, widget_bot)["token"]
    response = client.get(
        "/widget/v1/conversations", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ORIGIN="https://evil.example"
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("ticket", "code"), [("forged", "ticket_invalid"), ("eyJ3IjoicHViX3gifQ:1abc:def", "ticket_invalid")]
)
def test_a_forged_ticket_is_refused(client, widget_bot, ticket, code):
    response = client.post("/widget/v1/sessions", {"ticket": ticket}, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code


def test_expired_tickets_and_sessions_say_so(client, widget_bot):
    session = start_session(client, widget_bot)
    with override_settings(WIDGET_SESSION_SECONDS=-1, WIDGET_TICKET_SECONDS=-1):
        response = client.get("/widget/v1/conversations", **bearer(session["token"]))
        assert response.status_code == 401 and response.json()["error"]["code"] == "session_expired"
        ticket = access.ticket_issue(public_id=public_id(widget_bot), mode="widget", host=SHOP)
        response = client.post("/widget/v1/sessions", {"ticket": ticket}, content_type="application/json")
        assert response.status_code == 401 and response.json()["error"]["code"] == "ticket_expired"


@pytest.mark.parametrize(
    ("header", "code"),
    [(None, "session_required"), ("Bearer nonsense", "session_invalid"), ("Basic abc", "session_required")],
)
def test_a_missing_or_forged_session_token_is_refused(client, widget_bot, header, code):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/widget/v1/conversations", **extra)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code


def test_a_workspace_api_key_is_not_a_session(client, widget_bot, api_key_secret):
    response = client.get("/widget/v1/conversations", HTTP_AUTHORIZATION=f"Bearer {api_key_secret}")
    assert response.status_code == 401


def test_removing_a_site_ends_its_live_sessions(client, widget_bot):
    token = start_session(client, widget_bot)["token"]
    assert client.get("/widget/v1/conversations", **bearer(token)).status_code == 200
    widget_update(bot=widget_bot, allowed_origins=["https://other.example"])
    response = client.get("/widget/v1/conversations", **bearer(token))
    assert response.status_code == 403 and response.json()["error"]["code"] == "origin_not_allowed"
    widget_update(bot=widget_bot, allowed_origins=[SHOP], enabled=False)
    response = client.get("/widget/v1/conversations", **bearer(token))
    assert response.status_code == 404 and response.json()["error"]["code"] == "bot_not_found"


# -- identity ----------------------------------------------------------------------------------------


def test_a_verified_user_is_named_and_a_bad_hash_is_refused(client, widget_bot):
    secret = widget_rotate_identity_secret(bot=widget_bot)
    good = access.identity_hash(secret, "user-42")
    session = start_session(client, widget_bot, user_id="user-42", user_hash=good, name="Ada")
    assert session["user"] == {"id": "user-42", "name": "Ada", "verified": True}
    ticket = frame_config(client, widget_bot)["ticket"]
    assert start_session(client, widget_bot, user_id="user-42", user_hash=good.upper())["user"]["verified"]
    altered = good[:-1] + ("1" if good[-1] != "1" else "2")
    for user_hash in ("0" * 64, altered, ""):
        response = client.post(
            "/widget/v1/sessions",
            {"ticket": ticket, "user_id": "user-42", "user_hash": user_hash},
            content_type="application/json",
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "identity_invalid"
    widget_rotate_identity_secret(bot=widget_bot)  # the old secret's hashes stop working
    response = client.post(
        "/widget/v1/sessions",
        {"ticket": ticket, "user_id": "user-42", "user_hash": good},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_without_a_secret_no_identity_is_accepted(client, widget_bot):
    ticket = frame_config(client, widget_bot)["ticket"]
    response = client.post(
        "/widget/v1/sessions",
        {"ticket": ticket, "user_id": "admin", "user_hash": access.identity_hash("guess", "admin")},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "identity secret" in response.json()["error"]["message"]


# -- chatting: limits and ownership ------------------------------------------------------------------


def _chat(client, token, text="hello", **body):
    # Not closed: closing a streamed response in the test client ends the test's database connection.
    return client.post("/widget/v1/chat", {"message": text, **body}, content_type="application/json", **bearer(token))


def test_a_visitor_message_is_stored_as_a_widget_conversation(client, widget_bot):
    token = start_session(client, widget_bot)["token"]
    response = _chat(client, token, "Where is my order?")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    conversation = Conversation.objects.get(pk=response["X-Conversation-Id"])
    assert conversation.channel == Channel.WIDGET
    assert conversation.version_number == widget_bot.published_version.number
    assert conversation.end_user.startswith("visitor:v_") and not conversation.end_user_verified
    listed = client.get("/widget/v1/conversations", **bearer(token)).json()["data"]
    assert [c["id"] for c in listed] == [conversation.pk]


def test_a_verified_users_conversation_is_logged_under_their_id(client, widget_bot, owner, api):
    secret = widget_rotate_identity_secret(bot=widget_bot)
    token = start_session(
        client, widget_bot, user_id="客户-7", user_hash=access.identity_hash(secret, "客户-7"), name="王芳"
    )["token"]
    conversation = Conversation.objects.get(pk=_chat(client, token)["X-Conversation-Id"])
    assert (conversation.end_user, conversation.end_user_verified, conversation.end_user_name) == (
        "客户-7",
        True,
        "王芳",
    )


def test_another_visitors_conversation_is_not_found(client, widget_bot):
    alice = start_session(client, widget_bot)["token"]
    bob = start_session(client, widget_bot)["token"]
    response = _chat(client, alice, "my address is 1 Main St")
    conversation_id, message_id = response["X-Conversation-Id"], response["X-Message-Id"]
    before = Message.objects.count()
    for method, url, body in [
        ("get", f"/widget/v1/conversations/{conversation_id}/messages", None),
        ("get", f"/widget/v1/messages/{message_id}/events", None),
        ("post", f"/widget/v1/messages/{message_id}/feedback", {"rating": -1}),
        ("post", f"/widget/v1/messages/{message_id}/stop", {}),
        ("get", f"/widget/v1/messages/{message_id}/citations/1", None),
    ]:
        call = getattr(client, method)
        kwargs = {"content_type": "application/json"} if body is not None else {}
        response = call(url, body, **kwargs, **bearer(bob)) if body is not None else call(url, **bearer(bob))
        assert response.status_code == 404, url
    response = _chat(client, bob, "hi", conversation_id=conversation_id)
    assert response.status_code == 404 and response.json()["error"]["code"] == "conversation_not_found"
    assert Message.objects.count() == before
    assert client.get("/widget/v1/conversations", **bearer(bob)).json()["data"] == []


def test_a_visitor_cannot_reach_the_workspace_api_or_other_bots(client, widget_bot, make_bot):
    token = start_session(client, widget_bot)["token"]
    other = make_bot(name="Internal")
    response = client.get(f"/api/v1/bots/{other.pk}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    # A message of another bot (the API's, not the widget's) is not found through the widget.
    from bots.turns import turn_accept

    accepted = turn_accept(workspace=other.workspace, bot=other, text="x", end_user="api")
    response = client.get(f"/widget/v1/messages/{accepted.assistant_message.pk}/events", **bearer(token))
    assert response.status_code == 404


def test_the_visitor_limit_answers_429_with_the_wait_and_stores_nothing(client, widget_bot):
    widget_update(bot=widget_bot, visitor_messages_per_minute=2)
    token = start_session(client, widget_bot)["token"]
    assert _chat(client, token).status_code == 200
    assert _chat(client, token).status_code == 200
    before = Message.objects.count()
    response = _chat(client, token)
    assert response.status_code == 429
    body = response.json()["error"]
    assert body["code"] == "rate_limited" and "too fast" in body["message"]
    assert 1 <= int(response["Retry-After"]) <= 61
    assert Message.objects.count() == before
    # Another visitor is not held back by the first one's limit.
    assert _chat(client, start_session(client, widget_bot)["token"]).status_code == 200


def test_the_daily_cap_and_the_ip_limit(client, widget_bot):
    from bots.models import WidgetDefaults

    WidgetDefaults.objects.create(workspace=widget_bot.workspace, daily_message_cap=3, ip_messages_per_minute=100)
    sessions = [start_session(client, widget_bot)["token"] for _ in range(4)]
    assert [_chat(client, token).status_code for token in sessions[:3]] == [200, 200, 200]
    response = _chat(client, sessions[3])
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "daily_cap_reached"
    assert int(response["Retry-After"]) > 0
    widget_update(bot=widget_bot, daily_message_cap=100, ip_messages_per_minute=5)
    assert _chat(client, sessions[3]).status_code == 200  # the bot's own value wins over the default
    response = _chat(client, sessions[2])  # the sixth message from this address this minute
    assert response.status_code == 429 and "your network" in response.json()["error"]["message"]


def test_bad_chat_input_is_a_clear_400(client, widget_bot):
    token = start_session(client, widget_bot)["token"]
    response = client.post("/widget/v1/chat", "{not json", content_type="application/json", **bearer(token))
    assert response.status_code == 400
    response = _chat(client, token, "   ")
    assert response.status_code == 400
    response = client.post(
        "/widget/v1/chat", {"message": "x", "inputs": "nope"}, content_type="application/json", **bearer(token)
    )
    assert response.status_code == 400


# -- what visitors see of events -----------------------------------------------------------------------


def test_events_are_trimmed_to_what_the_window_shows():
    result = trim_event(
        "msg_1",
        "tool.result",
        {"tool_call_id": "c1", "name": "lookup", "ok": True, "result": '{"internal": "row 7"}', "duration_ms": 3.2},
    )
    assert result == {"tool_call_id": "c1", "name": "lookup", "ok": True, "error": None}
    end = trim_event(
        "msg_1",
        "message.end",
        {
            "state": "failed",
            "content": "",
            "conversation_id": "conv_1",
            "usage": {"total_tokens": 5},
            "cost": "0.1",
            "latency": {},
            "citations": [{"document_name": "faq.md", "page": 2, "snippet": "…", "document_id": "doc_x", "score": 0.5}],
            "error": {"code": "provider_error", "message": "401 from https://10.0.0.5/v1: key sk-…abcd"},
        },
    )
    assert set(end) == {"state", "content", "conversation_id", "citations", "error"}
    assert end["citations"] == [{"n": 1, "document_name": "faq.md", "page": 2, "snippet": "…"}]
    assert end["error"]["code"] == "provider_error" and "10.0.0.5" not in end["error"]["message"]
    confirm = trim_event("msg_1", "tool.confirmation_required", {"tool_call_id": "c", "name": "n", "arguments": {}})
    assert confirm["confirm_url"] == "/widget/v1/messages/msg_1/confirmations"
    assert trim_event("msg_1", "message.start", {"conversation_id": "c", "model": "gpt-secret"}) == {
        "conversation_id": "c",
        "user_message_id": None,
    }


def test_messages_refused_per_minute_do_not_use_up_the_day(client, widget_bot):
    widget_update(bot=widget_bot, visitor_messages_per_minute=1, daily_message_cap=2)
    flooding = start_session(client, widget_bot)["token"]
    assert [_chat(client, flooding).status_code for _ in range(4)] == [200, 429, 429, 429]
    assert _chat(client, start_session(client, widget_bot)["token"]).status_code == 200
    response = _chat(client, start_session(client, widget_bot)["token"])
    assert response.status_code == 429 and response.json()["error"]["code"] == "daily_cap_reached"

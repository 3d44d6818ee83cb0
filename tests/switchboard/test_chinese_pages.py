"""The admin UI in Chinese beyond the page frame: every app's list, detail and form pages, the
members and audit pages, refusals; and the language a signed-in person keeps on their account."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from accounts.models import Language, Role, User
from accounts.services import user_language_set
from switchboard.errors import InvalidInput
from tests.factories import MembershipFactory, console_in_use

pytestmark = pytest.mark.django_db

ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
CHINESE_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}


@pytest.fixture
def things(workspace, chat_model, make_bot) -> dict[str, str]:
    return console_in_use(workspace, chat_model=chat_model, bot=make_bot())


@pytest.fixture
def chinese_owner(signed_in, owner) -> Client:
    user_language_set(user=owner, language=Language.CHINESE)
    return signed_in


# (path, Chinese that must show, English that must not)
PAGES = [
    ("/knowledge/", ["新建知识库", "知识库保存机器人用来回答问题的文档", "就绪"], ["Knowledge bases hold", "Ready<"]),
    (
        "/knowledge/{base}/",
        ["添加文档", "命中测试", "使用其他嵌入器重新索引", "上传", "导入 URL", "文件", "已索引"],
        ["Add documents", "Hit testing", "Re-index with another embedder", "Import URL", "No documents yet"],
    ),
    ("/knowledge/new/", ["嵌入模型", "内置神经嵌入器", "分块大小（令牌）", "关键词权重"], ["Chunk size (tokens)"]),
    (
        "/knowledge/{base}/edit/",
        ["编辑 Handbook", "融合常数 k", "重排序供应商", "仅对今后索引的文档生效"],
        ["Fusion constant k", "Rerank provider", "Applies to documents indexed"],
    ),
    ("/knowledge/documents/{document}/", ["类型、大小", "分块", "令牌", "停用"], ["Type, size", ">Disable<"]),
    (
        "/knowledge/{base}/test/?query=refunds&top_k=3",
        ["命中测试", "分数阈值", "达到阈值"],
        ["Score threshold", "hits pass"],
    ),
    ("/actions/", ["导入 API", "已启用 1 / 1"], ["Actions let bots", "1 of 1 enabled"]),
    (
        "/actions/{action}/",
        ["保存认证设置", "请求头 / 参数名", "全部启用", "从规范更新", "认证"],
        ["Save authentication", "Header / parameter name", "Enable all", "Update from spec"],
    ),
    ("/actions/import/", ["规范 URL", "…或粘贴规范", "预览报告"], ["Spec URL", "Preview report"]),
    ("/actions/{action}/report/", ["导入报告", "已导入 1 个"], ["Import report", "1 imported"]),
    (
        "/actions/{action}/operations/{operation}/test/",
        ["参数", "发送", "请求会真实发送"],
        ["The request is really sent"],
    ),
    ("/providers/", ["添加供应商", "机器人从这里获取对话模型"], ["Where bots get"]),
    (
        "/providers/{provider}/",
        ["测试连接", "添加模型", "上下文窗口", "显示名称"],
        ["Test connection", "Add a model", "Context window", "Display name"],
    ),
    ("/providers/new/", ["超时（秒）", "基础 URL", "OpenAI 兼容"], ["Timeout (seconds)", "How long to wait"]),
    (
        "/bots/{bot}/edit/",
        ["温度", "最大输出令牌数", "开场白", "— 选择对话模型 —"],
        ["Max output tokens", "Temperature"],
    ),
    ("/bots/{bot}/", ["草稿与已发布的版本相同。", "开场"], ["The draft is the same", "starter question"]),
    ("/bots/{bot}/embed/", ["加载时打开", "此页面的选项", "创建密钥"], ["Open on load", "Options for this page"]),
    (
        "/settings/members/",
        ["邀请成员", "待接受的邀请", "各角色的权限", "查看者", "所有者"],
        ["Invite someone", "Pending invitations", "What each role may do"],
    ),
    ("/settings/audit-log/", ["审计日志", "时间（UTC）", "操作人", "任意更改"], ["When (UTC)", "Any change"]),
    ("/settings/api-keys/", ["仅对话（已发布的机器人）", "创建密钥"], ["Chat only (published bots)"]),
    ("/settings/egress-allowlist/", ["我确实要开放整个地址段", "允许的原因"], ["I mean to open whole address ranges"]),
    ("/settings/language/", ["你的语言", "浏览器默认"], ["Your language"]),
]


@pytest.mark.parametrize(("path", "chinese", "english"), PAGES, ids=[path for path, _, _ in PAGES])
def test_the_pages_speak_the_persons_chinese_even_to_an_english_browser(chinese_owner, things, path, chinese, english):
    response = chinese_owner.get(path.format(**things), **ENGLISH_BROWSER)
    assert response.status_code == 200, path
    page = response.content.decode()
    assert '<html lang="zh-CN">' in page
    for text in chinese:
        assert text in page, (path, text)
    for text in english:
        assert text not in page, (path, text)


def test_a_form_error_and_a_success_message_in_chinese(chinese_owner, things):
    refused = chinese_owner.post("/providers/new/", {"name": "", "kind": "openai", "timeout_seconds": "0"})
    page = refused.content.decode()
    assert refused.status_code == 200 and "该字段是必填项。" in page and "This field is required" not in page
    saved = chinese_owner.post(f"/knowledge/{things['base']}/edit/", {"name": "手册", "embedding_model": "", **_BASE})
    assert saved.status_code == 302
    assert "已保存 手册。" in chinese_owner.get(saved["Location"]).content.decode()


def test_why_a_document_failed_is_told_in_the_persons_language_with_the_stored_details(chinese_owner, owner, things):
    from knowledge.models import Document

    detail = "The PDF is damaged: none of its pages could be read."
    Document.objects.filter(pk=things["document"]).update(
        status="failed", error_code="corrupt_file", error_message=detail
    )
    Document.objects.create(
        workspace_id=owner.memberships.get().workspace_id,
        knowledge_base_id=things["base"],
        name="lost.pdf",
        source_type="url",
        source_url="https://example.com/lost.pdf",
        status="failed",
        error_code="url_connect_timeout",
        error_message="The URL could not be fetched: connecting took longer than 10 s.",
    )
    listing = chinese_owner.get(f"/knowledge/{things['base']}/").content.decode()
    # The code's explanation in Chinese, what to do included; the worker's English words beside it.
    assert "文件已损坏，或与其文件名所示的类型不符。" in listing and detail in listing
    assert "无法获取该 URL，请在浏览器中确认它可以打开，然后重新索引。" in listing  # any other URL failure
    page = chinese_owner.get(f"/knowledge/documents/{things['document']}/").content.decode()
    assert "文件已损坏" in page and detail in page

    user_language_set(user=owner, language=Language.ENGLISH)
    english = chinese_owner.get(f"/knowledge/{things['base']}/").content.decode()
    assert detail in english and "文件已损坏" not in english
    assert english.count(detail) == 1  # said once, not twice


_BASE = {"chunk_size": "256", "chunk_overlap": "32", "vector_weight": "1", "text_weight": "1", "fusion_k": "60"}


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/knowledge/new/", "只有编辑者、管理员和所有者可以更改知识库。"),
        ("/actions/import/", "只有编辑者、管理员和所有者可以更改动作。"),
        ("/providers/new/", "只有工作空间的管理员和所有者可以更改模型供应商。"),
        ("/settings/egress-allowlist/", "只有工作空间的管理员和所有者可以更改网络白名单。"),
        ("/settings/members/invite/", "只有工作空间的管理员和所有者可以管理成员。"),
        ("/bots/new/", "只有工作空间的编辑者、管理员和所有者可以更改机器人。"),
    ],
)
def test_a_refused_post_answers_403_with_the_reason_in_the_persons_language(workspace, path, reason):
    viewer = MembershipFactory(workspace=workspace, role=Role.VIEWER).user
    user_language_set(user=viewer, language=Language.CHINESE)
    client = Client()
    client.force_login(viewer)
    response = client.post(path, {"name": "Sneaky", "value": "10.0.0.0/8", "email": "x@example.com"})
    page = response.content.decode()
    assert response.status_code == 403, path
    assert "<h1>无权操作</h1>" in page and reason in page and "没有做任何更改。" in page


# -- the stored setting ----------------------------------------------------------------------------


def test_the_stored_setting_beats_the_browser_both_ways(signed_in, owner):
    user_language_set(user=owner, language=Language.CHINESE)
    assert "<h1>日志</h1>" in signed_in.get("/logs/", **ENGLISH_BROWSER).content.decode()
    user_language_set(user=owner, language=Language.ENGLISH)
    english = signed_in.get("/logs/", **CHINESE_BROWSER).content.decode()
    assert '<html lang="en">' in english and "<h1>Logs</h1>" in english
    user_language_set(user=owner, language=Language.BROWSER)
    assert "<h1>日志</h1>" in signed_in.get("/logs/", **CHINESE_BROWSER).content.decode()


def test_a_visitor_follows_the_browser_and_the_language_menu(client):
    assert "登录 Switchboard" in client.get("/login/", **CHINESE_BROWSER).content.decode()
    page = client.get("/login/", **ENGLISH_BROWSER).content.decode()
    assert "Sign in to Switchboard" in page and 'action="/i18n/setlang/"' in page
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    assert "登录 Switchboard" in client.get("/login/", **ENGLISH_BROWSER).content.decode()


def test_the_header_menu_saves_the_language_on_the_account(signed_in, owner):
    page = signed_in.get("/logs/", **ENGLISH_BROWSER).content.decode()
    assert 'action="/settings/language/"' in page and '<option value="" selected>Browser default</option>' in page
    response = signed_in.post("/settings/language/", {"language": "zh-hans", "next": "/logs/"})
    assert response.status_code == 302 and response["Location"] == "/logs/"
    assert User.objects.get(pk=owner.pk).language == "zh-hans"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    page = signed_in.get("/logs/", **ENGLISH_BROWSER).content.decode()
    assert "<h1>日志</h1>" in page and "语言已保存。" in page
    assert '<option value="zh-hans" selected>简体中文</option>' in page
    # Back to the browser's language: the setting is emptied and the menu's cookie goes with it.
    response = signed_in.post("/settings/language/", {"language": "", "next": "https://elsewhere.example/"})
    assert response.status_code == 302 and response["Location"] == "/settings/language/"  # no open redirect
    assert User.objects.get(pk=owner.pk).language == ""
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""
    assert "<h1>Logs</h1>" in signed_in.get("/logs/", **ENGLISH_BROWSER).content.decode()


def test_a_language_not_offered_is_a_form_error_and_nothing_is_saved(signed_in, owner):
    user_language_set(user=owner, language=Language.ENGLISH)
    response = signed_in.post("/settings/language/", {"language": "fr", "next": "/logs/"}, **ENGLISH_BROWSER)
    page = response.content.decode()
    assert response.status_code == 200 and "Select a valid choice. fr is not one of the available choices." in page
    assert User.objects.get(pk=owner.pk).language == "en"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    with pytest.raises(InvalidInput) as refused:
        user_language_set(user=owner, language="klingon")
    assert refused.value.param == "language" and "English, 简体中文" in refused.value.message
    assert User.objects.get(pk=owner.pk).language == "en"


def test_the_offered_languages_are_the_uis():
    assert [code for code in Language.values if code] == [code for code, _ in settings.LANGUAGES]


def test_the_api_speaks_english_whatever_the_browser_or_the_setting(api, owner):
    user_language_set(user=owner, language=Language.CHINESE)
    response = api.post("/api/v1/knowledge-bases/", {}, format="json", **CHINESE_BROWSER)
    assert response.status_code == 400
    body = json.dumps(response.json(), ensure_ascii=False)
    assert "This field is required." in body and "必填" not in body


# -- the preview chat's script, the upload and the allowlist ----------------------------------------

STATIC = Path(__file__).resolve().parents[2] / "templates" / "static"
PREVIEW_JS = STATIC / "bots" / "preview.js"
CORE_JS = STATIC / "chat" / "core.js"


def _preview_text(page: str) -> dict[str, str]:
    match = re.search(r'<script id="preview-text" type="application/json">(.*?)</script>', page, re.S)
    assert match, "the preview page embeds no string table"
    return json.loads(match.group(1))


def test_the_preview_page_embeds_the_scripts_words_in_the_persons_language(signed_in, owner, things):
    user_language_set(user=owner, language=Language.CHINESE)
    chinese = _preview_text(signed_in.get(f"/bots/{things['bot']}/preview/", **ENGLISH_BROWSER).content.decode())
    assert chinese["Thinking…"] == "正在思考…"
    assert chinese["Approve"] == "批准" and chinese["Deny"] == "拒绝"
    assert chinese["Waiting for your decision…"] == "正在等待你的决定…"
    assert chinese["Sources (%(count)s)"] == "来源（%(count)s）"
    assert chinese["Source %(n)s: %(name)s"] == "来源 %(n)s：%(name)s"
    assert chinese["Required."] == "必填。"
    assert chinese["Connection lost; reconnecting…"] == "连接中断，正在重新连接…"
    # The panel beside the editor carries it too.
    panel = signed_in.get(f"/bots/{things['bot']}/preview/?panel=1", **ENGLISH_BROWSER).content.decode()
    assert _preview_text(panel)["Good answer"] == "回答不错"

    user_language_set(user=owner, language=Language.ENGLISH)
    english = _preview_text(signed_in.get(f"/bots/{things['bot']}/preview/", **CHINESE_BROWSER).content.decode())
    assert english == {text: text for text in chinese}


def test_every_text_the_preview_script_shows_is_in_its_table():
    from bots.preview_text import PREVIEW_TEXT

    script = PREVIEW_JS.read_text()
    used = set(re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', script))
    assert len(used) > 30 and used <= set(PREVIEW_TEXT), sorted(used - set(PREVIEW_TEXT))
    # A key is its own English text, and the messages core.js raises are spelled as core.js spells them.
    with translation.override("en"):
        assert all(str(text) == key for key, text in PREVIEW_TEXT.items())
    core = CORE_JS.read_text()
    assert '"The connection was lost before the server named the message."' in core
    assert '"Lost the connection to the server and could not reconnect."' in core
    assert '"The server answered " + response.status + "."' in core


def test_the_upload_help_and_refusal_and_allowlist_errors_in_chinese(chinese_owner, things):
    from knowledge.parsing import formats

    page = chinese_owner.get(f"/knowledge/{things['base']}/", **ENGLISH_BROWSER).content.decode()
    assert ".txt、.md、.pdf、.docx、.html、.csv 和 .xlsx" in page and formats.SUPPORTED_DESCRIPTION not in page
    with translation.override("en"):
        assert str(formats.SUPPORTED_DESCRIPTION_SHOWN) == formats.SUPPORTED_DESCRIPTION
    with translation.override("zh-hans"):
        assert formats.unsupported_reason("setup.exe").startswith("不支持“.exe”文件。支持的格式：.txt、")
        assert formats.unsupported_reason("old.doc").startswith("不支持 Word 97-2003 (.doc) 文件")
    refused = chinese_owner.post("/settings/egress-allowlist/", {"value": "not a host!"}, **ENGLISH_BROWSER)
    page = refused.content.decode()
    assert "请使用主机名（可带 :端口）、IP 地址或 CIDR 网段" in page and "Use a host name" not in page

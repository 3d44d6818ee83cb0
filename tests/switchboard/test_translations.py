"""The admin UI in English and Simplified Chinese: the catalogue, its compilation, the choice."""

from __future__ import annotations

import re
import shutil

import polib
import pytest

from switchboard.translations import LOCALE_DIR, compile_catalogues

CATALOGUE = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
BRACED = re.compile(r"\{\w+\}")  # format_lazy's fields


def test_every_string_is_translated_with_the_same_placeholders():
    entries = [entry for entry in polib.pofile(str(CATALOGUE)) if not entry.obsolete]
    assert entries
    for entry in entries:
        # Chinese has one plural form: a plural entry's one msgstr serves both English forms.
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        assert translations and all(translations), f"not translated: {entry.msgid!r}"
        assert "fuzzy" not in entry.flags, f"marked fuzzy: {entry.msgid!r}"
        for msgid in filter(None, [entry.msgid, entry.msgid_plural]):
            for msgstr in translations:
                assert sorted(set(PLACEHOLDER.findall(msgid))) == sorted(set(PLACEHOLDER.findall(msgstr))), msgid
                assert sorted(BRACED.findall(msgid)) == sorted(BRACED.findall(msgstr)), msgid
                assert msgid.count("<a ") == msgstr.count("<a "), msgid


def test_catalogues_compile_when_stale_and_only_then(tmp_path):
    target = tmp_path / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(CATALOGUE, target / "django.po")
    assert compile_catalogues(tmp_path) == [target / "django.mo"]
    assert compile_catalogues(tmp_path) == []  # up to date
    compiled = polib.mofile(str(target / "django.mo"))
    assert compiled.find("Bots").msgstr == "机器人"


@pytest.mark.django_db
def test_the_browsers_language_picks_the_ui_language(signed_in):
    page = signed_in.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5").content.decode()
    assert '<html lang="zh-CN">' in page and ">机器人</a>" in page and "开始使用" in page
    english = signed_in.get("/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert '<html lang="en">' in english and ">Bots</a>" in english


@pytest.mark.django_db
def test_the_language_menu_overrides_the_browser(signed_in):
    response = signed_in.post("/i18n/setlang/", {"language": "zh-hans", "next": "/logs/"})
    assert response.status_code == 302 and response["Location"] == "/logs/"
    page = signed_in.get("/logs/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "<h1>日志</h1>" in page and "筛选" in page


@pytest.mark.django_db
def test_the_bot_pages_in_chinese(signed_in, workspace):
    from bots.services import bot_create

    bot = bot_create(workspace=workspace, name="客服助手")
    chinese = {"HTTP_ACCEPT_LANGUAGE": "zh-CN"}
    assert "新建机器人" in signed_in.get("/bots/", **chinese).content.decode()
    page = signed_in.get(f"/bots/{bot.pk}/", **chinese).content.decode()
    assert "发布草稿" in page and "客服助手" in page and "嵌入与分享" in page
    assert "添加到你的网站" in signed_in.get(f"/bots/{bot.pk}/embed/", **chinese).content.decode()


@pytest.mark.django_db
def test_the_list_pages_in_chinese(signed_in):
    chinese = {"HTTP_ACCEPT_LANGUAGE": "zh-CN"}
    for path, text in [
        ("/knowledge/", "新建知识库"),
        ("/actions/", "导入 API"),
        ("/providers/", "添加供应商"),
        ("/settings/egress-allowlist/", "允许主机或网段"),
    ]:
        assert text in signed_in.get(path, **chinese).content.decode(), path

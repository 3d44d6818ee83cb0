"""The keyword channel's dictionary translation of a query (knowledge.crosslingual): Chinese words
to English glosses and back, mixed scripts, bounds, the installed CC-CEDICT data, and what the
translated query does in retrieval (bad queries included)."""

from __future__ import annotations

import pytest

from knowledge import crosslingual, retrieval
from knowledge.crosslingual import MAX_ALTERNATIVES, MAX_GROUPS, Dictionary, clean_gloss, segment, translate
from knowledge.retrieval import search
from knowledge.search_text import TermGroup, TermStats, any_of_query, group_frequency, weigh_terms
from switchboard.errors import InvalidInput
from tests.knowledge.test_neural_retrieval import BILLING_EN, HELP_ZH

# A few lines in CC-CEDICT's own format (traditional, simplified, pinyin, senses).
LINES = """# CC-CEDICT
# comment lines are skipped
退款 退款 [tui4 kuan3] /to refund/refund/
訂閱 订阅 [ding4 yue4] /subscription/to subscribe to/
取消 取消 [qu3 xiao1] /to cancel/cancellation/
註銷 注销 [zhu4 xiao1] /to cancel/to write off/
作廢 作废 [zuo4 fei4] /to become invalid/to cancel/to delete/to nullify/
信用卡 信用卡 [xin4 yong4 ka3] /credit card/
信用 信用 [xin4 yong4] /to trust/credit (commerce)/trustworthiness/
卡 卡 [ka3] /to block/to be stuck/card/CL:張|张[zhang1]/
備份 备份 [bei4 fen4] /backup/to back up/
怎麼 怎么 [zen3 me5] /how?/what?/why?/
密 密 [mi4] /secret/confidential/close/thick/dense/
鑰 钥 [yao4] /key/also pr. [yue4]/
""".splitlines()


@pytest.fixture
def words() -> Dictionary:
    return Dictionary.from_lines(LINES, common={"取消": 0, "订阅": 1})


def _groups(query: str, words: Dictionary) -> dict[str, tuple[str, ...]]:
    return {group.source: group.alternatives for group in translate(query, words).groups}


def test_a_chinese_query_gets_the_english_senses_of_its_words_and_keeps_the_words(words):
    groups = _groups("怎么取消订阅？", words)
    # 怎么 ("how") is a function word: not translated. Each word keeps itself as first alternative.
    assert groups == {
        "取消": ("取消", "cancel", "cancellation"),
        "订阅": ("订阅", "subscription", "subscribe to"),
    }


def test_an_english_query_gets_chinese_words_common_ones_and_main_senses_first(words):
    groups = _groups("How do I cancel my subscriptions?", words)
    # 取消 is an entry-level word; 注销 and 作废 are not in the common list, and "cancel" is the
    # first sense of 注销 but the second of 作废. "subscriptions" is found through its singular.
    assert groups == {"cancel": ("cancel", "取消", "注销", "作废"), "subscriptions": ("subscriptions", "订阅")}


def test_english_phrases_are_looked_up_before_their_words(words):
    groups = _groups("Which credit card do you take?", words)
    assert groups["credit card"] == ("credit card", "信用卡")
    assert "credit" not in groups and "card" not in groups


def test_a_word_whose_sense_is_a_kind_of_thing_stands_for_that_thing_after_the_thing_itself():
    words = Dictionary.from_lines(
        [
            "賬戶 账户 [zhang4 hu4] /bank account/online account/",
            "賬號 账号 [zhang4 hao4] /account/username/",
            "郵件地址 邮件地址 [you2 jian4 di4 zhi3] /email address/",
        ]
    )
    # "bank account" is a kind of account: 账户 answers "account", once, after 账号 whose sense
    # is "account" itself; the two-word phrase keeps its own word.
    assert _groups("my account", words) == {"account": ("account", "账号", "账户")}
    assert _groups("email address", words) == {"email address": ("email address", "邮件地址")}
    assert "address" in words.reverse() and "email" not in words.reverse()


def test_mixed_scripts_translate_each_part_and_carry_untranslatable_words_over(words):
    translation = translate("API 密钥泄露了，怎么取消 backup？", words)
    groups = {group.source: group for group in translation.groups}
    assert groups["API"].alternatives == ("API",) and not groups["API"].translated
    assert groups["取消"].alternatives[1:] == ("cancel", "cancellation") and groups["取消"].translated
    assert groups["backup"].alternatives == ("backup", "备份") and groups["backup"].translated
    # Single characters the segmenter falls back to (密, 钥) are not translated, and not carried over
    # either: the index holds Chinese as bigrams, so a lone character matches nothing.
    assert "密" not in groups and "钥" not in groups and "泄露" not in groups


def test_nothing_to_translate_gives_no_translated_query(words):
    for query in ("Okta SCIM 2FA", "12345", "🙂🙂", "?!…", "the of and", "怎么"):
        translation = translate(query, words)
        assert translation == crosslingual.EMPTY and not translation.has_translation, query
    # Without the dictionary (the package not installed) nothing is translated either.
    assert translate("取消订阅", Dictionary({})) == crosslingual.EMPTY


def test_the_added_terms_are_bounded_whatever_the_query():
    senses = "/".join(f"sense{i}" for i in range(20))
    many = [f"詞{i} 词{chr(0x4E00 + i)} [ci2] /{senses}/" for i in range(60)]
    many += [f"字{i} 字{chr(0x4E00 + i)}{chr(0x4E00 + i)} [zi4] /sense0/" for i in range(60)]
    words = Dictionary.from_lines(many)
    query = "".join(f"词{chr(0x4E00 + i)}" for i in range(60)) + " " + "sense0 " * 50
    translation = translate(query, words)
    assert 0 < len(translation.groups) <= MAX_GROUPS
    assert all(len(group.alternatives) <= MAX_ALTERNATIVES + 1 for group in translation.groups)
    # A 20,000-character query (refused by retrieval before this, but bounded here too).
    long = translate("取消订阅" * 5000, Dictionary.from_lines(LINES))
    assert len(long.groups) <= MAX_GROUPS


def test_segmenting_takes_the_longest_dictionary_word_at_each_position(words):
    assert segment("信用卡退款", words) == ["信用卡", "退款"]
    assert segment("密钥取消", words) == ["密", "钥", "取消"]
    assert segment("未知", words) == ["未", "知"]


@pytest.mark.parametrize(
    "gloss,clean",
    [
        ("to cancel", "cancel"),
        ("credit (commerce)", "credit"),
        ("to try sth out", "try out"),
        ("CL:張|张[zhang1]", ""),
        ("also pr. [yue4]", ""),
        ("variant of 鑰|钥[yao4]", ""),
        ("how?", ""),
        ("a very long description of some obscure historical office", ""),
    ],
)
def test_dictionary_senses_are_cleaned_to_short_phrases(gloss, clean):
    assert clean_gloss(gloss) == clean


def test_groups_match_any_alternative_and_weigh_as_one_word():
    group = TermGroup("g0", (("cancel",), ("取消",), ("credit", "card")))
    assert any_of_query(group.alternatives) == "('cancel') | ('取消') | ('credit' & 'card')"
    stats = TermStats(
        frequencies={"cancel": 0.1, "取消": 0.2, "credit": 0.3, "card": 0.05}, unknown_frequency=0.01, rows=100
    )
    # Alternatives add up; one of several words is as frequent as its rarest word.
    assert group_frequency(group, stats) == pytest.approx(0.1 + 0.2 + 0.05)
    # A group of Chinese words is a word, not bigrams: it is not halved.
    halved, whole = (
        weigh_terms(["取消"], stats, candidate_rows=100, halve_bigrams=flag)[0].weight for flag in (True, False)
    )
    assert whole == pytest.approx(2 * halved)


def test_the_installed_dictionary_is_found_and_translates_both_ways():
    assert crosslingual.data_path() is not None
    words = crosslingual.dictionary()
    assert words is not None and len(words.entries) > 80_000
    assert "refund" in words.english("退款")
    assert "退款" in words.chinese("refund")
    assert "备份" in _groups("How long are backups kept?", words)["backups"]
    assert "credit card" in _groups("信用卡扣款失败会怎样？", words)["信用卡"]


# -- in retrieval ---------------------------------------------------------------------------------------


def _search(base, query: str):
    return search(workspace_id=base.workspace_id, knowledge_base_ids=[base.pk], query=query)


@pytest.mark.django_db
def test_the_text_channel_finds_a_passage_in_the_other_language_through_the_translation(
    workspace, make_base, ingest_now
):
    base = make_base(workspace)
    ingest_now(base, "billing.md", BILLING_EN)
    ingest_now(base, "help.md", HELP_ZH)
    result = _search(base, "年付订阅可以退款吗？")
    text = next(channel for channel in result.channels if channel.name == "text")
    assert text.strategy == "full-text + translated"
    assert any(line.startswith("退款 → ") and "refund" in line for line in result.translations)
    best = result.hits[0]
    assert best.heading_path == ("Billing", "Refunds") and best.text_rank == 1
    # Counted at TRANSLATED_WEIGHT: a translation never counts as much as the question's own words.
    assert 0 < best.text_score <= retrieval.TRANSLATED_WEIGHT
    # An English question about the Chinese passage, the other way round.
    result = _search(base, "How long are backups kept?")
    assert result.hits[0].heading_path == ("帮助中心", "数据备份") and result.hits[0].text_rank == 1


@pytest.mark.django_db
def test_no_translated_query_when_nothing_translates_or_no_translation_occurs_in_the_bases(
    workspace, make_base, ingest_now
):
    base = make_base(workspace)
    ingest_now(base, "help.md", HELP_ZH)
    for query in ("Okta SCIM", "What is the refund policy?"):
        # Nothing the dictionary knows; or "refund" → 退款, which no passage of this base contains.
        result = _search(base, query)
        assert result.translations == [], query
        assert [channel.strategy for channel in result.channels if channel.name == "text"] == ["full-text"]


@pytest.mark.django_db
def test_bad_queries_stay_handled_with_the_translation(workspace, make_base, ingest_now):
    base = make_base(workspace)
    ingest_now(base, "billing.md", BILLING_EN)
    ingest_now(base, "help.md", HELP_ZH)
    with pytest.raises(InvalidInput) as error:
        _search(base, "退款" * 10_000)  # 20,000 characters: refused before anything is translated
    assert error.value.code == "query_too_long"
    for query in ("🙂🙂🙂", "？！。……", "?!… ——"):
        result = _search(base, query)
        assert result.hits == [] and result.reason == retrieval.NO_SEARCHABLE_TEXT and result.translations == []
    # A question at the length limit in both scripts: searched, with a bounded translated query.
    sentence = "年付订阅可以退款吗？备份保留多久？How do I cancel a subscription? "
    long = (sentence * 200)[: retrieval.MAX_QUERY_CHARS]
    result = _search(base, long)
    assert result.hits and 0 < len(result.translations) <= MAX_GROUPS


@pytest.mark.django_db
def test_the_hit_testing_page_shows_what_the_question_was_translated_to(signed_in, workspace, make_base, ingest_now):
    base = make_base(workspace)
    ingest_now(base, "billing.md", BILLING_EN)
    ingest_now(base, "help.md", HELP_ZH)

    html = signed_in.get(f"/knowledge/{base.pk}/test/", {"query": "年付订阅可以退款吗？", "top_k": 3}).content.decode()
    assert "also searched, translated:" in html
    assert "<code>退款 → " in html and "refund" in html.split("also searched, translated:")[1].split("</p>")[0]

    english = signed_in.get(f"/knowledge/{base.pk}/test/", {"query": "zebra migration", "top_k": 3}).content.decode()
    assert "also searched, translated:" not in english

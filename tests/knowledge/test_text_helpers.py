"""Pure helpers: the token estimator, CJK bigrams and tsquery literals, term weighting, fusion."""

from __future__ import annotations

import pytest

from knowledge.fusion import Ranked, reciprocal_rank_fusion
from knowledge.search_text import TermStats, expand_cjk, idf, or_query, tsquery_literal, weigh_terms
from switchboard.text import count_tokens, token_spans, truncate

# -- tokens ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,tokens,cl100k",
    [
        ("The quick brown fox jumps over the lazy dog.", 10, 10),
        ("Hello, world!", 4, 4),
        ("internationalization", 4, 2),  # long words: estimated high, never low
        ("2024-01-05", 6, 6),
        ("1234567", 3, 3),
        ("退款政策很简单。", 8, 9),  # a token per CJK character (cl100k: 9, o200k: 6)
        ("東京は晴れです", 7, 7),
        ("안녕하세요", 5, 5),
        ("", 0, 0),
        ("   \n\t ", 0, 0),
    ],
)
def test_token_estimates_are_close_to_real_bpe_counts(text, tokens, cl100k):
    assert count_tokens(text) == tokens
    assert tokens >= cl100k * 0.85  # the estimate errs high, so chunks fit real limits


def test_english_prose_is_estimated_within_a_fifth_of_cl100k():
    prose = (
        "Refunds are paid back to the original card within five working days after we receive the "
        "returned parcel. If you paid by bank transfer, we need your account details."
    )
    assert 33 <= count_tokens(prose) <= 33 * 1.25  # cl100k: 33 tokens


def test_spans_cover_every_counted_token_and_truncate_respects_the_budget():
    text = "Alpha 12345678 退款 supercalifragilistic!"
    spans = list(token_spans(text))
    assert sum(tokens for _, _, tokens in spans) == count_tokens(text)
    assert all(text[start:end].strip() for start, end, _ in spans)
    assert truncate(text, 4) == "Alpha 12345678"
    assert count_tokens(truncate(text, 6)) <= 6
    assert truncate(text, 100) == text


# -- CJK and tsquery --------------------------------------------------------------------------------------


def test_cjk_runs_become_bigrams_and_other_text_is_untouched():
    assert expand_cjk("退款政策") == " 退款 款政 政策 "
    assert expand_cjk("iPhone手机，很好").split() == ["iPhone", "手机", "，", "很好"]
    assert expand_cjk("我") == " 我 "
    assert expand_cjk("Refund policy") == "Refund policy"
    assert expand_cjk("東京タワー").split() == ["東京", "京タ", "タワ", "ワー"]


def test_tsquery_literals_are_quoted_safely():
    assert tsquery_literal("refund") == "'refund'"
    assert tsquery_literal("o'brien") == "'o''brien'"
    assert tsquery_literal("a\\b") == "'a\\\\b'"
    assert or_query(["a", "b's"]) == "'a' | 'b''s'"


def test_rare_terms_weigh_more_and_only_rare_terms_select_candidates():
    stats = TermStats.from_pg_stats(["the", "order", "refund"], [0.9, 0.3, 0.05, 0.01, 0.9, 0.0], rows=100_000)
    terms = {t.lexeme: t for t in weigh_terms(["order", "refund", "zorblax"], stats, candidate_rows=6000)}
    assert terms["zorblax"].weight > terms["refund"].weight > terms["order"].weight
    assert terms["zorblax"].candidate and terms["refund"].candidate and not terms["order"].candidate
    # The rarest term is always a candidate, however common.
    only = weigh_terms(["order"], stats, candidate_rows=10)
    assert only[0].candidate
    # Without statistics every term weighs the same and all are candidates in a small table.
    flat = weigh_terms(["a", "b"], TermStats.empty(rows=50), candidate_rows=4000)
    assert flat[0].weight == flat[1].weight and all(t.candidate for t in flat)
    assert idf(0.5) < idf(0.01) < idf(0.0001)


# -- fusion -------------------------------------------------------------------------------------------------


def test_rrf_prefers_items_both_channels_rank_high():
    fused = reciprocal_rank_fusion(
        {"vector": [Ranked("a"), Ranked("b"), Ranked("c")], "text": [Ranked("b"), Ranked("d"), Ranked("c")]},
        weighted=False,
    )
    assert [f.key for f in fused] == ["b", "c", "a", "d"]
    assert fused[0].ranks == {"vector": 2, "text": 1}
    assert fused[0].score == pytest.approx((61 / 62 + 1) / 2)  # normalised: #1 in both would be 1


def test_rrf_scores_read_as_zero_to_one_and_relevance_weights_the_votes():
    fused = reciprocal_rank_fusion({"vector": [Ranked("a", 1.0)], "text": [Ranked("a", 1.0)]})
    assert fused[0].score == pytest.approx(1.0)
    weak = reciprocal_rank_fusion({"vector": [Ranked("a", 0.2)], "text": []}, channels_per_item=2)
    assert weak[0].score == pytest.approx(0.1)
    fused = reciprocal_rank_fusion({"vector": [Ranked("x", 0.9), Ranked("y", 0.85)], "text": [Ranked("y", 0.9)]})
    assert [f.key for f in fused] == ["y", "x"]
    assert fused[0].relevances == {"vector": 0.85, "text": 0.9}


def test_rrf_is_deterministic_and_counts_an_item_once_per_channel():
    fused = reciprocal_rank_fusion(
        {"v": [Ranked("a"), Ranked("a"), Ranked("b")], "t": [Ranked("b"), Ranked("a")]}, weighted=False
    )
    assert fused[0].ranks == {"v": 1, "t": 2} and fused[1].ranks == {"v": 2, "t": 1}
    assert [f.key for f in fused] == ["a", "b"]  # a tie: first seen first
    assert reciprocal_rank_fusion({}) == []
    with pytest.raises(ValueError):
        reciprocal_rank_fusion({"v": []}, k=0)

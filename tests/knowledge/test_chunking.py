"""Chunking: sections, paragraphs, sentences (Latin and CJK), overlap, limits, paths and pages."""

from __future__ import annotations

import itertools

import pytest

from knowledge.chunking import Chunk, chunk_blocks, search_text, validate_sizes
from knowledge.parsing.base import Block, BlockKind, heading, paragraph, table_row
from switchboard.text import count_tokens


def _texts(chunks: list[Chunk]) -> list[str]:
    return [chunk.text for chunk in chunks]


def test_a_short_document_is_one_chunk_with_its_paragraphs():
    chunks = chunk_blocks([paragraph("First paragraph."), paragraph("Second paragraph.")])
    assert chunks == [Chunk("First paragraph.\n\nSecond paragraph.", 0, (), None, 8)]


def test_headings_start_new_chunks_and_give_each_its_heading_path():
    blocks = [
        heading("Guide", 1),
        paragraph("Intro."),
        heading("Billing", 2),
        paragraph("Pay monthly."),
        heading("Refunds", 3),
        paragraph("Within 30 days."),
        heading("Support", 2),
        paragraph("Call us."),
    ]
    chunks = chunk_blocks(blocks)
    assert [(c.heading_path, c.text) for c in chunks] == [
        (("Guide",), "Intro."),
        (("Guide", "Billing"), "Pay monthly."),
        (("Guide", "Billing", "Refunds"), "Within 30 days."),
        (("Guide", "Support"), "Call us."),
    ]
    assert [c.position for c in chunks] == [0, 1, 2, 3]


def test_a_title_heading_stays_above_level_one_sections():
    chunks = chunk_blocks(
        [
            heading("Handbook", 0),
            heading("Holidays", 1),
            paragraph("28 days."),
            heading("Pay", 1),
            paragraph("Monthly."),
        ]
    )
    assert [c.heading_path for c in chunks] == [("Handbook", "Holidays"), ("Handbook", "Pay")]


def test_paragraphs_stay_whole_when_they_fit_and_move_to_the_next_chunk_otherwise():
    one = "Alpha beta gamma delta. " * 8  # 32 tokens
    two = "Epsilon zeta eta theta. " * 8
    chunks = chunk_blocks([paragraph(one), paragraph(two)], chunk_tokens=48, overlap_tokens=0)
    assert _texts(chunks) == [one.strip(), two.strip()]


def test_long_paragraphs_are_cut_at_sentence_ends_within_the_limit():
    sentences = [
        f"Sentence number {word} is here."
        for word in ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    ]
    chunks = chunk_blocks([paragraph(" ".join(sentences))], chunk_tokens=32, overlap_tokens=0)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.token_count <= 32 and count_tokens(chunk.text) == chunk.token_count
        assert chunk.text.endswith("is here.")  # never cut mid-sentence
    assert " ".join(_texts(chunks)) == " ".join(sentences)


def test_chinese_sentences_are_cut_at_full_width_punctuation():
    text = "我们的退款政策很简单。购买后三十天内可以申请退款！需要帮助吗？请联系客服；客服全天在线。" * 6
    chunks = chunk_blocks([paragraph(text)], chunk_tokens=40, overlap_tokens=0)
    assert len(chunks) > 2
    for chunk in chunks:
        assert chunk.token_count <= 40
        assert chunk.text[-1] in "。！？；", chunk.text
    assert "".join(_texts(chunks)) == text
    assert count_tokens("我们的退款政策很简单。") == 11  # a token per character, punctuation included


def test_japanese_and_quotes_after_sentence_ends_stay_with_their_sentence():
    text = "「今日は晴れです。」と彼は言った。明日も晴れるでしょう！" * 4
    chunks = chunk_blocks([paragraph(text)], chunk_tokens=32, overlap_tokens=0)
    assert all(not chunk.text.startswith("」") for chunk in chunks)
    assert "".join(_texts(chunks)) == text


def test_run_on_text_without_sentence_ends_falls_back_to_clauses_then_words_then_characters():
    clauses = "，".join(["这是一个没有句号的很长的句子"] * 10)
    chunks = chunk_blocks([paragraph(clauses)], chunk_tokens=40, overlap_tokens=0)
    assert all(c.token_count <= 40 and (c.text.endswith("，") or c is chunks[-1]) for c in chunks)
    words = " ".join(["word"] * 100)
    assert all(c.token_count <= 32 for c in chunk_blocks([paragraph(words)], chunk_tokens=32, overlap_tokens=0))
    blob = "x" * 1000  # a base64 blob or a URL: one giant "word"
    pieces = chunk_blocks([paragraph(blob)], chunk_tokens=32, overlap_tokens=0)
    assert all(c.token_count <= 32 for c in pieces) and "".join(_texts(pieces)) == blob
    han = "汉" * 100
    assert [len(c.text) for c in chunk_blocks([paragraph(han)], chunk_tokens=32, overlap_tokens=0)] == [32, 32, 32, 4]


def test_consecutive_chunks_overlap_by_whole_sentences():
    sentences = [f"Fact {n} is important." for n in range(12)]  # 6 tokens each
    chunks = chunk_blocks([paragraph(" ".join(sentences))], chunk_tokens=32, overlap_tokens=12)
    assert len(chunks) >= 3
    for first, second in itertools.pairwise(chunks):
        last_two = " ".join(first.text.split(" ")[-8:])  # two sentences: 12 tokens
        assert second.text.startswith(last_two), (first.text, second.text)
        assert second.token_count <= 32
    # Overlap never makes a chunk of nothing but repeated text.
    assert not any(chunk.text in chunks[i].text for i, chunk in enumerate(chunks[1:]))


def test_overlap_does_not_cross_headings():
    blocks = [heading("A", 1), paragraph("Only in A. " * 10), heading("B", 1), paragraph("Only in B.")]
    chunks = chunk_blocks(blocks, chunk_tokens=32, overlap_tokens=16)
    assert chunks[-1].text == "Only in B." and chunks[-1].heading_path == ("B",)


def test_pages_are_where_each_chunk_starts_its_own_text():
    blocks = [
        paragraph("Page one text is here. " * 5, page=1),
        paragraph("Page two text is here. " * 5, page=2),
        paragraph("Page three. " * 3, page=3),
    ]
    chunks = chunk_blocks(blocks, chunk_tokens=40, overlap_tokens=8)
    assert [c.page for c in chunks] == [1, 2, 3]
    # The second chunk opens with overlap from page 1, but its own text starts on page 2.
    assert chunks[1].text.startswith("Page one text is here.\n\nPage two")


def test_table_rows_are_joined_by_lines_and_never_split():
    rows = [table_row(["Name", "City"], [f"Person {n}", "Berlin"]) for n in range(20)]
    chunks = chunk_blocks([heading("People", 1), *rows], chunk_tokens=40, overlap_tokens=0)
    assert len(chunks) > 1
    for chunk in chunks:
        for line in chunk.text.split("\n"):
            assert line.startswith("Name: Person ") and line.endswith("; City: Berlin")


def test_code_blocks_are_cut_only_at_lines():
    code = "\n".join(f"print('line {n}')  # comment" for n in range(40))
    chunks = chunk_blocks([Block(BlockKind.CODE, code)], chunk_tokens=48, overlap_tokens=0)
    assert "\n".join(_texts(chunks)) == code


def test_empty_input_gives_no_chunks():
    assert chunk_blocks([]) == []
    assert chunk_blocks([heading("Only a heading", 1), paragraph("  \n ")]) == []


@pytest.mark.parametrize("size,overlap", [(16, 0), (9000, 0), (100, 51), (100, -1)])
def test_sizes_are_validated(size, overlap):
    with pytest.raises(ValueError):
        validate_sizes(size, overlap)


def test_search_text_puts_the_heading_path_first():
    assert search_text("Body.", ("A", "B")) == "A > B\n\nBody."
    assert search_text("Body.", ()) == "Body."


def test_a_short_two_page_document_is_two_chunks_one_per_page():
    # Room for the whole document in one chunk, but a passage cited as "p. 1" must be on page 1.
    blocks = [paragraph("Refunds take five days.", page=1), paragraph("Shipping is free over 50 euros.", page=2)]
    chunks = chunk_blocks(blocks, chunk_tokens=512, overlap_tokens=0)
    assert [(c.page, c.text) for c in chunks] == [
        (1, "Refunds take five days."),
        (2, "Shipping is free over 50 euros."),
    ]


def test_blocks_without_pages_still_pack_together():
    chunks = chunk_blocks([paragraph("One."), paragraph("Two.")], chunk_tokens=512, overlap_tokens=0)
    assert [c.text for c in chunks] == ["One.\n\nTwo."]

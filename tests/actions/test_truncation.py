"""Responses shortened for the model: within the limit, still valid JSON, cut inside the structure."""

from __future__ import annotations

import json

import pytest

from actions.truncation import (
    MARKER,
    dumps,
    is_textual,
    looks_like_json,
    render_body,
    shorten_json,
    shorten_text,
)


def test_small_json_is_returned_compact_and_unmarked() -> None:
    result = shorten_json({"a": [1, 2, 3], "b": "x"}, 1000)
    assert result.text == '{"a":[1,2,3],"b":"x"}'
    assert not result.truncated and result.is_json


def test_long_list_keeps_first_items_and_says_how_many_were_left_out() -> None:
    items = [{"id": i, "name": f"item {i}", "description": "d" * 200} for i in range(1000)]
    result = shorten_json({"object": "list", "data": items, "has_more": True}, 4000)
    assert result.truncated and len(result.text) <= 4000
    value = json.loads(result.text)
    assert value[MARKER] is True
    assert value["has_more"] is True and value["object"] == "list"  # small fields survive
    data = value["data"]
    assert data[0]["id"] == 0 and data[1]["id"] == 1
    marker = data[-1]
    assert marker[MARKER] is True and marker["_omitted_items"] == 1000 - (len(data) - 1)


def test_long_strings_are_cut_with_an_ellipsis() -> None:
    result = shorten_json({"text": "x" * 100_000, "id": 7}, 2000)
    value = json.loads(result.text)
    assert len(result.text) <= 2000
    assert value["text"].endswith("…") and value["id"] == 7 and value[MARKER] is True


def test_top_level_list_gets_a_marker_element() -> None:
    result = shorten_json([{"n": i, "pad": "p" * 50} for i in range(500)], 1500)
    value = json.loads(result.text)
    assert isinstance(value, list) and len(result.text) <= 1500
    assert value[-1][MARKER] is True


def test_top_level_string_is_cut() -> None:
    result = shorten_json("y" * 10_000, 500)
    assert len(result.text) <= 500 and json.loads(result.text).endswith("…")


def test_deep_nesting_is_summarised_below_the_depth_limit() -> None:
    value: dict = {"leaf": "z" * 5000}
    for _ in range(200):
        value = {"child": value, "pad": "q" * 100}
    result = shorten_json(value, 3000)
    assert len(result.text) <= 3000
    json.loads(result.text)


def test_very_many_keys_are_cut_with_a_count() -> None:
    value = {f"key_{i:05d}": "v" * 30 for i in range(5000)}
    result = shorten_json(value, 3000)
    parsed = json.loads(result.text)
    assert len(result.text) <= 3000 and parsed[MARKER] is True
    assert "_omitted_keys" in parsed


def test_huge_keys_fall_back_to_an_excerpt_that_is_still_json() -> None:
    value = {("k" * 5000) + str(i): i for i in range(50)}
    result = shorten_json(value, 300)
    assert len(result.text) <= 300
    parsed = json.loads(result.text)
    assert parsed[MARKER] is True


@pytest.mark.parametrize("limit", [200, 500, 1000, 16_000])
def test_every_limit_is_respected_for_mixed_documents(limit: int) -> None:
    doc = {
        "users": [
            {
                "name": "名前" * 20,
                "emails": [f"u{i}@example.com" for i in range(30)],
                "nested": {"deep": [[i] * 20 for i in range(10)]},
            }
            for i in range(300)
        ],
        "meta": {"total": 300, "quote": 'he said "hi"\n\\'},
    }
    result = shorten_json(doc, limit)
    assert len(result.text) <= limit
    json.loads(result.text)


def test_non_ascii_is_kept_as_is() -> None:
    assert dumps({"city": "北京"}) == '{"city":"北京"}'


def test_text_is_cut_with_a_note_within_the_limit() -> None:
    result = shorten_text("a" * 50_000, 1000)
    assert len(result.text) <= 1000 and result.truncated
    assert "truncated:" in result.text
    assert shorten_text("short", 100).text == "short"


@pytest.mark.parametrize(
    "content_type,body,expected",
    [
        ("application/json", b"{}", True),
        ("application/problem+json; charset=utf-8", b"{}", True),
        ("text/plain", b'  {"a": 1}', True),
        ("text/html", b"<html>", False),
    ],
)
def test_json_detection(content_type: str, body: bytes, expected: bool) -> None:
    assert looks_like_json(content_type, body) is expected


def test_textual_types() -> None:
    assert is_textual("text/csv") and is_textual("application/xml") and is_textual("")
    assert not is_textual("image/png")


def test_render_body_shortens_json_structurally() -> None:
    body = json.dumps({"items": list(range(10_000))}).encode()
    result = render_body(body, content_type="application/json", encoding="utf-8", max_chars=500)
    assert result.is_json and result.truncated and len(result.text) <= 500


def test_render_body_falls_back_to_text_for_broken_json() -> None:
    result = render_body(b'{"a": ', content_type="application/json", encoding="utf-8", max_chars=500)
    assert not result.is_json and result.text == '{"a": '


def test_render_body_describes_binary_content() -> None:
    result = render_body(
        b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 10, content_type="image/png", encoding="utf-8", max_chars=500
    )
    described = json.loads(result.text)
    assert described["content_type"] == "image/png" and described["bytes"] > 2000


def test_render_body_of_empty_response() -> None:
    assert render_body(b"", content_type="", encoding="utf-8", max_chars=100).text == ""


def test_render_body_decodes_declared_charset() -> None:
    result = render_body(
        "café".encode("latin-1"), content_type="text/plain; charset=latin-1", encoding="iso8859-1", max_chars=100
    )
    assert result.text == "café"

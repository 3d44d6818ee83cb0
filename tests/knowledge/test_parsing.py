"""Parsers, one per format, on real files made here; and the checks run before any parser."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from knowledge.parsing import Limits, ParseError, formats, parse
from knowledge.parsing.base import BlockKind
from tests.knowledge.conftest import SAMPLE_HTML, SAMPLE_MARKDOWN, docx_bytes, pdf_bytes, xlsx_bytes


def _kinds(parsed):
    return [(block.kind.value, block.text) for block in parsed.blocks]


def test_markdown_headings_lists_code_and_tables():
    source = (
        b"# Title\n\nIntro *text*.\n\n- one\n- two\n\n| A | B |\n|---|---|\n| 1 | 2 |\n\n```\n# not a heading\n```\n"
        b"\n## Refunds *within* `30` [days](https://example.com)\n\n| **Plan** | Price |\n|---|---|\n| *Pro* | `9` |\n"
    )
    parsed = parse(source, formats.MARKDOWN)
    # Prose keeps its Markdown source; headings and table cells are plain text.
    assert _kinds(parsed) == [
        ("heading", "Title"),
        ("text", "Intro *text*."),
        ("text", "- one\n- two"),
        ("row", "A: 1; B: 2"),
        ("code", "# not a heading"),
        ("heading", "Refunds within 30 days"),
        ("row", "Plan: Pro; Price: 9"),
    ]
    assert parsed.title == "Title"
    assert [b.text for b in parse(SAMPLE_MARKDOWN, formats.MARKDOWN).blocks if b.kind is BlockKind.HEADING] == [
        "Onboarding",
        "Laptop setup",
        "报销流程",
    ]


def test_html_keeps_the_content_and_drops_scripts_and_navigation():
    parsed = parse(SAMPLE_HTML, formats.HTML)
    assert parsed.title == "Shipping FAQ"
    assert _kinds(parsed) == [
        ("heading", "Shipping"),
        ("heading", "Delivery times"),
        ("text", "Parcels to Germany arrive within **two working days**."),
        ("row", "Country: France; Days: 3"),
    ]
    gbk = "<html><head><meta charset='gbk'></head><body><p>退货须知</p></body></html>".encode("gbk")
    assert _kinds(parse(gbk, formats.HTML)) == [("text", "退货须知")]


def test_docx_headings_paragraphs_and_tables_in_order():
    parsed = parse(docx_bytes(), formats.DOCX)
    assert _kinds(parsed) == [
        ("heading", "Employee handbook"),
        ("heading", "Holidays"),
        ("text", "Every employee gets twenty-eight days of paid holiday per year."),
        ("row", "Grade: Senior; Days: 30"),
    ]
    assert parsed.blocks[0].level == 0 and parsed.blocks[1].level == 1


def test_xlsx_rows_carry_their_header_and_skip_blank_rows():
    parsed = parse(
        xlsx_bytes([["Name", "Joined"], [None, None], ["Ada", __import__("datetime").date(2024, 3, 1)], ["Bob", None]]),
        formats.XLSX,
    )
    assert _kinds(parsed) == [("heading", "Price list"), ("row", "Name: Ada; Joined: 2024-03-01"), ("row", "Name: Bob")]


def test_csv_delimiters_and_encodings_are_detected():
    assert _kinds(parse(b"a;b\n1;2\n", formats.CSV)) == [("row", "a: 1; b: 2")]
    assert _kinds(parse("名字\t城市\n张三\t北京\n".encode("gb18030"), formats.CSV)) == [
        ("row", "名字: 张三; 城市: 北京")
    ]
    with pytest.raises(ParseError, match="more than 1 rows"):
        parse(b"h\n1\n2\n3\n", formats.CSV, limits=Limits(max_rows=1))


def test_pdf_pages_and_outline_headings():
    parsed = parse(pdf_bytes([("Intro", "Hello on page one."), ("Details", "And more on page two.")]), formats.PDF)
    assert [(b.kind.value, b.text, b.page) for b in parsed.blocks] == [
        ("heading", "Intro", 1),
        ("text", "Hello on page one.", 1),
        ("heading", "Details", 2),
        ("text", "And more on page two.", 2),
    ]
    with pytest.raises(ParseError, match="more than the 1 we index"):
        parse(pdf_bytes(), formats.PDF, limits=Limits(max_pages=1))


def test_text_files_in_other_encodings_are_read():
    assert _kinds(parse("退货政策：三十天内。".encode("gb18030"), formats.TXT)) == [("text", "退货政策：三十天内。")]
    assert _kinds(parse("\ufeffBOM text".encode("utf-8"), formats.TXT)) == [("text", "BOM text")]
    assert _kinds(parse("utf16 text".encode("utf-16"), formats.TXT)) == [("text", "utf16 text")]
    with pytest.raises(ParseError, match="binary data"):
        parse(b"abc\x00def" * 10, formats.TXT)


def test_zip_archives_are_checked_before_parsing():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<x/>" * (600_000))  # 2.4 MB of very repetitive XML
    with pytest.raises(ParseError, match="zip bomb") as refused:
        parse(buffer.getvalue(), formats.DOCX)
    assert refused.value.code == "zip_bomb"
    with pytest.raises(ParseError, match=r"would unpack to 1\.\d MB, more than the 0\.4 MB limit"):
        parse(docx_bytes(text=os.urandom(600_000).hex()), formats.DOCX, limits=Limits(max_uncompressed_bytes=400_000))
    with pytest.raises(ParseError, match="not an Excel workbook"):
        parse(docx_bytes(), formats.XLSX)


def test_types_are_known_by_name_media_type_and_content():
    assert formats.from_name("Report.PDF") == "pdf" and formats.from_name("a.tar.gz") is None
    assert formats.from_media_type("text/html; charset=utf-8") == "html"
    assert formats.sniff(pdf_bytes()) == "pdf" and formats.sniff(docx_bytes()) == "docx"
    assert formats.sniff(xlsx_bytes()) == "xlsx" and formats.sniff(SAMPLE_HTML) == "html"
    assert formats.sniff(b"plain words") is None
    assert "save the file as .docx" in formats.unsupported_reason("old.doc")

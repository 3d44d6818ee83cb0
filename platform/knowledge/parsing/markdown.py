"""Markdown (.md): CommonMark with tables, parsed by markdown-it-py.

Headings become the heading path; paragraphs, lists and quotations keep their Markdown source
(models read it well, and list markers carry meaning); fenced code stays one block split only at
lines; tables become one row per block, each with its header. A `#` inside a code fence is not a
heading, which is why this is a real parser and not a regular expression.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

from knowledge.parsing.base import Block, BlockKind, ParsedDocument, heading, paragraph, table_row
from knowledge.parsing.decode import decode_text

_PARSER = MarkdownIt("commonmark", {"html": True}).enable("table")
# Block structure only: prose keeps its source lines, so inline markup is parsed just for
# headings and table cells (on demand); parsing it everywhere took half of the parse time.
_BLOCKS = MarkdownIt("commonmark", {"html": True}).enable("table").disable("inline")
_PROSE = {"paragraph_open", "bullet_list_open", "ordered_list_open", "blockquote_open"}


def _inline_text(token: Token) -> str:
    children = token.children
    if not children and token.content:
        parsed = _PARSER.parseInline(token.content)
        children = parsed[0].children if parsed else []
    parts = []
    for child in children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts).strip()


def _closing(tokens: list[Token], start: int) -> int:
    """Index of the token closing the block opened at `start`."""
    depth = 0
    for index in range(start, len(tokens)):
        depth += tokens[index].nesting
        if depth == 0:
            return index
    return len(tokens) - 1


def _table(tokens: list[Token], start: int, end: int) -> list[Block]:
    header: list[str] = []
    rows: list[list[str]] = []
    row: list[str] | None = None
    in_head = False
    for token in tokens[start:end]:
        if token.type == "thead_open":
            in_head = True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append(_inline_text(token))
        elif token.type == "tr_close" and row is not None:
            if in_head:
                header = row
            else:
                rows.append(row)
            row = None
    return [block for block in (table_row(header, values) for values in rows) if block is not None]


def parse_markdown(source: str) -> ParsedDocument:
    lines = source.split("\n")
    tokens = _BLOCKS.parse(source)
    blocks: list[Block] = []
    title = None
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.level != 0 or token.nesting == -1:
            index += 1
            continue
        end = _closing(tokens, index) if token.nesting == 1 else index
        if token.type == "heading_open":
            text = _inline_text(tokens[index + 1])
            blocks.append(heading(text, int(token.tag[1:])))
            title = title or text
        elif token.type in _PROSE and token.map:
            blocks.append(paragraph("\n".join(lines[token.map[0] : token.map[1]]).rstrip()))
        elif token.type in ("fence", "code_block"):
            if token.content.strip():
                blocks.append(Block(BlockKind.CODE, token.content.rstrip("\n")))
        elif token.type == "table_open":
            blocks.extend(_table(tokens, index, end + 1))
        elif token.type == "html_block" and token.content.strip():
            from bs4 import BeautifulSoup

            text = BeautifulSoup(token.content, "html.parser").get_text(" ", strip=True)
            if text:
                blocks.append(paragraph(text))
        index = end + 1
    return ParsedDocument(blocks=blocks, title=title)


def parse(data: bytes) -> ParsedDocument:
    return parse_markdown(decode_text(data))

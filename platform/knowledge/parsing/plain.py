"""Plain text (.txt): paragraphs separated by blank lines; no headings."""

from __future__ import annotations

import re

from knowledge.parsing.base import ParsedDocument, paragraph
from knowledge.parsing.decode import decode_text

_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")


def parse_text(text: str) -> ParsedDocument:
    return ParsedDocument(blocks=[paragraph(part) for part in _BLANK_LINES.split(text) if part.strip()])


def parse(data: bytes) -> ParsedDocument:
    return parse_text(decode_text(data))

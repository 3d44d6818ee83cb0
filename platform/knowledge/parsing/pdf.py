"""PDF: the text of each page (pypdf), with page numbers, and headings from the PDF's outline.

PDF has no paragraphs, only positioned lines: lines are joined into paragraphs at blank lines,
words hyphenated across a line break are rejoined, and Chinese/Japanese lines are joined without
a space. Bookmarks (the outline), when the PDF has them, give each page its heading path.
"""

from __future__ import annotations

import io
import logging
import re

from knowledge.parsing.base import Block, ParsedDocument, ParseError, heading, paragraph
from knowledge.search_text import CJK_LETTERS

logger = logging.getLogger(__name__)

_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")
_CJK_END = re.compile(f"[{CJK_LETTERS}\u3000-\u303f\uff00-\uffef]$")
_CJK_START = re.compile(f"^[{CJK_LETTERS}\u3000-\u303f\uff00-\uffef]")


def _join_lines(text: str) -> str:
    out = ""
    for line in (line.strip() for line in text.split("\n")):
        if not line:
            continue
        if not out:
            out = line
        elif out.endswith("-") and line[:1].islower():
            out = out[:-1] + line
        elif _CJK_END.search(out) and _CJK_START.search(line):
            out += line
        else:
            out += " " + line
    return out


def _outline(reader) -> dict[int, list[tuple[int, str]]]:
    """{page index: [(level, title), …]} from the bookmarks; empty when there are none or they are broken."""
    found: dict[int, list[tuple[int, str]]] = {}

    def walk(items, level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception as exc:  # pypdf raises many kinds on a malformed outline entry
                logger.debug("PDF outline entry without a usable page skipped: %s", exc)
                continue
            title = str(getattr(item, "title", "") or "").strip()
            if page is not None and page >= 0 and title:
                found.setdefault(page, []).append((min(level, 6), title))

    try:
        walk(reader.outline, 1)
    except Exception:
        logger.info("ignoring an unreadable PDF outline")
        return {}
    return found


def parse(data: bytes, *, max_pages: int) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise ParseError(
            "The file is not a PDF (it does not start like one); check that it was saved as a PDF and upload it again.",
            code="corrupt_file",
        )
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # owner-password-only PDFs open with an empty password
            except Exception:
                opened = 0
            if not opened:
                raise ParseError(
                    "The PDF is password-protected. Remove the password (print or save it "
                    "as a new PDF) and upload it again.",
                    code="encrypted_file",
                )
        pages = reader.pages
        count = len(pages)
    except ParseError:
        raise
    except (PdfReadError, Exception) as exc:
        raise ParseError(
            "The PDF is damaged and could not be read; try opening and saving it again with a PDF viewer.",
            code="corrupt_file",
        ) from exc
    if count > max_pages:
        raise ParseError(
            f"The PDF has {count:,} pages, more than the {max_pages:,} we index; split it into smaller files.",
            code="too_many_pages",
        )

    headings = _outline(reader)
    blocks: list[Block] = []
    failed_pages = 0
    for index in range(count):
        for level, title in headings.get(index, []):
            blocks.append(heading(title, level, page=index + 1))
        try:
            text = pages[index].extract_text() or ""
        except Exception:
            failed_pages += 1
            continue
        for part in _BLANK_LINES.split(text):
            joined = _join_lines(part)
            if joined:
                blocks.append(paragraph(joined, page=index + 1))
    if failed_pages and failed_pages == count:
        raise ParseError("The PDF is damaged: none of its pages could be read.", code="corrupt_file")
    return ParsedDocument(blocks=blocks)

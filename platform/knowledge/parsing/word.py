"""Word (.docx), read with python-docx after the zip-bomb check.

Paragraphs and tables are read in document order. Heading styles ("Heading 1"…, also localised
names such as "标题 1", and paragraphs with an outline level) become the heading path, "Title"
the top of it; list paragraphs keep a bullet; table rows are written with their header row.
"""

from __future__ import annotations

import re

from knowledge.parsing.base import Block, ParsedDocument, ParseError, heading, paragraph, table_row
from knowledge.parsing.zipguard import open_checked

_HEADING_STYLE = re.compile(r"^(?:heading|标题|標題|titre|überschrift|título|titolo|見出し)\s*(\d)$", re.IGNORECASE)


def _heading_level(par) -> int | None:
    style = par.style
    name = (style.name or "").strip() if style is not None else ""
    if name.lower() == "title":
        return 0
    match = _HEADING_STYLE.match(name)
    if match:
        return int(match.group(1))
    p_pr = par._p.pPr  # an explicit outline level marks a heading in documents with custom styles
    if p_pr is not None:
        for child in p_pr.iterchildren():
            if child.tag.endswith("}outlineLvl"):
                value = child.get(child.tag.split("}")[0] + "}val")
                if value is not None and value.isdigit() and int(value) < 9:
                    return int(value) + 1
    return None


def _is_list(par) -> bool:
    name = (par.style.name or "") if par.style is not None else ""
    return name.lower().startswith("list") or (par._p.pPr is not None and par._p.pPr.numPr is not None)


def _table_blocks(table) -> list[Block]:
    rows = []
    for row in table.rows:
        cells, previous = [], None
        for cell in row.cells:
            # A merged cell comes back once per grid column it spans: keep it once.
            cells.append("" if cell._tc is previous else cell.text)
            previous = cell._tc
        rows.append(cells)
    if not rows:
        return []
    header, body = rows[0], rows[1:]
    if not body:  # a one-row table is just text
        return [paragraph(" | ".join(cell for cell in header if cell.strip()))] if any(header) else []
    return [block for block in (table_row(header, values) for values in body) if block is not None]


def parse(data: bytes, *, max_uncompressed: int) -> ParsedDocument:
    import docx
    from docx.table import Table

    archive = open_checked(data, max_uncompressed=max_uncompressed, what="Word")
    if "word/document.xml" not in archive.namelist():
        raise ParseError(
            "The file is not a Word document (.docx); it may be another kind of zip file.", code="corrupt_file"
        )
    try:
        document = docx.Document(archive.fp)
    except Exception as exc:
        raise ParseError(
            "The Word document is damaged and could not be read; open it in Word and save it again.",
            code="corrupt_file",
        ) from exc
    blocks: list[Block] = []
    title = None
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend(_table_blocks(item))
            continue
        text = item.text.strip()
        if not text:
            continue
        level = _heading_level(item)
        if level is not None:
            blocks.append(heading(text, level))
            title = title or text
        else:
            blocks.append(paragraph(f"- {text}" if _is_list(item) else text))
    return ParsedDocument(blocks=blocks, title=title)

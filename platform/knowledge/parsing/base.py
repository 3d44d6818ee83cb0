"""What every parser returns: the document as an ordered list of blocks."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class BlockKind(enum.Enum):
    HEADING = "heading"
    TEXT = "text"  # a paragraph, a list, a quotation
    CODE = "code"  # preformatted text: split only at lines
    ROW = "row"  # one table row, written with its header ("Name: Ada; Role: engineer")


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str
    #: Heading level: 0 for a document title, 1 (top section) to 6; 0 for other blocks.
    level: int = 0
    #: 1-based page number, for formats that have pages (PDF).
    page: int | None = None


@dataclass
class ParsedDocument:
    blocks: list[Block] = field(default_factory=list)
    #: A title found in the document (HTML <title>, the first heading of a web page), if any.
    title: str | None = None

    @property
    def has_text(self) -> bool:
        return any(block.text.strip() for block in self.blocks if block.kind is not BlockKind.HEADING)


class ParseError(Exception):
    """The file cannot be read. `message` is for the person who uploaded it."""

    code = "unreadable_file"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


def heading(text: str, level: int, page: int | None = None) -> Block:
    return Block(BlockKind.HEADING, " ".join(text.split())[:300], level=min(max(level, 0), 6), page=page)


def paragraph(text: str, page: int | None = None) -> Block:
    return Block(BlockKind.TEXT, text, page=page)


def table_row(header: list[str], values: list[str], page: int | None = None) -> Block | None:
    """A table row as "Header: value; …", so each row keeps its meaning when chunked alone.

    Cells without a header get "Column N"; empty cells are left out; a row with no values is None.
    """
    parts = []
    for index, value in enumerate(values):
        value = " ".join(str(value).split())
        if not value:
            continue
        name = (
            " ".join(header[index].split()) if index < len(header) and header[index].strip() else f"Column {index + 1}"
        )
        parts.append(f"{name}: {value}")
    if not parts:
        return None
    return Block(BlockKind.ROW, "; ".join(parts), page=page)

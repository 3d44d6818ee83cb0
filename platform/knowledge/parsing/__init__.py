"""Reading documents: one module per format, all returning a `ParsedDocument` of blocks.

`parse(data, file_type)` is the one entry point. Every failure a person can do something about
raises `ParseError` with a message meant for them; anything else is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.parsing import formats
from knowledge.parsing.base import Block, BlockKind, ParsedDocument, ParseError

__all__ = ["Block", "BlockKind", "Limits", "ParseError", "ParsedDocument", "parse"]


@dataclass(frozen=True)
class Limits:
    max_uncompressed_bytes: int = 256 * 1024 * 1024
    max_pages: int = 2000
    max_rows: int = 100_000


def parse(data: bytes, file_type: str, *, limits: Limits = Limits(), charset: str | None = None) -> ParsedDocument:
    if not data.strip():
        raise ParseError("The document is empty.", code="empty_document")
    if file_type in (formats.DOCX, formats.XLSX) and formats.is_ole(data):
        raise ParseError(
            "The file is password-protected or in an old Office format (97-2003). Remove the "
            "password, or save it as .docx/.xlsx, and upload it again.",
            code="encrypted_file",
        )
    if file_type == formats.TXT:
        from knowledge.parsing import plain

        return plain.parse(data)
    if file_type == formats.MARKDOWN:
        from knowledge.parsing import markdown

        return markdown.parse(data)
    if file_type == formats.HTML:
        from knowledge.parsing import html

        return html.parse(data, charset=charset)
    if file_type == formats.PDF:
        from knowledge.parsing import pdf

        return pdf.parse(data, max_pages=limits.max_pages)
    if file_type == formats.DOCX:
        from knowledge.parsing import word

        return word.parse(data, max_uncompressed=limits.max_uncompressed_bytes)
    if file_type == formats.XLSX:
        from knowledge.parsing import excel

        return excel.parse(data, max_uncompressed=limits.max_uncompressed_bytes, max_rows=limits.max_rows)
    if file_type == formats.CSV:
        from knowledge.parsing import delimited

        return delimited.parse(data, max_rows=limits.max_rows)
    raise ParseError(
        f"Files of type '{file_type}' are not supported. Supported: {formats.SUPPORTED_DESCRIPTION}.",
        code="unsupported_file_type",
    )

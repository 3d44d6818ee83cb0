"""CSV (comma, semicolon, tab or pipe separated): the first row is the header, every other row
becomes "Header: value; …"."""

from __future__ import annotations

import csv
import io

from knowledge.parsing.base import Block, ParsedDocument, ParseError
from knowledge.parsing.base import table_row as make_row
from knowledge.parsing.decode import decode_text


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def parse(data: bytes, *, max_rows: int) -> ParsedDocument:
    text = decode_text(data)
    csv.field_size_limit(10 * 1024 * 1024)
    reader = csv.reader(io.StringIO(text), _dialect(text[: 64 * 1024]))
    blocks: list[Block] = []
    header: list[str] | None = None
    try:
        for count, values in enumerate(reader):
            if not any(value.strip() for value in values):
                continue
            if header is None:
                header = values
                continue
            if count > max_rows:
                raise ParseError(
                    f"The file has more than {max_rows:,} rows, more than we index in one "
                    "document; split it into smaller files.",
                    code="too_many_rows",
                )
            block = make_row(header, values)
            if block is not None:
                blocks.append(block)
    except csv.Error as exc:
        raise ParseError(f"The CSV file is malformed ({exc}).", code="corrupt_file") from exc
    return ParsedDocument(blocks=blocks)

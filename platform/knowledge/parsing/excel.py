"""Excel (.xlsx), read with openpyxl (read-only, cached values) after the zip-bomb check.

Each sheet is a section named after the sheet; its first non-empty row is the header and every
other row becomes "Header: value; …", so a row found alone still says what its values mean.
"""

from __future__ import annotations

import datetime as dt

from knowledge.parsing.base import Block, ParsedDocument, ParseError, heading, table_row
from knowledge.parsing.zipguard import open_checked


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return (
            value.isoformat(sep=" ", timespec="minutes") if (value.hour or value.minute) else value.date().isoformat()
        )
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.10g}"
    return str(value)


def parse(data: bytes, *, max_uncompressed: int, max_rows: int) -> ParsedDocument:
    import openpyxl

    archive = open_checked(data, max_uncompressed=max_uncompressed, what="Excel")
    if "xl/workbook.xml" not in archive.namelist():
        raise ParseError(
            "The file is not an Excel workbook (.xlsx); it may be another kind of zip file.", code="corrupt_file"
        )
    try:
        workbook = openpyxl.load_workbook(archive.fp, read_only=True, data_only=True)
    except Exception as exc:
        raise ParseError(
            "The Excel workbook is damaged and could not be read; open it in Excel and save it again.",
            code="corrupt_file",
        ) from exc
    blocks: list[Block] = []
    rows_read = 0
    try:
        for sheet in workbook.worksheets:
            blocks.append(heading(sheet.title, 1))
            header: list[str] | None = None
            for values in sheet.iter_rows(values_only=True):
                cells = [cell_text(value) for value in values]
                if not any(cell.strip() for cell in cells):
                    continue
                if header is None:
                    header = cells
                    continue
                rows_read += 1
                if rows_read > max_rows:
                    raise ParseError(
                        f"The workbook has more than {max_rows:,} rows, more than we index in "
                        "one document; split it into smaller files.",
                        code="too_many_rows",
                    )
                block = table_row(header, cells)
                if block is not None:
                    blocks.append(block)
    except ParseError:
        raise
    except Exception as exc:
        raise ParseError(
            "The Excel workbook is damaged and could not be read completely.", code="corrupt_file"
        ) from exc
    finally:
        workbook.close()
    return ParsedDocument(blocks=blocks)

"""Bytes of a text file (.txt, .md, .csv, .html) to str, whatever encoding it was saved in."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from knowledge.parsing.base import ParseError
from switchboard.text import HAN

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


_HAN = re.compile(f"[{HAN}]")
_NON_ASCII = re.compile("[^\x00-\x7f]")


def _chinese(data: bytes) -> str | None:
    """GB18030 (the superset of GBK/GB2312), when the bytes decode to mostly Chinese characters.

    Statistical detectors misjudge short Chinese files, and this is the platform's commonest
    non-UTF-8 case; GB18030's strict byte ranges reject most text in other encodings.
    """
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    non_ascii = len(_NON_ASCII.findall(text[:200_000]))
    if non_ascii and len(_HAN.findall(text[:200_000])) >= 0.7 * non_ascii:
        return text
    return None


def decode_text(data: bytes, *, declared: str | None = None) -> str:
    """UTF-8 (the common case) first, then a byte-order mark, a declared charset (HTTP), and last
    a statistical guess, which is what reads GBK/GB18030 and Big5 files from Chinese Windows."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None and declared:
        try:
            text = data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            text = None
    if text is None:
        text = _chinese(data)
    if text is None:
        best = from_bytes(data[:1_000_000]).best()
        if best is None or best.encoding is None:
            raise ParseError(
                "The file is not text in any encoding we recognise; if it is a binary "
                "document, upload it with its usual extension (.pdf, .docx, .xlsx).",
                code="not_text",
            )
        text = data.decode(best.encoding, errors="replace")
    if "\x00" in text[:100_000]:
        raise ParseError(
            "The file contains binary data, not text; upload it in one of the supported formats.", code="not_text"
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")

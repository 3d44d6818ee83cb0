"""Which file types are indexed, and telling them apart by name, media type and content."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from django.utils.translation import gettext, gettext_lazy

TXT, MARKDOWN, PDF, DOCX, HTML, CSV, XLSX = "txt", "md", "pdf", "docx", "html", "csv", "xlsx"
SUPPORTED = (TXT, MARKDOWN, PDF, DOCX, HTML, CSV, XLSX)

EXTENSIONS = {
    ".txt": TXT,
    ".text": TXT,
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".pdf": PDF,
    ".docx": DOCX,
    ".html": HTML,
    ".htm": HTML,
    ".csv": CSV,
    ".tsv": CSV,
    ".xlsx": XLSX,
}
MEDIA_TYPES = {
    "text/plain": TXT,
    "text/markdown": MARKDOWN,
    "text/x-markdown": MARKDOWN,
    "application/pdf": PDF,
    "text/html": HTML,
    "application/xhtml+xml": HTML,
    "text/csv": CSV,
    "text/tab-separated-values": CSV,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": XLSX,
}
OLD_OFFICE = {
    ".doc": "Word 97-2003 (.doc)",
    ".xls": "Excel 97-2003 (.xls)",
    ".ppt": "PowerPoint (.ppt)",
    ".pptx": "PowerPoint (.pptx)",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

SUPPORTED_DESCRIPTION = ".txt, .md, .pdf, .docx, .html, .csv and .xlsx"
#: The same in the active language, for the pages; the API's docs and stored messages keep the English.
SUPPORTED_DESCRIPTION_SHOWN = gettext_lazy(".txt, .md, .pdf, .docx, .html, .csv and .xlsx")


def from_name(name: str) -> str | None:
    return EXTENSIONS.get(PurePosixPath(name.lower()).suffix)


def unsupported_reason(name: str) -> str:
    """Why a file of this name is refused, in the active language (English on the APIs)."""
    suffix = PurePosixPath(name.lower()).suffix
    supported = str(SUPPORTED_DESCRIPTION_SHOWN)
    if suffix in OLD_OFFICE:
        return gettext(
            "%(kind)s files are not supported; save the file as .docx/.xlsx, or as PDF, and upload that. "
            "Supported: %(supported)s."
        ) % {"kind": OLD_OFFICE[suffix], "supported": supported}
    if suffix:
        return gettext("'%(suffix)s' files are not supported. Supported: %(supported)s.") % {
            "suffix": suffix,
            "supported": supported,
        }
    return gettext("Files without an extension are not supported. Supported: %(supported)s.") % {"supported": supported}


def from_media_type(media_type: str | None) -> str | None:
    if not media_type:
        return None
    return MEDIA_TYPES.get(media_type.split(";", 1)[0].strip().lower())


def sniff(data: bytes) -> str | None:
    """The type the content itself declares, when it does so unambiguously."""
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
        return None
    lowered = head[:200].lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered:
        return HTML
    return None


def is_ole(data: bytes) -> bool:
    """An OLE compound file: old Office formats, and *encrypted* .docx/.xlsx files."""
    return data.startswith(_OLE_MAGIC)

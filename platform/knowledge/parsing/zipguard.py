"""Zip bombs: .docx and .xlsx files are zip archives, checked before any parser opens them.

A few kilobytes of zip can declare gigabytes of content. The central directory states every
member's compressed and uncompressed size, and Python's zipfile never inflates a member beyond
its declared size (a member that inflates further fails its CRC check), so checking the declared
sizes bounds the memory and time a parser can spend.
"""

from __future__ import annotations

import io
import zipfile

from knowledge.parsing.base import ParseError

# Office XML compresses well, typically 5-20x and up to ~100x for repetitive sheets; a bomb
# is in the thousands.
MAX_RATIO = 200
MAX_MEMBERS = 10_000
# Small members may have any ratio: they cannot hurt.
RATIO_FLOOR_BYTES = 1 << 20


def _mb(size: int) -> str:
    value = size / (1024 * 1024)
    return f"{value:,.1f}" if value < 10 else f"{value:,.0f}"


def open_checked(data: bytes, *, max_uncompressed: int, what: str) -> zipfile.ZipFile:
    """A ZipFile over `data` after the checks above; ParseError if it is not a sound archive."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ParseError(
            f"The file is not a valid {what} file (it is damaged or not really a {what}).", code="corrupt_file"
        ) from exc
    if len(members) > MAX_MEMBERS:
        raise ParseError(
            f"The {what} file holds {len(members):,} parts, more than the {MAX_MEMBERS:,} "
            "we accept; it looks like a zip bomb.",
            code="zip_bomb",
        )
    total = 0
    for member in members:
        if member.flag_bits & 0x1:
            raise ParseError(
                f"The {what} file is encrypted (password-protected); remove the password and upload it again.",
                code="encrypted_file",
            )
        total += member.file_size
        if member.file_size > RATIO_FLOOR_BYTES and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise ParseError(
                f"The {what} file would expand {member.file_size // max(member.compress_size, 1):,} times "
                f"when unpacked; it looks like a zip bomb and was not opened.",
                code="zip_bomb",
            )
    if total > max_uncompressed:
        raise ParseError(
            f"The {what} file would unpack to {_mb(total)} MB, more than the {_mb(max_uncompressed)} MB limit; "
            "it looks like a zip bomb or is too large to index.",
            code="zip_bomb",
        )
    return archive

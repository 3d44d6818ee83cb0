"""The UI's translations: .po files in the source, compiled to .mo when a process starts.

Django reads compiled catalogues (.mo), which are generated files and so not in the repository.
Each process compiles a catalogue whose .po is newer than its .mo (polib, pure Python: no gettext
tools on the machine), writing to a temporary file and renaming it, so processes starting together
do not read a half-written catalogue. A read-only installation that shipped its .mo files keeps them.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import polib

logger = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def compile_catalogues(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Compile every stale .po under `locale_dir`; the .mo files written."""
    written = []
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            handle, temporary = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
            os.close(handle)
            polib.pofile(str(po_path)).save_as_mofile(temporary)
            os.replace(temporary, mo_path)
        except OSError as exc:
            logger.warning("could not compile %s: %s; the UI falls back to English", po_path, exc)
            continue
        written.append(mo_path)
    return written

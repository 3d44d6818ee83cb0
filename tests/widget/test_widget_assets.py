"""The widget's files as they are served: size of the embed script, no HTML written from text, no
inline scripts or styles in the frame's pages (their CSP allows neither)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "templates" / "static"
SCRIPTS = [
    STATIC / "chat" / "core.js",
    STATIC / "widget" / "widget.js",
    STATIC / "widget" / "frame.js",
    STATIC / "widget" / "publish.js",
    STATIC / "widget" / "unavailable.js",
    STATIC / "bots" / "preview.js",
]
PAGES = [ROOT / "templates" / "widget" / name for name in ("_page.html", "unavailable.html")]


def test_the_embed_script_stays_small():
    raw = (STATIC / "widget" / "widget.js").read_bytes()
    assert len(gzip.compress(raw, compresslevel=9)) <= 12 * 1024


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.name)
def test_the_chat_scripts_never_write_html(path):
    source = path.read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "srcdoc"):
        assert sink not in source.replace("Nothing in this file assigns innerHTML", ""), sink


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.name)
def test_the_frame_pages_have_no_inline_script_or_style(path):
    html = path.read_text()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(" src=" in tag for tag in scripts), scripts
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no event handler attributes

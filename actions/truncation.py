"""Cut API responses down to what a model may read, keeping JSON valid JSON.

A 400-item list from an API does not fit in a model's context, and a JSON document cut at an
arbitrary character is useless to it. So JSON is shortened *inside* the structure: long strings
lose their tails (ending in "…"), long arrays keep their first items followed by a marker
``{"_truncated": true, "_omitted_items": N}``, objects with very many keys keep their first
ones, and a top-level object gets ``"_truncated": true``. Short values (``has_more``,
``total_count``) survive, because every level is cut evenly rather than front to back.

Pure functions: no Django, no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MARKER = "_truncated"
ELLIPSIS = "…"

# Successively tighter limits: (longest string, most array items, most object keys, deepest level).
# Each step keeps less; the first one whose result fits is used.
_STEPS: tuple[tuple[int, int, int, int], ...] = (
    (8000, 1000, 1000, 64),
    (4000, 500, 500, 64),
    (2000, 200, 300, 48),
    (1000, 100, 200, 32),
    (600, 60, 150, 32),
    (400, 40, 100, 24),
    (300, 25, 80, 24),
    (200, 16, 60, 16),
    (150, 10, 50, 16),
    (100, 6, 40, 12),
    (80, 4, 30, 10),
    (60, 3, 25, 8),
    (48, 2, 20, 6),
    (40, 1, 16, 5),
    (32, 1, 12, 4),
    (24, 1, 8, 3),
    (16, 1, 4, 2),
)


@dataclass(frozen=True)
class Shortened:
    text: str
    truncated: bool
    original_chars: int
    is_json: bool


def dumps(value: Any) -> str:
    """Compact JSON as sent to the model (non-ASCII kept: it is cheaper in tokens than escapes)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def shorten_json(value: Any, max_chars: int) -> Shortened:
    """``value`` as JSON text of at most ``max_chars`` characters, cut inside the structure if needed."""
    text = dumps(value)
    if len(text) <= max_chars:
        return Shortened(text, False, len(text), True)
    for limits in _STEPS:
        cut = _Cutter(*limits)
        shortened = cut.apply(value)
        shortened = _mark_top(shortened)
        candidate = dumps(shortened)
        if len(candidate) <= max_chars:
            return Shortened(candidate, True, len(text), True)
    # Nothing structural fits (a huge number of huge keys, say): an excerpt, still valid JSON.
    excerpt_chars = max(0, max_chars - 80)
    fallback = dumps({MARKER: True, "_original_chars": len(text), "excerpt": _cut_text(text, excerpt_chars)})
    while len(fallback) > max_chars and excerpt_chars > 0:
        # Escaping made it longer than planned: shorten the excerpt until it fits.
        excerpt_chars = max(0, excerpt_chars - max(16, len(fallback) - max_chars))
        fallback = dumps({MARKER: True, "_original_chars": len(text), "excerpt": _cut_text(text, excerpt_chars)})
    return Shortened(fallback, True, len(text), True)


def shorten_text(text: str, max_chars: int) -> Shortened:
    """Plain text cut at ``max_chars`` with a note saying how much was left out."""
    if len(text) <= max_chars:
        return Shortened(text, False, len(text), False)
    # The note's count has at most as many digits as len(text), so reserving for that is enough.
    reserve = len(f"\n{ELLIPSIS}[truncated: {len(text)} more characters]")
    keep = max(0, max_chars - reserve)
    note = f"\n{ELLIPSIS}[truncated: {len(text) - keep} more characters]"
    return Shortened(text[:keep] + note, True, len(text), False)


def _cut_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + ELLIPSIS


def _mark_top(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(MARKER) is True:
            return value
        return {MARKER: True, **{k: v for k, v in value.items() if k != MARKER}}
    if isinstance(value, list):
        if value and isinstance(value[-1], dict) and value[-1].get(MARKER) is True:
            return value
        return [*value, {MARKER: True}]
    return value


class _Cutter:
    def __init__(self, max_string: int, max_items: int, max_keys: int, max_depth: int) -> None:
        self.max_string = max_string
        self.max_items = max_items
        self.max_keys = max_keys
        self.max_depth = max_depth

    def apply(self, value: Any, depth: int = 0) -> Any:
        if isinstance(value, str):
            return _cut_text(value, self.max_string)
        if isinstance(value, list):
            if depth >= self.max_depth:
                return f"[{ELLIPSIS} {len(value)} items]"
            kept = [self.apply(item, depth + 1) for item in value[: self.max_items]]
            if len(value) > self.max_items:
                kept.append({MARKER: True, "_omitted_items": len(value) - self.max_items})
            return kept
        if isinstance(value, dict):
            if depth >= self.max_depth:
                return f"{{{ELLIPSIS} {len(value)} keys}}"
            out: dict[str, Any] = {}
            for index, (key, item) in enumerate(value.items()):
                if index >= self.max_keys:
                    out[MARKER] = True
                    out["_omitted_keys"] = len(value) - self.max_keys
                    break
                out[_cut_text(key, max(self.max_string, 64))] = self.apply(item, depth + 1)
            return out
        return value


def looks_like_json(content_type: str, body: bytes) -> bool:
    base = content_type.split(";", 1)[0].strip().lower()
    if base == "application/json" or base.endswith("+json") or base in ("text/json", "application/x-ndjson"):
        return True
    head = body[:64].lstrip()
    return head[:1] in (b"{", b"[")


def is_textual(content_type: str) -> bool:
    base = content_type.split(";", 1)[0].strip().lower()
    if not base:
        return True
    if base.startswith("text/") or base.endswith(("+json", "+xml")):
        return True
    return base in (
        "application/json",
        "application/xml",
        "application/javascript",
        "application/yaml",
        "application/x-yaml",
        "application/x-www-form-urlencoded",
        "application/graphql",
        "application/x-ndjson",
        "application/problem+json",
    )


def render_body(body: bytes, *, content_type: str, encoding: str, max_chars: int) -> Shortened:
    """A response body as the model should read it: JSON shortened structurally, text cut, binary described."""
    if not body:
        return Shortened("", False, 0, False)
    if looks_like_json(content_type, body):
        try:
            value = json.loads(body.decode(encoding, errors="strict"))
        except (ValueError, LookupError):
            value = _NOT_JSON
        if value is not _NOT_JSON:
            return shorten_json(value, max_chars)
    if not is_textual(content_type) and _looks_binary(body):
        described = dumps(
            {
                "content_type": content_type.split(";", 1)[0].strip() or "unknown",
                "bytes": len(body),
                "note": "binary content, not shown",
            }
        )
        return Shortened(described, False, len(body), True)
    try:
        text = body.decode(encoding, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    return shorten_text(text, max_chars)


_NOT_JSON = object()


def _looks_binary(body: bytes) -> bool:
    sample = body[:1024]
    if b"\x00" in sample:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        return exc.start < len(sample) - 4
    return False

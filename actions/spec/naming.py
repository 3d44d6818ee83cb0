"""Tool names: what the model calls each operation.

Model APIs accept function names matching ``^[a-zA-Z0-9_-]{1,64}$`` and some also want them
to start with a letter or underscore. Names come from ``operationId`` when it yields
something readable, else from the method and path (``GET /products/{id}`` ->
``get_products_by_id``), and are made unique within a spec.
"""

from __future__ import annotations

import re
import unicodedata

MAX_TOOL_NAME_LENGTH = 64
TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_-]+")
_REPEATED_UNDERSCORES = re.compile(r"_{2,}")
_PATH_PARAMETER = re.compile(r"\{([^{}]+)\}")


def sanitize_name(raw: str) -> str:
    """``raw`` reduced to the allowed characters; "" when nothing readable is left.

    Accented Latin letters lose their accents (``café`` -> ``cafe``); other scripts cannot be
    transliterated without a dictionary, so they are dropped and the caller falls back to
    a name built from the path.
    """
    if TOOL_NAME_PATTERN.match(raw) and (raw[0].isalpha() or raw[0] == "_"):
        return raw  # already valid: keep it exactly as the API's authors wrote it
    ascii_text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii")
    name = _INVALID_CHARS.sub("_", ascii_text)
    name = _REPEATED_UNDERSCORES.sub("_", name).strip("_-")
    if name and not (name[0].isalpha() or name[0] == "_"):
        name = "op_" + name
    return name[:MAX_TOOL_NAME_LENGTH].rstrip("_-")


def is_readable_operation_id(raw: str, sanitized: str) -> bool:
    """Whether ``sanitized`` kept most of what ``raw`` said (not e.g. "v2" out of a Chinese id)."""
    if not sanitized:
        return False
    letters_in = sum(1 for char in raw if char.isalnum())
    letters_out = sum(1 for char in sanitized if char.isalnum())
    return letters_out * 2 >= letters_in


def name_from_path(method: str, path: str) -> str:
    """``("GET", "/products/{product_id}")`` -> ``"get_products_by_product_id"``."""
    parts = [method.lower()]
    for segment in path.split("/"):
        if segment:
            parts.append(_PATH_PARAMETER.sub(r"by_\1", segment))
    if len(parts) == 1:
        parts.append("root")
    name = sanitize_name("_".join(parts))
    return name or f"{method.lower()}_operation"


class NameAllocator:
    """Hands out unique tool names: the second ``list_items`` becomes ``list_items_2``.

    Comparison ignores case, because some model APIs and UIs treat names case-insensitively.
    """

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def allocate(self, base: str) -> str:
        base = base[:MAX_TOOL_NAME_LENGTH] or "operation"
        if base.lower() not in self._taken:
            self._taken.add(base.lower())
            return base
        counter = 2
        while True:
            suffix = f"_{counter}"
            candidate = base[: MAX_TOOL_NAME_LENGTH - len(suffix)] + suffix
            if candidate.lower() not in self._taken:
                self._taken.add(candidate.lower())
                return candidate
            counter += 1


ARGUMENT_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")
_ARGUMENT_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_.-]+")


def sanitize_argument_name(raw: str) -> str:
    """A parameter name as a tool argument key.

    Some model APIs require argument keys to match ``^[a-zA-Z0-9_.-]{1,64}$``, while APIs
    use names such as ``filter[status]``; the original name is kept in the argument map.
    """
    if ARGUMENT_NAME_PATTERN.match(raw):
        return raw
    ascii_text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii")
    name = _ARGUMENT_INVALID_CHARS.sub("_", ascii_text).strip("_")
    return (name or "param")[:MAX_TOOL_NAME_LENGTH]

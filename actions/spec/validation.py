"""Check a document against the official OpenAPI / Swagger JSON Schemas.

Real-world specs are often slightly invalid (OpenAI's 3.0 spec uses ``type: "null"``) and
still perfectly callable, so findings here are warnings, never a refusal. Findings under
``paths`` are grouped by path item and operation so they can be shown next to the
operations they concern.

The schemas in ``oas_schemas/`` are the OpenAPI Initiative's published ones (see the README
there). Validation uses jsonschema-rs: the pure-Python ``jsonschema`` took about a second on
Stripe's 4 MB spec, jsonschema-rs a few milliseconds. It runs offline: nothing is fetched.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs

from .loading import SpecVersion

_SCHEMA_DIR = Path(__file__).parent / "oas_schemas"
_SCHEMA_FILES = {
    "2.0": "swagger-2.0.json",
    "3.0": "openapi-3.0.json",
    "3.1": "openapi-3.1.json",
    "3.2": "openapi-3.2.json",
}
MAX_MESSAGES_PER_PATH = 5
MAX_DOCUMENT_MESSAGES = 20
_MAX_MESSAGE_CHARS = 240
_MASK = "(value)"
_METHOD_KEYS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


@dataclass(frozen=True)
class ValidationFindings:
    document: tuple[str, ...] = ()  # outside ``paths``
    # path -> key inside the path item ("get", "parameters", "" for the item itself) -> messages
    paths: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def for_operation(self, path: str, method: str) -> tuple[str, ...]:
        """Findings about one operation, including those about its path item as a whole."""
        item = self.paths.get(path, {})
        return tuple(
            message
            for key, messages in item.items()
            if key == method or key not in _METHOD_KEYS
            for message in messages
        )

    @property
    def total(self) -> int:
        return len(self.document) + sum(len(m) for item in self.paths.values() for m in item.values())


def validate_structure(document: dict[str, Any], version: SpecVersion) -> ValidationFindings:
    """Validate ``document`` (as written, before any conversion) against its official schema."""
    key = "2.0" if version.is_swagger2 else f"3.{version.minor}"
    document_messages: list[str] = []
    grouped: dict[str, dict[str, list[str]]] = {}
    per_path: dict[str, int] = {}
    for error in _validator(key).iter_errors(document):
        location = list(error.instance_path)
        message = _format(_most_specific(error))
        if len(location) >= 2 and location[0] == "paths":
            path = str(location[1])
            if per_path.get(path, 0) >= MAX_MESSAGES_PER_PATH:
                continue
            per_path[path] = per_path.get(path, 0) + 1
            group = str(location[2]) if len(location) > 2 else ""
            grouped.setdefault(path, {}).setdefault(group, []).append(message)
        elif len(document_messages) < MAX_DOCUMENT_MESSAGES:
            document_messages.append(message)
    return ValidationFindings(
        document=tuple(document_messages),
        paths={
            path: {group: tuple(messages) for group, messages in groups.items()} for path, groups in grouped.items()
        },
    )


@functools.cache
def _validator(key: str) -> Any:
    schema = json.loads((_SCHEMA_DIR / _SCHEMA_FILES[key]).read_text(encoding="utf-8"))
    # ``mask`` keeps whole sub-documents out of messages ("{...4 MB...} is not valid").
    return jsonschema_rs.validator_for(schema, offline=True, mask=_MASK)


def _most_specific(error: Any, depth: int = 0) -> Any:
    """For "not valid under any of the schemas" errors, the sub-error that says the most.

    In OpenAPI's "Schema or Reference" choices the Reference branch only ever says that
    ``$ref`` is missing; the other branch, and its deepest error, is the useful one.
    """
    context = getattr(error.kind, "context", None)
    if not context or depth > 16:
        return error
    candidates = [sub for branch in context if not all(_is_missing_ref(sub) for sub in branch) for sub in branch]
    if not candidates:
        return error
    deepest = max(candidates, key=lambda sub: len(sub.instance_path))
    return _most_specific(deepest, depth + 1)


def _is_missing_ref(error: Any) -> bool:
    return '"$ref"' in error.message and "required" in error.message


def _format(error: Any) -> str:
    where = ".".join(str(part) for part in error.instance_path) or "document"
    message = error.message
    instance = error.instance
    if instance is None or isinstance(instance, (str, int, float, bool)):
        # Scalars are short and say what is wrong ("null" is not a type); objects stay masked.
        message = message.replace(_MASK, json.dumps(instance, ensure_ascii=False)[:80])
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[: _MAX_MESSAGE_CHARS - 1] + "…"
    return f"{where}: {message}"

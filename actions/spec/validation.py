"""Check a document against the official OpenAPI / Swagger JSON Schemas.

Real-world specs are often slightly invalid (OpenAI's 3.0 spec uses ``type: "null"``) and
still perfectly callable, so findings here are warnings, never a refusal. Each path item is
validated on its own so that findings can be attached to the operations they concern.

The schemas in ``oas_schemas/`` are the OpenAPI Initiative's published ones (see the README
there). Their ``$ref``s are resolved from a fixed in-memory registry: nothing is fetched.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from jsonschema_specifications import REGISTRY as METASCHEMAS
from referencing import Registry, Resource

from .loading import SpecVersion

_SCHEMA_DIR = Path(__file__).parent / "oas_schemas"
# (file, URI the schema is registered under, pointer to its Path Item definition)
_SCHEMAS = {
    "2.0": ("swagger-2.0.json", "http://swagger.io/v2/schema.json", "#/definitions/pathItem"),
    "3.0": ("openapi-3.0.json", "https://spec.openapis.org/oas/3.0/schema/2021-09-28",
            "#/definitions/PathItem"),
    "3.1": ("openapi-3.1.json", "https://spec.openapis.org/oas/3.1/schema/2022-10-07",
            "#/$defs/path-item"),
}
MAX_MESSAGES_PER_PATH = 5
MAX_DOCUMENT_MESSAGES = 20
_MAX_MESSAGE_CHARS = 240


@dataclass(frozen=True)
class ValidationFindings:
    document: tuple[str, ...] = ()  # outside ``paths``
    # path -> key inside the path item ("get", "parameters", ...) -> messages
    paths: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def for_operation(self, path: str, method: str) -> tuple[str, ...]:
        """Findings about one operation, including those about its path item as a whole."""
        item = self.paths.get(path, {})
        return tuple(message for key, messages in item.items()
                     if key == method or key not in _METHOD_KEYS for message in messages)

    @property
    def total(self) -> int:
        return len(self.document) + sum(len(m) for item in self.paths.values() for m in item.values())


_METHOD_KEYS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def validate_structure(document: dict[str, Any], version: SpecVersion) -> ValidationFindings:
    """Validate ``document`` (as written, before any conversion) against its official schema."""
    key = "2.0" if version.is_swagger2 else ("3.0" if version.minor == 0 else "3.1")
    root_validator, path_validator = _validators(key)

    paths = document.get("paths")
    # Path items are checked one by one below; the rest of the document in one go.
    rest = {**document, "paths": {}} if isinstance(paths, dict) else document
    document_messages = _messages(root_validator, rest, MAX_DOCUMENT_MESSAGES, prefix="")

    path_findings: dict[str, dict[str, tuple[str, ...]]] = {}
    if isinstance(paths, dict):
        for path, item in paths.items():
            if not isinstance(path, str) or not path.startswith("/"):
                document_messages.append(f"paths: '{path}' should start with '/'")
                continue
            grouped: dict[str, list[str]] = {}
            for error in _first_errors(path_validator, item, MAX_MESSAGES_PER_PATH):
                location = list(error.absolute_path)
                group = str(location[0]) if location else ""
                grouped.setdefault(group, []).append(_format(error, prefix=f"paths.{path}"))
            if grouped:
                path_findings[path] = {group: tuple(messages) for group, messages in grouped.items()}
    return ValidationFindings(document=tuple(document_messages), paths=path_findings)


@functools.lru_cache(maxsize=None)
def _validators(key: str) -> tuple[Validator, Validator]:
    filename, uri, path_item_pointer = _SCHEMAS[key]
    schema = json.loads((_SCHEMA_DIR / filename).read_text(encoding="utf-8"))
    resource = Resource.from_contents(schema)
    registry: Registry = METASCHEMAS.with_resource(uri, resource)
    validator_class = validator_for(schema)
    root = validator_class({"$schema": schema["$schema"], "$ref": uri}, registry=registry)
    path_item = validator_class({"$schema": schema["$schema"], "$ref": uri + path_item_pointer},
                                registry=registry)
    return root, path_item


def _first_errors(validator: Validator, instance: Any, limit: int) -> list[ValidationError]:
    errors: list[ValidationError] = []
    for error in validator.iter_errors(instance):
        errors.append(error)
        if len(errors) >= limit:
            break
    return errors


def _messages(validator: Validator, instance: Any, limit: int, *, prefix: str) -> list[str]:
    return [_format(error, prefix=prefix) for error in _first_errors(validator, instance, limit)]


def _format(error: ValidationError, *, prefix: str) -> str:
    # "not valid under any of the given schemas" says little; the best sub-error says more.
    # In "Schema or Reference" choices the Reference branch's "'$ref' is a required property"
    # is never the interesting one.
    if error.context:
        candidates = [sub for sub in error.context
                      if not (sub.validator == "required" and "$ref" in (sub.validator_value or ()))]
        error = best_match(candidates or error.context) or error
    location = ".".join(str(part) for part in error.absolute_path)
    where = ".".join(part for part in (prefix, location) if part) or "document"
    message = error.message
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[: _MAX_MESSAGE_CHARS - 1] + "…"
    return f"{where}: {message}"

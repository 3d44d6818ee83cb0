"""Turn one OpenAPI Schema Object into a clean JSON Schema (Draft 2020-12) for a tool argument.

OpenAPI 3.0 schemas are a dialect of JSON Schema draft 4 (``nullable``, boolean
``exclusiveMinimum``, ``type: file`` from Swagger 2.0); 3.1 schemas are 2020-12 already.
Tool schemas are read by a model, so everything that does not constrain or explain an
argument is dropped (``x-`` extensions, examples, ``xml``, ``discriminator``...) and only
keywords known to be valid are kept: a slightly wrong spec must still give a valid schema.

The functions here work on one node; following ``$ref``s, recursion and size limits are the
job of :mod:`actions.spec.refs`, which passes the ``expand`` callback used for sub-schemas.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

Expand = Callable[[Any], Any]
# "request": the schema of something the model sends (read-only properties are left out);
# "response": the schema of what the API returns (write-only properties are left out).
REQUEST = "request"
RESPONSE = "response"

MAX_SCHEMA_DESCRIPTION_CHARS = 1024
# Set on placeholders that stand in for sub-schemas left out because of a size budget.
TRUNCATED_MARKER = "x-switchboard-truncated"
JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})

# Keywords whose value is one schema, a list of schemas, or a map of name -> schema.
SINGLE_SCHEMA_KEYWORDS = (
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
)
SCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf")
SCHEMA_MAP_KEYWORDS = ("properties", "patternProperties", "dependentSchemas")
_SUBSCHEMA_KEYWORDS = frozenset(
    SINGLE_SCHEMA_KEYWORDS + SCHEMA_LIST_KEYWORDS + SCHEMA_MAP_KEYWORDS + ("items", "prefixItems")
)

_STRING_KEYWORDS = frozenset({"title", "format", "contentMediaType", "contentEncoding"})
_NUMBER_KEYWORDS = frozenset({"minimum", "maximum"})
_COUNT_KEYWORDS = frozenset(
    {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minContains", "maxContains"}
)
_BOOL_KEYWORDS = frozenset({"uniqueItems", "deprecated", "readOnly", "writeOnly"})
_ANY_VALUE_KEYWORDS = frozenset({"const", "default"})

# Keywords that only describe; safe to copy onto a referenced schema without changing its meaning.
ANNOTATION_KEYWORDS = frozenset(
    {
        "title",
        "description",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "example",
        "examples",
        "nullable",
        "externalDocs",
        "xml",
        "$comment",
    }
)


def clean_schema(node: dict[str, Any], expand: Expand, *, mode: str = REQUEST) -> dict[str, Any]:
    """A cleaned copy of one schema node (without ``$ref``); sub-schemas go through ``expand``."""
    out: dict[str, Any] = {}
    removed_properties: set[str] = set()
    for key, value in node.items():
        if key in _SUBSCHEMA_KEYWORDS:
            _clean_subschemas(key, value, node, out, expand, removed_properties, mode)
        elif key == "type":
            _clean_type(value, out)
        elif key == "description":
            if isinstance(value, str) and value:
                out["description"] = cap_text(value, MAX_SCHEMA_DESCRIPTION_CHARS)
        elif key in _STRING_KEYWORDS:
            if isinstance(value, str):
                out.setdefault(key, value)  # "format" may already be set by type: file
        elif key == "pattern":
            if isinstance(value, str) and is_valid_regex(value):
                out["pattern"] = value
        elif key in _NUMBER_KEYWORDS:
            if _is_number(value):
                out[key] = value
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            if _is_number(value):  # 3.1 / 2020-12 form; the 3.0 boolean form is handled below
                out[key] = value
        elif key == "multipleOf":
            if _is_number(value) and value > 0:
                out[key] = value
        elif key in _COUNT_KEYWORDS:
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                out[key] = value
        elif key in _BOOL_KEYWORDS:
            if isinstance(value, bool):
                out[key] = value
        elif key == "required":
            if isinstance(value, list):
                names = list(dict.fromkeys(item for item in value if isinstance(item, str)))
                if names:
                    out["required"] = names
        elif key == "enum":
            if isinstance(value, list):
                out["enum"] = value
        elif key in _ANY_VALUE_KEYWORDS or (
            key == "dependentRequired" and isinstance(value, dict) and all(isinstance(v, list) for v in value.values())
        ):
            out[key] = value
        # Anything else (x- extensions, example(s), xml, discriminator, externalDocs, $id,
        # nullable...) is dropped or handled below.

    if removed_properties and "required" in out:
        required = [name for name in out["required"] if name not in removed_properties]
        if required:
            out["required"] = required
        else:
            del out["required"]
    _convert_boolean_exclusive_bounds(node, out)
    if _allows_array(out.get("type")) and "items" not in out and "prefixItems" not in out:
        # Several model APIs reject array schemas without "items".
        out["items"] = {}
    if node.get("nullable") is True:
        out = make_nullable(out)
    return out


def _clean_subschemas(
    key: str,
    value: Any,
    node: dict[str, Any],
    out: dict[str, Any],
    expand: Expand,
    removed_properties: set[str],
    mode: str,
) -> None:
    if key in SCHEMA_MAP_KEYWORDS:
        if not isinstance(value, dict):
            return
        expanded: dict[str, Any] = {}
        truncated = False
        for name, child in value.items():
            if key == "patternProperties" and not is_valid_regex(name):
                continue
            result = expand(child)
            if is_truncation_marker(result):
                # Past the size budget: one placeholder says so, the remaining members are left out.
                if truncated:
                    removed_properties.add(name)
                    continue
                truncated = True
            # Read-only properties are set by the server: the model must not be asked for them;
            # write-only ones (passwords...) never come back in a response.
            hidden = "readOnly" if mode == REQUEST else "writeOnly"
            if key == "properties" and isinstance(result, dict) and result.get(hidden) is True:
                removed_properties.add(name)
                continue
            expanded[name] = result
        out[key] = expanded
    elif key in SCHEMA_LIST_KEYWORDS:
        if isinstance(value, list) and value:
            out[key] = _expand_list(value, expand)
    elif key == "items":
        if isinstance(value, list):  # draft-4 tuple form -> 2020-12 prefixItems
            out["prefixItems"] = _expand_list(value, expand)
            extra = node.get("additionalItems")
            if isinstance(extra, (dict, bool)):
                out["items"] = expand(extra)
        else:
            out["items"] = expand(value)
    elif key == "prefixItems":
        if isinstance(value, list) and value:
            out["prefixItems"] = _expand_list(value, expand)
    else:  # a single sub-schema
        out[key] = expand(value)


def _expand_list(value: list[Any], expand: Expand) -> list[Any]:
    members: list[Any] = []
    for child in value:
        result = expand(child)
        # Placeholders accept anything: a second one in allOf/anyOf/oneOf adds nothing.
        if is_truncation_marker(result) and members and is_truncation_marker(members[-1]):
            continue
        members.append(result)
    return members


def is_truncation_marker(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get(TRUNCATED_MARKER) is True


def _clean_type(value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, str):
        types = [value]
    elif isinstance(value, list):
        types = [item for item in value if isinstance(item, str)]
    else:
        return
    cleaned: list[str] = []
    for name in types:
        if name == "file":  # Swagger 2.0 form parameter type
            name = "string"
            out.setdefault("format", "binary")
        if name in JSON_TYPES and name not in cleaned:
            cleaned.append(name)
    if not cleaned:
        return
    out["type"] = cleaned[0] if isinstance(value, str) or len(cleaned) == 1 else cleaned


def _convert_boolean_exclusive_bounds(node: dict[str, Any], out: dict[str, Any]) -> None:
    # OpenAPI 3.0 / draft 4: {"minimum": 5, "exclusiveMinimum": true}; 2020-12: {"exclusiveMinimum": 5}.
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if node.get(exclusive) is True and bound in out:
            out[exclusive] = out.pop(bound)


def make_nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` that also accepts null: OpenAPI 3.0 ``nullable: true`` in JSON Schema terms."""
    schema_type = schema.get("type")
    composed = any(key in schema for key in ("allOf", "anyOf", "oneOf", "not", "const"))
    if composed or (schema_type is None and "enum" not in schema):
        if not composed:
            return schema  # no type and no enum: null is already allowed
        if set(schema) - ANNOTATION_KEYWORDS == {"anyOf"}:
            if any(_is_null_schema(option) for option in schema["anyOf"]):
                return schema
            return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
        annotations = {
            k: v for k, v in schema.items() if k in ("title", "description", "default", "deprecated", "readOnly")
        }
        rest = {k: v for k, v in schema.items() if k not in annotations}
        return {**annotations, "anyOf": [rest, {"type": "null"}]}
    out = dict(schema)
    if isinstance(schema_type, str) and schema_type != "null":
        out["type"] = [schema_type, "null"]
    elif isinstance(schema_type, list) and "null" not in schema_type:
        out["type"] = [*schema_type, "null"]
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def _is_null_schema(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _allows_array(schema_type: Any) -> bool:
    return schema_type == "array" or (isinstance(schema_type, list) and "array" in schema_type)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@functools.lru_cache(maxsize=4096)
def is_valid_regex(pattern: str) -> bool:
    # JSON Schema patterns are ECMA-262; validators in Python compile them with ``re``, and a
    # pattern ``re`` rejects would make the whole tool schema invalid.
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


def cap_text(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def schema_type_hint(schema: Any) -> dict[str, Any]:
    """The ``type`` of a schema, for placeholders that stand in for it (empty if unknown)."""
    if isinstance(schema, dict):
        schema_type = schema.get("type")
        if isinstance(schema_type, str) and schema_type in JSON_TYPES:
            return {"type": schema_type}
        if schema_type == "file":
            return {"type": "string"}
    return {}


def approx_local_size(schema: dict[str, Any]) -> int:
    """Approximate JSON size of a cleaned node, not counting its sub-schemas.

    The expander adds these up instead of serialising every node, which would be quadratic.
    """
    size = 2
    for key, value in schema.items():
        size += len(key) + 4
        if key not in _SUBSCHEMA_KEYWORDS:
            size += _approx_value_size(value)
    return size


def _approx_value_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, (list, tuple)):
        return 2 + sum(_approx_value_size(item) + 1 for item in value)
    if isinstance(value, dict):
        return 2 + sum(len(str(k)) + 4 + _approx_value_size(v) for k, v in value.items())
    return 5

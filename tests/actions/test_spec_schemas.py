from __future__ import annotations

from typing import Any

import pytest

from actions.spec.refs import ExpansionContext, RefResolver, SchemaExpander
from actions.spec.schemas import MAX_SCHEMA_DESCRIPTION_CHARS, make_nullable

from .helpers import assert_valid_json_schema


def clean(schema: Any) -> Any:
    result = SchemaExpander(RefResolver({})).expand(schema, ExpansionContext())
    assert_valid_json_schema(result)
    return result


@pytest.mark.parametrize(
    "schema, expected",
    [
        ({"type": "string", "nullable": True}, {"type": ["string", "null"]}),
        (
            {"type": "string", "enum": ["a", "b"], "nullable": True},
            {"type": ["string", "null"], "enum": ["a", "b", None]},
        ),
        ({"type": ["integer", "string"], "nullable": True}, {"type": ["integer", "string", "null"]}),
        ({"type": "null", "nullable": True}, {"type": "null"}),
        ({"nullable": True, "description": "anything"}, {"description": "anything"}),
        (
            {"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": True},
            {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
        ),
        (
            {"allOf": [{"type": "object"}], "description": "d", "nullable": True},
            {"description": "d", "anyOf": [{"allOf": [{"type": "object"}]}, {"type": "null"}]},
        ),
        (
            {"type": "object", "oneOf": [{"required": ["a"]}], "nullable": True},
            {"anyOf": [{"type": "object", "oneOf": [{"required": ["a"]}]}, {"type": "null"}]},
        ),
        ({"type": "string", "nullable": False}, {"type": "string"}),
    ],
)
def test_nullable_becomes_json_schema(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert clean(schema) == expected


def test_make_nullable_leaves_an_existing_null_option_alone() -> None:
    schema = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert make_nullable(schema) is schema


@pytest.mark.parametrize(
    "schema, expected",
    [
        ({"type": "integer", "minimum": 0, "exclusiveMinimum": True}, {"type": "integer", "exclusiveMinimum": 0}),
        ({"type": "number", "maximum": 9.5, "exclusiveMaximum": True}, {"type": "number", "exclusiveMaximum": 9.5}),
        ({"type": "integer", "minimum": 1, "exclusiveMinimum": False}, {"type": "integer", "minimum": 1}),
        ({"type": "integer", "exclusiveMinimum": 3}, {"type": "integer", "exclusiveMinimum": 3}),
    ],
)
def test_openapi_30_exclusive_bounds(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert clean(schema) == expected


def test_vendor_extensions_examples_and_presentation_keywords_are_dropped() -> None:
    result = clean(
        {
            "type": "object",
            "title": "Pet",
            "description": "A pet",
            "x-stainless-const": True,
            "example": {"name": "Rex"},
            "examples": [{"name": "Rex"}],
            "xml": {"name": "pet"},
            "externalDocs": {"url": "https://example.com"},
            "discriminator": {"propertyName": "kind"},
            "$schema": "http://json-schema.org/draft-04/schema#",
            "oneOf": [{"type": "object", "x-variant": 1, "properties": {"kind": {"const": "cat"}}}],
            "properties": {"name": {"type": "string", "x-order": 3, "deprecated": True}},
        }
    )
    assert result == {
        "type": "object",
        "title": "Pet",
        "description": "A pet",
        "oneOf": [{"type": "object", "properties": {"kind": {"const": "cat"}}}],
        "properties": {"name": {"type": "string", "deprecated": True}},
    }


def test_keywords_with_invalid_values_are_dropped_so_the_schema_stays_valid() -> None:
    result = clean(
        {
            "type": "thing",
            "required": True,
            "minLength": -1,
            "maxItems": "3",
            "pattern": "^\\p{L}+$",  # not a Python regex
            "multipleOf": 0,
            "enum": "a",
            "minimum": "0",
            "allOf": [],
            "properties": {"a": "not a schema", "b": {"type": ["string", "file", "bogus"]}},
            "patternProperties": {"[": {"type": "string"}, "^x$": {"type": "integer"}},
        }
    )
    assert result == {
        "properties": {"a": {}, "b": {"type": "string", "format": "binary"}},
        "patternProperties": {"^x$": {"type": "integer"}},
    }


def test_required_names_are_deduplicated() -> None:
    assert clean({"type": "object", "required": ["a", "a", 3, "b"]}) == {"type": "object", "required": ["a", "b"]}


def test_swagger_file_type_becomes_binary_string() -> None:
    assert clean({"type": "file"}) == {"type": "string", "format": "binary"}


def test_tuple_items_become_prefix_items() -> None:
    assert clean({"type": "array", "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": False}) == {
        "type": "array",
        "prefixItems": [{"type": "string"}, {"type": "integer"}],
        "items": False,
    }


def test_arrays_always_get_items() -> None:
    assert clean({"type": "array"}) == {"type": "array", "items": {}}
    assert clean({"type": ["array", "null"]}) == {"type": ["array", "null"], "items": {}}


def test_long_descriptions_are_capped() -> None:
    result = clean({"type": "string", "description": "word " * 1000})
    assert len(result["description"]) == MAX_SCHEMA_DESCRIPTION_CHARS
    assert result["description"].endswith("…")


def test_boolean_and_empty_schemas_pass_through() -> None:
    assert clean(True) is True
    assert clean({"type": "object", "additionalProperties": False, "properties": {"a": True}}) == {
        "type": "object",
        "additionalProperties": False,
        "properties": {"a": True},
    }
    assert clean({}) == {}


def test_31_keywords_are_kept() -> None:
    schema = {
        "type": "object",
        "properties": {
            "kind": {"const": "a"},
            "tags": {"type": "array", "items": {"type": "string"}, "contains": {"const": "x"}, "minContains": 1},
        },
        "dependentRequired": {"a": ["b"]},
        "if": {"properties": {"kind": {"const": "a"}}},
        "then": {"required": ["tags"]},
        "unevaluatedProperties": False,
        "propertyNames": {"pattern": "^[a-z]+$"},
        "contentMediaType": "application/json",
    }
    assert clean(schema) == schema

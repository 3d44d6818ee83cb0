"""Shared helpers for the spec importer tests."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema.validators import validator_for

from actions.spec import ParsedSpec, load_spec_text, parse_spec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"
SPEC_FILES = sorted(path.name for path in FIXTURES.iterdir() if path.suffix in (".json", ".yaml", ".yml"))


@functools.cache
def fixture_document(name: str) -> dict[str, Any]:
    return load_spec_text((FIXTURES / name).read_bytes())


@functools.cache
def parsed_fixture(name: str) -> ParsedSpec:
    # Parsed once per test session: the big specs take a fraction of a second each.
    return parse_spec(fixture_document(name))


def assert_valid_json_schema(schema: Any) -> None:
    """The schema is JSON data and valid JSON Schema (Draft 2020-12 unless it says otherwise)."""
    json.dumps(schema, allow_nan=False)
    validator_for(schema).check_schema(schema)


def spec(paths: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A small OpenAPI 3.0 document around ``paths``."""
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Test API", "version": "1.0"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": paths if paths is not None else {},
    }
    document.update(extra)
    return document


def operation(**fields: Any) -> dict[str, Any]:
    """An operation with a minimal response unless ``responses`` is given."""
    return {"responses": {"200": {"description": "OK"}}, **fields}

from __future__ import annotations

import json
from typing import Any

import pytest

from actions.spec import EXTERNAL_MARKER, RECURSIVE_MARKER, TRUNCATED_MARKER
from actions.spec.refs import (
    ExpansionContext,
    RefError,
    RefResolver,
    RemoteRefError,
    SchemaExpander,
    _budget_class,
    pointer_tokens,
)
from actions.spec.schemas import RESPONSE

from .helpers import assert_valid_json_schema


def schemas_doc(**schemas: Any) -> dict[str, Any]:
    return {"openapi": "3.0.0", "components": {"schemas": schemas}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def expand(
    document: dict[str, Any], schema: Any, *, mode: str = "request", **context: Any
) -> tuple[Any, ExpansionContext]:
    ctx = ExpansionContext(**context)
    return SchemaExpander(RefResolver(document), mode=mode).expand(schema, ctx), ctx


def markers(schema: Any, key: str) -> list[Any]:
    found: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if key in node:
                found.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return found


# -- pointers and lookups --------------------------------------------------------------------


@pytest.mark.parametrize(
    "pointer, tokens",
    [
        ("#", []),
        ("#/components/schemas/Pet", ["components", "schemas", "Pet"]),
        ("#/paths/~1pets~1{id}/get", ["paths", "/pets/{id}", "get"]),
        ("#/a~0b/c~01", ["a~b", "c~1"]),  # ~01 is "~1" literally, not "/"
        ("#/paths/~1pets%7Bid%7D", ["paths", "/pets{id}"]),
        ("#/x/%20y", ["x", " y"]),
    ],
)
def test_pointer_tokens(pointer: str, tokens: list[str]) -> None:
    assert pointer_tokens(pointer) == tokens


def test_lookup_follows_objects_and_list_indexes() -> None:
    document = {"paths": {"/pets/{id}": {"get": {"parameters": [{"name": "a"}, {"name": "b"}]}}}, "odd~key": {"x/y": 1}}
    resolver = RefResolver(document)
    assert resolver.lookup("#/paths/~1pets~1{id}/get/parameters/1") == {"name": "b"}
    assert resolver.lookup("#/odd~0key/x~1y") == 1
    assert resolver.lookup("#") is document


@pytest.mark.parametrize(
    "bad",
    ["#/paths/missing", "#/paths/~1pets~1{id}/get/parameters/7", "#/paths/~1pets~1{id}/get/parameters/x", "#paths", 42],
)
def test_lookup_of_missing_targets_raises(bad: Any) -> None:
    resolver = RefResolver({"paths": {"/pets/{id}": {"get": {"parameters": [{}]}}}})
    with pytest.raises(RefError):
        resolver.lookup(bad)


@pytest.mark.parametrize(
    "remote", ["other.yaml#/Pet", "https://example.com/spec.json#/components/schemas/Pet", "./common/schemas.json"]
)
def test_remote_refs_are_never_followed(remote: str) -> None:
    with pytest.raises(RemoteRefError) as excinfo:
        RefResolver({}).lookup(remote)
    assert excinfo.value.ref == remote


def test_deref_follows_chains_and_applies_siblings() -> None:
    document = {
        "components": {
            "parameters": {
                "A": {"$ref": "#/components/parameters/B", "description": "from A"},
                "B": {"name": "id", "in": "query", "description": "from B"},
            }
        }
    }
    resolver = RefResolver(document)
    assert resolver.deref({"$ref": "#/components/parameters/A"}) == {
        "name": "id",
        "in": "query",
        "description": "from A",
    }
    assert resolver.deref({"$ref": "#/components/parameters/A", "required": True})["required"] is True
    assert resolver.deref({"plain": 1}) == {"plain": 1}


def test_deref_detects_reference_loops() -> None:
    resolver = RefResolver({"a": {"$ref": "#/b"}, "b": {"$ref": "#/a"}})
    with pytest.raises(RefError, match="loop"):
        resolver.deref({"$ref": "#/a"})


# -- schema expansion ------------------------------------------------------------------------


def test_nested_refs_are_inlined_and_cleaned() -> None:
    document = schemas_doc(
        Pet={
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "example": "Rex", "x-order": 1},
                "owner": ref("Person"),
                "tags": {"type": "array", "items": ref("Tag")},
            },
        },
        Person={"type": "object", "properties": {"name": {"type": "string"}}, "xml": {"name": "person"}},
        Tag={"type": "string", "enum": ["a", "b"]},
    )
    result, ctx = expand(document, ref("Pet"))
    assert result == {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "owner": {"type": "object", "properties": {"name": {"type": "string"}}},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        },
    }
    assert not ctx.truncated and not ctx.recursive_refs


def test_self_recursion_is_cut_with_a_marker() -> None:
    document = schemas_doc(
        Node={
            "type": "object",
            "properties": {"value": {"type": "string"}, "children": {"type": "array", "items": ref("Node")}},
        }
    )
    result, ctx = expand(document, ref("Node"))
    child = result["properties"]["children"]["items"]
    assert child == {
        "type": "object",
        "description": "(recursive reference to #/components/schemas/Node — not expanded)",
        RECURSIVE_MARKER: "#/components/schemas/Node",
    }
    assert ctx.recursive_refs == {"#/components/schemas/Node"}
    assert_valid_json_schema(result)


def test_mutual_recursion_markers_only_name_schemas_expanded_above_them() -> None:
    document = schemas_doc(
        File={"type": "object", "properties": {"link": ref("FileLink"), "name": {"type": "string"}}},
        FileLink={"type": "object", "properties": {"file": ref("File"), "url": {"type": "string"}}},
        Upload={"type": "object", "properties": {"link": ref("FileLink"), "file": ref("File")}},
    )
    # Each schema is recognisable by a property only it has.
    signature = {"#/components/schemas/File": "name", "#/components/schemas/FileLink": "url"}
    expander = SchemaExpander(RefResolver(document))
    # Whatever is expanded first and memoised, a marker must never point at a schema that
    # is not expanded above it: the model would never see its fields.
    for name in ("File", "FileLink", "Upload", "FileLink", "File"):
        result = expander.expand(ref(name), ExpansionContext())
        found = 0

        def walk(node: Any, ancestors: list[dict[str, Any]], name: str = name) -> None:
            nonlocal found
            if not isinstance(node, dict):
                return
            if RECURSIVE_MARKER in node:
                found += 1
                key = signature[node[RECURSIVE_MARKER]]
                assert any(key in a.get("properties", {}) for a in ancestors), (name, node)
            for child in node.get("properties", {}).values():
                walk(child, [*ancestors, node])

        walk(result, [])
        assert found >= 1
        assert_valid_json_schema(result)


def test_expansions_are_memoised_per_reference() -> None:
    document = schemas_doc(
        Big={
            "type": "object",
            "properties": {f"field{i}": {"type": "string", "description": f"Field {i}"} for i in range(50)},
        }
    )
    resolver = RefResolver(document)
    expander = SchemaExpander(resolver)
    first = expander.expand(ref("Big"), ExpansionContext())
    work_after_first = expander.work
    second = expander.expand({"type": "array", "items": ref("Big")}, ExpansionContext())
    assert second["items"] is first
    assert expander.work - work_after_first < 100


def test_exponential_sharing_is_cut_by_the_size_budget_quickly() -> None:
    # Level n refers to level n-1 twice: fully inlined, level 40 would have 2**40 leaves.
    levels = {"L0": {"type": "string"}}
    for level in range(1, 41):
        levels[f"L{level}"] = {
            "type": "object",
            "properties": {"left": ref(f"L{level - 1}"), "right": ref(f"L{level - 1}")},
        }
    result, ctx = expand(schemas_doc(**levels), ref("L40"), max_bytes=64 * 1024)
    assert ctx.truncated
    # Cut by the budget: the output stays near the 64 kB asked for, far from 2**40 leaves.
    assert len(json.dumps(result)) < 2 * 64 * 1024
    assert markers(result, TRUNCATED_MARKER)
    assert len(json.dumps(result)) < 3 * 64 * 1024
    assert_valid_json_schema(result)


def test_depth_limit_cuts_deep_schemas() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(100):
        schema = {"type": "object", "properties": {"inner": schema}}
    result, ctx = expand({}, schema, max_depth=10)
    assert ctx.truncated and ctx.depth_cuts
    node = result
    for _ in range(11):  # the root is level 0; levels 1-10 are kept
        node = node["properties"]["inner"]
    assert node[TRUNCATED_MARKER] is True and node["type"] == "object"


def test_deep_chains_of_references_do_not_exhaust_the_stack() -> None:
    chain = {f"S{i}": {"type": "object", "properties": {"next": ref(f"S{i + 1}")}} for i in range(3000)}
    chain["S3000"] = {"type": "string"}
    result, ctx = expand(schemas_doc(**chain), ref("S0"))
    assert ctx.depth_cuts and markers(result, TRUNCATED_MARKER)


def test_external_references_become_permissive_placeholders() -> None:
    result, ctx = expand(
        schemas_doc(), {"type": "object", "properties": {"pet": {"$ref": "https://example.com/pet.json"}}}
    )
    placeholder = result["properties"]["pet"]
    assert placeholder[EXTERNAL_MARKER] == "https://example.com/pet.json"
    assert "not followed" in placeholder["description"]
    assert ctx.external_refs == {"https://example.com/pet.json"}


def test_external_references_are_reported_again_when_served_from_the_cache() -> None:
    document = schemas_doc(Pet={"type": "object", "properties": {"owner": {"$ref": "people.yaml#/Person"}}})
    expander = SchemaExpander(RefResolver(document))
    expander.expand(ref("Pet"), ExpansionContext())
    second = ExpansionContext()
    expander.expand(ref("Pet"), second)
    assert second.external_refs == {"people.yaml#/Person"}


def test_broken_references_raise() -> None:
    with pytest.raises(RefError, match="Missing"):
        expand(schemas_doc(), {"type": "object", "properties": {"x": ref("Missing")}})


def test_siblings_of_a_ref() -> None:
    document = schemas_doc(Id={"type": "string", "description": "An id"})
    described, _ = expand(document, {"$ref": "#/components/schemas/Id", "description": "The owner"})
    assert described == {"type": "string", "description": "The owner"}
    nullable, _ = expand(document, {"$ref": "#/components/schemas/Id", "nullable": True})
    assert nullable == {"type": ["string", "null"], "description": "An id"}
    constrained, _ = expand(document, {"$ref": "#/components/schemas/Id", "maxLength": 5})
    assert constrained == {"maxLength": 5, "allOf": [{"type": "string", "description": "An id"}]}


def test_read_only_properties_are_left_out_of_requests_and_write_only_out_of_responses() -> None:
    document = schemas_doc(
        User={
            "type": "object",
            "required": ["id", "name", "password"],
            "properties": {
                "id": {"type": "string", "readOnly": True},
                "name": {"type": "string"},
                "password": {"type": "string", "writeOnly": True},
                "created": {"allOf": [ref("Timestamp")], "readOnly": True},
            },
        },
        Timestamp={"type": "string", "format": "date-time"},
    )
    request, _ = expand(document, ref("User"))
    assert set(request["properties"]) == {"name", "password"}
    assert request["required"] == ["name", "password"]
    response, _ = expand(document, ref("User"), mode=RESPONSE)
    assert set(response["properties"]) == {"id", "name", "created"}
    assert response["required"] == ["id", "name"]


def test_truncation_placeholders_are_not_repeated_for_every_remaining_property() -> None:
    document = schemas_doc(
        Wide={
            "type": "object",
            "properties": {f"p{i}": {"type": "string", "description": "x" * 200} for i in range(200)},
        }
    )
    result, ctx = expand(document, ref("Wide"), max_bytes=4096)
    placeholders = [v for v in result["properties"].values() if v.get(TRUNCATED_MARKER)]
    assert ctx.truncated and len(placeholders) == 1
    assert len(json.dumps(result)) < 8 * 1024


def test_a_truncated_reference_taints_the_operation_even_when_cached() -> None:
    document = schemas_doc(
        Wide={
            "type": "object",
            "properties": {f"p{i}": {"type": "string", "description": "x" * 200} for i in range(1000)},
        }
    )
    expander = SchemaExpander(RefResolver(document))
    first = ExpansionContext()
    expander.expand(ref("Wide"), first)
    second = ExpansionContext()
    expander.expand(ref("Wide"), second)
    assert first.truncated and second.truncated


@pytest.mark.parametrize(
    "remaining, expected",
    [(200_000, 128 * 1024), (128 * 1024, 128 * 1024), (128 * 1024 - 1, 96 * 1024), (50_000, 41_472)],
)
def test_budget_classes(remaining: int, expected: int) -> None:
    assert _budget_class(remaining, 128 * 1024) == expected

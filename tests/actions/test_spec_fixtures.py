"""Every real-world spec in tests/fixtures/openapi imports sensibly (see SOURCES.md there)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from actions.spec import (
    MAX_DESCRIPTION_CHARS,
    RECURSIVE_MARKER,
    ArgumentSource,
    ParsedOperation,
    parse_spec_text,
)

from .helpers import FIXTURES, SPEC_FILES, assert_valid_json_schema, parsed_fixture

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

# Operation counts from SOURCES.md (webhooks are reported, not imported).
EXPECTED_OPERATIONS = {
    "amap-poi-3.1.yaml": 2,
    "discord-api-v10.json": 242,
    "fastapi-private-gpt-openapi.json": 11,
    "oai-v2.0-petstore.json": 3,
    "oai-v2.0-uber.yaml": 5,
    "oai-v3.0-callback-example.yaml": 1,
    "oai-v3.0-link-example.yaml": 6,
    "oai-v3.0-petstore-expanded.yaml": 4,
    "oai-v3.0-uspto.yaml": 3,
    "oai-v3.1-webhook-example.yaml": 0,
    "openai-api.yaml": 148,
    "stripe-spec3.json": 417,
}
LARGE = {"discord-api-v10.json", "openai-api.yaml", "stripe-spec3.json"}


def test_every_fixture_is_covered() -> None:
    assert set(SPEC_FILES) == set(EXPECTED_OPERATIONS)
    assert (FIXTURES / "SOURCES.md").exists()


@pytest.mark.parametrize("name", SPEC_FILES)
def test_fixture_imports_with_a_sensible_report(name: str) -> None:
    parsed = parsed_fixture(name)
    assert len(parsed.operations) == EXPECTED_OPERATIONS[name]
    operation_entries = [e for e in parsed.report if e.kind == "operation"]
    assert [e.status for e in operation_entries if e.status == "skipped"] == []
    assert [(e.method, e.path) for e in operation_entries] == [(op.method, op.path) for op in parsed.operations]
    assert all(e.kind in ("operation", "webhook") for e in parsed.report)
    counts = parsed.counts
    assert counts.importable == EXPECTED_OPERATIONS[name]
    assert counts.imported >= counts.imported_with_warnings  # warnings are the exception
    assert parsed.title and parsed.version


@pytest.mark.parametrize("name", SPEC_FILES)
def test_fixture_tool_names_are_valid_and_unique(name: str) -> None:
    names = [op.name for op in parsed_fixture(name).operations]
    assert all(NAME.match(n) for n in names), names
    assert len({n.lower() for n in names}) == len(names)


@pytest.mark.parametrize("name", SPEC_FILES)
def test_fixture_input_schemas_are_valid_json_schema(name: str) -> None:
    for op in parsed_fixture(name).operations:
        schema = op.input_schema
        assert_valid_json_schema(schema)
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert set(schema["properties"]) == set(op.arguments)
        assert set(schema.get("required", [])) <= set(schema["properties"])
        assert op.schema_size == len(json.dumps(schema, ensure_ascii=False, separators=(",", ":")).encode())
        _assert_arguments_match_parameters(op)


@pytest.mark.parametrize("name", SPEC_FILES)
def test_fixture_output_schemas_are_valid_json_schema(name: str) -> None:
    operations = [op for op in parsed_fixture(name).operations if op.output_schema is not None]
    if name in LARGE:
        # Checking the meta-schema is slow in pure Python: a spread sample is enough here.
        operations = operations[::15]
    assert operations or name in ("amap-poi-3.1.yaml", "oai-v3.1-webhook-example.yaml")
    for op in operations:
        assert_valid_json_schema(op.output_schema)


@pytest.mark.parametrize("name", SPEC_FILES)
def test_fixture_descriptions_are_present_and_capped(name: str) -> None:
    for op in parsed_fixture(name).operations:
        assert 0 < len(op.description) <= MAX_DESCRIPTION_CHARS
        assert "<p>" not in op.description


def _assert_arguments_match_parameters(op: ParsedOperation) -> None:
    sources = [(s.location, s.name) for s in op.arguments.values() if s.location != "body"]
    assert sorted(sources) == sorted((p.location, p.name) for p in op.parameters)
    assert ("body" in op.arguments) == (op.request_body is not None)


# -- specific fixtures -----------------------------------------------------------------------


def test_uber_swagger2_yaml() -> None:
    parsed = parsed_fixture("oai-v2.0-uber.yaml")
    assert parsed.spec_version == "2.0"
    assert parsed.server_url == "https://api.uber.com/v1"
    assert [op.name for op in parsed.operations] == [
        "get_products",
        "get_estimates_price",
        "get_estimates_time",
        "get_me",
        "get_history",
    ]
    scheme = parsed.security_schemes["apikey"]
    assert (scheme.type, scheme.name, scheme.location) == ("apiKey", "server_token", "query")
    products = parsed.operation("get_products")
    assert [r.schemes for r in products.security] == [{"apikey": ()}]
    assert parsed.operation("get_me").security == ()
    assert products.input_schema["properties"]["latitude"] == {
        "type": "number",
        "format": "double",
        "description": "Latitude component of location.",
    }
    assert products.input_schema["required"] == ["latitude", "longitude"]
    assert not any(op.consequential for op in parsed.operations)
    assert products.output_schema["type"] == "array"


def test_swagger2_petstore_json() -> None:
    parsed = parsed_fixture("oai-v2.0-petstore.json")
    assert parsed.server_url == "http://petstore.swagger.io/v1"
    assert [op.name for op in parsed.operations] == ["listPets", "createPets", "showPetById"]
    assert parsed.operation("showPetById").arguments == {"petId": ArgumentSource("path", "petId")}
    assert parsed.operation("createPets").consequential


def test_petstore_expanded() -> None:
    parsed = parsed_fixture("oai-v3.0-petstore-expanded.yaml")
    find = parsed.operation("findPets")
    tags = next(p for p in find.parameters if p.name == "tags")
    assert (tags.style, tags.explode, tags.schema) == ("form", True, {"type": "array", "items": {"type": "string"}})
    add = parsed.operation("addPet")
    assert add.request_body.required and add.input_schema["required"] == ["body"]
    assert add.input_schema["properties"]["body"]["required"] == ["name"]
    # Pet = NewPet + id, kept as allOf
    pet = parsed.operation("find_pet_by_id").output_schema
    assert [part["required"] for part in pet["allOf"]] == [["name"], ["id"]]
    assert parsed.operation("deletePet").consequential


def test_uspto_server_variables_and_form_body() -> None:
    parsed = parsed_fixture("oai-v3.0-uspto.yaml")
    assert parsed.server_url == "https://developer.uspto.gov/ds-api"
    assert parsed.servers[0].template == "{scheme}://developer.uspto.gov/ds-api"
    assert [op.name for op in parsed.operations] == ["list-data-sets", "list-searchable-fields", "perform-search"]
    search = parsed.operation("perform-search")
    assert search.request_body.content_type == "application/x-www-form-urlencoded"
    assert search.input_schema["properties"]["body"]["required"] == ["criteria"]
    assert search.consequential  # a POST, even though it only searches


def test_callback_example() -> None:
    parsed = parsed_fixture("oai-v3.0-callback-example.yaml")
    (op,) = parsed.operations
    assert op.name == "post_streams"
    assert any("onData" in note for note in op.notes)
    assert op.input_schema["properties"]["callbackUrl"]["format"] == "uri"
    assert [n.code for n in parsed.warnings] == ["missing_servers"]


def test_link_example() -> None:
    parsed = parsed_fixture("oai-v3.0-link-example.yaml")
    assert [op.name for op in parsed.operations] == [
        "getUserByName",
        "getRepositoriesByOwner",
        "getRepository",
        "getPullRequestsByRepository",
        "getPullRequestsById",
        "mergePullRequest",
    ]
    assert "missing_servers" in [n.code for n in parsed.warnings]


def test_webhook_only_31_spec() -> None:
    parsed = parsed_fixture("oai-v3.1-webhook-example.yaml")
    assert parsed.operations == []
    assert [(e.kind, e.status, e.method, e.path, e.reason) for e in parsed.report] == [
        ("webhook", "skipped", "POST", "newPet", "webhook, not callable")
    ]
    assert parsed.counts.skipped == 1


def test_amap_chinese_spec_without_responses() -> None:
    parsed = parsed_fixture("amap-poi-3.1.yaml")
    assert parsed.title == "高德地图"
    assert parsed.server_url == "https://restapi.amap.com/v5/place"
    coordinate = parsed.operation("get_location_coordinate")
    assert coordinate.description == "根据POI名称，获得POI的经纬度坐标"
    assert coordinate.input_schema == {
        "type": "object",
        "properties": {
            "keywords": {"type": "string", "description": "POI名称，必须是中文"},
            "region": {"type": "string", "description": "POI所在的区域名，必须是中文"},
        },
        "required": ["keywords"],
        "additionalProperties": False,
    }
    assert coordinate.responses == () and coordinate.output_schema is None
    assert parsed.operation("search_nearby_pois").description == "搜索给定坐标附近的POI"
    assert all(entry.status == "imported" for entry in parsed.report)


def test_fastapi_private_gpt() -> None:
    parsed = parsed_fixture("fastapi-private-gpt-openapi.json")
    assert [n.code for n in parsed.warnings] == ["missing_servers"]
    upload = parsed.operation("ingest_file_v1_ingest_file_post")
    assert upload.request_body.content_type == "multipart/form-data"
    assert upload.request_body.required
    assert upload.input_schema["properties"]["body"]["properties"]["file"]["format"] == "binary"
    assert upload.input_schema["properties"]["body"]["required"] == ["file"]
    assert any("'file'" in note for note in upload.notes)
    deprecated = parsed.operation("ingest_v1_ingest_post")
    assert deprecated.deprecated and not parsed.operation("ingest_text_v1_ingest_text_post").deprecated
    # FastAPI's anyOf-null optionals survive as they are
    messages = parsed.operation("chat_completion_v1_chat_completions_post").input_schema["properties"]["body"]
    content = messages["properties"]["messages"]["items"]["properties"]["content"]
    assert content["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert parsed.operation("delete_ingested_v1_ingest__doc_id__delete").arguments == {
        "doc_id": ArgumentSource("path", "doc_id")
    }
    assert parsed.operation("health_health_get").consequential is False


def test_discord() -> None:
    parsed = parsed_fixture("discord-api-v10.json")
    bot = parsed.security_schemes["BotToken"]
    assert (bot.type, bot.name, bot.location) == ("apiKey", "Authorization", "header")
    oauth = parsed.security_schemes["OAuth2"]
    assert {flow.kind for flow in oauth.flows} >= {"implicit", "clientCredentials", "authorizationCode"}
    assert any(flow.token_url for flow in oauth.flows)
    message = parsed.operation("create_message")
    assert message.request_body.content_type == "application/json"
    assert set(message.request_body.alternatives) == {"application/x-www-form-urlencoded", "multipart/form-data"}
    assert parsed.operation("create_guild_sticker").request_body.content_type == "multipart/form-data"
    assert "too_many_operations" in [n.code for n in parsed.warnings]
    assert all(op.schema_size <= 160 * 1024 for op in parsed.operations)


def test_openai_imports_despite_schema_errors() -> None:
    parsed = parsed_fixture("openai-api.yaml")
    codes = [n.code for n in parsed.warnings]
    assert "invalid_document" in codes  # e.g. type: "null" in a 3.0 document
    assert any('"null"' in n.message for n in parsed.warnings)
    assert parsed.security_schemes["ApiKeyAuth"].scheme == "bearer"
    assert parsed.operation("createFile").request_body.content_type == "multipart/form-data"
    chat = parsed.operation("createChatCompletion")
    assert chat.request_body.content_type == "application/json"
    # the 3.0 quirk becomes valid 2020-12: anyOf members with type "null" pass check_schema
    assert_valid_json_schema(chat.input_schema)


def test_stripe_form_bodies_and_recursion() -> None:
    parsed = parsed_fixture("stripe-spec3.json")
    assert {k: (s.type, s.scheme) for k, s in parsed.security_schemes.items()} == {
        "basicAuth": ("http", "basic"),
        "bearerAuth": ("http", "bearer"),
    }
    customers = parsed.operation("PostCustomers")
    assert customers.request_body.content_type == "application/x-www-form-urlencoded"
    body = customers.input_schema["properties"]["body"]
    assert {"email", "address", "metadata"} <= set(body["properties"])
    assert customers.description == "Creates a new customer object."
    # GETs carry an empty form body in the spec: no "body" argument for them
    get_customer = parsed.operation("GetCustomersCustomer")
    assert get_customer.request_body is None and set(get_customer.arguments) == {"customer", "expand"}
    assert parsed.operation("PostFiles").request_body.content_type == "multipart/form-data"
    # file -> links -> file_link -> file is cut where it repeats
    file_output = json.dumps(parsed.operation("GetFilesFile").output_schema)
    assert f'"{RECURSIVE_MARKER}": "#/components/schemas/file"' in file_output
    assert "recursive reference to #/components/schemas/file" in file_output
    big = [op for op in parsed.operations if any("large" in w for w in op.warnings)]
    assert 0 < len(big) < 30


def test_stripe_loads_and_parses() -> None:
    text = (FIXTURES / "stripe-spec3.json").read_bytes()
    parsed = parse_spec_text(text)
    assert len(parsed.operations) == 417


def _schemas(schema: Any) -> Any:
    """Every schema inside ``schema`` (maps of properties are walked, not reported)."""
    if not isinstance(schema, dict):
        return
    yield schema
    for key in ("properties", "patternProperties", "dependentSchemas"):
        for child in schema.get(key, {}).values():
            yield from _schemas(child)
    for key in ("allOf", "anyOf", "oneOf", "prefixItems"):
        for child in schema.get(key, []):
            yield from _schemas(child)
    for key in ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else"):
        yield from _schemas(schema.get(key))


@pytest.mark.parametrize("name", sorted(LARGE))
def test_large_fixture_schemas_carry_no_openapi_only_keywords(name: str) -> None:
    banned = {"nullable", "discriminator", "example", "examples", "xml", "externalDocs"}
    checked = 0
    for op in parsed_fixture(name).operations:
        for schema in _schemas(op.input_schema):
            checked += 1
            assert not set(schema) & banned, (op.name, set(schema) & banned)
            extensions = [k for k in schema if k.startswith("x-") and not k.startswith("x-switchboard-")]
            assert not extensions, (op.name, extensions)
    assert checked > 1000

from __future__ import annotations

import copy
import gc
import json
import re
from typing import Any

import pytest

from actions.spec import (
    LARGE_SCHEMA_BYTES,
    MAX_DESCRIPTION_CHARS,
    MAX_ENABLED_TOOLS,
    ArgumentSource,
    ReportCounts,
    SpecError,
    count_report,
    parse_spec,
    parse_spec_text,
)
from actions.spec import operations as operations_module

from .helpers import assert_valid_json_schema, operation, spec
from .synthetic import synthetic_spec, synthetic_spec_text

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def only_operation(document: dict[str, Any]) -> Any:
    parsed = parse_spec(document)
    assert len(parsed.operations) == 1, parsed.report
    return parsed.operations[0]


def warning_codes(parsed: Any) -> list[str]:
    return [notice.code for notice in parsed.warnings]


# -- document level --------------------------------------------------------------------------


def test_info_servers_and_basic_operation() -> None:
    parsed = parse_spec(
        spec(
            {"/pets": {"get": operation(operationId="listPets", summary="List pets")}},
            info={"title": " Pets ", "version": 2, "description": "All the pets"},
        )
    )
    assert (parsed.title, parsed.version, parsed.description) == ("Pets", "2", "All the pets")
    assert parsed.spec_version == "3.0.3"
    assert parsed.server_url == "https://api.example.com"
    # info.version must be a string: worth a warning, not a refusal
    assert [n.message for n in parsed.warnings] == ['info.version: 2 is not of type "string"']
    op = parsed.operations[0]
    assert (op.name, op.method, op.path, op.summary) == ("listPets", "GET", "/pets", "List pets")
    assert op.input_schema == {"type": "object", "properties": {}, "additionalProperties": False}
    assert parsed.report[0].status == "imported" and parsed.report[0].name == "listPets"
    assert parsed.operation("listPets") is op
    with pytest.raises(KeyError):
        parsed.operation("nope")


def test_parse_spec_refuses_non_openapi_input() -> None:
    with pytest.raises(SpecError) as excinfo:
        parse_spec({"swagger": "1.2", "apis": []})
    assert excinfo.value.code == "unsupported_version"
    with pytest.raises(SpecError) as excinfo:
        parse_spec(["not", "a", "dict"])  # type: ignore[arg-type]
    assert excinfo.value.code == "not_an_object"


def test_parse_spec_text_loads_and_parses() -> None:
    parsed = parse_spec_text(json.dumps(spec({"/a": {"get": operation()}})), server_url="https://other.example/")
    assert parsed.server_url == "https://other.example"
    with pytest.raises(SpecError):
        parse_spec_text("not: [valid")


def test_missing_paths_and_empty_path_items_are_fine() -> None:
    document = spec()
    del document["paths"]
    assert parse_spec(document).operations == []
    parsed = parse_spec(spec({"/a": {}, "/b": {"parameters": [], "summary": "nothing"}}))
    assert parsed.operations == [] and parsed.report == []


def test_the_input_document_is_not_modified() -> None:
    document = spec(
        {
            "/pets/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "patch": operation(
                    requestBody={"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}
                ),
            }
        },
        components={
            "parameters": {"Id": {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}},
            "schemas": {
                "Pet": {
                    "type": "object",
                    "nullable": True,
                    "properties": {
                        "id": {"type": "string", "readOnly": True},
                        "self": {"$ref": "#/components/schemas/Pet"},
                    },
                }
            },
        },
    )
    before = copy.deepcopy(document)
    parse_spec(document)
    assert document == before


def test_documents_built_in_code_with_non_string_keys_still_import() -> None:
    document = spec(
        {
            "/a": {
                "get": {
                    "responses": {
                        200: {"description": "ok", "content": {"application/json": {"schema": {"type": "string"}}}}
                    }
                }
            }
        }
    )
    parsed = parse_spec(document)
    assert parsed.operations[0].output_schema == {"type": "string"}
    assert [r.status for r in parsed.operations[0].responses] == ["200"]
    assert "invalid_document" in warning_codes(parsed)


def test_gc_is_enabled_again_after_parsing() -> None:
    assert gc.isenabled()
    parse_spec(spec({"/a": {"get": operation()}}))
    assert gc.isenabled()


# -- servers ---------------------------------------------------------------------------------


def test_server_variables_are_substituted_with_defaults() -> None:
    parsed = parse_spec(
        spec(
            servers=[
                {
                    "url": "{scheme}://{region}.api.example.com/{version}/",
                    "description": "Regional",
                    "variables": {
                        "scheme": {"enum": ["https", "http"], "default": "https"},
                        "region": {"default": "eu", "description": "Region"},
                        "version": {"enum": ["v2", "v1"]},
                    },
                },
                {"url": "https://backup.example.com"},
            ]
        )
    )
    first = parsed.servers[0]
    assert first.url == "https://eu.api.example.com/v2"
    assert first.template == "{scheme}://{region}.api.example.com/{version}/"
    assert first.description == "Regional"
    assert [(v.name, v.default, v.enum) for v in first.variables] == [
        ("scheme", "https", ("https", "http")),
        ("region", "eu", ()),
        ("version", "v2", ("v2", "v1")),
    ]
    assert parsed.server_url == "https://eu.api.example.com/v2"
    # OpenAPI requires a default; the first enum value stands in for it
    assert [n.message for n in parsed.warnings] == ['servers.0.variables.version: "default" is a required property']


def test_missing_servers_is_a_warning() -> None:
    document = spec({"/a": {"get": operation()}})
    del document["servers"]
    parsed = parse_spec(document)
    assert parsed.server_url is None
    assert warning_codes(parsed) == ["missing_servers"]
    assert len(parsed.operations) == 1
    assert parse_spec(document, server_url="https://api.example.org").warnings == []


def test_relative_server_urls_are_kept_with_a_warning() -> None:
    parsed = parse_spec(spec(servers=[{"url": "/api/v3"}]))
    assert parsed.server_url == "/api/v3" and parsed.servers[0].is_relative
    assert warning_codes(parsed) == ["relative_server_url"]


def test_server_variable_without_default_is_reported() -> None:
    parsed = parse_spec(spec(servers=[{"url": "https://{tenant}.example.com"}]))
    assert parsed.server_url == "https://{tenant}.example.com"
    assert "server_variable_without_default" in warning_codes(parsed)


def test_invalid_servers_are_ignored_with_a_notice() -> None:
    parsed = parse_spec(spec(servers=[{"description": "no url"}, {"url": "https://ok.example.com"}]), validate=False)
    assert parsed.server_url == "https://ok.example.com"
    assert warning_codes(parsed) == ["invalid_server"]


def test_path_and_operation_level_servers_override() -> None:
    parsed = parse_spec(
        spec(
            {
                "/files": {
                    "servers": [{"url": "https://files.example.com/"}],
                    "get": operation(operationId="listFiles"),
                    "post": operation(operationId="upload", servers=[{"url": "https://upload.example.com"}]),
                },
                "/plain": {"get": operation(operationId="plain")},
            }
        )
    )
    urls = {op.name: op.server_url for op in parsed.operations}
    assert urls == {"listFiles": "https://files.example.com", "upload": "https://upload.example.com", "plain": None}


# -- tool names ------------------------------------------------------------------------------


def test_names_from_method_and_path_when_there_is_no_operation_id() -> None:
    parsed = parse_spec(
        spec(
            {
                "/products/{product_id}": {"get": operation(), "delete": operation()},
                "/": {"get": operation()},
                "/v1/user-profiles/{id}.json": {"put": operation()},
            }
        )
    )
    assert [op.name for op in parsed.operations] == [
        "get_products_by_product_id",
        "delete_products_by_product_id",
        "get_root",
        "put_v1_user-profiles_by_id_json",
    ]


@pytest.mark.parametrize(
    "operation_id, expected",
    [
        ("getPet", "getPet"),
        ("list-data-sets", "list-data-sets"),
        ("pets.list", "pets_list"),
        ("Get pet by id", "Get_pet_by_id"),
        ("créerAnimal", "creerAnimal"),
        ("2fa/enable", "op_2fa_enable"),
        ("a" * 80, "a" * 64),
    ],
)
def test_operation_ids_are_sanitised(operation_id: str, expected: str) -> None:
    assert only_operation(spec({"/x": {"post": operation(operationId=operation_id)}})).name == expected


def test_non_ascii_operation_ids_fall_back_to_a_readable_path_name() -> None:
    op = only_operation(spec({"/poi/search": {"get": operation(operationId="搜索地点")}}))
    assert op.name == "get_poi_search"
    assert op.operation_id == "搜索地点"
    assert any("搜索地点" in note for note in op.notes)


def test_names_are_unique_and_explicit_operation_ids_win() -> None:
    parsed = parse_spec(
        spec(
            {
                "/items": {"get": operation()},  # would be get_items
                "/other": {"get": operation(operationId="get_items")},
                "/dup1": {"get": operation(operationId="fetch")},
                "/dup2": {"get": operation(operationId="fetch")},
                "/dup3": {"get": operation(operationId="FETCH")},
            }
        )
    )
    names = {op.path: op.name for op in parsed.operations}
    assert names == {
        "/other": "get_items",
        "/items": "get_items_2",
        "/dup1": "fetch",
        "/dup2": "fetch_2",
        "/dup3": "FETCH_3",
    }
    dup2 = next(op for op in parsed.operations if op.path == "/dup2")
    assert any("used more than once" in w for w in dup2.warnings)


def test_long_duplicate_names_stay_within_64_characters() -> None:
    long_id = "x" * 70
    parsed = parse_spec(
        spec({"/a": {"get": operation(operationId=long_id)}, "/b": {"get": operation(operationId=long_id)}})
    )
    names = [op.name for op in parsed.operations]
    assert names == ["x" * 64, "x" * 62 + "_2"]
    assert all(NAME.match(name) for name in names)


# -- arguments -------------------------------------------------------------------------------


def test_parameters_and_body_make_one_argument_object() -> None:
    op = only_operation(
        spec(
            {
                "/users/{user_id}/posts": {
                    "post": operation(
                        parameters=[
                            {
                                "name": "user_id",
                                "in": "path",
                                "required": True,
                                "schema": {"type": "integer"},
                                "description": "User",
                            },
                            {"name": "draft", "in": "query", "schema": {"type": "boolean", "default": False}},
                            {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                            {"name": "session", "in": "cookie", "required": True, "schema": {"type": "string"}},
                        ],
                        requestBody={
                            "required": True,
                            "description": "The post",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["title"],
                                        "properties": {"title": {"type": "string"}},
                                    }
                                }
                            },
                        },
                    )
                }
            }
        )
    )
    assert op.input_schema == {
        "type": "object",
        "properties": {
            "user_id": {"type": "integer", "description": "User"},
            "draft": {"type": "boolean", "default": False},
            "X-Trace": {"type": "string"},
            "session": {"type": "string"},
            "body": {
                "type": "object",
                "required": ["title"],
                "properties": {"title": {"type": "string"}},
                "description": "The post",
            },
        },
        "required": ["user_id", "session", "body"],
        "additionalProperties": False,
    }
    assert op.arguments == {
        "user_id": ArgumentSource("path", "user_id"),
        "draft": ArgumentSource("query", "draft"),
        "X-Trace": ArgumentSource("header", "X-Trace"),
        "session": ArgumentSource("cookie", "session"),
        "body": ArgumentSource("body", ""),
    }
    assert [(p.name, p.location, p.style, p.explode) for p in op.parameters] == [
        ("user_id", "path", "simple", False),
        ("draft", "query", "form", True),
        ("X-Trace", "header", "simple", False),
        ("session", "cookie", "form", True),
    ]
    assert op.request_body.required and op.request_body.content_type == "application/json"
    assert_valid_json_schema(op.input_schema)


def test_same_name_in_two_locations_gets_location_prefixes() -> None:
    op = only_operation(
        spec(
            {
                "/items/{id}": {
                    "get": operation(
                        parameters=[
                            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                            {"name": "id", "in": "query", "schema": {"type": "integer"}},
                            {"name": "id", "in": "header", "schema": {"type": "string"}},
                            {"name": "other", "in": "query", "schema": {"type": "string"}},
                        ]
                    )
                }
            }
        )
    )
    assert op.arguments == {
        "path__id": ArgumentSource("path", "id"),
        "query__id": ArgumentSource("query", "id"),
        "header__id": ArgumentSource("header", "id"),
        "other": ArgumentSource("query", "other"),
    }
    assert list(op.input_schema["properties"]) == ["path__id", "query__id", "other", "header__id"]
    assert op.input_schema["required"] == ["path__id"]


def test_a_parameter_called_body_is_prefixed_only_when_there_is_a_body() -> None:
    with_body = only_operation(
        spec(
            {
                "/a": {
                    "post": operation(
                        parameters=[{"name": "body", "in": "query", "schema": {"type": "string"}}],
                        requestBody={"content": {"application/json": {"schema": {"type": "object"}}}},
                    )
                }
            }
        )
    )
    assert with_body.arguments == {"query__body": ArgumentSource("query", "body"), "body": ArgumentSource("body", "")}
    without_body = only_operation(
        spec({"/a": {"get": operation(parameters=[{"name": "body", "in": "query", "schema": {"type": "string"}}])}})
    )
    assert without_body.arguments == {"body": ArgumentSource("query", "body")}


def test_generated_names_never_collide_with_real_ones() -> None:
    op = only_operation(
        spec(
            {
                "/a": {
                    "get": operation(
                        parameters=[
                            {"name": "query__id", "in": "query", "schema": {"type": "string"}},
                            {"name": "id", "in": "query", "schema": {"type": "string"}},
                            {"name": "id", "in": "header", "schema": {"type": "string"}},
                        ]
                    )
                }
            }
        )
    )
    assert len(op.arguments) == 3
    assert sorted((s.location, s.name) for s in op.arguments.values()) == [
        ("header", "id"),
        ("query", "id"),
        ("query", "query__id"),
    ]
    assert set(op.arguments) == set(op.input_schema["properties"])


def test_parameter_names_that_model_apis_reject_are_made_safe() -> None:
    op = only_operation(
        spec(
            {
                "/a": {
                    "get": operation(
                        parameters=[
                            {"name": "filter[status]", "in": "query", "schema": {"type": "string"}},
                            {"name": "page size", "in": "query", "schema": {"type": "integer"}},
                            {"name": "_id", "in": "query", "schema": {"type": "string"}},
                        ]
                    )
                }
            }
        )
    )
    assert op.arguments == {
        "filter_status": ArgumentSource("query", "filter[status]"),
        "page_size": ArgumentSource("query", "page size"),
        "_id": ArgumentSource("query", "_id"),
    }


def test_path_level_parameters_are_inherited_and_overridden() -> None:
    op = only_operation(
        spec(
            {
                "/pets/{id}": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                        {"name": "lang", "in": "query", "schema": {"type": "string"}, "description": "path-level"},
                    ],
                    "get": operation(
                        parameters=[
                            {
                                "name": "lang",
                                "in": "query",
                                "schema": {"type": "string"},
                                "description": "operation-level",
                            }
                        ]
                    ),
                }
            }
        )
    )
    assert [p.name for p in op.parameters] == ["id", "lang"]
    assert op.parameters[1].description == "operation-level"


def test_parameters_by_reference_and_content() -> None:
    op = only_operation(
        spec(
            {
                "/a": {
                    "get": operation(
                        parameters=[
                            {"$ref": "#/components/parameters/Limit"},
                            {
                                "name": "filter",
                                "in": "query",
                                "content": {
                                    "application/json": {
                                        "schema": {"type": "object", "properties": {"q": {"type": "string"}}}
                                    }
                                },
                            },
                            {"name": "loose", "in": "query"},
                        ]
                    )
                }
            },
            components={"parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"type": "integer"}}}},
        ),
    )
    by_name = {p.name: p for p in op.parameters}
    assert by_name["limit"].schema == {"type": "integer"}
    assert by_name["filter"].content_type == "application/json"
    assert by_name["filter"].schema["properties"] == {"q": {"type": "string"}}
    assert by_name["loose"].schema == {"type": "string"}
    assert any("'loose' has no schema" in w for w in op.warnings)


def test_path_parameters_are_always_required_and_undeclared_ones_are_added() -> None:
    op = only_operation(
        spec(
            {
                "/orgs/{org}/repos/{repo}": {
                    "get": operation(
                        parameters=[
                            {"name": "org", "in": "path", "schema": {"type": "string"}},
                            {"name": "repository", "in": "path", "required": True, "schema": {"type": "string"}},
                        ]
                    )
                }
            }
        )
    )
    assert [(p.name, p.required) for p in op.parameters] == [("org", True), ("repo", True)]
    assert op.input_schema["required"] == ["org", "repo"]
    assert any("'repo' is not declared" in w for w in op.warnings)
    assert any("'repository'" in w and "dropped" in w for w in op.warnings)


def test_reserved_headers_are_ignored() -> None:
    op = only_operation(
        spec(
            {
                "/a": {
                    "get": operation(
                        parameters=[
                            {"name": "Authorization", "in": "header", "schema": {"type": "string"}},
                            {"name": "accept", "in": "header", "schema": {"type": "string"}},
                            {"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}},
                        ]
                    )
                }
            }
        )
    )
    assert list(op.arguments) == ["X-Request-Id"]
    assert len([n for n in op.notes if "ignored" in n]) == 2


# -- request bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_types, chosen",
    [
        (["multipart/form-data", "application/x-www-form-urlencoded", "application/json"], "application/json"),
        (["multipart/form-data", "application/x-www-form-urlencoded"], "application/x-www-form-urlencoded"),
        (["application/xml", "multipart/form-data"], "multipart/form-data"),
        (["application/merge-patch+json", "application/x-www-form-urlencoded"], "application/merge-patch+json"),
        (["application/json; charset=utf-8", "text/plain"], "application/json; charset=utf-8"),
        (["text/plain", "application/octet-stream"], "text/plain"),
    ],
)
def test_request_body_media_type_preference(content_types: list[str], chosen: str) -> None:
    op = only_operation(
        spec(
            {
                "/a": {
                    "post": operation(
                        requestBody={
                            "content": {
                                media: {"schema": {"type": "object", "properties": {"a": {"type": "string"}}}}
                                for media in content_types
                            }
                        }
                    )
                }
            }
        )
    )
    assert op.request_body.content_type == chosen
    assert set(op.request_body.alternatives) == set(content_types) - {chosen}


def test_non_structured_bodies_are_imported_with_a_warning() -> None:
    op = only_operation(
        spec(
            {"/upload": {"put": operation(requestBody={"required": True, "content": {"application/octet-stream": {}}})}}
        )
    )
    assert op.input_schema["properties"]["body"] == {"type": "string", "format": "binary"}
    assert any("application/octet-stream" in w for w in op.warnings)
    assert op.input_schema["required"] == ["body"]


def test_body_without_media_types_is_dropped_with_a_warning() -> None:
    op = only_operation(spec({"/a": {"post": operation(requestBody={"content": {}})}}))
    assert op.request_body is None and "body" not in op.arguments
    assert any("no media type" in w for w in op.warnings)


def test_empty_optional_form_bodies_are_ignored() -> None:
    op = only_operation(
        spec(
            {
                "/a": {
                    "get": operation(
                        requestBody={
                            "content": {
                                "application/x-www-form-urlencoded": {
                                    "schema": {"type": "object", "properties": {}, "additionalProperties": False}
                                }
                            }
                        }
                    )
                }
            }
        )
    )
    assert op.request_body is None and op.arguments == {}


def test_read_only_properties_are_not_asked_for() -> None:
    op = only_operation(
        spec(
            {
                "/pets": {
                    "post": operation(
                        requestBody={"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}
                    )
                }
            },
            components={
                "schemas": {
                    "Pet": {
                        "type": "object",
                        "required": ["id", "name"],
                        "properties": {"id": {"type": "integer", "readOnly": True}, "name": {"type": "string"}},
                    }
                }
            },
        )
    )
    body = op.input_schema["properties"]["body"]
    assert body == {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}


def test_multipart_file_fields_are_noted() -> None:
    op = only_operation(
        spec(
            {
                "/files": {
                    "post": operation(
                        requestBody={
                            "content": {
                                "multipart/form-data": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "file": {"type": "string", "format": "binary"},
                                            "purpose": {"type": "string"},
                                        },
                                    },
                                    "encoding": {"file": {"contentType": "image/png"}},
                                }
                            }
                        }
                    )
                }
            }
        )
    )
    assert op.request_body.encoding == {"file": {"contentType": "image/png"}}
    assert any("'file'" in note for note in op.notes)
    assert op.warnings == ()


# -- descriptions ----------------------------------------------------------------------------


def test_description_combines_summary_and_description_and_is_capped() -> None:
    op = only_operation(spec({"/a": {"get": operation(summary="Short", description="Long " * 500)}}))
    assert op.description.startswith("Short\n\nLong Long")
    assert len(op.description) == MAX_DESCRIPTION_CHARS and op.description.endswith("…")


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({}, "GET /things/{id}"),
        ({"summary": "Get a thing"}, "Get a thing"),
        ({"description": "Fetch it."}, "Fetch it."),
        ({"summary": "Get", "description": "Get a thing by id."}, "Get a thing by id."),
        (
            {"description": "<p>Retrieves a <code>Thing</code>.</p><p>Use <a href='x'>this</a>.</p>"},
            "Retrieves a Thing.\nUse this.",
        ),
        ({"description": "Send `Authorization: Bearer <token>`"}, "Send `Authorization: Bearer <token>`"),
    ],
)
def test_description_sources(fields: dict[str, str], expected: str) -> None:
    op = only_operation(
        spec(
            {
                "/things/{id}": {
                    "get": operation(
                        parameters=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                        **fields,
                    )
                }
            }
        )
    )
    assert op.description == expected


def test_path_item_summary_is_the_fallback_description() -> None:
    op = only_operation(spec({"/a": {"summary": "Path summary", "get": operation()}}))
    assert op.description == "Path summary"


# -- security --------------------------------------------------------------------------------

SECURITY_SCHEMES = {
    "apiKeyHeader": {"type": "apiKey", "name": "X-API-Key", "in": "header"},
    "apiKeyQuery": {"type": "apiKey", "name": "key", "in": "query"},
    "apiKeyCookie": {"type": "apiKey", "name": "sid", "in": "cookie"},
    "bearer": {"type": "http", "scheme": "Bearer", "bearerFormat": "JWT"},
    "basic": {"type": "http", "scheme": "basic"},
    "oauth": {
        "type": "oauth2",
        "flows": {
            "clientCredentials": {"tokenUrl": "https://auth.example.com/token", "scopes": {"read": "Read"}},
            "authorizationCode": {
                "authorizationUrl": "https://auth.example.com/authorize",
                "tokenUrl": "https://auth.example.com/token",
                "refreshUrl": "https://auth.example.com/refresh",
                "scopes": {"write": "Write"},
            },
        },
    },
    "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://auth.example.com/.well-known/openid-configuration"},
}


def test_security_schemes_are_parsed() -> None:
    parsed = parse_spec(spec(components={"securitySchemes": SECURITY_SCHEMES}))
    schemes = parsed.security_schemes
    assert [
        (schemes[k].type, schemes[k].name, schemes[k].location) for k in ("apiKeyHeader", "apiKeyQuery", "apiKeyCookie")
    ] == [("apiKey", "X-API-Key", "header"), ("apiKey", "key", "query"), ("apiKey", "sid", "cookie")]
    assert (schemes["bearer"].scheme, schemes["bearer"].bearer_format) == ("bearer", "JWT")
    assert schemes["basic"].scheme == "basic"
    flows = {flow.kind: flow for flow in schemes["oauth"].flows}
    assert flows["clientCredentials"].token_url == "https://auth.example.com/token"
    assert flows["clientCredentials"].scopes == {"read": "Read"}
    assert flows["authorizationCode"].authorization_url == "https://auth.example.com/authorize"
    assert flows["authorizationCode"].refresh_url == "https://auth.example.com/refresh"
    assert schemes["oidc"].openid_connect_url.endswith("openid-configuration")


def test_invalid_security_schemes_are_reported_not_fatal() -> None:
    parsed = parse_spec(
        spec(
            components={
                "securitySchemes": {
                    "noName": {"type": "apiKey", "in": "header"},
                    "weird": {"type": "magic"},
                    "ok": {"type": "http", "scheme": "bearer"},
                }
            }
        ),
        validate=False,
    )
    assert list(parsed.security_schemes) == ["ok"]
    assert warning_codes(parsed) == ["invalid_security_scheme", "invalid_security_scheme"]


def test_operation_security_overrides_the_global_one() -> None:
    parsed = parse_spec(
        spec(
            {
                "/inherit": {"get": operation(operationId="inherit")},
                "/public": {"get": operation(operationId="public", security=[])},
                "/scoped": {"get": operation(operationId="scoped", security=[{"oauth": ["read", "write"]}, {}])},
                "/unknown": {"get": operation(operationId="unknown", security=[{"ghost": []}])},
            },
            components={"securitySchemes": SECURITY_SCHEMES},
            security=[{"apiKeyHeader": [], "basic": []}, {"bearer": []}],
        )
    )
    security = {op.name: [r.schemes for r in op.security] for op in parsed.operations}
    assert security == {
        "inherit": [{"apiKeyHeader": (), "basic": ()}, {"bearer": ()}],
        "public": [],
        "scoped": [{"oauth": ("read", "write")}, {}],
        "unknown": [{"ghost": ()}],
    }
    assert [r.schemes for r in parsed.security] == [{"apiKeyHeader": (), "basic": ()}, {"bearer": ()}]
    unknown = parsed.operation("unknown")
    assert any("'ghost'" in w for w in unknown.warnings)
    assert parsed.operation("public").warnings == ()


def test_empty_security_means_no_credentials_but_undeclared_security_does_not() -> None:
    paths = {
        "/public": {"get": operation(operationId="public", security=[])},
        "/secured": {"get": operation(operationId="secured", security=[{"bearer": []}])},
        "/inherit": {"get": operation(operationId="inherit")},
    }
    undeclared = parse_spec(spec(paths, components={"securitySchemes": SECURITY_SCHEMES}))
    assert {op.name: op.no_credentials for op in undeclared.operations} == {
        "public": True,
        "secured": False,
        "inherit": False,
    }
    global_none = parse_spec(spec(paths, components={"securitySchemes": SECURITY_SCHEMES}, security=[]))
    assert {op.name: op.no_credentials for op in global_none.operations} == {
        "public": True,
        "secured": False,
        "inherit": True,
    }


# -- consequential ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, flag, expected",
    [
        ("get", None, False),
        ("post", None, True),
        ("put", None, True),
        ("patch", None, True),
        ("delete", None, True),
        ("get", True, True),
        ("post", False, False),
        ("delete", "false", False),
        ("get", "true", True),
        ("post", "maybe", True),
    ],
)
def test_consequential(method: str, flag: Any, expected: bool) -> None:
    fields = {} if flag is None else {"x-openai-isConsequential": flag}
    assert only_operation(spec({"/a": {method: operation(**fields)}})).consequential is expected


# -- robustness ------------------------------------------------------------------------------


def test_a_broken_ref_skips_only_that_operation() -> None:
    parsed = parse_spec(
        spec(
            {
                "/good": {"get": operation(operationId="good")},
                "/bad": {
                    "post": operation(
                        operationId="bad",
                        requestBody={
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"x": {"$ref": "#/components/schemas/Missing"}},
                                    }
                                }
                            }
                        },
                    )
                },
                "/bad-param": {"get": operation(parameters=[{"$ref": "#/components/parameters/Nope"}])},
                "/also-good": {"get": operation(operationId="alsoGood")},
            }
        )
    )
    assert [op.name for op in parsed.operations] == ["good", "alsoGood"]
    skipped = {entry.path: entry for entry in parsed.report if entry.status == "skipped"}
    assert set(skipped) == {"/bad", "/bad-param"}
    assert "#/components/schemas/Missing" in skipped["/bad"].reason
    assert "#/components/parameters/Nope" in skipped["/bad-param"].reason
    assert parsed.counts == ReportCounts(imported=2, imported_with_warnings=0, skipped=2)


@pytest.mark.parametrize(
    "parameter, reason",
    [
        ({"in": "query", "schema": {"type": "string"}}, "no name"),
        ({"name": "x", "in": "body", "schema": {"type": "string"}}, "invalid location 'body'"),
        ("just a string", "not an object"),
        ({"$ref": "https://example.com/params.json#/Limit"}, "external reference"),
    ],
)
def test_invalid_parameters_skip_the_operation(parameter: Any, reason: str) -> None:
    parsed = parse_spec(
        spec({"/a": {"get": operation(parameters=[parameter])}, "/b": {"get": operation()}}), validate=False
    )
    assert [op.path for op in parsed.operations] == ["/b"]
    assert reason in parsed.report[0].reason


def test_non_object_operations_and_path_items_are_skipped() -> None:
    parsed = parse_spec(
        spec(
            {
                "/a": {"get": "nope", "post": operation()},
                "/b": ["not", "an", "item"],
                "/c": {"$ref": "#/paths/~1missing"},
            }
        ),
        validate=False,
    )
    assert [(e.kind, e.method, e.path, e.status) for e in parsed.report] == [
        ("operation", "GET", "/a", "skipped"),
        ("operation", "POST", "/a", "imported"),
        ("path", None, "/b", "skipped"),
        ("path", None, "/c", "skipped"),
    ]


def test_path_items_by_reference() -> None:
    parsed = parse_spec(
        spec(
            {"/a": {"$ref": "#/components/x-paths/shared"}},
            components={"x-paths": {"shared": {"get": operation(operationId="shared")}}},
        ),
        validate=False,
    )
    assert [op.name for op in parsed.operations] == ["shared"]


def test_unexpected_errors_skip_the_operation_only(monkeypatch: pytest.MonkeyPatch) -> None:
    original = operations_module.is_consequential

    def explode(method: str, operation: dict[str, Any]) -> bool:
        if operation.get("operationId") == "boom":
            raise ZeroDivisionError("bug")
        return original(method, operation)

    monkeypatch.setattr(operations_module, "is_consequential", explode)
    parsed = parse_spec(
        spec({"/a": {"get": operation(operationId="boom")}, "/b": {"get": operation(operationId="fine")}})
    )
    assert [op.name for op in parsed.operations] == ["fine"]
    assert parsed.report[0].status == "skipped" and "ZeroDivisionError" in parsed.report[0].reason


def test_schemas_nested_too_deeply_for_python_are_skipped_not_fatal() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(5000):
        schema = {"allOf": [schema]}
    parsed = parse_spec(
        spec(
            {
                "/deep": {"post": operation(requestBody={"content": {"application/json": {"schema": schema}}})},
                "/ok": {"get": operation()},
            }
        ),
        validate=False,
        max_schema_depth=10_000,
    )
    assert [op.path for op in parsed.operations] == ["/ok"]
    assert "nested too deeply" in parsed.report[0].reason


def test_callbacks_are_ignored_with_a_note_and_webhooks_are_reported() -> None:
    document = spec(
        {"/subscribe": {"post": operation(callbacks={"onEvent": {"{$request.body#/url}": {"post": operation()}}})}}
    )
    document["openapi"] = "3.1.0"
    document["webhooks"] = {"newPet": {"post": operation(), "put": operation()}, "broken": {"$ref": "#/nowhere"}}
    parsed = parse_spec(document)
    assert len(parsed.operations) == 1
    assert any("onEvent" in note for note in parsed.operations[0].notes)
    assert parsed.report[0].status == "imported"  # a note is not a warning
    webhooks = [(e.method, e.path, e.reason) for e in parsed.report if e.kind == "webhook"]
    assert webhooks == [
        ("POST", "newPet", "webhook, not callable"),
        ("PUT", "newPet", "webhook, not callable"),
        (None, "broken", "webhook, not callable"),
    ]


def test_deprecated_operations_are_imported_with_a_note() -> None:
    op = only_operation(spec({"/old": {"get": operation(deprecated=True)}}))
    assert op.deprecated and "deprecated by the API" in op.notes and op.warnings == ()


def test_external_refs_in_schemas_become_warnings() -> None:
    op = only_operation(
        spec(
            {
                "/a": {
                    "post": operation(
                        requestBody={
                            "content": {
                                "application/json": {"schema": {"$ref": "https://schemas.example.com/pet.json"}}
                            }
                        }
                    )
                }
            }
        )
    )
    assert any("https://schemas.example.com/pet.json" in w for w in op.warnings)
    assert_valid_json_schema(op.input_schema)


# -- schema size and report ------------------------------------------------------------------


def test_schema_size_is_measured_and_large_schemas_warn() -> None:
    properties = {f"field_{i}": {"type": "string", "description": "d" * 100} for i in range(200)}
    parsed = parse_spec(
        spec(
            {
                "/small": {
                    "get": operation(
                        operationId="small", parameters=[{"name": "q", "in": "query", "schema": {"type": "string"}}]
                    )
                },
                "/big": {
                    "post": operation(
                        operationId="big",
                        requestBody={
                            "content": {"application/json": {"schema": {"type": "object", "properties": properties}}}
                        },
                    )
                },
            }
        )
    )
    for op in parsed.operations:
        assert op.schema_size == len(json.dumps(op.input_schema, ensure_ascii=False, separators=(",", ":")).encode())
    big = parsed.operation("big")
    assert big.schema_size > LARGE_SCHEMA_BYTES
    assert any("large" in w for w in big.warnings)
    assert parsed.operation("small").warnings == ()
    assert [e.status for e in parsed.report] == ["imported", "imported_with_warnings"]


def test_input_schemas_are_private_copies() -> None:
    parsed = parse_spec(
        spec(
            {
                "/a": {
                    "post": operation(
                        operationId="a",
                        requestBody={"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                    )
                },
                "/b": {
                    "post": operation(
                        operationId="b",
                        requestBody={"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                    )
                },
            },
            components={"schemas": {"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}}},
        )
    )
    a, b = parsed.operations
    a.input_schema["properties"]["body"]["properties"]["name"]["type"] = "integer"
    assert b.input_schema["properties"]["body"]["properties"]["name"] == {"type": "string"}


def test_output_schema_comes_from_the_first_successful_json_response() -> None:
    op = only_operation(
        spec(
            {
                "/users": {
                    "post": operation(
                        requestBody={
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}
                        },
                        responses={
                            "400": {
                                "description": "Bad",
                                "content": {"application/json": {"schema": {"type": "object"}}},
                            },
                            "201": {
                                "description": "Created",
                                "content": {
                                    "application/xml": {"schema": {"type": "string"}},
                                    "application/json": {"schema": {"$ref": "#/components/schemas/User"}},
                                },
                            },
                            "x-extra": {"ignored": True},
                        },
                    )
                }
            },
            components={
                "schemas": {
                    "User": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string", "readOnly": True},
                            "password": {"type": "string", "writeOnly": True},
                        },
                    }
                }
            },
        )
    )
    assert op.output_schema == {"type": "object", "properties": {"id": {"type": "string", "readOnly": True}}}
    assert op.input_schema["properties"]["body"] == {
        "type": "object",
        "properties": {"password": {"type": "string", "writeOnly": True}},
    }
    assert [(r.status, r.description, r.content_types) for r in op.responses] == [
        ("400", "Bad", ("application/json",)),
        ("201", "Created", ("application/xml", "application/json")),
    ]


def test_broken_response_refs_are_warnings_not_skips() -> None:
    op = only_operation(
        spec(
            {
                "/a": {
                    "get": operation(
                        responses={
                            "200": {"$ref": "#/components/responses/Missing"},
                            "404": {
                                "description": "no",
                                "content": {"application/json": {"schema": {"$ref": "#/nope"}}},
                            },
                        }
                    )
                }
            }
        )
    )
    assert op.output_schema is None
    assert any("response 200" in w for w in op.warnings)


def test_report_counts() -> None:
    parsed = parse_spec(
        spec(
            {
                "/ok": {"get": operation()},
                "/warn/{x}": {"get": operation()},  # undeclared path parameter
                "/skip": {"get": operation(parameters=[{"in": "query"}])},
            }
        ),
        validate=False,
    )
    counts = parsed.counts
    assert counts == ReportCounts(imported=1, imported_with_warnings=1, skipped=1)
    assert (counts.importable, counts.total) == (2, 3)
    assert count_report(parsed.report) == counts
    assert count_report([]) == ReportCounts(0, 0, 0)


def test_too_many_operations_is_a_report_warning() -> None:
    paths = {f"/r{i}": {"get": operation()} for i in range(MAX_ENABLED_TOOLS + 1)}
    parsed = parse_spec(spec(paths))
    assert "too_many_operations" in warning_codes(parsed)
    assert "too_many_operations" not in warning_codes(parse_spec(spec(dict(list(paths.items())[:MAX_ENABLED_TOOLS]))))


# -- structural validation -------------------------------------------------------------------


def test_validation_findings_are_warnings_not_refusals() -> None:
    document = spec(
        {
            "/a": {
                "get": {
                    "summary": "no responses in 3.0",
                    "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
                }
            },
            "/b": {"get": operation()},
        },
        components={"schemas": {"Odd": {"type": "null"}}},
    )
    document["info"]["x-fine"] = 1
    document["tags"] = "not a list"
    parsed = parse_spec(document)
    assert len(parsed.operations) == 2
    document_notices = [n.message for n in parsed.warnings if n.code == "invalid_document"]
    assert any(message.startswith("tags:") for message in document_notices)
    assert any("components.schemas.Odd" in message and '"null"' in message for message in document_notices)
    op_a = parsed.operation("get_a")
    assert any(w.startswith("spec check: paths./a.get") and "responses" in w for w in op_a.warnings)
    assert parsed.operation("get_b").warnings == ()
    assert parse_spec(document, validate=False).warnings == []


def test_swagger2_documents_are_validated_as_written() -> None:
    document = {
        "swagger": "2.0",
        "info": {"title": "t", "version": "1"},
        "host": "api.example.com",
        "paths": {
            "/a": {
                "get": {
                    "parameters": [{"name": "q", "in": "query", "type": "str"}],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
    parsed = parse_spec(document)
    assert len(parsed.operations) == 1
    assert any("spec check: paths./a.get" in w for w in parsed.operations[0].warnings)


# -- scale -----------------------------------------------------------------------------------

# How long these take is measured by bench/action_import.py, not asserted here.


def test_a_synthetic_spec_with_2000_operations_parses() -> None:
    parsed = parse_spec(synthetic_spec(operations=2000))
    assert len(parsed.operations) == 2000
    assert len({op.name for op in parsed.operations}) == 2000
    sample = parsed.operations[1]  # a POST with a recursive body
    assert set(sample.arguments) == {"resource_id", "limit", "query__id", "header__id", "body"}
    assert any("recursive" in note for note in sample.notes)
    for op in parsed.operations[:10]:
        assert_valid_json_schema(op.input_schema)


def test_a_5_mb_spec_with_1000_operations_loads_and_parses() -> None:
    text = synthetic_spec_text(operations=1000, target_bytes=5 * 1024 * 1024)
    assert len(text.encode()) >= 5 * 1024 * 1024 - 1024
    parsed = parse_spec_text(text)
    assert len(parsed.operations) == 1000


def test_a_huge_recursive_schema_family_cannot_make_the_import_unbounded() -> None:
    document = synthetic_spec(operations=300, schemas=300)
    parsed = parse_spec(document, validate=False)
    assert all(op.schema_size < 160 * 1024 for op in parsed.operations)


def test_the_total_work_budget_shrinks_the_remaining_operations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(operations_module.BuildSettings, "__init__", _settings_with(max_total_schema_work=200_000))
    parsed = parse_spec(synthetic_spec(operations=200), validate=False)
    assert "schemas_shortened" in warning_codes(parsed)
    last = parsed.operations[-1]
    assert last.output_schema is None
    assert any("kept small" in w for w in last.warnings)
    assert parsed.operations[0].output_schema is not None


def _settings_with(**overrides: Any) -> Any:
    original = operations_module.BuildSettings.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**kwargs, **overrides})

    return init

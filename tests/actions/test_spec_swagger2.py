from __future__ import annotations

import copy
from typing import Any

import pytest

from actions.spec import convert_swagger2, parse_spec

from .helpers import assert_valid_json_schema


def swagger(paths: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "swagger": "2.0",
        "info": {"title": "Legacy", "version": "1"},
        "host": "api.example.com",
        "basePath": "/v1",
        "schemes": ["http", "https"],
        "paths": paths or {},
    }
    document.update(extra)
    return document


def convert(document: dict[str, Any]) -> dict[str, Any]:
    converted, _ = convert_swagger2(document)
    return converted


# -- servers ---------------------------------------------------------------------------------


def test_host_base_path_and_schemes_become_servers_https_first() -> None:
    converted = convert(swagger())
    assert converted["openapi"].startswith("3.0")
    assert converted["servers"] == [{"url": "https://api.example.com/v1"}, {"url": "http://api.example.com/v1"}]


@pytest.mark.parametrize(
    "extra, servers",
    [
        ({"schemes": None}, [{"url": "https://api.example.com/v1"}]),
        ({"basePath": "/"}, [{"url": "https://api.example.com"}, {"url": "http://api.example.com"}]),
        ({"basePath": "api/"}, [{"url": "https://api.example.com/api"}, {"url": "http://api.example.com/api"}]),
        ({"host": None}, [{"url": "/v1"}]),
        ({"host": None, "basePath": None}, None),
    ],
)
def test_server_edge_cases(extra: dict[str, Any], servers: list[dict[str, str]] | None) -> None:
    document = swagger()
    for key, value in extra.items():
        if value is None:
            document.pop(key)
        else:
            document[key] = value
    assert convert(document).get("servers") == servers


# -- schemas and references ------------------------------------------------------------------


def test_definitions_become_component_schemas_with_rewritten_refs() -> None:
    document = swagger(
        definitions={
            "Pet": {
                "type": "object",
                "properties": {
                    "owner": {"$ref": "#/definitions/Person"},
                    "example": {"$ref": "#/definitions/Person"},  # a property called "example"
                    "friends": {"type": "array", "items": {"$ref": "#/definitions/Pet"}},
                    "tag": {"allOf": [{"$ref": "#/definitions/Tag"}], "x-nullable": True},
                },
                "example": {"$ref": "#/definitions/not-a-schema"},
            },
            "Person": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Tag"}},
            "Tag": {"type": "string", "discriminator": "kind"},
        }
    )
    schemas = convert(document)["components"]["schemas"]
    pet = schemas["Pet"]["properties"]
    assert pet["owner"] == {"$ref": "#/components/schemas/Person"}
    assert pet["example"] == {"$ref": "#/components/schemas/Person"}
    assert pet["friends"]["items"] == {"$ref": "#/components/schemas/Pet"}
    assert pet["tag"] == {"allOf": [{"$ref": "#/components/schemas/Tag"}], "nullable": True}
    # example data is copied as it is, not treated as a schema
    assert schemas["Pet"]["example"] == {"$ref": "#/definitions/not-a-schema"}
    assert schemas["Person"]["additionalProperties"] == {"$ref": "#/components/schemas/Tag"}
    assert schemas["Tag"]["discriminator"] == {"propertyName": "kind"}


def test_the_input_document_is_not_modified() -> None:
    document = swagger(
        {
            "/pets": {
                "post": {
                    "parameters": [{"name": "pet", "in": "body", "schema": {"$ref": "#/definitions/Pet"}}],
                    "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}},
                }
            }
        },
        definitions={"Pet": {"type": "object", "x-nullable": True}},
    )
    before = copy.deepcopy(document)
    convert(document)
    parse_spec(document)
    assert document == before


# -- parameters ------------------------------------------------------------------------------


def test_body_parameter_becomes_a_request_body_for_each_consumed_type() -> None:
    document = swagger(
        {
            "/pets": {
                "post": {
                    "consumes": ["application/json", "application/xml"],
                    "parameters": [
                        {
                            "name": "pet",
                            "in": "body",
                            "required": True,
                            "description": "The pet",
                            "schema": {"$ref": "#/definitions/Pet"},
                        }
                    ],
                    "responses": {"201": {"description": "created"}},
                }
            }
        },
        definitions={"Pet": {"type": "object"}},
    )
    body = convert(document)["paths"]["/pets"]["post"]["requestBody"]
    assert body == {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}},
            "application/xml": {"schema": {"$ref": "#/components/schemas/Pet"}},
        },
        "required": True,
        "description": "The pet",
    }


def test_body_without_consumes_defaults_to_json() -> None:
    document = swagger(
        {
            "/x": {
                "put": {
                    "parameters": [{"name": "b", "in": "body", "schema": {"type": "object"}}],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        }
    )
    body = convert(document)["paths"]["/x"]["put"]["requestBody"]
    assert list(body["content"]) == ["application/json"]
    assert body["required"] is False


def test_form_parameters_become_an_urlencoded_body() -> None:
    document = swagger(
        {
            "/login": {
                "post": {
                    "consumes": ["application/x-www-form-urlencoded"],
                    "parameters": [
                        {"name": "user", "in": "formData", "type": "string", "required": True, "description": "Login"},
                        {"name": "remember", "in": "formData", "type": "boolean", "default": False},
                        {
                            "name": "scopes",
                            "in": "formData",
                            "type": "array",
                            "items": {"type": "string"},
                            "collectionFormat": "multi",
                        },
                    ],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        }
    )
    body = convert(document)["paths"]["/login"]["post"]["requestBody"]
    media = body["content"]["application/x-www-form-urlencoded"]
    assert media["schema"] == {
        "type": "object",
        "properties": {
            "user": {"type": "string", "description": "Login"},
            "remember": {"type": "boolean", "default": False},
            "scopes": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["user"],
    }
    assert media["encoding"] == {"scopes": {"style": "form", "explode": True}}
    assert body["required"] is True


def test_file_parameters_force_multipart() -> None:
    document = swagger(
        {
            "/upload": {
                "post": {
                    "consumes": ["application/x-www-form-urlencoded", "multipart/form-data"],
                    "parameters": [
                        {"name": "file", "in": "formData", "type": "file", "required": True},
                        {"name": "note", "in": "formData", "type": "string"},
                    ],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        }
    )
    content = convert(document)["paths"]["/upload"]["post"]["requestBody"]["content"]
    assert list(content) == ["multipart/form-data"]
    parsed = parse_spec(document).operations[0]
    assert parsed.request_body is not None and parsed.request_body.content_type == "multipart/form-data"
    assert parsed.input_schema["properties"]["body"]["properties"]["file"] == {"type": "string", "format": "binary"}


def test_form_parameters_listing_both_encodings_keep_both() -> None:
    document = swagger(
        {
            "/f": {
                "post": {
                    "consumes": ["multipart/form-data", "application/x-www-form-urlencoded"],
                    "parameters": [{"name": "a", "in": "formData", "type": "string"}],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        }
    )
    content = convert(document)["paths"]["/f"]["post"]["requestBody"]["content"]
    assert set(content) == {"multipart/form-data", "application/x-www-form-urlencoded"}
    # the parser prefers url-encoded over multipart
    assert parse_spec(document).operations[0].request_body.content_type == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "location, collection_format, style, explode",
    [
        ("query", None, "form", False),  # csv is the default
        ("query", "csv", "form", False),
        ("query", "multi", "form", True),
        ("query", "ssv", "spaceDelimited", False),
        ("query", "pipes", "pipeDelimited", False),
        ("query", "tsv", "form", False),
        ("path", "csv", "simple", False),
        ("header", "csv", "simple", False),
    ],
)
def test_collection_format_becomes_style_and_explode(
    location: str, collection_format: str | None, style: str, explode: bool
) -> None:
    parameter: dict[str, Any] = {
        "name": "ids",
        "in": location,
        "required": True,
        "type": "array",
        "items": {"type": "integer", "format": "int64", "collectionFormat": "csv"},
    }
    if collection_format:
        parameter["collectionFormat"] = collection_format
    path = "/items/{ids}" if location == "path" else "/items"
    converted, notes = convert_swagger2(
        swagger({path: {"get": {"parameters": [parameter], "responses": {"200": {"description": "ok"}}}}})
    )
    result = converted["paths"][path]["get"]["parameters"][0]
    assert (result["style"], result["explode"]) == (style, explode)
    assert result["schema"] == {"type": "array", "items": {"type": "integer", "format": "int64"}}
    assert "collectionFormat" not in result
    assert bool(notes) == (collection_format == "tsv")


def test_non_body_parameter_keywords_move_into_the_schema() -> None:
    document = swagger(
        {
            "/x": {
                "get": {
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "type": "integer",
                            "format": "int32",
                            "minimum": 1,
                            "maximum": 100,
                            "exclusiveMaximum": True,
                            "default": 10,
                            "enum": [10, 50, 100],
                            "description": "Page size",
                            "x-nullable": True,
                            "allowEmptyValue": True,
                        }
                    ],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        }
    )
    parameter = convert(document)["paths"]["/x"]["get"]["parameters"][0]
    assert parameter == {
        "name": "limit",
        "in": "query",
        "description": "Page size",
        "allowEmptyValue": True,
        "schema": {
            "type": "integer",
            "format": "int32",
            "enum": [10, 50, 100],
            "default": 10,
            "maximum": 100,
            "exclusiveMaximum": True,
            "minimum": 1,
            "nullable": True,
        },
    }
    schema = parse_spec(document).operations[0].input_schema["properties"]["limit"]
    assert schema["exclusiveMaximum"] == 100 and "maximum" not in schema
    assert schema["type"] == ["integer", "null"] and schema["enum"] == [10, 50, 100, None]
    assert_valid_json_schema(schema)


def test_shared_and_path_level_parameters_are_merged_into_each_operation() -> None:
    document = swagger(
        {
            "/pets/{id}": {
                "parameters": [{"$ref": "#/parameters/Id"}, {"name": "verbose", "in": "query", "type": "boolean"}],
                "get": {
                    "parameters": [{"name": "verbose", "in": "query", "type": "string", "description": "override"}],
                    "responses": {"200": {"description": "ok"}},
                },
                "put": {"parameters": [{"$ref": "#/parameters/PetBody"}], "responses": {"200": {"description": "ok"}}},
            }
        },
        parameters={
            "Id": {"name": "id", "in": "path", "required": True, "type": "string"},
            "PetBody": {"name": "pet", "in": "body", "schema": {"type": "object"}},
        },
    )
    item = convert(document)["paths"]["/pets/{id}"]
    assert "parameters" not in item
    get_parameters = {p["name"]: p for p in item["get"]["parameters"]}
    assert set(get_parameters) == {"id", "verbose"}
    assert get_parameters["verbose"]["description"] == "override"
    assert [p["name"] for p in item["put"]["parameters"]] == ["id", "verbose"]
    assert item["put"]["requestBody"]["content"]["application/json"]["schema"] == {"type": "object"}


def test_a_broken_shared_parameter_skips_only_its_operation() -> None:
    document = swagger(
        {
            "/a": {
                "get": {"parameters": [{"$ref": "#/parameters/Missing"}], "responses": {"200": {"description": "ok"}}}
            },
            "/b": {"get": {"responses": {"200": {"description": "ok"}}}},
        }
    )
    parsed = parse_spec(document)
    assert [op.path for op in parsed.operations] == ["/b"]
    skipped = [entry for entry in parsed.report if entry.status == "skipped"]
    assert len(skipped) == 1 and "#/parameters/Missing" in (skipped[0].reason or "")


# -- responses and security ------------------------------------------------------------------


def test_produces_becomes_response_media_types() -> None:
    document = swagger(
        {
            "/pets": {
                "get": {
                    "produces": ["application/json", "text/csv"],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "schema": {"type": "array", "items": {"$ref": "#/definitions/Pet"}},
                            "headers": {"X-Rate": {"type": "integer", "description": "Remaining calls"}},
                        },
                        "default": {"$ref": "#/responses/Error"},
                    },
                }
            }
        },
        definitions={"Pet": {"type": "object"}},
        responses={"Error": {"description": "Error", "schema": {"type": "object"}}},
    )
    converted = convert(document)
    response = converted["paths"]["/pets"]["get"]["responses"]["200"]
    assert set(response["content"]) == {"application/json", "text/csv"}
    assert response["content"]["text/csv"]["schema"]["items"] == {"$ref": "#/components/schemas/Pet"}
    assert response["headers"]["X-Rate"] == {"schema": {"type": "integer"}, "description": "Remaining calls"}
    assert converted["paths"]["/pets"]["get"]["responses"]["default"] == {"$ref": "#/components/responses/Error"}
    assert converted["components"]["responses"]["Error"]["content"]["application/json"]["schema"] == {"type": "object"}
    parsed = parse_spec(document).operations[0]
    assert [(r.status, r.content_types) for r in parsed.responses] == [
        ("200", ("application/json", "text/csv")),
        ("default", ("application/json",)),
    ]
    assert parsed.output_schema == {"type": "array", "items": {"type": "object"}}


def test_security_definitions_become_security_schemes() -> None:
    document = swagger(
        securityDefinitions={
            "basic": {"type": "basic", "description": "Basic auth"},
            "key": {"type": "apiKey", "name": "X-API-Key", "in": "header"},
            "implicit": {
                "type": "oauth2",
                "flow": "implicit",
                "authorizationUrl": "https://a.example/auth",
                "scopes": {"read": "Read"},
            },
            "password": {"type": "oauth2", "flow": "password", "tokenUrl": "https://a.example/token", "scopes": {}},
            "app": {
                "type": "oauth2",
                "flow": "application",
                "tokenUrl": "https://a.example/token",
                "scopes": {"admin": "Admin"},
            },
            "code": {
                "type": "oauth2",
                "flow": "accessCode",
                "authorizationUrl": "https://a.example/auth",
                "tokenUrl": "https://a.example/token",
                "scopes": {"read": "Read"},
            },
        },
        security=[{"key": []}],
    )
    schemes = convert(document)["components"]["securitySchemes"]
    assert schemes["basic"] == {"type": "http", "scheme": "basic", "description": "Basic auth"}
    assert schemes["key"] == {"type": "apiKey", "name": "X-API-Key", "in": "header"}
    assert schemes["implicit"]["flows"] == {
        "implicit": {"scopes": {"read": "Read"}, "authorizationUrl": "https://a.example/auth"}
    }
    assert schemes["app"]["flows"] == {
        "clientCredentials": {"scopes": {"admin": "Admin"}, "tokenUrl": "https://a.example/token"}
    }
    assert set(schemes["code"]["flows"]["authorizationCode"]) == {"scopes", "authorizationUrl", "tokenUrl"}

    parsed = parse_spec(document)
    assert parsed.security_schemes["basic"].scheme == "basic"
    assert parsed.security_schemes["key"].location == "header"
    assert parsed.security_schemes["password"].flows[0].token_url == "https://a.example/token"
    assert parsed.security_schemes["code"].flows[0].kind == "authorizationCode"
    assert [r.schemes for r in parsed.security] == [{"key": ()}]


def test_unknown_oauth_flow_is_noted() -> None:
    converted, notes = convert_swagger2(swagger(securityDefinitions={"weird": {"type": "oauth2", "flow": "device"}}))
    assert converted["components"]["securitySchemes"]["weird"] == {"type": "oauth2", "flows": {}}
    assert any("device" in note for note in notes)


def test_extensions_and_operation_fields_are_kept() -> None:
    document = swagger(
        {
            "/x": {
                "delete": {
                    "operationId": "removeX",
                    "summary": "Remove",
                    "description": "Removes x",
                    "tags": ["x"],
                    "deprecated": True,
                    "security": [],
                    "x-openai-isConsequential": False,
                    "responses": {"204": {"description": "gone"}},
                }
            }
        },
        **{"x-logo": "logo.png"},
    )
    converted = convert(document)
    assert converted["x-logo"] == "logo.png"
    operation = converted["paths"]["/x"]["delete"]
    assert operation["operationId"] == "removeX" and operation["x-openai-isConsequential"] is False
    parsed = parse_spec(document).operations[0]
    assert parsed.name == "removeX" and parsed.deprecated and parsed.security == ()
    assert parsed.consequential is False

"""Generated OpenAPI documents of any size, for scale tests."""

from __future__ import annotations

import json
from typing import Any


def synthetic_spec(*, operations: int, schemas: int = 200, padding: int = 0) -> dict[str, Any]:
    """A 3.0 spec with ``operations`` operations over ``schemas`` shared component schemas.

    Every operation has path, query and header parameters and (for writes) a JSON body mixing
    inline properties and references; every tenth schema points back at the first one, so
    there are cycles. ``padding`` adds that many characters of description per operation,
    to reach a target document size.
    """
    components: dict[str, Any] = {}
    for index in range(schemas):
        properties: dict[str, Any] = {
            "id": {"type": "string", "readOnly": True},
            "name": {"type": "string", "maxLength": 200, "example": "example"},
            "count": {"type": "integer", "minimum": 0, "nullable": True},
            "tags": {"type": "array", "items": {"type": "string"}},
            "kind": {"type": "string", "enum": ["a", "b", "c"], "x-internal": True},
        }
        if index + 1 < schemas:
            properties["next"] = {"$ref": f"#/components/schemas/Model{index + 1}"}
        if index % 10 == 9:
            properties["parent"] = {"$ref": "#/components/schemas/Model0"}
        components[f"Model{index}"] = {
            "type": "object",
            "required": ["name"],
            "properties": properties,
            "description": f"Model number {index}.",
        }

    paths: dict[str, Any] = {}
    methods = ("get", "post", "put", "patch", "delete")
    for index in range(operations):
        method = methods[index % len(methods)]
        path = f"/resources{index // len(methods)}/{{resource_id}}"
        operation: dict[str, Any] = {
            "operationId": f"op{index}_{method}",
            "summary": f"Operation {index}",
            "description": "Does something useful. " + "x" * padding,
            "parameters": [
                {"name": "resource_id", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
                {"name": "id", "in": "query", "schema": {"type": "string"}},
                {"name": "id", "in": "header", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/Model{index % schemas}"}}
                    },
                }
            },
        }
        if method != "get":
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "title": {"type": "string"},
                                "model": {"$ref": f"#/components/schemas/Model{(index * 7) % schemas}"},
                                "items": {
                                    "type": "array",
                                    "items": {"$ref": f"#/components/schemas/Model{index % schemas}"},
                                },
                            },
                        }
                    }
                },
            }
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "Synthetic", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": paths,
        "components": {"schemas": components},
    }


def synthetic_spec_text(*, operations: int, target_bytes: int) -> str:
    """JSON text of :func:`synthetic_spec` padded to about ``target_bytes``."""
    base = len(json.dumps(synthetic_spec(operations=operations)))
    padding = max(0, (target_bytes - base) // max(operations, 1))
    return json.dumps(synthetic_spec(operations=operations, padding=padding))

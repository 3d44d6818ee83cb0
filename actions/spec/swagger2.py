"""Convert a Swagger 2.0 document to the OpenAPI 3.0 structure the parser reads.

There is no maintained Python converter (the usual tool is the JavaScript
``swagger2openapi``), so this covers what matters for calling an API:

* ``host``/``basePath``/``schemes`` -> ``servers``;
* ``definitions`` -> ``components.schemas`` and every ``#/definitions/...`` ref rewritten;
* ``body`` and ``formData`` parameters -> ``requestBody`` (JSON, form-urlencoded or
  multipart, following ``consumes``); other parameters get a ``schema``, and
  ``collectionFormat`` becomes ``style``/``explode``;
* ``produces`` -> response media types;
* ``securityDefinitions`` -> ``components.securitySchemes`` (basic, apiKey, oauth2 flows).

Shared parameters (``#/parameters/...``) are inlined into each operation, because body and
form parameters must be merged into a request body per operation anyway.
"""

from __future__ import annotations

from typing import Any

from .fields import list_field

OPENAPI_VERSION = "3.0.3"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"

_REF_PREFIXES = (
    ("#/definitions/", "#/components/schemas/"),
    ("#/responses/", "#/components/responses/"),
)
# Keywords of a 2.0 non-body parameter (and of its "items") that belong in its schema.
_PARAMETER_SCHEMA_KEYS = (
    "type",
    "format",
    "items",
    "enum",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
)
_QUERY_STYLES = {  # collectionFormat -> (style, explode)
    "csv": ("form", False),
    "ssv": ("spaceDelimited", False),
    "pipes": ("pipeDelimited", False),
    "multi": ("form", True),
    "tsv": ("form", False),  # OpenAPI 3 has no tab-delimited style
}
_OAUTH_FLOWS = {
    "implicit": "implicit",
    "password": "password",
    "application": "clientCredentials",
    "accessCode": "authorizationCode",
}


def convert_swagger2(document: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The OpenAPI 3.0 equivalent of ``document`` plus notes about what could not be kept.

    The input is not modified; the result shares no mutable structure with it except
    example values, which nothing downstream changes.
    """
    notes: list[str] = []
    converter = _Converter(document, notes)
    return converter.convert(), notes


class _Converter:
    def __init__(self, document: dict[str, Any], notes: list[str]) -> None:
        self.doc = document
        self.notes = notes
        self.consumes = _media_list(document.get("consumes"))
        self.produces = _media_list(document.get("produces"))
        shared = document.get("parameters")
        self.shared_parameters: dict[str, Any] = shared if isinstance(shared, dict) else {}

    def convert(self) -> dict[str, Any]:
        doc = self.doc
        out: dict[str, Any] = {"openapi": OPENAPI_VERSION}
        for key in ("info", "tags", "externalDocs", "security"):
            if key in doc:
                out[key] = doc[key]
        out.update({key: value for key, value in doc.items() if isinstance(key, str) and key.startswith("x-")})
        servers = self._servers()
        if servers:
            out["servers"] = servers

        components: dict[str, Any] = {}
        definitions = doc.get("definitions")
        if isinstance(definitions, dict):
            components["schemas"] = {name: convert_schema(schema) for name, schema in definitions.items()}
        responses = doc.get("responses")
        if isinstance(responses, dict):
            components["responses"] = {
                name: self._response(response, self.produces) for name, response in responses.items()
            }
        security_definitions = doc.get("securityDefinitions")
        if isinstance(security_definitions, dict):
            components["securitySchemes"] = {
                name: self._security_scheme(name, scheme) for name, scheme in security_definitions.items()
            }
        if components:
            out["components"] = components

        paths = doc.get("paths")
        if isinstance(paths, dict):
            out["paths"] = {path: self._path_item(path, item) for path, item in paths.items()}
        return out

    def _servers(self) -> list[dict[str, Any]]:
        host = self.doc.get("host")
        base_path = self.doc.get("basePath")
        base_path = base_path.strip() if isinstance(base_path, str) else ""
        if base_path and not base_path.startswith("/"):
            base_path = "/" + base_path
        base_path = base_path.rstrip("/")
        if not isinstance(host, str) or not host.strip():
            # Without a host the API lives where the spec is served: only a relative URL is known.
            return [{"url": base_path}] if base_path else []
        schemes = [s.lower() for s in self.doc.get("schemes") or [] if isinstance(s, str)]
        ordered = [s for s in ("https", "http", "wss", "ws") if s in schemes] or ["https"]
        return [{"url": f"{scheme}://{host.strip().rstrip('/')}{base_path}"} for scheme in ordered]

    def _path_item(self, path: str, item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        out: dict[str, Any] = {}
        if isinstance(item.get("$ref"), str):
            out["$ref"] = rewrite_ref(item["$ref"])
        path_parameters = list_field(item, "parameters")
        for key, value in item.items():
            if key in HTTP_METHODS and isinstance(value, dict):
                out[key] = self._operation(f"{key.upper()} {path}", value, path_parameters)
            elif isinstance(key, str) and key.startswith("x-"):
                out[key] = value
        return out

    def _operation(self, label: str, operation: dict[str, Any], path_parameters: list[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in operation.items():
            if key in ("operationId", "summary", "description", "tags", "deprecated", "security", "externalDocs") or (
                isinstance(key, str) and key.startswith("x-")
            ):
                out[key] = value

        # Operation parameters override path-level ones with the same name and location.
        merged: dict[tuple[Any, Any], Any] = {}
        for raw in [*path_parameters, *(operation.get("parameters") or [])]:
            parameter = self._resolve_parameter(raw)
            identity = (parameter.get("name"), parameter.get("in")) if isinstance(parameter, dict) else (id(raw), None)
            merged[identity] = parameter

        parameters: list[Any] = []
        body: dict[str, Any] | None = None
        form: list[dict[str, Any]] = []
        for parameter in merged.values():
            location = parameter.get("in") if isinstance(parameter, dict) else None
            if location == "body":
                body = parameter
            elif location == "formData":
                form.append(parameter)
            else:
                parameters.append(self._parameter(label, parameter))
        if parameters:
            out["parameters"] = parameters

        consumes = _media_list(operation.get("consumes")) or self.consumes
        if body is not None:
            out["requestBody"] = self._json_body(body, consumes)
        elif form:
            out["requestBody"] = self._form_body(label, form, consumes)

        produces = _media_list(operation.get("produces")) or self.produces
        responses = operation.get("responses")
        if isinstance(responses, dict):
            out["responses"] = {str(code): self._response(response, produces) for code, response in responses.items()}
        return out

    def _resolve_parameter(self, parameter: Any) -> Any:
        if isinstance(parameter, dict) and isinstance(parameter.get("$ref"), str):
            ref = parameter["$ref"]
            prefix = "#/parameters/"
            if ref.startswith(prefix):
                name = ref[len(prefix) :].replace("~1", "/").replace("~0", "~")
                if isinstance(self.shared_parameters.get(name), dict):
                    return self.shared_parameters[name]
            # A broken or external reference is left for the parser, which skips the operation.
            return {"$ref": ref}
        return parameter

    def _parameter(self, label: str, parameter: Any) -> Any:
        if not isinstance(parameter, dict) or "$ref" in parameter:
            return parameter
        out = {
            key: value
            for key, value in parameter.items()
            if key in ("name", "in", "description", "required", "allowEmptyValue")
            or (isinstance(key, str) and key.startswith("x-") and key != "x-nullable")
        }
        out["schema"] = _parameter_schema(parameter)
        if parameter.get("type") == "array":
            style, explode = self._style(label, parameter)
            out["style"] = style
            out["explode"] = explode
        return out

    def _style(self, label: str, parameter: dict[str, Any]) -> tuple[str, bool]:
        collection_format = parameter.get("collectionFormat", "csv")
        location = parameter.get("in")
        if location in ("query", "formData"):
            style, explode = _QUERY_STYLES.get(collection_format, ("form", False))
        else:
            style, explode = ("form", False) if location == "cookie" else ("simple", False)
            if collection_format not in ("csv", None):
                self.notes.append(
                    f"{label}: collectionFormat '{collection_format}' of parameter "
                    f"'{parameter.get('name')}' is sent comma-separated"
                )
        if collection_format == "tsv":
            self.notes.append(
                f"{label}: tab-separated parameter '{parameter.get('name')}' is sent "
                "comma-separated (OpenAPI 3 has no tab style)"
            )
        return style, explode

    def _json_body(self, parameter: dict[str, Any], consumes: list[str]) -> dict[str, Any]:
        schema = convert_schema(parameter.get("schema", {}))
        media_types = consumes or [_JSON]
        body: dict[str, Any] = {
            "content": {media: {"schema": schema} for media in media_types},
            "required": parameter.get("required") is True,
        }
        if isinstance(parameter.get("description"), str):
            body["description"] = parameter["description"]
        return body

    def _form_body(self, label: str, parameters: list[dict[str, Any]], consumes: list[str]) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        encoding: dict[str, Any] = {}
        has_file = False
        for parameter in parameters:
            name = parameter.get("name")
            if not isinstance(name, str):
                continue
            schema = _parameter_schema(parameter)
            if isinstance(parameter.get("description"), str):
                schema["description"] = parameter["description"]
            properties[name] = schema
            has_file = has_file or parameter.get("type") == "file"
            if parameter.get("required") is True:
                required.append(name)
            if parameter.get("type") == "array":
                style, explode = self._style(label, parameter)
                encoding[name] = {"style": style, "explode": explode}
        schema = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        media_types = [media for media in consumes if media in (_FORM, _MULTIPART)]
        if has_file:
            media_types = [_MULTIPART]  # files cannot travel url-encoded
        elif not media_types:
            media_types = [_FORM]
        content: dict[str, Any] = {}
        for media in media_types:
            content[media] = {"schema": schema}
            if encoding:
                content[media]["encoding"] = encoding
        return {"content": content, "required": bool(required)}

    def _response(self, response: Any, produces: list[str]) -> Any:
        if not isinstance(response, dict):
            return response
        if isinstance(response.get("$ref"), str):
            return {"$ref": rewrite_ref(response["$ref"])}
        out: dict[str, Any] = {"description": response.get("description") or ""}
        if "schema" in response:
            schema = convert_schema(response["schema"])
            out["content"] = {media: {"schema": schema} for media in produces or [_JSON]}
        headers = response.get("headers")
        if isinstance(headers, dict):
            out["headers"] = {
                name: {
                    "schema": _parameter_schema(header),
                    **({"description": header["description"]} if isinstance(header.get("description"), str) else {}),
                }
                for name, header in headers.items()
                if isinstance(header, dict)
            }
        return out

    def _security_scheme(self, name: str, scheme: Any) -> Any:
        if not isinstance(scheme, dict):
            return scheme
        kind = scheme.get("type")
        extra = {
            key: value
            for key, value in scheme.items()
            if key == "description" or (isinstance(key, str) and key.startswith("x-"))
        }
        if kind == "basic":
            return {"type": "http", "scheme": "basic", **extra}
        if kind == "apiKey":
            return {"type": "apiKey", "name": scheme.get("name"), "in": scheme.get("in"), **extra}
        if kind == "oauth2":
            flow_name = _OAUTH_FLOWS.get(str(scheme.get("flow")))
            if flow_name is None:
                self.notes.append(f"security scheme '{name}': unknown OAuth2 flow {scheme.get('flow')!r}")
                return {"type": "oauth2", "flows": {}, **extra}
            flow: dict[str, Any] = {"scopes": scheme.get("scopes") or {}}
            if flow_name in ("implicit", "authorizationCode"):
                flow["authorizationUrl"] = scheme.get("authorizationUrl")
            if flow_name != "implicit":
                flow["tokenUrl"] = scheme.get("tokenUrl")
            return {"type": "oauth2", "flows": {flow_name: flow}, **extra}
        self.notes.append(f"security scheme '{name}': unknown type {kind!r}")
        return {"type": kind, **extra}


def rewrite_ref(ref: str) -> str:
    for old, new in _REF_PREFIXES:
        if ref.startswith(old):
            return new + ref[len(old) :]
    return ref


_SCHEMA_MAP_KEYS = ("properties", "patternProperties", "definitions")
_SCHEMA_LIST_KEYS = ("allOf", "anyOf", "oneOf")
_SCHEMA_KEYS = ("items", "additionalProperties", "not", "additionalItems")


def convert_schema(schema: Any) -> Any:
    """A copy of a 2.0 schema with refs pointing into ``components`` and 2.0-only idioms mapped.

    Only schema positions are walked (a property called ``example`` is still a schema, while
    the value of an ``example`` keyword is data), and iteratively, so that deeply nested
    definitions cannot exhaust the Python stack.
    """
    root: dict[str, Any] = {}
    stack: list[tuple[Any, dict[str, Any] | list[Any], Any]] = [(schema, root, "schema")]
    while stack:
        node, parent, key = stack.pop()
        if not isinstance(node, dict):
            if isinstance(node, list) and isinstance(parent, dict) and key == "items":
                copy_list: list[Any] = [None] * len(node)  # draft-4 tuple items
                parent[key] = copy_list
                stack.extend((value, copy_list, index) for index, value in enumerate(node))
            else:
                parent[key] = node
            continue
        copy: dict[str, Any] = {}
        parent[key] = copy
        for name, value in node.items():
            if name == "$ref" and isinstance(value, str):
                copy[name] = rewrite_ref(value)
            elif name == "x-nullable":  # the common 2.0 extension for what 3.0 calls nullable
                if value is True:
                    copy["nullable"] = True
            elif name == "discriminator" and isinstance(value, str):
                copy[name] = {"propertyName": value}
            elif name in _SCHEMA_MAP_KEYS and isinstance(value, dict):
                children: dict[str, Any] = {}
                copy[name] = children
                stack.extend((child, children, child_name) for child_name, child in value.items())
            elif name in _SCHEMA_LIST_KEYS and isinstance(value, list):
                members: list[Any] = [None] * len(value)
                copy[name] = members
                stack.extend((child, members, index) for index, child in enumerate(value))
            elif name in _SCHEMA_KEYS:
                stack.append((value, copy, name))
            else:
                copy[name] = value  # data (enum, default, example...) or a plain keyword
    return root["schema"]


def _parameter_schema(parameter: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    for key in _PARAMETER_SCHEMA_KEYS:
        if key not in parameter:
            continue
        value = parameter[key]
        if key == "items" and isinstance(value, dict):
            value = _parameter_schema(value) if "$ref" not in value else convert_schema(value)
        schema[key] = value
    if parameter.get("x-nullable") is True:
        schema["nullable"] = True
    return schema


def _media_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]

"""Build one operation: its parameters, request body and the tool's argument schema.

Anything that makes an operation impossible to call correctly (a broken reference, a
parameter without a name or location) raises :class:`OperationSkipped`; the parser
reports it and carries on with the other operations.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .fields import dict_field, str_field
from .models import (
    BODY_ARGUMENT,
    ArgumentSource,
    Parameter,
    ParameterLocation,
    RequestBody,
    ResponseInfo,
    SecurityRequirement,
)
from .naming import sanitize_argument_name
from .refs import ExpansionContext, RefError, RefResolver, RemoteRefError, SchemaExpander
from .schemas import REQUEST, RESPONSE, cap_text
from .security import parse_requirements

MAX_DESCRIPTION_CHARS = 1024
MAX_SUMMARY_CHARS = 300
LARGE_SCHEMA_BYTES = 16 * 1024
# Response schemas only inform (they are not sent to the model as arguments), so they get a
# smaller budget: big APIs (Stripe) return deeply nested, expandable objects.
DEFAULT_MAX_OUTPUT_SCHEMA_BYTES = 32 * 1024
DEFAULT_MAX_TOTAL_SCHEMA_WORK = 48 * 1024 * 1024
REDUCED_SCHEMA_BYTES = 8 * 1024

PARAMETER_LOCATIONS = ("path", "query", "header", "cookie")
# OpenAPI: header parameters with these names "SHALL be ignored"; the request builder sets them.
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_LOCATION_BY_NAME: dict[str, ParameterLocation] = {
    "path": "path",
    "query": "query",
    "header": "header",
    "cookie": "cookie",
}
_DEFAULT_STYLE = {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}
_PATH_TEMPLATE = re.compile(r"\{([^{}]+)\}")
_MAX_LISTED = 5


class OperationSkipped(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class BuiltOperation:
    """An operation before it has a tool name (names are allocated across the whole spec)."""

    method: str
    path: str
    operation_id: str | None
    summary: str
    description: str
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    request_body: RequestBody | None
    input_schema: dict[str, Any]
    arguments: dict[str, ArgumentSource]
    consequential: bool
    deprecated: bool
    security: tuple[SecurityRequirement, ...]
    server_url: str | None
    responses: tuple[ResponseInfo, ...]
    schema_size: int
    output_schema: dict[str, Any] | None
    no_credentials: bool = False
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BuildSettings:
    max_schema_bytes: int
    max_schema_depth: int
    max_output_schema_bytes: int = DEFAULT_MAX_OUTPUT_SCHEMA_BYTES
    large_schema_bytes: int = LARGE_SCHEMA_BYTES
    # Once this much schema has been built for one document, the remaining operations get
    # the small budget below and no response schema: an import must end in bounded time
    # whatever the spec (thousands of operations over one huge recursive schema family).
    max_total_schema_work: int = DEFAULT_MAX_TOTAL_SCHEMA_WORK
    reduced_schema_bytes: int = REDUCED_SCHEMA_BYTES


class OperationBuilder:
    def __init__(
        self,
        resolver: RefResolver,
        *,
        global_security: tuple[SecurityRequirement, ...],
        known_schemes: set[str],
        settings: BuildSettings,
        global_security_empty: bool = False,
    ) -> None:
        self._resolver = resolver
        self._expander = SchemaExpander(resolver, mode=REQUEST)
        self._output_expander = SchemaExpander(resolver, mode=RESPONSE)
        self._global_security = global_security
        self._global_security_empty = global_security_empty
        self._known_schemes = known_schemes
        self._settings = settings

    def build(
        self, *, method: str, path: str, path_item: dict[str, Any], operation: dict[str, Any], server_url: str | None
    ) -> BuiltOperation:
        warnings: list[str] = []
        notes: list[str] = []
        max_bytes = self._settings.max_schema_bytes
        if self.over_work_budget:
            max_bytes = min(max_bytes, self._settings.reduced_schema_bytes)
            warnings.append(
                "the argument schema was kept small: this spec's schemas are too large "
                "to expand in full for every operation"
            )
        context = ExpansionContext(max_bytes=max_bytes, max_depth=self._settings.max_schema_depth)

        parameters = self._parameters(path, path_item, operation, context, warnings, notes)
        request_body = self._request_body(operation, context, warnings, notes)
        input_schema, arguments = build_input_schema(parameters, request_body)
        try:
            input_schema, schema_size = _json_copy(input_schema)
        except (TypeError, ValueError) as exc:
            raise OperationSkipped(f"its argument schema holds a value that is not JSON ({exc})") from exc
        self._schema_findings(context, schema_size, warnings, notes)

        callbacks = operation.get("callbacks")
        if isinstance(callbacks, dict) and callbacks:
            notes.append(f"callbacks ignored: {_listing(sorted(map(str, callbacks)))}")
        deprecated = operation.get("deprecated") is True
        if deprecated:
            notes.append("deprecated by the API")

        operation_id = operation.get("operationId")
        summary = str_field(operation, "summary")
        return BuiltOperation(
            method=method.upper(),
            path=path,
            operation_id=operation_id if isinstance(operation_id, str) and operation_id.strip() else None,
            summary=cap_text(strip_html(summary), MAX_SUMMARY_CHARS),
            description=_description(method, path, path_item, operation),
            tags=_tags(operation.get("tags")),
            parameters=tuple(parameters),
            request_body=request_body,
            input_schema=input_schema,
            arguments=arguments,
            consequential=is_consequential(method, operation),
            deprecated=deprecated,
            security=self._security(operation, warnings),
            no_credentials=self._says_no_credentials(operation),
            server_url=server_url,
            responses=self._responses(operation, warnings),
            schema_size=schema_size,
            output_schema=self._output_schema(operation, warnings),
            warnings=warnings,
            notes=notes,
        )

    # -- parameters -------------------------------------------------------------------------

    def _parameters(
        self,
        path: str,
        path_item: dict[str, Any],
        operation: dict[str, Any],
        context: ExpansionContext,
        warnings: list[str],
        notes: list[str],
    ) -> list[Parameter]:
        merged: dict[tuple[str, ParameterLocation], dict[str, Any]] = {}
        for source in (path_item.get("parameters"), operation.get("parameters")):
            if source is None:
                continue
            if not isinstance(source, list):
                raise OperationSkipped("its 'parameters' is not a list")
            for raw in source:
                parameter = self._deref("a parameter", raw)
                name, location = _check_parameter(parameter)
                merged[(name, location)] = parameter  # operation-level wins over path-level

        parameters: list[Parameter] = []
        for (name, location), raw in merged.items():
            if location == "header" and name.lower() in _IGNORED_HEADERS:
                notes.append(f"header parameter '{name}' ignored (set by the request itself)")
                continue
            parameters.append(self._parameter(name, location, raw, context, warnings))

        # Every {variable} in the path needs a value; specs sometimes forget to declare one.
        template_names = _PATH_TEMPLATE.findall(path)
        declared = {p.name for p in parameters if p.location == "path"}
        for name in template_names:
            if name not in declared:
                warnings.append(f"path parameter '{name}' is not declared; it is asked for as a string")
                parameters.append(
                    Parameter(
                        name=name,
                        location="path",
                        required=True,
                        schema={"type": "string"},
                        style="simple",
                        explode=False,
                    )
                )
        unused = [p.name for p in parameters if p.location == "path" and p.name not in template_names]
        if unused:
            warnings.append(f"path parameter(s) {_listing(unused)} do not appear in the path and were dropped")
            parameters = [p for p in parameters if not (p.location == "path" and p.name in unused)]
        return parameters

    def _parameter(
        self,
        name: str,
        location: ParameterLocation,
        raw: dict[str, Any],
        context: ExpansionContext,
        warnings: list[str],
    ) -> Parameter:
        content_type: str | None = None
        if "schema" in raw:
            schema = self._expand(f"parameter '{name}'", raw["schema"], context)
        elif isinstance(raw.get("content"), dict) and raw["content"]:
            content_type, media = next(iter(raw["content"].items()))
            media = media if isinstance(media, dict) else {}
            schema = self._expand(f"parameter '{name}'", media.get("schema", {}), context)
        else:
            warnings.append(f"parameter '{name}' has no schema; it is asked for as a string")
            schema = {"type": "string"}
        style = str_field(raw, "style") or _DEFAULT_STYLE[location]
        explode = raw["explode"] if isinstance(raw.get("explode"), bool) else style == "form"
        required = raw.get("required") is True or location == "path"  # path parameters always are
        description = str_field(raw, "description")
        return Parameter(
            name=name,
            location=location,
            required=required,
            schema=schema,
            style=style,
            explode=explode,
            description=cap_text(description, MAX_DESCRIPTION_CHARS),
            deprecated=raw.get("deprecated") is True,
            allow_reserved=raw.get("allowReserved") is True,
            content_type=content_type,
        )

    # -- request body -----------------------------------------------------------------------

    def _request_body(
        self, operation: dict[str, Any], context: ExpansionContext, warnings: list[str], notes: list[str]
    ) -> RequestBody | None:
        if "requestBody" not in operation:
            return None
        body = self._deref("the request body", operation["requestBody"])
        if not isinstance(body, dict):
            raise OperationSkipped("its request body is not an object")
        content = body.get("content")
        if not isinstance(content, dict) or not content:
            warnings.append("the request body declares no media type; no body is sent")
            return None
        media_types = [str(media) for media in content]
        chosen = choose_media_type(media_types)
        media = content[chosen] if isinstance(content[chosen], dict) else {}
        kind = media_kind(chosen)
        if "schema" in media:
            schema = self._expand("the request body", media["schema"], context)
        elif kind in ("binary", "other"):
            schema = {"type": "string", "format": "binary"}
        elif kind == "text":
            schema = {"type": "string"}
        else:
            schema = {}
        if kind in ("binary", "other", "text"):
            warnings.append(f"the request body is sent as {chosen}; the model supplies it as a single value")
        if not body.get("required") and _accepts_only_empty_object(schema):
            # Some generators (Stripe) declare an empty form body on every GET: nothing to ask for.
            return None
        if kind == "multipart":
            binary = _binary_fields(schema)
            if binary:
                notes.append(f"multipart body has file field(s) {_listing(binary)}")
        description = str_field(body, "description")
        encoding = dict_field(media, "encoding")
        return RequestBody(
            content_type=chosen,
            schema=schema,
            required=body.get("required") is True,
            description=cap_text(description, MAX_DESCRIPTION_CHARS),
            encoding=encoding,
            alternatives=tuple(media for media in media_types if media != chosen),
        )

    # -- the rest ---------------------------------------------------------------------------

    def _security(self, operation: dict[str, Any], warnings: list[str]) -> tuple[SecurityRequirement, ...]:
        # Operation-level security replaces the document's; ``security: []`` means none needed.
        requirements = parse_requirements(operation["security"]) if "security" in operation else self._global_security
        unknown = sorted(
            {name for requirement in requirements for name in requirement.schemes if name not in self._known_schemes}
        )
        if unknown:
            warnings.append(f"security refers to undefined scheme(s) {_listing(unknown)}")
        return requirements

    def _says_no_credentials(self, operation: dict[str, Any]) -> bool:
        """``security: []`` on the operation (or inherited from the document): call it anonymously."""
        if "security" in operation:
            return operation["security"] == []
        return self._global_security_empty

    def _responses(self, operation: dict[str, Any], warnings: list[str]) -> tuple[ResponseInfo, ...]:
        raw = operation.get("responses")
        if not isinstance(raw, dict):
            return ()
        responses: list[ResponseInfo] = []
        for status, value in raw.items():
            if isinstance(status, str) and status.startswith("x-"):
                continue
            try:
                response = self._resolver.deref(value)
            except RefError as exc:
                # Responses are not needed to make the call: note the problem and go on.
                warnings.append(f"response {status}: {exc.message}")
                continue
            if not isinstance(response, dict):
                continue
            description = str_field(response, "description")
            content = response.get("content")
            responses.append(
                ResponseInfo(
                    status=str(status),
                    description=cap_text(description, MAX_SUMMARY_CHARS),
                    content_types=tuple(str(media) for media in content) if isinstance(content, dict) else (),
                )
            )
        return tuple(responses)

    @property
    def over_work_budget(self) -> bool:
        return self._expander.work + self._output_expander.work > self._settings.max_total_schema_work

    def _output_schema(self, operation: dict[str, Any], warnings: list[str]) -> dict[str, Any] | None:
        responses = operation.get("responses")
        if not isinstance(responses, dict) or self.over_work_budget:
            return None
        by_status = {str(status): value for status, value in responses.items()}
        statuses = sorted((s for s in by_status if s[:1] == "2"), key=lambda s: (s.upper() == "2XX", s))
        if not statuses and "default" in by_status:
            statuses = ["default"]
        for status in statuses:
            try:
                response = self._resolver.deref(by_status[status])
            except RefError:
                continue  # already reported with the responses
            content = response.get("content") if isinstance(response, dict) else None
            if not isinstance(content, dict):
                continue
            json_types = [media for media in content if media_kind(str(media)) in ("json", "json-like")]
            media = content[choose_media_type(json_types)] if json_types else None
            if not isinstance(media, dict) or "schema" not in media:
                continue
            context = ExpansionContext(
                max_bytes=self._settings.max_output_schema_bytes, max_depth=self._settings.max_schema_depth
            )
            try:
                schema = self._output_expander.expand(media["schema"], context)
                copy: dict[str, Any] = _json_copy(schema if isinstance(schema, dict) else {})[0]
                return copy
            except RefError as exc:
                warnings.append(f"the response schema ({status}) is not available: {exc.message}")
            except (TypeError, ValueError, RecursionError):
                pass  # informative only: an unusable response schema just is not offered
            return None
        return None

    def _schema_findings(self, context: ExpansionContext, size: int, warnings: list[str], notes: list[str]) -> None:
        if context.external_refs:
            warnings.append(
                f"external reference(s) {_listing(sorted(context.external_refs))} not followed; "
                "those values are accepted as anything"
            )
        if context.depth_cuts:
            warnings.append(
                f"the argument schema was cut short: it nests more than {self._settings.max_schema_depth} levels deep"
            )
        elif context.truncated:
            warnings.append(f"the argument schema was cut short at about {context.max_bytes // 1024} KB")
        elif size > self._settings.large_schema_bytes:
            warnings.append(
                f"the argument schema is large ({size / 1024:.0f} KB); it takes up much of the model's context"
            )
        if context.invalid_nodes:
            warnings.append(f"{context.invalid_nodes} schema(s) were not valid and accept any value")
        if context.recursive_refs:
            notes.append(
                f"recursive schema(s) {_listing(sorted(context.recursive_refs))} not expanded where they repeat"
            )

    def _deref(self, what: str, raw: Any) -> Any:
        try:
            return self._resolver.deref(raw)
        except RemoteRefError as exc:
            raise OperationSkipped(f"{what} uses an external reference '{exc.ref}', which is not followed") from exc
        except RefError as exc:
            raise OperationSkipped(f"{what}: {exc.message}") from exc

    def _expand(self, what: str, schema: Any, context: ExpansionContext) -> Any:
        try:
            return self._expander.expand(schema, context)
        except RefError as exc:
            raise OperationSkipped(f"the schema of {what}: {exc.message}") from exc


def _json_copy(schema: Any) -> tuple[Any, int]:
    """A private deep copy and its size as compact UTF-8 JSON.

    Expanded schemas are shared between operations; callers may mutate their own copy.
    Raises TypeError/ValueError for values JSON cannot hold (NaN, dates from a foreign loader).
    """
    dumped = json.dumps(schema, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return json.loads(dumped), len(dumped.encode("utf-8"))


def _check_parameter(parameter: Any) -> tuple[str, ParameterLocation]:
    if not isinstance(parameter, dict):
        raise OperationSkipped("a parameter is not an object")
    name, location = parameter.get("name"), parameter.get("in")
    if not isinstance(name, str) or not name:
        raise OperationSkipped("a parameter has no name")
    checked = _LOCATION_BY_NAME.get(location) if isinstance(location, str) else None
    if checked is None:
        raise OperationSkipped(
            f"parameter '{name}' has an invalid location {location!r} (expected path, query, header or cookie)"
        )
    return name, checked


def build_input_schema(
    parameters: list[Parameter], body: RequestBody | None
) -> tuple[dict[str, Any], dict[str, ArgumentSource]]:
    """One object schema for all arguments, and where each argument goes in the request.

    Parameters keep their names (made safe for model APIs). When two share a name in
    different locations, or one is called ``body`` while there is a request body, every
    one of them is prefixed with its location: ``query__id``, ``header__id``.
    """
    order = {location: index for index, location in enumerate(PARAMETER_LOCATIONS)}
    ordered = sorted(parameters, key=lambda p: order[p.location])
    bases = [sanitize_argument_name(p.name) for p in ordered]
    locations_by_base: dict[str, set[str]] = {}
    for base, parameter in zip(bases, ordered, strict=True):
        locations_by_base.setdefault(base, set()).add(parameter.location)

    properties: dict[str, Any] = {}
    required: list[str] = []
    arguments: dict[str, ArgumentSource] = {}

    def claim(candidate: str) -> str:
        key, counter = candidate, 2
        while key in arguments or (body is not None and key == BODY_ARGUMENT):
            key = f"{candidate}_{counter}"
            counter += 1
        return key

    for base, parameter in zip(bases, ordered, strict=True):
        clash = len(locations_by_base[base]) > 1 or (body is not None and base == BODY_ARGUMENT)
        key = claim(f"{parameter.location}__{base}" if clash else base)
        arguments[key] = ArgumentSource(location=parameter.location, name=parameter.name)
        properties[key] = with_description(parameter.schema, parameter.description)
        if parameter.deprecated:
            properties[key] = {**properties[key], "deprecated": True}
        if parameter.required:
            required.append(key)
    if body is not None:
        arguments[BODY_ARGUMENT] = ArgumentSource(location="body", name="")
        properties[BODY_ARGUMENT] = with_description(body.schema, body.description)
        if body.required:
            required.append(BODY_ARGUMENT)

    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema, arguments


def with_description(schema: dict[str, Any] | bool, description: str) -> dict[str, Any]:
    """``schema`` as an object schema carrying ``description`` (which wins over the schema's own)."""
    if isinstance(schema, bool):
        schema = {} if schema else {"not": {}}
    if not description:
        return schema
    return {**schema, "description": description}


def is_consequential(method: str, operation: dict[str, Any]) -> bool:
    """Whether the user should confirm a call: writes do, reads don't, unless the spec says otherwise."""
    flag = operation.get("x-openai-isConsequential")
    if isinstance(flag, str) and flag.strip().lower() in ("true", "false"):
        flag = flag.strip().lower() == "true"
    if isinstance(flag, bool):
        return flag
    return method.upper() != "GET"


_JSON_MEDIA = re.compile(r"^application/(.+\+)?json$|^text/json$|^application/json-")


def media_kind(media_type: str) -> str:
    base = media_type.split(";", 1)[0].strip().lower()
    if base == "application/json":
        return "json"
    if _JSON_MEDIA.match(base) or base in ("*/*", "application/*"):
        return "json-like"
    if base == "application/x-www-form-urlencoded":
        return "form"
    if base == "multipart/form-data" or base.startswith("multipart/"):
        return "multipart"
    if base.startswith("text/"):
        return "text"
    if base == "application/octet-stream" or base.startswith(("image/", "audio/", "video/")):
        return "binary"
    return "other"


_MEDIA_PREFERENCE = {"json": 0, "json-like": 1, "form": 2, "multipart": 3, "text": 4, "binary": 5, "other": 6}


def choose_media_type(media_types: list[str]) -> str:
    """JSON first, then form-urlencoded, then multipart; ties keep the spec's order."""
    return min(enumerate(media_types), key=lambda item: (_MEDIA_PREFERENCE[media_kind(item[1])], item[0]))[1]


def _accepts_only_empty_object(schema: Any) -> bool:
    if not isinstance(schema, dict) or schema.get("additionalProperties") is not False:
        return False
    if schema.get("type", "object") != "object" or schema.get("properties"):
        return False
    return not any(key in schema for key in ("patternProperties", "allOf", "anyOf", "oneOf", "not"))


def _binary_fields(schema: Any) -> list[str]:
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return []
    fields = []
    for name, prop in schema["properties"].items():
        if not isinstance(prop, dict):
            continue
        candidates = [prop, prop.get("items"), *(prop.get("anyOf") or []), *(prop.get("oneOf") or [])]
        if any(isinstance(c, dict) and c.get("format") in ("binary", "base64") for c in candidates):
            fields.append(name)
    return fields


def _description(method: str, path: str, path_item: dict[str, Any], operation: dict[str, Any]) -> str:
    def text(source: dict[str, Any], key: str) -> str:
        value = source.get(key)
        return value.strip() if isinstance(value, str) else ""

    summary, description = text(operation, "summary"), text(operation, "description")
    if not summary and not description:
        summary, description = text(path_item, "summary"), text(path_item, "description")
    summary, description = strip_html(summary), strip_html(description)
    if summary and description and not description.startswith(summary):
        combined = f"{summary}\n\n{description}"
    else:
        combined = description or summary
    return cap_text(combined or f"{method.upper()} {path}", MAX_DESCRIPTION_CHARS)


# Only well-known formatting tags: text such as "Authorization: Bearer <api_key>" must survive.
_HTML_TAG = re.compile(r"</?(?:p|br|code|pre|a|b|i|em|strong|span|div|ul|ol|li|h[1-6])(?:\s[^<>]*)?/?>", re.IGNORECASE)
_BLOCK_END = re.compile(r"</(?:p|div|li|h[1-6])>|<br\s*/?>", re.IGNORECASE)


def strip_html(text: str) -> str:
    """Descriptions written as HTML (Stripe's ``<p>...</p>``) as plain text for the model."""
    if "<" not in text:
        return text
    text = _BLOCK_END.sub("\n", text)
    text = _HTML_TAG.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _tags(raw: Any) -> tuple[str, ...]:
    return tuple(tag for tag in raw if isinstance(tag, str)) if isinstance(raw, list) else ()


def _listing(items: list[str]) -> str:
    shown = ", ".join(f"'{item}'" for item in items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")

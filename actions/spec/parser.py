"""Parse an OpenAPI 3.x / Swagger 2.0 document into operations the model can call as tools."""

from __future__ import annotations

import logging
from typing import Any

from .errors import SpecError
from .fields import dict_field, str_field
from .gcpause import gc_paused
from .loading import DEFAULT_MAX_BYTES, SpecVersion, detect_version, load_spec_text
from .models import (
    IMPORTED,
    IMPORTED_WITH_WARNINGS,
    SKIPPED,
    Notice,
    ParsedOperation,
    ParsedSpec,
    ReportEntry,
    Server,
)
from .naming import NameAllocator, is_readable_operation_id, name_from_path, sanitize_name
from .operations import BuildSettings, BuiltOperation, OperationBuilder, OperationSkipped
from .refs import DEFAULT_MAX_SCHEMA_BYTES, DEFAULT_MAX_SCHEMA_DEPTH, RefError, RefResolver
from .schemas import cap_text
from .security import parse_requirements, parse_security_schemes
from .servers import normalize_base_url, parse_servers
from .swagger2 import convert_swagger2
from .validation import ValidationFindings, validate_structure

logger = logging.getLogger(__name__)

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Models accept a limited number of tools per request (OpenAI: 128).
MAX_ENABLED_TOOLS = 128
MAX_SPEC_DESCRIPTION_CHARS = 4000
_MAX_VALIDATION_NOTICES = 10


def parse_spec_text(
    text: str | bytes, *, server_url: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES, validate: bool = True
) -> ParsedSpec:
    """:func:`load_spec_text` then :func:`parse_spec`."""
    with gc_paused():
        document = load_spec_text(text, max_bytes=max_bytes)
        return parse_spec(document, server_url=server_url, validate=validate)


def parse_spec(
    spec: dict[str, Any],
    *,
    server_url: str | None = None,
    validate: bool = True,
    max_schema_bytes: int = DEFAULT_MAX_SCHEMA_BYTES,
    max_schema_depth: int = DEFAULT_MAX_SCHEMA_DEPTH,
) -> ParsedSpec:
    """Turn a loaded document into a :class:`ParsedSpec`.

    Only a document that is not OpenAPI at all raises (:class:`SpecError`); problems with
    single operations are reported in ``report`` and problems with the document in
    ``warnings``. ``server_url`` overrides the servers declared in the spec. ``validate``
    checks the document against the official schema (findings become warnings).
    ``spec`` is not modified.
    """
    with gc_paused():
        return _parse(
            spec,
            server_url=server_url,
            validate=validate,
            max_schema_bytes=max_schema_bytes,
            max_schema_depth=max_schema_depth,
        )


def _parse(
    spec: dict[str, Any], *, server_url: str | None, validate: bool, max_schema_bytes: int, max_schema_depth: int
) -> ParsedSpec:
    if not isinstance(spec, dict):
        raise SpecError("not_an_object", "The spec must be a JSON or YAML object (a mapping).")
    version = detect_version(spec)
    warnings: list[Notice] = []

    findings = ValidationFindings()
    if validate:
        findings = _validate(spec, version, warnings)

    document = spec
    if version.is_swagger2:
        document, conversion_notes = convert_swagger2(spec)
        warnings.extend(Notice("swagger2_conversion", note) for note in conversion_notes)

    resolver = RefResolver(document)
    info = dict_field(document, "info")

    servers, server_notices = parse_servers(document.get("servers"))
    warnings.extend(server_notices)
    chosen_url = _choose_server(servers, server_url, warnings)

    components = dict_field(document, "components")
    security_schemes, security_notices = parse_security_schemes(components, resolver)
    warnings.extend(security_notices)
    global_security = parse_requirements(document.get("security"))

    builder = OperationBuilder(
        resolver,
        global_security=global_security,
        known_schemes=set(security_schemes),
        global_security_empty=document.get("security") == [],
        settings=BuildSettings(max_schema_bytes=max_schema_bytes, max_schema_depth=max_schema_depth),
    )
    built, report_slots = _build_operations(document, resolver, builder, findings)
    operations = _name_operations(built)
    report = _report(report_slots, operations)
    report.extend(_webhook_entries(document, resolver))

    if builder.over_work_budget:
        warnings.append(
            Notice(
                "schemas_shortened",
                "The spec's schemas are too large to expand in full for every operation; the argument "
                "schemas of the last operations were kept small.",
            )
        )
    if len(operations) > MAX_ENABLED_TOOLS:
        warnings.append(
            Notice(
                "too_many_operations",
                f"The spec has {len(operations)} operations; a model can be offered at most {MAX_ENABLED_TOOLS} "
                "tools at once, so enable only the ones the bot needs.",
            )
        )

    description = str_field(info, "description")
    return ParsedSpec(
        spec_version=version.version,
        title=_text(info.get("title")) or "Untitled API",
        version=_text(info.get("version")),
        description=cap_text(description, MAX_SPEC_DESCRIPTION_CHARS),
        servers=tuple(servers),
        server_url=chosen_url,
        security_schemes=security_schemes,
        security=global_security,
        operations=operations,
        report=report,
        warnings=warnings,
    )


def _validate(spec: dict[str, Any], version: SpecVersion, warnings: list[Notice]) -> ValidationFindings:
    try:
        findings = validate_structure(spec, version)
    except Exception as exc:
        logger.warning("spec validation failed: %s", exc)
        warnings.append(Notice("invalid_document", "The spec could not be checked against the OpenAPI schema."))
        return ValidationFindings()
    for message in findings.document[:_MAX_VALIDATION_NOTICES]:
        warnings.append(Notice("invalid_document", message))
    if len(findings.document) > _MAX_VALIDATION_NOTICES:
        warnings.append(
            Notice("invalid_document", f"… and {len(findings.document) - _MAX_VALIDATION_NOTICES} more problems.")
        )
    return findings


def _choose_server(servers: list[Server], override: str | None, warnings: list[Notice]) -> str | None:
    if override is not None and override.strip():
        url = normalize_base_url(override)
    elif servers:
        url = servers[0].url
    else:
        warnings.append(
            Notice("missing_servers", "The spec declares no server; set the API's base URL before using it.")
        )
        return None
    if "://" not in url:
        warnings.append(
            Notice(
                "relative_server_url",
                f"The server URL '{url}' is relative; set the API's full base URL "
                "(e.g. https://api.example.com" + (url if url.startswith("/") else "/" + url) + ").",
            )
        )
    return url


# A report slot is either a finished entry (skipped) or an index into the built operations.
_Slot = ReportEntry | int


def _build_operations(
    document: dict[str, Any], resolver: RefResolver, builder: OperationBuilder, findings: ValidationFindings
) -> tuple[list[BuiltOperation], list[_Slot]]:
    built: list[BuiltOperation] = []
    slots: list[_Slot] = []
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return built, slots
    for path, raw_item in paths.items():
        path = str(path)
        try:
            item = resolver.deref(raw_item)
        except RefError as exc:
            slots.append(
                ReportEntry(status=SKIPPED, kind="path", method=None, path=path, reason=f"path item: {exc.message}")
            )
            continue
        if not isinstance(item, dict):
            slots.append(
                ReportEntry(
                    status=SKIPPED, kind="path", method=None, path=path, reason="the path item is not an object"
                )
            )
            continue
        path_server = _override_server(item)
        for method in _methods_of(item):
            operation = item[method]
            validation_warnings = [f"spec check: {m}" for m in findings.for_operation(path, method)]
            try:
                if not isinstance(operation, dict):
                    raise OperationSkipped("the operation is not an object")
                result = builder.build(
                    method=method,
                    path=path,
                    path_item=item,
                    operation=operation,
                    server_url=_override_server(operation) or path_server,
                )
            except OperationSkipped as exc:
                slots.append(
                    ReportEntry(
                        status=SKIPPED,
                        kind="operation",
                        method=method.upper(),
                        path=path,
                        reason=exc.reason,
                        warnings=tuple(validation_warnings),
                    )
                )
                continue
            except RecursionError:
                slots.append(
                    ReportEntry(
                        status=SKIPPED,
                        kind="operation",
                        method=method.upper(),
                        path=path,
                        reason="its schemas are nested too deeply",
                    )
                )
                continue
            except Exception as exc:
                logger.exception("unexpected error importing %s %s", method.upper(), path)
                slots.append(
                    ReportEntry(
                        status=SKIPPED,
                        kind="operation",
                        method=method.upper(),
                        path=path,
                        reason=f"it could not be read ({type(exc).__name__})",
                    )
                )
                continue
            if not path.startswith("/"):
                result.warnings.append("the path does not start with '/'")
            result.warnings.extend(validation_warnings)
            slots.append(len(built))
            built.append(result)
    return built, slots


def _methods_of(item: dict[str, Any]) -> list[str]:
    """The item's HTTP methods in the order the spec lists them."""
    return [key for key in item if key in HTTP_METHODS]


def _override_server(node: dict[str, Any]) -> str | None:
    servers, _ = parse_servers(node.get("servers"))
    return servers[0].url if servers else None


def _name_operations(built: list[BuiltOperation]) -> list[ParsedOperation]:
    """Give every operation a unique tool name; explicit operationIds are served first."""
    allocator = NameAllocator()
    names: dict[int, str] = {}
    derived: list[int] = []
    for index, operation in enumerate(built):
        raw_id = operation.operation_id
        base = sanitize_name(raw_id) if raw_id else ""
        if raw_id and is_readable_operation_id(raw_id, base):
            name = allocator.allocate(base)
            names[index] = name
            if name.lower() != base.lower():
                operation.warnings.append(f"operationId '{raw_id}' is used more than once; this tool is '{name}'")
            elif name != raw_id:
                operation.notes.append(f"operationId '{raw_id}' adjusted to the tool name '{name}'")
        else:
            if raw_id:
                operation.notes.append(f"operationId '{raw_id}' cannot be a tool name; named after its path")
            derived.append(index)
    for index in derived:
        operation = built[index]
        names[index] = allocator.allocate(name_from_path(operation.method, operation.path))

    return [
        ParsedOperation(
            name=names[index],
            method=op.method,
            path=op.path,
            summary=op.summary,
            description=op.description,
            operation_id=op.operation_id,
            tags=op.tags,
            parameters=op.parameters,
            request_body=op.request_body,
            input_schema=op.input_schema,
            arguments=op.arguments,
            consequential=op.consequential,
            deprecated=op.deprecated,
            security=op.security,
            server_url=op.server_url,
            responses=op.responses,
            schema_size=op.schema_size,
            output_schema=op.output_schema,
            no_credentials=op.no_credentials,
            warnings=tuple(op.warnings),
            notes=tuple(op.notes),
        )
        for index, op in enumerate(built)
    ]


def _report(slots: list[_Slot], operations: list[ParsedOperation]) -> list[ReportEntry]:
    report: list[ReportEntry] = []
    for slot in slots:
        if isinstance(slot, ReportEntry):
            report.append(slot)
            continue
        operation = operations[slot]
        report.append(
            ReportEntry(
                status=IMPORTED_WITH_WARNINGS if operation.warnings else IMPORTED,
                kind="operation",
                method=operation.method,
                path=operation.path,
                name=operation.name,
                warnings=operation.warnings,
                notes=operation.notes,
            )
        )
    return report


def _webhook_entries(document: dict[str, Any], resolver: RefResolver) -> list[ReportEntry]:
    webhooks = document.get("webhooks")
    if not isinstance(webhooks, dict):
        return []
    entries: list[ReportEntry] = []
    for name, raw_item in webhooks.items():
        try:
            item = resolver.deref(raw_item)
        except RefError:
            item = None
        methods: list[str | None] = [*_methods_of(item)] if isinstance(item, dict) else []
        for method in methods or [None]:
            entries.append(
                ReportEntry(
                    status=SKIPPED,
                    kind="webhook",
                    method=method.upper() if method else None,
                    path=str(name),
                    reason="webhook, not callable",
                )
            )
    return entries


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # "version: 1.0" unquoted in YAML
    return ""

"""Importing HTTP APIs from OpenAPI documents as tools a model can call.

Pure functions over text and dicts: no Django, no database, no network.

    spec = parse_spec(load_spec_text(text))
    for operation in spec.operations:
        operation.name, operation.description, operation.input_schema
    spec.report  # what was imported, with warnings, or skipped and why
"""

from .errors import SpecError
from .loading import DEFAULT_MAX_BYTES, SpecVersion, detect_version, load_spec_text
from .models import (
    BODY_ARGUMENT,
    ArgumentSource,
    Notice,
    OAuthFlow,
    Parameter,
    ParsedOperation,
    ParsedSpec,
    ReportCounts,
    ReportEntry,
    RequestBody,
    ResponseInfo,
    SecurityRequirement,
    SecurityScheme,
    Server,
    ServerVariable,
    count_report,
)
from .operations import LARGE_SCHEMA_BYTES, MAX_DESCRIPTION_CHARS
from .parser import MAX_ENABLED_TOOLS, parse_spec, parse_spec_text
from .refs import EXTERNAL_MARKER, RECURSIVE_MARKER
from .schemas import TRUNCATED_MARKER
from .swagger2 import convert_swagger2

__all__ = [
    "BODY_ARGUMENT",
    "DEFAULT_MAX_BYTES",
    "EXTERNAL_MARKER",
    "LARGE_SCHEMA_BYTES",
    "MAX_DESCRIPTION_CHARS",
    "MAX_ENABLED_TOOLS",
    "RECURSIVE_MARKER",
    "TRUNCATED_MARKER",
    "ArgumentSource",
    "Notice",
    "OAuthFlow",
    "Parameter",
    "ParsedOperation",
    "ParsedSpec",
    "ReportCounts",
    "ReportEntry",
    "RequestBody",
    "ResponseInfo",
    "SecurityRequirement",
    "SecurityScheme",
    "Server",
    "ServerVariable",
    "SpecError",
    "SpecVersion",
    "convert_swagger2",
    "count_report",
    "detect_version",
    "load_spec_text",
    "parse_spec",
    "parse_spec_text",
]

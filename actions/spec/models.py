"""Plain data the importer produces: what an imported spec and each of its operations look like."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ParameterLocation = Literal["path", "query", "header", "cookie"]
ArgumentLocation = Literal["path", "query", "header", "cookie", "body"]
ReportStatus = Literal["imported", "imported_with_warnings", "skipped"]
ReportKind = Literal["operation", "webhook", "path"]

IMPORTED: ReportStatus = "imported"
IMPORTED_WITH_WARNINGS: ReportStatus = "imported_with_warnings"
SKIPPED: ReportStatus = "skipped"

# The body of a request is offered to the model under this single argument name.
BODY_ARGUMENT = "body"


@dataclass(frozen=True)
class ServerVariable:
    name: str
    default: str
    enum: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Server:
    url: str  # variables substituted with their defaults
    template: str  # as written in the spec, e.g. "{scheme}://api.example.com"
    description: str = ""
    variables: tuple[ServerVariable, ...] = ()

    @property
    def is_relative(self) -> bool:
        """True for URLs such as ``/api/v3`` that only make sense relative to where the spec lives."""
        return "://" not in self.url


@dataclass(frozen=True)
class OAuthFlow:
    kind: str  # implicit | password | clientCredentials | authorizationCode
    authorization_url: str | None = None
    token_url: str | None = None
    refresh_url: str | None = None
    scopes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SecurityScheme:
    key: str  # the name under components.securitySchemes
    type: str  # apiKey | http | oauth2 | openIdConnect | mutualTLS
    description: str = ""
    name: str | None = None  # apiKey: header/query/cookie parameter name
    location: str | None = None  # apiKey: header | query | cookie
    scheme: str | None = None  # http: bearer | basic | digest ... (lower-cased)
    bearer_format: str | None = None
    flows: tuple[OAuthFlow, ...] = ()
    openid_connect_url: str | None = None


@dataclass(frozen=True)
class SecurityRequirement:
    """One acceptable way to authenticate: every scheme listed must be supplied together.

    An operation lists alternatives; an empty ``schemes`` mapping among them means that
    calling without credentials is also acceptable.
    """

    schemes: dict[str, tuple[str, ...]]  # scheme key -> required OAuth scopes


@dataclass(frozen=True)
class Parameter:
    name: str  # as the API expects it
    location: ParameterLocation
    required: bool
    schema: dict[str, Any] | bool
    style: str  # OpenAPI serialisation style: form, simple, label, matrix, deepObject, ...
    explode: bool
    description: str = ""
    deprecated: bool = False
    allow_reserved: bool = False
    content_type: str | None = None  # set when the parameter is serialised as a media type


@dataclass(frozen=True)
class RequestBody:
    content_type: str  # the one chosen: JSON over form-urlencoded over multipart over others
    schema: dict[str, Any] | bool
    required: bool
    description: str = ""
    encoding: dict[str, Any] = field(default_factory=dict)  # multipart/form per-field encoding
    alternatives: tuple[str, ...] = ()  # the other media types the operation accepts


@dataclass(frozen=True)
class ArgumentSource:
    """Where a tool argument goes in the HTTP request."""

    location: ArgumentLocation
    name: str  # the parameter's name in the request; "" for the body


@dataclass(frozen=True)
class ResponseInfo:
    status: str  # "200", "4XX", "default"
    description: str = ""
    content_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedOperation:
    """One callable operation.

    ``input_schema`` and ``output_schema`` belong to this operation alone. The schemas inside
    ``parameters`` and ``request_body`` may be shared with other operations of the same
    spec (expanded references are memoised): treat them as read-only.
    """

    name: str  # tool name, ^[a-zA-Z0-9_-]{1,64}$ and unique within the spec
    method: str  # upper case: GET, POST, ...
    path: str
    summary: str
    description: str  # what the model reads about the tool; never empty, capped in length
    operation_id: str | None
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    request_body: RequestBody | None
    # The JSON Schema (Draft 2020-12) of the tool's arguments: one object whose properties
    # are the parameters plus ``body`` for the request body. A parameter keeps its name (made
    # safe for model APIs: ``filter[status]`` -> ``filter_status``) unless two parameters
    # share it in different locations, or it is called ``body`` while there is a request
    # body: then each gets its location as a prefix, ``query__id`` / ``header__id``.
    # Schemas cut short carry ``x-switchboard-recursive`` / ``x-switchboard-truncated``.
    input_schema: dict[str, Any]
    # argument name -> where it goes in the request, under which original name
    arguments: dict[str, ArgumentSource]
    consequential: bool  # the user should confirm before the call is made
    deprecated: bool
    # Alternatives; empty means no credentials are needed (``security: []`` or none declared).
    security: tuple[SecurityRequirement, ...]
    server_url: str | None  # set when the path or operation overrides the spec's servers
    responses: tuple[ResponseInfo, ...]
    schema_size: int  # bytes of input_schema as compact UTF-8 JSON
    # JSON Schema of the successful JSON response (first 2xx, else "default"), when there is
    # one; expanded like input_schema but with a smaller size budget.
    output_schema: dict[str, Any] | None = None
    # The spec says ``security: []`` for this operation (or for the whole document): it is
    # called without credentials even when the action has some configured. Not set when the
    # spec declares no security at all, which usually means it just does not describe it.
    no_credentials: bool = False
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # informational; they do not make the import "with warnings"


@dataclass(frozen=True)
class ReportEntry:
    status: ReportStatus
    kind: ReportKind
    method: str | None  # None for entries about a whole path item
    path: str  # for webhooks, the webhook's name
    name: str | None = None  # the tool name, for imported operations
    reason: str | None = None  # why it was skipped
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notice:
    """A spec-level remark: ``code`` for programs, ``message`` for people."""

    code: str
    message: str


@dataclass(frozen=True)
class ReportCounts:
    imported: int  # without warnings
    imported_with_warnings: int
    skipped: int

    @property
    def importable(self) -> int:
        return self.imported + self.imported_with_warnings

    @property
    def total(self) -> int:
        return self.imported + self.imported_with_warnings + self.skipped


def count_report(report: list[ReportEntry] | tuple[ReportEntry, ...]) -> ReportCounts:
    """Tally report entries by status (webhooks and path-level entries count as skipped items)."""
    imported = sum(1 for entry in report if entry.status == IMPORTED)
    with_warnings = sum(1 for entry in report if entry.status == IMPORTED_WITH_WARNINGS)
    return ReportCounts(
        imported=imported, imported_with_warnings=with_warnings, skipped=len(report) - imported - with_warnings
    )


@dataclass(frozen=True)
class ParsedSpec:
    spec_version: str  # as declared: "2.0", "3.0.3", "3.1.0"
    title: str
    version: str  # the API's own version (info.version)
    description: str
    servers: tuple[Server, ...]
    server_url: str | None  # the base URL chosen: the caller's override, else the first server
    security_schemes: dict[str, SecurityScheme]
    security: tuple[SecurityRequirement, ...]  # the document-wide default
    operations: list[ParsedOperation]
    report: list[ReportEntry]
    warnings: list[Notice] = field(default_factory=list)

    @property
    def counts(self) -> ReportCounts:
        return count_report(self.report)

    def operation(self, name: str) -> ParsedOperation:
        """The operation whose tool name is ``name`` (KeyError if there is none)."""
        for operation in self.operations:
            if operation.name == name:
                return operation
        raise KeyError(name)

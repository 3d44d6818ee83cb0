"""REST API: actions (import, re-import, settings, credentials), their operations, the test console.

Reads need the viewer role; changing actions and calling the test console need editor. The network
allowlist the calls run under is the network app's (`/api/v1/egress-allowlist/`). Credentials are
write-only: output carries `has_credentials` and hints (`…1234`), never a secret.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.tenancy import WorkspaceScopedMixin
from actions import auth, importing, invocation, selectors, services
from actions.filters import OperationFilter
from actions.models import Action, AuthType, Operation, SourceKind
from actions.tools import LARGE_TOOL_SCHEMA_BYTES
from switchboard.api.errors import ApiError
from switchboard.api.filters import FilterBackend
from switchboard.api.pagination import CursorPagination
from switchboard.api.schema import error_responses
from switchboard.errors import NotFound

_errors = error_responses(
    _413="The spec is larger than SWITCHBOARD_ACTIONS_MAX_SPEC_MB.",
    _422=(
        "The spec cannot be used: malformed JSON/YAML, not OpenAPI, an unsupported version, or a URL that "
        "cannot be fetched."
    ),
)


def _user(request):
    return request.user if getattr(request.user, "pk", None) and hasattr(request.user, "email") else None


def _flag(request, name: str) -> bool:
    return str(request.query_params.get(name, "")).lower() in ("1", "true", "yes", "on")


# -- auth (write-only secrets) ------------------------------------------------------------------------


@extend_schema_serializer(component_name="ActionAuthInput")
class AuthInputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=AuthType.values,
        required=False,
        help_text="none | api_key | bearer | basic | oauth2_client_credentials. Omit to keep the current type.",
    )
    location = serializers.ChoiceField(
        choices=list(auth.API_KEY_LOCATIONS),
        required=False,
        allow_blank=True,
        help_text="api_key: `header` (default) or `query`. Moving the key to the query drops a stored header prefix.",
    )
    name = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="api_key: the header or query parameter name (default X-API-Key in a header, api_key in the query).",
    )
    prefix = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=50,
        help_text="api_key in a header: sent before the key, e.g. `Token`.",
    )
    token_url = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="oauth2_client_credentials."
    )
    scopes = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=100,
        help_text="oauth2_client_credentials: scopes to request.",
    )
    audience = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="oauth2_client_credentials: sent as `audience` when set (Auth0).",
    )
    client_auth = serializers.ChoiceField(
        choices=list(auth.CLIENT_AUTH_METHODS),
        required=False,
        allow_blank=True,
        help_text="oauth2: `basic` (HTTP Basic, default) or `body` (form fields).",
    )
    api_key = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, write_only=True, trim_whitespace=True, max_length=8000
    )
    token = serializers.CharField(required=False, allow_blank=True, allow_null=True, write_only=True, max_length=8000)
    username = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, write_only=True, max_length=8000
    )
    password = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, write_only=True, max_length=8000, trim_whitespace=False
    )
    client_id = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, write_only=True, max_length=8000
    )
    client_secret = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, write_only=True, max_length=8000
    )


_AUTH_HELP = (
    "How calls authenticate. Secrets (`api_key`, `token`, `username`, `password`, `client_id`, "
    '`client_secret`) are stored encrypted and never returned; omit one to keep it, send "" to '
    'remove it. Changing `type` drops the old type\'s settings and secrets, and "" or null for a '
    "field of another type is ignored; a value for one is refused. In multipart requests, send this "
    "object as a JSON string."
)


@extend_schema_field(AuthInputSerializer)
class AuthField(serializers.Field):
    """The auth object, also accepted as a JSON string (multipart imports)."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else {}
            except ValueError:
                raise serializers.ValidationError("Must be a JSON object.") from None
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be an object.")
        if isinstance(data.get("scopes"), str):
            data = {**data, "scopes": data["scopes"].replace(",", " ").split()}
        inner = AuthInputSerializer(data=data)
        inner.is_valid(raise_exception=True)
        unknown = sorted(set(data) - set(inner.fields))
        if unknown:
            raise serializers.ValidationError(f"Unknown field(s): {', '.join(unknown)}.")
        return dict(inner.validated_data)

    def to_representation(self, value: Any) -> Any:  # pragma: no cover - input only
        return None


@extend_schema_serializer(component_name="ActionAuth")
class AuthOutputSerializer(serializers.Serializer):
    type = serializers.CharField()
    location = serializers.CharField(required=False)
    name = serializers.CharField(required=False)
    prefix = serializers.CharField(required=False)
    token_url = serializers.CharField(required=False)
    scopes = serializers.ListField(child=serializers.CharField(), required=False)
    audience = serializers.CharField(required=False)
    client_auth = serializers.CharField(required=False)
    description = serializers.CharField(help_text="Where the credentials go, in words.")
    has_credentials = serializers.BooleanField()
    missing_credentials = serializers.ListField(
        child=serializers.CharField(), help_text="Secrets this type needs that are not stored yet."
    )
    credential_hints = serializers.DictField(
        child=serializers.CharField(), help_text="Last four characters of each stored secret."
    )
    token_cached_until = serializers.DateTimeField(
        allow_null=True, required=False, help_text="oauth2: when the cached access token expires."
    )


# -- actions ------------------------------------------------------------------------------------------


@extend_schema_serializer(component_name="Action")
class ActionOutputSerializer(serializers.ModelSerializer):
    source = serializers.SerializerMethodField()
    spec = serializers.SerializerMethodField()
    auth = serializers.SerializerMethodField()
    operation_count = serializers.SerializerMethodField()
    enabled_operation_count = serializers.SerializerMethodField()
    import_summary = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()

    class Meta:
        model = Action
        fields = [
            "id",
            "name",
            "description",
            "enabled",
            "source",
            "spec",
            "servers",
            "server_url",
            "auth",
            "security_schemes",
            "operation_count",
            "enabled_operation_count",
            "import_summary",
            "warnings",
            "last_imported_at",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(
        inline_serializer(
            "ActionSource",
            fields={
                "kind": serializers.ChoiceField(choices=SourceKind.values),
                "url": serializers.CharField(),
                "filename": serializers.CharField(),
            },
        )
    )
    def get_source(self, action: Action) -> dict[str, str]:
        return {"kind": action.source_kind, "url": action.source_url, "filename": action.source_filename}

    @extend_schema_field(
        inline_serializer(
            "ActionSpec",
            fields={
                "title": serializers.CharField(),
                "version": serializers.CharField(),
                "spec_version": serializers.CharField(),
                "hash": serializers.CharField(),
            },
        )
    )
    def get_spec(self, action: Action) -> dict[str, str]:
        return {
            "title": action.api_title,
            "version": action.api_version,
            "spec_version": action.spec_version,
            "hash": action.spec_hash,
        }

    @extend_schema_field(AuthOutputSerializer)
    def get_auth(self, action: Action) -> dict[str, Any]:
        return selectors.action_auth_summary(action)

    @extend_schema_field(OpenApiTypes.INT)
    def get_operation_count(self, action: Action) -> int:
        return selectors.operation_count(action=action)

    @extend_schema_field(OpenApiTypes.INT)
    def get_enabled_operation_count(self, action: Action) -> int:
        return selectors.operation_count(action=action, enabled_only=True)

    @extend_schema_field(
        inline_serializer(
            "ActionImportSummary",
            fields={
                "imported": serializers.IntegerField(),
                "imported_with_warnings": serializers.IntegerField(),
                "skipped": serializers.IntegerField(),
                "total": serializers.IntegerField(),
                "warnings": serializers.IntegerField(help_text="Spec-level warnings; see …/report."),
            },
        )
    )
    def get_import_summary(self, action: Action) -> dict[str, int]:
        return dict(action.import_counts or {})

    @extend_schema_field(
        inline_serializer(
            "ActionWarning", many=True, fields={"code": serializers.CharField(), "message": serializers.CharField()}
        )
    )
    def get_warnings(self, action: Action) -> list[dict[str, str]]:
        extra = self.context.get("warnings") or []
        seen = {w["code"] for w in extra}
        return [*extra, *(w for w in selectors.action_warnings(action) if w["code"] not in seen)]


class ActionListApi(WorkspaceScopedMixin, generics.ListAPIView):
    """The workspace's actions (newest first) with their operation counts."""

    queryset = Action.objects.all()
    serializer_class = ActionOutputSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Action.objects.none()
        return selectors.action_list(workspace_id=self.workspace.pk).order_by("-created_at")

    @extend_schema(operation_id="actions_list", summary="List actions")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


_REPORT_SCHEMA = inline_serializer(
    "ActionImportReport",
    fields={
        "spec": inline_serializer(
            "ActionImportReportSpec",
            fields={
                "title": serializers.CharField(),
                "version": serializers.CharField(),
                "spec_version": serializers.CharField(),
                "servers": serializers.ListField(child=serializers.DictField()),
            },
        ),
        "server_url": serializers.CharField(allow_null=True, help_text="The base URL calls will use."),
        "counts": serializers.DictField(
            child=serializers.IntegerField(), help_text="imported, imported_with_warnings, skipped, total."
        ),
        "warnings": serializers.ListField(child=serializers.DictField(), help_text="Spec-level: {code, message}."),
        "auth_suggestion": serializers.DictField(
            allow_null=True, help_text="The auth the spec's security schemes call for (without secrets)."
        ),
        "operations": serializers.ListField(
            child=serializers.DictField(),
            help_text=(
                "One entry per operation (and per webhook): "
                "{status: imported | imported_with_warnings | skipped, kind, "
                "method, path, name, reason (why skipped), warnings, notes, change (re-import: added | updated | "
                "unchanged)}."
            ),
        ),
        "changes": serializers.DictField(
            required=False, help_text="Re-import only: added, updated, unchanged, removed."
        ),
        "removed": serializers.ListField(
            child=serializers.DictField(),
            required=False,
            help_text="Re-import only: operations that are gone from the spec.",
        ),
    },
)

_IMPORT_RESULT = inline_serializer(
    "ActionImportResult",
    fields={
        "action": ActionOutputSerializer(allow_null=True, help_text="null for a dry run."),
        "created": serializers.BooleanField(),
        "dry_run": serializers.BooleanField(),
        "report": _REPORT_SCHEMA,
    },
)

_SOURCE_HELP = (
    "Exactly one of: `url` (fetched through the platform's egress rules), `spec` (the text, JSON or "
    "YAML), or a multipart `file`. OpenAPI 3.0, 3.1 and Swagger 2.0 (converted)."
)


@extend_schema_serializer(component_name="ActionImportInput")
class ImportInputSerializer(serializers.Serializer):
    url = serializers.CharField(required=False, max_length=2000, help_text="Where the spec is published.")
    spec = serializers.CharField(required=False, trim_whitespace=False, help_text="The spec text (JSON or YAML).")
    file = serializers.FileField(required=False, help_text="The spec as a file (multipart only).")
    name = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Default: the spec's title."
    )
    server_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="The base URL to call; default: the spec's first server.",
    )
    auth = AuthField(required=False, help_text=_AUTH_HELP)


def _check_declared_size(request) -> None:
    limit = settings.ACTIONS_MAX_SPEC_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit + 1024 * 1024:  # refuse before reading the body (multipart overhead aside)
        raise ApiError(
            f"The request is {declared / 1048576:,.1f} MB; the largest spec that can be imported is "
            f"{limit // 1048576} MB.",
            code="spec_too_large",
            status_code=413,
            param="spec",
        )


def _source_from(values: dict[str, Any], *, required: bool) -> importing.SpecSource | None:
    given = [key for key in ("url", "spec", "file") if values.get(key) not in (None, "")]
    if len(given) > 1:
        raise ApiError(
            f"Send only one of url, spec and file (got {', '.join(given)}).", code="ambiguous_source", param=given[1]
        )
    if not given:
        if required:
            raise ApiError(
                "Send the spec: a JSON body with `url` or `spec`, or a multipart `file`.", code="required", param="spec"
            )
        return None
    if given[0] == "url":
        return importing.SpecSource(kind=SourceKind.URL, url=values["url"].strip())
    if given[0] == "spec":
        return importing.SpecSource(kind=SourceKind.TEXT, text=values["spec"])
    return importing.spec_upload_source(values["file"])


def _import_response(outcome: importing.ImportOutcome, *, status_code: int) -> Response:
    action_data = None
    if outcome.action is not None and not outcome.dry_run:
        action = selectors.action_get(workspace_id=outcome.action.workspace_id, action_id=outcome.action.pk)
        action_data = ActionOutputSerializer(action, context={"warnings": []}).data
    elif outcome.action is not None:
        action_data = ActionOutputSerializer(outcome.action).data
    return Response(
        {"action": action_data, "created": outcome.created, "dry_run": outcome.dry_run, "report": outcome.report},
        status=status_code,
    )


class ActionImportApi(WorkspaceScopedMixin, generics.GenericAPIView):
    queryset = Action.objects.all()
    serializer_class = ImportInputSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="actions_import",
        summary="Import an OpenAPI spec as an action",
        description=(
            f"{_SOURCE_HELP} The report lists every operation as imported, imported with warnings, or skipped "
            "with the reason; a bad operation never stops the rest. With `?dry_run=true` only the report is "
            "returned and nothing is saved. Refused: a spec over the size limit (413); malformed JSON/YAML, "
            "not OpenAPI, an unsupported version, an unreachable or private URL (422). The import is one "
            "transaction. With an `Idempotency-Key` header, a repeat returns the first import's action (200)."
        ),
        parameters=[
            OpenApiParameter(
                "dry_run", OpenApiTypes.BOOL, required=False, description="Only report what would be imported."
            ),
            OpenApiParameter(
                "Idempotency-Key",
                location=OpenApiParameter.HEADER,
                required=False,
                type=str,
                description="Repeat-safe key; a repeat returns the first result.",
            ),
        ],
        request={"application/json": ImportInputSerializer, "multipart/form-data": ImportInputSerializer},
        responses={201: _IMPORT_RESULT, 200: _IMPORT_RESULT, **_errors(400, 403, 413, 422)},
    )
    def post(self, request):
        _check_declared_size(request)
        data = ImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        dry_run = _flag(request, "dry_run")
        outcome = importing.action_import(
            workspace=self.workspace,
            source=_source_from(values, required=True),
            name=values.get("name"),
            server_url=values.get("server_url") or None,
            auth_data=values.get("auth"),
            dry_run=dry_run,
            created_by=_user(request),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        return _import_response(outcome, status_code=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)


class ActionDetailApi(WorkspaceScopedMixin, generics.RetrieveAPIView):
    """Show, change or delete an action (deleting it removes its operations from every bot)."""

    queryset = Action.objects.defer("spec_text", "import_report")
    serializer_class = ActionOutputSerializer

    @extend_schema_serializer(component_name="ActionUpdateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(required=False, max_length=200)
        description = serializers.CharField(required=False, allow_blank=True)
        server_url = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=2000,
            help_text=(
                "The base URL calls go to. Checked at once: a private or unresolvable address is accepted with a "
                "warning in `warnings` (allowlist it, or calls will be refused)."
            ),
        )
        enabled = serializers.BooleanField(required=False, help_text="A disabled action offers no tools.")
        auth = AuthField(required=False, help_text=_AUTH_HELP)

    @extend_schema(
        operation_id="actions_retrieve",
        summary="Show an action",
        responses={200: ActionOutputSerializer, **_errors(404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="actions_update",
        summary="Change an action (name, base URL, auth, credentials)",
        request=InputSerializer,
        responses={200: ActionOutputSerializer, **_errors(400, 403, 404)},
    )
    def patch(self, request, pk: str):
        action = self.get_object()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        warnings = services.action_update(
            action=action,
            name=values.get("name"),
            description=values.get("description"),
            server_url=values.get("server_url"),
            enabled=values.get("enabled"),
            auth_data=values.get("auth"),
        )
        action = selectors.action_get(workspace_id=self.workspace.pk, action_id=action.pk)
        return Response(ActionOutputSerializer(action, context={"warnings": warnings}).data)

    @extend_schema(
        operation_id="actions_destroy",
        summary="Delete an action and its operations",
        responses={204: None, **_errors(403, 404)},
    )
    def delete(self, request, pk: str):
        services.action_delete(action=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ActionReimportApi(WorkspaceScopedMixin, generics.GenericAPIView):
    queryset = Action.objects.all()
    serializer_class = ImportInputSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema_serializer(component_name="ActionReimportInput")
    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(required=False, max_length=2000)
        spec = serializers.CharField(required=False, trim_whitespace=False)
        file = serializers.FileField(required=False)
        server_url = serializers.CharField(
            required=False, allow_blank=True, max_length=2000, help_text="Default: keep the action's base URL."
        )

    @extend_schema(
        operation_id="actions_reimport",
        summary="Update an action from a new version of its spec",
        description=(
            "Send a new `url`, `spec` or `file`, or nothing to fetch the spec again from the URL it was imported "
            "from. Operations are matched by method and path (then by operationId): they keep their ids, their "
            "enabled flag and their consequential override; new ones are added, ones gone from the spec are "
            "removed. The report says what changed. `?dry_run=true` reports without saving."
        ),
        parameters=[OpenApiParameter("dry_run", OpenApiTypes.BOOL, required=False)],
        request={"application/json": InputSerializer, "multipart/form-data": InputSerializer},
        responses={200: _IMPORT_RESULT, **_errors(400, 403, 404, 413, 422)},
    )
    def post(self, request, pk: str):
        action = self.get_object()
        _check_declared_size(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        outcome = importing.action_reimport(
            action=action,
            source=_source_from(values, required=False),
            server_url=values.get("server_url") or None,
            dry_run=_flag(request, "dry_run"),
        )
        return _import_response(outcome, status_code=status.HTTP_200_OK)


class ActionReportApi(WorkspaceScopedMixin, generics.GenericAPIView):
    queryset = Action.objects.defer("spec_text")
    pagination_class = None

    @extend_schema(
        operation_id="actions_report",
        summary="The last import report of an action",
        responses={200: _REPORT_SCHEMA, **_errors(404)},
    )
    def get(self, request, pk: str):
        return Response(self.get_object().import_report)


class ActionSpecApi(WorkspaceScopedMixin, generics.GenericAPIView):
    queryset = Action.objects.all()
    pagination_class = None

    @extend_schema(
        operation_id="actions_spec",
        summary="The spec as last imported",
        description="The original text (JSON or YAML), as it was pasted, uploaded or fetched.",
        responses={
            (200, "application/json"): OpenApiTypes.STR,
            (200, "application/yaml"): OpenApiTypes.STR,
            **_errors(404),
        },
    )
    def get(self, request, pk: str):
        action = self.get_object()
        text = action.spec_text
        content_type = "application/json" if text.lstrip()[:1] in ("{", "[") else "application/yaml"
        response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
        filename = action.source_filename or f"{action.pk}.{'json' if content_type.endswith('json') else 'yaml'}"
        response["Content-Disposition"] = f'inline; filename="{filename.replace(chr(34), "")}"'
        return response


# -- operations ---------------------------------------------------------------------------------------


@extend_schema_serializer(component_name="ActionOperation")
class OperationOutputSerializer(serializers.ModelSerializer):
    action = serializers.CharField(source="action_id", read_only=True)
    operation_id = serializers.CharField(source="spec_operation_id", help_text="The spec's operationId.")
    consequential = serializers.BooleanField(help_text="Whether calls wait for the user's confirmation.")
    large_schema = serializers.SerializerMethodField()

    class Meta:
        model = Operation
        fields = [
            "id",
            "action",
            "name",
            "method",
            "path",
            "operation_id",
            "summary",
            "description",
            "tags",
            "enabled",
            "consequential",
            "consequential_default",
            "consequential_override",
            "deprecated",
            "no_credentials",
            "server_url",
            "schema_size",
            "large_schema",
            "warnings",
            "notes",
            "position",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_large_schema(self, operation: Operation) -> bool:
        return operation.schema_size > LARGE_TOOL_SCHEMA_BYTES


@extend_schema_serializer(component_name="ActionOperationDetail")
class OperationDetailSerializer(OperationOutputSerializer):
    input_schema = serializers.JSONField(help_text="The tool's argument schema (JSON Schema 2020-12).")
    parameters = serializers.JSONField()
    request_body = serializers.JSONField(allow_null=True)
    security = serializers.JSONField()

    class Meta(OperationOutputSerializer.Meta):
        fields = [*OperationOutputSerializer.Meta.fields, "input_schema", "parameters", "request_body", "security"]


class OperationPagination(CursorPagination):
    ordering = ("position", "id")
    max_page_size = 500


class _ActionChildMixin(WorkspaceScopedMixin):
    def get_action(self) -> Action:
        if not hasattr(self, "_action"):
            action = selectors.action_get(workspace_id=self.workspace.pk, action_id=self.kwargs["pk"])
            if action is None:
                raise Http404
            self._action = action
        return self._action

    def get_operation(self) -> Operation:
        operation = selectors.operation_get(action=self.get_action(), operation=self.kwargs["op"])
        if operation is None:
            raise NotFound(f"No operation {self.kwargs['op']!r} in this action.", code="not_found")
        return operation


class OperationListApi(_ActionChildMixin, generics.ListAPIView):
    """The action's operations in spec order; enable or disable many at once."""

    queryset = Operation.objects.all()
    serializer_class = OperationOutputSerializer
    pagination_class = OperationPagination
    filter_backends = [FilterBackend]
    filterset_class = OperationFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Operation.objects.none()
        return selectors.operation_list(action=self.get_action())

    @extend_schema(
        operation_id="actions_operations_list",
        summary="List an action's operations",
        responses={200: OperationOutputSerializer(many=True), **_errors(400, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema_serializer(component_name="ActionOperationsBulkInput")
    class BulkSerializer(serializers.Serializer):
        enabled = serializers.BooleanField()
        operation_ids = serializers.ListField(
            child=serializers.CharField(),
            required=False,
            max_length=10000,
            help_text="Default: every operation of the action.",
        )

    @extend_schema(
        operation_id="actions_operations_bulk_update",
        summary="Enable or disable many operations",
        request=BulkSerializer,
        responses={
            200: inline_serializer("ActionOperationsBulkResult", fields={"updated": serializers.IntegerField()}),
            **_errors(400, 403, 404),
        },
    )
    def patch(self, request, pk: str):
        data = self.BulkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        updated = services.operations_set_enabled(
            action=self.get_action(),
            enabled=data.validated_data["enabled"],
            operation_ids=data.validated_data.get("operation_ids"),
        )
        return Response({"updated": updated})


class OperationDetailApi(_ActionChildMixin, generics.GenericAPIView):
    """One operation (`{op}` is its id or its tool name): show it, enable or disable it, override whether
    calls need the user's confirmation."""

    queryset = Operation.objects.all()
    serializer_class = OperationDetailSerializer
    pagination_class = None

    @extend_schema_serializer(component_name="ActionOperationUpdateInput")
    class InputSerializer(serializers.Serializer):
        enabled = serializers.BooleanField(required=False)
        consequential_override = serializers.BooleanField(
            required=False,
            allow_null=True,
            help_text="true: always ask the user before calling; false: never; null: as the spec implies "
            "(writes ask, reads don't, unless x-openai-isConsequential says otherwise).",
        )

    @extend_schema(
        operation_id="actions_operations_retrieve",
        summary="Show an operation",
        responses={200: OperationDetailSerializer, **_errors(404)},
    )
    def get(self, request, pk: str, op: str):
        return Response(OperationDetailSerializer(self.get_operation()).data)

    @extend_schema(
        operation_id="actions_operations_update",
        summary="Enable/disable an operation or override its confirmation",
        request=InputSerializer,
        responses={200: OperationDetailSerializer, **_errors(400, 403, 404)},
    )
    def patch(self, request, pk: str, op: str):
        operation = self.get_operation()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        kwargs: dict[str, Any] = {"enabled": values.get("enabled")}
        if "consequential_override" in values:
            kwargs["consequential_override"] = values["consequential_override"]
        operation = services.operation_update(operation=operation, **kwargs)
        return Response(OperationDetailSerializer(operation).data)


_TEST_RESULT = inline_serializer(
    "ActionOperationTestResult",
    fields={
        "ok": serializers.BooleanField(),
        "error": serializers.CharField(
            allow_null=True, help_text="Machine code: invalid_arguments, egress_blocked, timeout, http_500, …"
        ),
        "duration_ms": serializers.FloatField(),
        "problems": serializers.ListField(child=serializers.DictField(), help_text="Argument problems, if any."),
        "request": inline_serializer(
            "ActionTestRequest",
            allow_null=True,
            fields={
                "method": serializers.CharField(),
                "url": serializers.CharField(help_text="Credentials masked."),
                "headers": serializers.ListField(child=serializers.ListField(child=serializers.CharField())),
                "body": serializers.CharField(allow_null=True),
                "body_bytes": serializers.IntegerField(),
                "body_truncated": serializers.BooleanField(),
            },
        ),
        "response": inline_serializer(
            "ActionTestResponse",
            allow_null=True,
            fields={
                "status": serializers.IntegerField(),
                "reason": serializers.CharField(),
                "headers": serializers.ListField(child=serializers.ListField(child=serializers.CharField())),
                "body": serializers.CharField(),
                "bytes": serializers.IntegerField(),
                "content_type": serializers.CharField(),
                "elapsed_ms": serializers.FloatField(),
                "body_truncated": serializers.BooleanField(),
                "redirects": serializers.ListField(child=serializers.DictField()),
            },
        ),
        "tool_result": serializers.CharField(help_text="Exactly what the model would be told."),
    },
)


class OperationTestApi(_ActionChildMixin, generics.GenericAPIView):
    queryset = Operation.objects.all()
    pagination_class = None

    @extend_schema_serializer(component_name="ActionOperationTestInput")
    class InputSerializer(serializers.Serializer):
        arguments = serializers.JSONField(
            required=False,
            default=dict,
            help_text="The tool arguments, as the model would send them (an object, or its JSON text).",
        )

    @extend_schema(
        operation_id="actions_operations_test",
        summary="Test console: call an operation with given arguments",
        description=(
            "Validates the arguments, builds and sends the request exactly as a bot's tool call would "
            "(also for disabled operations, and without asking for confirmation), and shows the request "
            "with credentials masked, the response, and what the model would be told. Problems are "
            "results (200 with ok=false), not errors."
        ),
        request=InputSerializer,
        responses={200: _TEST_RESULT, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: str, op: str):
        operation = self.get_operation()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        arguments = data.validated_data.get("arguments")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, (dict, str)):
            raise ApiError(
                "arguments must be an object (or its JSON text).", code="invalid_arguments", param="arguments"
            )
        result = invocation.invoke_operation(operation, arguments, detailed=True)
        return Response(invocation.invocation_report(result))

"""Every operation in the generated OpenAPI schema documents the request body its view really reads.

A client generated from /api/schema/ sends what the schema says. So, for every operation:

* with a documented body, a request built from the documented schema (its required properties,
  with example values) is sent in each documented content type. The view runs until it validates
  the body; the serializer it validates with is then compared with the documented schema: every
  documented property must be a field it reads, every field it requires must be documented as
  required, every field it reads must be documented, and a file field must be documented as a
  multipart upload. A view that reads the body without a serializer must not refuse the
  documented request for a field the schema does not name.
* without a documented body (POST/PUT/PATCH), the view must not read one.

The view is stopped the moment it has validated the body (nothing after that is under test, and
nothing is written), so the check needs objects for the path parameters but no worker.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

BODY_METHODS = ("post", "put", "patch")
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
# Where the schema is stricter than the serializer because the view requires a field itself.
REQUIRED_BY_THE_VIEW = {
    # One serializer reads both encodings; with JSON, `url` is the only source a document can have.
    ("post", "/api/v1/knowledge-bases/{id}/documents", "application/json"): {"url"},
}


class _BodyValidated(BaseException):
    """Stops a view once it has validated its body. A BaseException, so no handler in the view or
    in Django turns it into a response: it comes out of the test client as it is."""


class _BodyRead(BaseException):
    """Stops a view that reads a body its operation does not document."""


@dataclass
class Probe:
    """What the view under test did with the request body."""

    reads: list[Any] = field(default_factory=list)
    serializer: serializers.BaseSerializer | None = None
    refuse_reads: bool = False

    def reset(self, *, refuse_reads: bool = False) -> None:
        self.reads, self.serializer, self.refuse_reads = [], None, refuse_reads


@pytest.fixture
def probe(monkeypatch) -> Probe:
    probe = Probe()
    read_data = Request.data.fget
    validate = serializers.BaseSerializer.is_valid

    def data(request):
        if probe.refuse_reads:
            raise _BodyRead
        value = read_data(request)
        probe.reads.append(value)
        return value

    def is_valid(serializer, *args, **kwargs):
        # The first serializer given the request's own data is the one that parses the body.
        if probe.serializer is None and any(getattr(serializer, "initial_data", None) is read for read in probe.reads):
            validate(serializer)
            probe.serializer = serializer
            raise _BodyValidated
        return validate(serializer, *args, **kwargs)

    monkeypatch.setattr(Request, "data", property(data))
    monkeypatch.setattr(serializers.BaseSerializer, "is_valid", is_valid)
    return probe


# -- the objects the path parameters name ---------------------------------------------------------

_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Shop", "version": "1"},
    "servers": [{"url": "https://shop.example.com"}],
    "paths": {"/orders": {"post": {"operationId": "createOrder", "responses": {"201": {"description": "made"}}}}},
}


@dataclass
class World:
    by_resource: dict[str, str]  # `{id}` after /<resource>/
    by_name: dict[str, str]  # any other path parameter
    widget_token: str = ""  # a visitor session for the widget's routes, which take no API key

    def client_for(self, client: APIClient, path: str):
        """The API key's client, or for the visitor API a client carrying the visitor's session."""
        if not path.startswith("/widget/v1/"):
            return client
        return APIClient(HTTP_AUTHORIZATION=f"Bearer {self.widget_token}")

    def path(self, template: str) -> str:
        def value(match: re.Match) -> str:
            name = match.group(1)
            if name == "id":
                resource = template[: match.start()].rstrip("/").rsplit("/", 1)[-1]
                found = self.by_resource.get(resource)
            else:
                found = self.by_name.get(name)
            if found is None:
                pytest.fail(f"{template}: give the test an object for {{{name}}} (World in this module).")
            return str(found)

        return re.sub(r"\{(\w+)\}", value, template)


@pytest.fixture
def world(workspace, api_key_secret, chat_model, make_bot) -> World:
    from accounts.models import ApiKey
    from accounts.services import invitation_create
    from actions import services as action_services
    from actions.importing import SpecSource, action_import
    from actions.models import SourceKind
    from bots.models import Conversation, Message, MessageState
    from knowledge import ingestion
    from knowledge import services as knowledge_services
    from knowledge.models import Chunk
    from tests.factories import MembershipFactory

    bot = make_bot()
    base = knowledge_services.knowledge_base_create(workspace=workspace, name="Handbook")
    document, _ = knowledge_services.document_create_from_upload(
        knowledge_base=base, file=SimpleUploadedFile("refunds.txt", b"Refunds take five working days.")
    )
    assert ingestion.document_ingest(document_id=document.pk) == "ready"
    chunk = Chunk.objects.filter(document=document).first()
    action = action_import(workspace=workspace, source=SpecSource(kind=SourceKind.TEXT, text=json.dumps(_SPEC))).action
    entry = action_services.allowlist_entry_create(workspace=workspace, value="10.0.0.0/8")
    conversation = Conversation.objects.create(workspace=workspace, bot=bot, end_user="someone", version_number=1)
    message = Message.objects.create(
        workspace=workspace, conversation=conversation, role="assistant", content="Hello.", state=MessageState.COMPLETED
    )
    from bots.widget import access
    from bots.widget.services import widget_update

    widget = widget_update(bot=bot, allowed_origins=["https://shop.example"])
    widget_token = access.session_issue(
        access.Session(
            public_id=widget.public_id,
            mode=access.Mode.WIDGET,
            host="https://shop.example",
            visitor_id=access.visitor_new(),
            user_id=None,
            user_name="",
        )
    )
    invitation, _ = invitation_create(workspace=workspace, email="new@example.com", role="viewer", inviter_role="owner")
    return World(
        widget_token=widget_token,
        by_resource={
            "actions": action.pk,
            "api-keys": ApiKey.objects.for_workspace(workspace).get().pk,
            "bots": bot.pk,
            "chunks": chunk.public_id,
            "conversations": conversation.pk,
            "documents": document.pk,
            "egress-allowlist": entry.pk,
            "invitations": invitation.pk,
            "knowledge-bases": base.pk,
            "members": MembershipFactory(workspace=workspace, role="viewer").pk,
            "messages": message.pk,
            "providers": chat_model.provider_id,
        },
        by_name={
            "op": action.operations.get().pk,
            "n": "1",
            "number": "1",
            "provider_id": chat_model.provider_id,
            "model_id": chat_model.pk,
        },
    )


# -- the documented schema ------------------------------------------------------------------------


class Schema:
    def __init__(self, document: dict[str, Any]):
        self.document = document
        self.components = document.get("components", {}).get("schemas", {})

    def operations(self):
        for path, item in self.document["paths"].items():
            for method, operation in item.items():
                if method in ("get", "put", "post", "patch", "delete"):
                    yield path, method, operation

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def properties(self, schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
        schema = self.resolve(schema)
        return schema.get("properties", {}), set(schema.get("required", []))

    def example(self, schema: dict[str, Any]) -> Any:
        """A value valid for `schema`, with only the required properties of objects."""
        schema = self.resolve(schema)
        if "example" in schema:
            return schema["example"]
        if schema.get("enum"):
            return next(value for value in schema["enum"] if value is not None)
        for keyword in ("oneOf", "anyOf", "allOf"):
            if schema.get(keyword):
                return self.example(schema[keyword][0])
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            properties, required = self.properties(schema)
            return {name: self.example(properties[name]) for name in properties if name in required}
        if kind == "array":
            return [self.example(schema.get("items", {}))]
        if kind == "string":
            return _string_example(schema)
        if kind in ("integer", "number"):
            return schema.get("minimum", 1)
        if kind == "boolean":
            return True
        return "example"


def _string_example(schema: dict[str, Any]) -> Any:
    fmt = schema.get("format")
    if fmt == "binary":
        return SimpleUploadedFile("example.txt", b"Example content.", content_type="text/plain")
    if fmt == "date-time":
        return "2026-01-31T12:00:00Z"
    if fmt == "uri":
        return "https://example.com/"
    return "x" * max(1, schema.get("minLength", 1))


@pytest.fixture
def schema(client) -> Schema:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return Schema(response.json())


# -- sending the documented request ---------------------------------------------------------------


def _form_value(value: Any) -> Any:
    # Form encodings have no objects or lists: the views read such fields as JSON text.
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _send(client: APIClient, method: str, path: str, media_type: str, body: dict[str, Any]):
    if media_type == "application/json":
        return client.generic(method.upper(), path, json.dumps(body), content_type=media_type)
    form = {name: _form_value(value) for name, value in body.items()}
    if media_type == "multipart/form-data":
        return getattr(client, method)(path, form, format="multipart")
    if media_type == "application/x-www-form-urlencoded":
        return client.generic(method.upper(), path, urlencode(form), content_type=media_type)
    pytest.fail(f"{method.upper()} {path} documents {media_type}, which this test cannot send yet.")


def _outcome(client, method: str, path: str, media_type: str, body: dict[str, Any], probe: Probe):
    """The serializer the view validated the body with, or the response of a view that parsed it
    without one (or did not read it at all)."""
    probe.reset()
    try:
        response = _send(client, method, path, media_type, body)
    except _BodyValidated:
        return probe.serializer, None
    return None, response


# -- comparing ------------------------------------------------------------------------------------


def _input_fields(serializer: serializers.BaseSerializer) -> dict[str, serializers.Field]:
    return {name: f for name, f in serializer.fields.items() if not f.read_only}


def _serializer_problems(
    label: str,
    schema: Schema,
    media_schema: dict[str, Any],
    serializer: serializers.BaseSerializer,
    *,
    required_by_view: set[str],
) -> list[str]:
    documented, documented_required = schema.properties(media_schema)
    fields = _input_fields(serializer)
    name = type(serializer).__qualname__
    problems = [f"{label}: documents `{prop}`, which {name} does not read" for prop in documented if prop not in fields]
    required = set() if serializer.partial else {n for n, f in fields.items() if f.required}
    problems += [
        f"{label}: {name} requires `{n}`, documented as optional"
        for n in sorted(required - documented_required)
        if n in documented
    ]
    problems += [
        f"{label}: documents `{n}` as required, but {name} does not require it"
        for n in sorted(documented_required - required - required_by_view)
    ]
    missing = [
        n
        for n, errors in (serializer.errors or {}).items()
        if any(getattr(e, "code", None) == "required" for e in errors)
    ]
    problems += [f"{label}: the documented example was refused: `{n}` is required" for n in missing]
    return problems


def _undocumented_refusal(label: str, schema: Schema, media_schema: dict[str, Any], response) -> list[str]:
    """For views that parse the body by hand: a refusal must be about a documented field."""
    if response.status_code == 415:
        return [f"{label}: documented content type refused (415)"]
    if response.status_code not in (400, 422) or "error" not in response.json():
        return []
    documented, _ = schema.properties(media_schema)
    param = response.json()["error"].get("param") or ""
    root = re.split(r"[.\[]", param, maxsplit=1)[0]
    if root and root not in documented:
        message = response.json()["error"]["message"]
        return [f"{label}: the documented example was refused for undocumented `{param}`: {message}"]
    return []


def _documented_request_problems(schema: Schema, client, probe: Probe, world: World) -> list[str]:
    problems: list[str] = []
    for template, method, operation in schema.operations():
        body = operation.get("requestBody")
        if body is None:
            continue
        path = world.path(template)
        read: dict[str, set[str]] = {}
        documented_anywhere: set[str] = set()
        for media_type, content in body["content"].items():
            label = f"{method.upper()} {template} ({media_type})"
            media_schema = content["schema"]
            properties, _ = schema.properties(media_schema)
            if not properties:
                problems.append(f"{label}: the body is documented as a free-form object; name its fields")
                continue
            documented_anywhere |= set(properties)
            serializer, response = _outcome(
                world.client_for(client, path), method, path, media_type, schema.example(media_schema), probe
            )
            if serializer is not None:
                problems += _serializer_problems(
                    label,
                    schema,
                    media_schema,
                    serializer,
                    required_by_view=(REQUIRED_BY_THE_VIEW.get((method, template, media_type), set())),
                )
                fields = _input_fields(serializer)
                read[media_type] = set(fields)
                problems += _upload_problems(label, schema, media_type, body, fields)
            elif not probe.reads:
                problems.append(
                    f"{label}: the view answered {response.status_code} without reading the body: "
                    f"{response.content[:300]!r}"
                )
            else:
                problems += _undocumented_refusal(label, schema, media_schema, response)
        for name in sorted(set().union(*read.values()) - documented_anywhere) if read else []:
            problems.append(f"{method.upper()} {template}: reads `{name}`, which no content type documents")
    return problems


def _upload_problems(
    label: str, schema: Schema, media_type: str, body: dict[str, Any], fields: dict[str, serializers.Field]
) -> list[str]:
    """A file field must be documented as a binary part of a multipart body."""
    files = [name for name, f in fields.items() if isinstance(f, serializers.FileField)]
    if not files or media_type in FORM_TYPES:
        return []
    multipart = body["content"].get("multipart/form-data")
    if multipart is None:
        return [f"{label}: reads the file field `{files[0]}` but documents no multipart/form-data body"]
    properties, _ = schema.properties(multipart["schema"])
    return [
        f"{label}: `{name}` is not documented as a binary multipart field"
        for name in files
        if schema.resolve(properties.get(name, {})).get("format") != "binary"
    ]


def _undocumented_body_problems(schema: Schema, client, probe: Probe, world: World) -> list[str]:
    problems = []
    for template, method, operation in schema.operations():
        if method not in BODY_METHODS or "requestBody" in operation:
            continue
        probe.reset(refuse_reads=True)
        try:
            path = world.path(template)
            _send(world.client_for(client, path), method, path, "application/json", {"unexpected": 1})
        except _BodyRead:
            problems.append(f"{method.upper()} {template}: reads a request body, but none is documented")
        finally:
            probe.reset()
    return problems


# -- the tests ------------------------------------------------------------------------------------


def test_every_documented_request_body_is_what_the_view_reads(api, schema, probe, world):
    problems = _documented_request_problems(schema, api, probe, world)
    assert not problems, "\n".join(problems)


def test_operations_without_a_documented_body_read_none(api, schema, probe, world):
    problems = _undocumented_body_problems(schema, api, probe, world)
    assert not problems, "\n".join(problems)


def _json_body(schema: Schema, method: str, path: str) -> tuple[set[str], set[str]]:
    content = schema.document["paths"][path][method]["requestBody"]["content"]
    properties, required = schema.properties(content["application/json"]["schema"])
    return set(properties), required


def test_bodies_that_were_documented_wrongly_are_documented_as_read(schema):
    assert _json_body(schema, "post", "/api/v1/bots/{id}/publish") == ({"note"}, set())
    assert _json_body(schema, "post", "/api/v1/api-keys/") == ({"name", "scope", "role"}, {"name"})
    assert _json_body(schema, "post", "/api/v1/bots/")[1] == {"name"}
    assert _json_body(schema, "patch", "/api/v1/bots/{id}")[1] == set()
    assert _json_body(schema, "patch", "/api/v1/documents/{id}") == ({"enabled"}, {"enabled"})
    properties, required = _json_body(schema, "post", "/v1/chat/completions")
    assert {"model", "messages", "stream", "inputs", "conversation_id"} <= properties
    assert required == {"model", "messages"}


def test_uploads_are_documented_as_multipart_and_json_bodies_as_json(schema):
    content = {
        (method, template): set(operation["requestBody"]["content"])
        for template, method, operation in schema.operations()
        if "requestBody" in operation
    }
    assert content[("post", "/api/v1/knowledge-bases/{id}/documents")] == {"multipart/form-data", "application/json"}
    assert content[("post", "/api/v1/actions/import")] == {"multipart/form-data", "application/json"}
    assert content[("post", "/api/v1/bots/{id}/chat")] == {"application/json"}
    assert content[("patch", "/api/v1/bots/{id}")] == {"application/json"}


def test_schema_generates_without_warnings(capsys):
    """drf-spectacular warns, for example, when two serializers would share a component name: one
    operation would then be documented with the other's body."""
    from drf_spectacular.drainage import reset_generator_stats
    from drf_spectacular.management.commands.spectacular import SchemaGenerationError

    reset_generator_stats()  # warnings of earlier generations in this process do not count
    try:
        call_command("spectacular", "--fail-on-warn", "--validate", stdout=io.StringIO())
    except SchemaGenerationError:
        pytest.fail(capsys.readouterr().err)
    finally:
        reset_generator_stats()

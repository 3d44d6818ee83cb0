"""Tool calls against a real local HTTP server: auth on the wire, request building, failures, SSRF.

The target server listens on 127.0.0.1, a loopback address the egress helper refuses unless the
workspace allowlists it; these tests allowlist it explicitly (`loopback_allowed`), except the ones
that check it is refused.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from urllib.parse import parse_qs

import pytest

from actions import services
from actions.models import Action, Operation
from actions.tools import invoke_tool
from switchboard.vault import MASK

from .conftest import operation_named, target_spec
from .target_api import Reply, Streamed

pytestmark = pytest.mark.django_db

SECRET = "sk-live-7c1f09d3b5e84a2e9f33"

PETS_PATHS = {
    "/pets/{pet_id}": {
        "get": {
            "operationId": "getPet",
            "parameters": [
                {"name": "pet_id", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "fields", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
                {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
            ],
            "responses": {"200": {"description": "ok", "content": {"application/json": {}}}},
        },
        "delete": {
            "operationId": "deletePet",
            "parameters": [{"name": "pet_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"204": {"description": "gone"}},
        },
    },
    "/pets": {
        "post": {
            "operationId": "createPet",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
                        }
                    }
                },
            },
            "responses": {"201": {"description": "created"}},
        },
    },
    "/charges": {
        "post": {
            "operationId": "createCharge",
            "requestBody": {
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "amount": {"type": "integer"},
                                "currency": {"type": "string"},
                                "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                                "expand": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                        "encoding": {
                            "expand": {"style": "deepObject", "explode": True},
                            "metadata": {"style": "deepObject", "explode": True},
                        },
                    }
                }
            },
            "responses": {"200": {"description": "ok"}},
        },
    },
    "/uploads": {
        "post": {
            "operationId": "upload",
            "requestBody": {
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"title": {"type": "string"}, "file": {"type": "string", "format": "binary"}},
                        }
                    }
                }
            },
            "responses": {"200": {"description": "ok"}},
        },
    },
    "/public": {"get": {"operationId": "publicInfo", "security": [], "responses": {"200": {"description": "ok"}}}},
    "/slow": {"get": {"operationId": "slow", "responses": {"200": {"description": "ok"}}}},
    "/fail": {"get": {"operationId": "fail", "responses": {"200": {"description": "ok"}}}},
    "/huge": {"get": {"operationId": "huge", "responses": {"200": {"description": "ok"}}}},
    "/huge-undeclared": {"get": {"operationId": "hugeUndeclared", "responses": {"200": {"description": "ok"}}}},
    "/to-metadata": {"get": {"operationId": "toMetadata", "responses": {"200": {"description": "ok"}}}},
    "/list": {"get": {"operationId": "listThings", "responses": {"200": {"description": "ok"}}}},
    "/text": {"get": {"operationId": "plainText", "responses": {"200": {"description": "ok"}}}},
    "/empty": {"get": {"operationId": "empty", "responses": {"204": {"description": "ok"}}}},
}


@pytest.fixture
def pets(target, loopback_allowed, import_spec) -> Action:
    return import_spec(
        target_spec(
            target.url,
            PETS_PATHS,
            security=[{"key": []}],
            components={"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
        ),
        auth_data={"type": "api_key", "name": "X-API-Key", "api_key": SECRET},
    )


def call(action: Action, name: str, arguments: dict | str | None = None):
    operation = Operation.objects.get(action=action, name=name)
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return invoke_tool(workspace_id=action.workspace_id, operation_id=operation.pk, arguments_json=raw)


def set_auth(action: Action, **data) -> Action:
    services.action_update(action=Action.objects.get(pk=action.pk), auth_data=data)
    return Action.objects.get(pk=action.pk)


def assert_no_secret(outcome, *secrets: str) -> None:
    dumped = json.dumps({"content": outcome.content, "trace": outcome.trace})
    for secret in secrets:
        assert secret not in dumped


# -- auth on the wire ---------------------------------------------------------------------------------


def test_api_key_header_with_prefix_is_sent_and_masked_everywhere(pets, target, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    action = set_auth(pets, type="api_key", location="header", name="Authorization", prefix="Token")
    outcome = call(action, "getPet", {"pet_id": "7"})
    assert outcome.ok, outcome.content
    assert target.last.header("Authorization") == f"Token {SECRET}"
    # The echo server sends the header back: the model never sees it.
    assert MASK in outcome.content
    assert_no_secret(outcome, SECRET)
    assert SECRET not in caplog.text


def test_api_key_in_the_query_is_sent_and_masked_in_the_trace(pets, target, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    action = set_auth(pets, type="api_key", location="query", name="api_key")
    outcome = call(action, "getPet", {"pet_id": "7", "limit": 5})
    assert outcome.ok
    assert target.last.query_params == {"limit": ["5"], "api_key": [SECRET]}
    assert outcome.trace["request"]["url"].endswith(f"/pets/7?limit=5&api_key={MASK}")
    assert_no_secret(outcome, SECRET)
    assert SECRET not in caplog.text


def test_bearer_token(pets, target) -> None:
    action = set_auth(pets, type="bearer", token=SECRET)
    outcome = call(action, "getPet", {"pet_id": "1"})
    assert outcome.ok and target.last.header("Authorization") == f"Bearer {SECRET}"
    assert_no_secret(outcome, SECRET)


def test_basic_auth(pets, target) -> None:
    action = set_auth(pets, type="basic", username="alice", password=SECRET)
    outcome = call(action, "getPet", {"pet_id": "1"})
    token = target.last.header("Authorization").split()[1]
    assert base64.b64decode(token).decode() == f"alice:{SECRET}"
    assert_no_secret(outcome, SECRET, token)


def test_operations_with_empty_security_send_no_credentials(pets, target) -> None:
    outcome = call(pets, "publicInfo")
    assert outcome.ok and target.last.header("X-API-Key") is None
    call(pets, "getPet", {"pet_id": "1"})
    assert target.last.header("X-API-Key") == SECRET


def test_missing_credentials_is_a_clear_error_without_a_request(pets, target) -> None:
    action = set_auth(pets, api_key="")
    outcome = call(action, "getPet", {"pet_id": "1"})
    assert not outcome.ok and outcome.error == "credentials_missing"
    assert target.seen == []
    assert call(action, "publicInfo").ok  # no credentials needed there


# -- OAuth2 client credentials ------------------------------------------------------------------------


class TokenServer:
    def __init__(self, target, *, expires_in: int = 3600):
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.expires_in = expires_in
        target.handlers["/oauth/token"] = self.token
        target.handlers["/pets/1"] = self.protected

    def token(self, seen):
        token = f"at-{len(self.issued) + 1}-4f9d2c7b1e"
        self.issued.append(token)
        return Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in})

    def protected(self, seen):
        value = seen.header("Authorization") or ""
        token = value.removeprefix("Bearer ")
        if token not in self.issued or token in self.revoked:
            return Reply(401, {"error": "invalid_token"})
        return Reply(200, {"pet": 1})


@pytest.fixture
def oauth_pets(pets, target):
    return set_auth(
        pets,
        type="oauth2_client_credentials",
        token_url=f"{target.url}/oauth/token",
        scopes=["pets:read", "pets:write"],
        client_id="client-abc",
        client_secret=SECRET,
    )


def test_oauth2_token_is_fetched_with_basic_client_auth_then_cached(oauth_pets, target) -> None:
    tokens = TokenServer(target)
    first = call(oauth_pets, "getPet", {"pet_id": "1"})
    second = call(oauth_pets, "getPet", {"pet_id": "1"})
    assert first.ok and second.ok, first.content
    token_requests = target.calls_to("/oauth/token")
    assert len(token_requests) == 1  # cached
    request = token_requests[0]
    assert parse_qs(request.body.decode()) == {"grant_type": ["client_credentials"], "scope": ["pets:read pets:write"]}
    assert base64.b64decode(request.header("Authorization").split()[1]).decode() == f"client-abc:{SECRET}"
    assert target.calls_to("/pets/1")[-1].header("Authorization") == f"Bearer {tokens.issued[0]}"
    action = Action.objects.get(pk=oauth_pets.pk)
    assert action.oauth_token.reveal() == tokens.issued[0]  # stored encrypted
    raw = Action.objects.filter(pk=action.pk).values_list("oauth_token", flat=True)
    assert tokens.issued[0] not in str(list(raw))
    assert_no_secret(second, SECRET, tokens.issued[0])


def test_oauth2_token_is_refreshed_after_it_expires(oauth_pets, target) -> None:
    tokens = TokenServer(target, expires_in=1)
    assert call(oauth_pets, "getPet", {"pet_id": "1"}).ok
    time.sleep(1.1)
    assert call(oauth_pets, "getPet", {"pet_id": "1"}).ok
    assert len(tokens.issued) == 2
    assert target.calls_to("/pets/1")[-1].header("Authorization") == f"Bearer {tokens.issued[1]}"


def test_oauth2_token_revoked_early_is_replaced_once_on_401(oauth_pets, target) -> None:
    tokens = TokenServer(target)
    assert call(oauth_pets, "getPet", {"pet_id": "1"}).ok
    tokens.revoked.add(tokens.issued[0])
    outcome = call(oauth_pets, "getPet", {"pet_id": "1"})
    assert outcome.ok and len(tokens.issued) == 2


def test_oauth2_client_auth_in_the_body(pets, target) -> None:
    TokenServer(target)
    action = set_auth(
        pets,
        type="oauth2_client_credentials",
        token_url=f"{target.url}/oauth/token",
        client_auth="body",
        client_id="client-abc",
        client_secret=SECRET,
    )
    assert call(action, "getPet", {"pet_id": "1"}).ok
    form = parse_qs(target.calls_to("/oauth/token")[0].body.decode())
    assert form["client_id"] == ["client-abc"] and form["client_secret"] == [SECRET]
    assert target.calls_to("/oauth/token")[0].header("Authorization") is None


def test_oauth2_token_endpoint_refusal_is_a_clear_error(oauth_pets, target) -> None:
    target.handlers["/oauth/token"] = lambda seen: Reply(
        401, {"error": "invalid_client", "error_description": f"bad secret {SECRET}"}
    )
    outcome = call(oauth_pets, "getPet", {"pet_id": "1"})
    assert not outcome.ok and outcome.error == "auth_failed"
    message = json.loads(outcome.content)["error"]["message"]
    assert "HTTP 401" in message and "invalid_client" in message
    assert_no_secret(outcome, SECRET)
    assert target.calls_to("/pets/1") == []


# -- arguments -> request -----------------------------------------------------------------------------


def test_path_escaping_arrays_and_header_parameters_on_the_wire(pets, target) -> None:
    outcome = call(pets, "getPet", {"pet_id": "a b/../c", "fields": ["name", "tags"], "X-Trace": "t-1"})
    assert outcome.ok
    seen = target.last
    assert seen.target == "/pets/a%20b%2F..%2Fc?fields=name&fields=tags"
    assert seen.header("X-Trace") == "t-1"
    assert json.loads(outcome.content)["path"] == "/pets/a%20b%2F..%2Fc"


def test_json_body_on_the_wire(pets, target) -> None:
    outcome = call(pets, "createPet", {"body": {"name": "Rex", "age": 3}})
    assert outcome.ok
    assert target.last.method == "POST" and json.loads(target.last.body) == {"name": "Rex", "age": 3}
    assert target.last.header("Content-Type") == "application/json"


def test_stripe_style_form_body_on_the_wire(pets, target) -> None:
    outcome = call(
        pets,
        "createCharge",
        {"body": {"amount": 500, "currency": "eur", "metadata": {"order": "A1"}, "expand": ["customer"]}},
    )
    assert outcome.ok
    assert target.last.header("Content-Type") == "application/x-www-form-urlencoded"
    assert parse_qs(target.last.body.decode()) == {
        "amount": ["500"],
        "currency": ["eur"],
        "metadata[order]": ["A1"],
        "expand[0]": ["customer"],
    }


def test_multipart_body_on_the_wire(pets, target) -> None:
    assert call(pets, "upload", {"body": {"title": "notes", "file": "line 1\nline 2"}}).ok
    content_type = target.last.header("Content-Type")
    assert content_type.startswith("multipart/form-data; boundary=")
    body = target.last.body.decode()
    assert 'name="file"; filename="file"' in body and "line 1\nline 2" in body


# -- invalid arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments,argument,fragment",
    [
        ({"pet_id": 5}, "pet_id", "is not of type 'string'"),
        ({"pet_id": "1", "limit": "ten"}, "limit", "is not of type 'integer'"),
        ({"pet_id": "1", "limit": 500}, "limit", "greater than the maximum of 100"),
        ({}, None, "'pet_id' is a required property"),
        ({"pet_id": "1", "colour": "red"}, None, "'colour' was unexpected"),
    ],
)
def test_invalid_arguments_are_a_correctable_result(pets, target, arguments, argument, fragment) -> None:
    outcome = call(pets, "getPet", arguments)
    assert not outcome.ok and outcome.error == "invalid_arguments"
    error = json.loads(outcome.content)["error"]
    assert "correct them" in error["message"]
    problem = error["problems"][0]
    assert problem["argument"] == argument and fragment in problem["message"]
    assert target.seen == []


def test_nested_body_problems_name_the_field(pets) -> None:
    outcome = call(pets, "createPet", {"body": {"name": "Rex", "age": -1}})
    problem = json.loads(outcome.content)["error"]["problems"][0]
    assert problem["argument"] == "body.age" and "minimum" in problem["message"]
    assert problem["expected"] == {"type": "integer", "minimum": 0}


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"'])
def test_arguments_that_are_not_a_json_object(pets, raw) -> None:
    outcome = call(pets, "getPet", raw)
    assert outcome.error == "invalid_arguments" and "JSON" in json.loads(outcome.content)["error"]["message"]


def test_empty_path_segment_is_refused_before_a_delete_reaches_the_collection(pets, target) -> None:
    outcome = call(pets, "deletePet", {"pet_id": ""})
    assert outcome.error == "invalid_arguments" and target.seen == []


# -- what comes back ----------------------------------------------------------------------------------


def test_large_json_responses_are_truncated_inside_the_structure(pets, target, settings) -> None:
    settings.ACTIONS_TOOL_RESPONSE_MAX_CHARS = 2000
    target.handlers["/list"] = lambda seen: Reply(
        200, {"data": [{"id": i, "text": "x" * 300} for i in range(500)], "has_more": True}
    )
    outcome = call(pets, "listThings")
    assert outcome.ok and len(outcome.content) <= 2000
    value = json.loads(outcome.content)
    assert value["_truncated"] is True and value["has_more"] is True
    assert outcome.trace["response"]["truncated"] is True


def test_text_and_empty_responses(pets, target) -> None:
    target.handlers["/text"] = lambda seen: Reply(200, "plain words")
    target.handlers["/empty"] = lambda seen: Reply(204, b"")
    assert call(pets, "plainText").content == "plain words"
    empty = call(pets, "empty")
    assert empty.ok and json.loads(empty.content)["status"] == 204


def test_server_error_is_a_readable_result(pets, target) -> None:
    target.handlers["/fail"] = lambda seen: Reply(500, {"message": "database unavailable"})
    outcome = call(pets, "fail")
    assert not outcome.ok and outcome.error == "http_500"
    error = json.loads(outcome.content)["error"]
    assert error["status"] == 500 and error["body"] == {"message": "database unavailable"}
    assert "failed on its side" in error["message"]
    assert outcome.trace["response"]["status"] == 500


def test_timeout_is_a_clear_error_and_the_worker_keeps_serving(pets, target, settings) -> None:
    settings.ACTIONS_TOOL_TIMEOUT_SECONDS = 1.0
    target.handlers["/slow"] = lambda seen: (time.sleep(6), Reply(200, {}))[1]
    started = time.monotonic()
    outcome = call(pets, "slow")
    assert time.monotonic() - started < 5  # cut by the 1 s limit, not waited out (6 s)
    assert not outcome.ok and outcome.error == "timeout"
    assert "try again later" in json.loads(outcome.content)["error"]["message"]
    assert call(pets, "getPet", {"pet_id": "1"}).ok


@pytest.mark.parametrize("path,declared", [("/huge", True), ("/huge-undeclared", False)])
def test_fifty_megabyte_response_is_refused(pets, target, path, declared) -> None:
    target.handlers[path] = lambda seen: Streamed(50 * 1024 * 1024, declare_length=declared)
    outcome = call(pets, "huge" if declared else "hugeUndeclared")
    assert not outcome.ok and outcome.error == "response_too_large"
    assert "Ask for less data" in json.loads(outcome.content)["error"]["message"]
    assert call(pets, "getPet", {"pet_id": "1"}).ok


def test_redirect_to_the_metadata_service_is_refused(pets, target) -> None:
    target.handlers["/to-metadata"] = lambda seen: Reply(
        302, b"", {"Location": "http://169.254.169.254/latest/meta-data/iam/"}
    )
    outcome = call(pets, "toMetadata")
    assert not outcome.ok and outcome.error == "egress_blocked"
    message = json.loads(outcome.content)["error"]["message"]
    assert "169.254.169.254" in message and "metadata" in message


# -- SSRF: refused without the allowlist --------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:{port}",
        "http://10.0.0.5",
        "http://169.254.169.254",
        "http://2130706433:{port}",
        "http://0x7f.1:{port}",
        "http://[::1]:{port}",
        "http://localhost:{port}",
    ],
)
def test_private_targets_are_refused_without_the_allowlist(workspace, target, import_spec, base_url) -> None:
    url = base_url.format(port=target.port)
    action = import_spec(
        target_spec(url, {"/x": {"get": {"operationId": "x", "responses": {"200": {"description": "ok"}}}}})
    )
    outcome = call(action, "x")
    assert not outcome.ok and outcome.error == "egress_blocked", outcome.content
    assert target.seen == []
    assert (
        "do not retry" in json.loads(outcome.content)["error"]["message"].lower()
        or "not something to retry" in json.loads(outcome.content)["error"]["message"]
    )


def test_allowlisting_a_network_never_opens_the_metadata_service(workspace, target, import_spec) -> None:
    services.allowlist_entry_create(workspace=workspace, value="169.254.0.0/16")
    action = import_spec(
        target_spec(
            "http://169.254.169.254", {"/x": {"get": {"operationId": "x", "responses": {"200": {"description": "ok"}}}}}
        )
    )
    outcome = call(action, "x")
    assert outcome.error == "egress_blocked" and "never" in json.loads(outcome.content)["error"]["message"]


def test_another_workspace_allowlist_does_not_apply(target, import_spec, loopback_allowed) -> None:
    from tests.factories import WorkspaceFactory

    other = WorkspaceFactory()
    action = import_spec(
        target_spec(target.url, {"/x": {"get": {"operationId": "x", "responses": {"200": {"description": "ok"}}}}}),
        workspace=other,
    )
    assert call(action, "x").error == "egress_blocked"


# -- tool lookups -------------------------------------------------------------------------------------


def test_unknown_disabled_and_foreign_operations(pets, workspace) -> None:
    outcome = invoke_tool(workspace_id=workspace.pk, operation_id="op_missing", arguments_json="{}")
    assert outcome.error == "unknown_operation"
    operation = operation_named(pets, "getPet")
    services.operation_update(operation=operation, enabled=False)
    assert call(pets, "getPet", {"pet_id": "1"}).error == "operation_disabled"
    from tests.factories import WorkspaceFactory

    assert (
        invoke_tool(workspace_id=WorkspaceFactory().pk, operation_id=operation.pk, arguments_json="{}").error
        == "unknown_operation"
    )


def test_trace_describes_the_call(pets, target) -> None:
    outcome = call(pets, "getPet", {"pet_id": "9"})
    trace = outcome.trace
    assert trace["operation"] == "GET /pets/{pet_id}" and trace["request"]["method"] == "GET"
    assert trace["response"]["status"] == 200 and trace["response"]["bytes"] > 0
    assert trace["target_ms"] >= 0 and trace["overhead_ms"] >= 0
    assert outcome.duration_ms >= trace["target_ms"]
    assert not set(trace) & {"type", "name", "ok", "duration_ms"}  # the runtime adds those itself

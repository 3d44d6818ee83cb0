"""REST API: import (JSON, multipart, URL, dry run), actions, credentials, operations, test console,
roles and tenancy. Credentials never appear in any response."""

from __future__ import annotations

import json

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import api_key_create
from actions.models import Action, Operation

from .conftest import target_spec
from .helpers import FIXTURES, SPEC_FILES, operation, spec
from .target_api import Reply
from .test_spec_fixtures import EXPECTED_OPERATIONS

pytestmark = pytest.mark.django_db

SECRET = "sk-api-test-0b5d8e2f7a9c41d3"


@pytest.fixture
def client_for_role(workspace):
    def make(role: str) -> APIClient:
        _, key = api_key_create(workspace=workspace, name=f"{role} key", role=role)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make


def import_json(api, document, **extra):
    return api.post("/api/v1/actions/import", {"spec": json.dumps(document), **extra}, format="json")


def assert_secret_free(response) -> None:
    assert SECRET not in response.content.decode()


PETS = spec(
    {
        "/pets": {"get": operation(operationId="listPets"), "post": operation(operationId="createPet")},
        "/pets/{id}": {
            "get": operation(
                operationId="getPet",
                parameters=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            )
        },
    }
)


# -- import -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SPEC_FILES)
def test_every_fixture_spec_imports_through_the_api(api, name) -> None:
    upload = SimpleUploadedFile(name, (FIXTURES / name).read_bytes())
    response = api.post("/api/v1/actions/import", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    report = body["report"]
    assert body["created"] and not body["dry_run"]
    assert report["counts"]["imported"] + report["counts"]["imported_with_warnings"] == EXPECTED_OPERATIONS[name]
    action = body["action"]
    assert action["operation_count"] == EXPECTED_OPERATIONS[name] and action["source"]["filename"] == name
    assert action["import_summary"]["total"] == report["counts"]["total"]
    assert all(entry["status"] in ("imported", "imported_with_warnings", "skipped") for entry in report["operations"])
    assert all(entry["reason"] for entry in report["operations"] if entry["status"] == "skipped")


def test_import_json_body_with_name_server_and_auth(api) -> None:
    response = import_json(
        api,
        PETS,
        name="Pet store",
        server_url="https://sandbox.example.com/v1",
        auth={"type": "api_key", "location": "header", "name": "Authorization", "prefix": "Token", "api_key": SECRET},
    )
    assert response.status_code == 201
    action = response.json()["action"]
    assert action["name"] == "Pet store" and action["server_url"] == "https://sandbox.example.com/v1"
    assert action["auth"] == {
        "type": "api_key",
        "location": "header",
        "name": "Authorization",
        "prefix": "Token",
        "description": "API key in the Authorization header (prefixed 'Token')",
        "has_credentials": True,
        "missing_credentials": [],
        "credential_hints": {"api_key": "…41d3"},
    }
    assert_secret_free(response)


def test_import_multipart_with_auth_as_json_text(api) -> None:
    upload = SimpleUploadedFile("pets.yaml", yaml.safe_dump(PETS).encode(), content_type="application/yaml")
    response = api.post(
        "/api/v1/actions/import",
        {"file": upload, "auth": json.dumps({"type": "bearer", "token": SECRET})},
        format="multipart",
    )
    assert response.status_code == 201 and response.json()["action"]["auth"]["has_credentials"]
    assert_secret_free(response)


def test_dry_run_returns_only_the_report(api) -> None:
    response = api.post("/api/v1/actions/import?dry_run=true", {"spec": json.dumps(PETS)}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["action"] is None and body["dry_run"] and body["report"]["counts"]["imported"] == 3
    assert not Action.objects.exists()


def test_idempotent_import(api) -> None:
    first = api.post("/api/v1/actions/import", {"spec": json.dumps(PETS)}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = api.post("/api/v1/actions/import", {"spec": json.dumps(PETS)}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["action"]["id"] == first.json()["action"]["id"] and Action.objects.count() == 1


@pytest.mark.parametrize(
    "payload,code,param",
    [
        ({}, "required", "spec"),
        ({"spec": "{}", "url": "https://example.com/openapi.json"}, "ambiguous_source", "spec"),
        ({"spec": "openapi: 3.0.0\npaths: [oops"}, "malformed_yaml", "spec"),
        ({"spec": '{"openapi": "3.0.0", "info": '}, "malformed_json", "spec"),
        ({"spec": "hello: world"}, "not_openapi", "spec"),
        ({"spec": "{}", "auth": {"type": "magic"}}, "invalid_choice", "auth.type"),
        ({"spec": "{}", "auth": {"type": "bearer", "api_key": "x"}}, None, None),
    ],
)
def test_import_errors_are_specific(api, payload, code, param) -> None:
    if "auth" in payload and payload["auth"].get("api_key"):
        payload = {"spec": json.dumps(PETS), "auth": payload["auth"]}
        response = api.post("/api/v1/actions/import", payload, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_auth_field"
        return
    response = api.post("/api/v1/actions/import", payload, format="json")
    error = response.json()["error"]
    assert error["code"] == code and error["param"] == param, error
    assert response.status_code in (400, 422)
    assert not Action.objects.exists()


def test_a_20_mb_spec_is_413_before_it_is_read(api) -> None:
    body = json.dumps({"spec": " " * (20 * 1024 * 1024)})
    response = api.post("/api/v1/actions/import", body, content_type="application/json")
    assert response.status_code == 413 and response.json()["error"]["code"] == "spec_too_large"


def test_an_uploaded_file_over_the_limit_is_413(api, settings) -> None:
    settings.ACTIONS_MAX_SPEC_BYTES = 1024 * 1024
    upload = SimpleUploadedFile("big.json", b" " * (1024 * 1024 + 10))
    response = api.post("/api/v1/actions/import", {"file": upload}, format="multipart")
    assert response.status_code == 413 and response.json()["error"]["param"] == "file"


def test_import_by_url_of_a_private_address_is_422(api, target) -> None:
    response = api.post("/api/v1/actions/import", {"url": f"{target.url}/openapi.json"}, format="json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "url_not_allowed" and "allowlist" in error["message"]


def test_import_by_url_with_the_allowlist(api, target, loopback_allowed) -> None:
    target.handlers["/openapi.json"] = lambda seen: Reply(200, target_spec(target.url, PETS["paths"]))
    response = api.post("/api/v1/actions/import", {"url": f"{target.url}/openapi.json"}, format="json")
    assert response.status_code == 201 and response.json()["action"]["source"]["kind"] == "url"


# -- actions ------------------------------------------------------------------------------------------


@pytest.fixture
def action_id(api) -> str:
    return import_json(api, PETS).json()["action"]["id"]


def test_list_and_retrieve(api, action_id) -> None:
    listing = api.get("/api/v1/actions/").json()
    assert [a["id"] for a in listing["data"]] == [action_id] and listing["next_cursor"] is None
    assert listing["data"][0]["operation_count"] == 3 and listing["data"][0]["enabled_operation_count"] == 3
    detail = api.get(f"/api/v1/actions/{action_id}").json()
    assert detail["spec"]["title"] == "Test API" and detail["import_summary"]["imported"] == 3
    report = api.get(f"/api/v1/actions/{action_id}/report").json()
    assert report["counts"]["total"] == 3


def test_patch_auth_is_write_only_and_keeps_omitted_secrets(api, action_id) -> None:
    response = api.patch(
        f"/api/v1/actions/{action_id}",
        {"auth": {"type": "basic", "username": "alice", "password": SECRET}},
        format="json",
    )
    assert response.status_code == 200
    auth = response.json()["auth"]
    assert (
        auth["type"] == "basic"
        and auth["has_credentials"]
        and set(auth["credential_hints"]) == {"username", "password"}
    )
    assert_secret_free(response)
    kept = api.patch(f"/api/v1/actions/{action_id}", {"auth": {"username": "bob"}}, format="json").json()
    stored = Action.objects.get(pk=action_id).credential_values()
    assert stored == {"username": "bob", "password": SECRET} and kept["auth"]["has_credentials"]
    removed = api.patch(f"/api/v1/actions/{action_id}", {"auth": {"password": ""}}, format="json")
    assert Action.objects.get(pk=action_id).credential_values() == {"username": "bob"}
    assert_secret_free(removed)
    switched = api.patch(f"/api/v1/actions/{action_id}", {"auth": {"type": "bearer"}}, format="json").json()
    assert switched["auth"]["missing_credentials"] == ["token"] and not switched["auth"]["has_credentials"]
    assert any(w["code"] == "credentials_needed" for w in switched["warnings"])
    assert not set(switched["auth"]) & {"api_key", "token", "username", "password", "client_id", "client_secret"}


def _patch_auth(api, action_id: str, **auth):
    return api.patch(f"/api/v1/actions/{action_id}", {"auth": auth}, format="json")


def test_moving_an_api_key_to_the_query_drops_the_header_prefix(api, action_id) -> None:
    assert (
        _patch_auth(
            api, action_id, type="api_key", location="header", name="Authorization", prefix="Token", api_key=SECRET
        ).status_code
        == 200
    )
    moved = _patch_auth(api, action_id, type="api_key", location="query", name="key")
    assert moved.status_code == 200, moved.json()
    auth = moved.json()["auth"]
    assert (auth["location"], auth["name"], auth["prefix"]) == ("query", "key", "")
    assert auth["description"] == "API key in the query parameter key"
    assert Action.objects.get(pk=action_id).credential_values() == {"api_key": SECRET}
    # A prefix asked for together with the query string is a contradiction, refused, and nothing changes.
    refused = _patch_auth(api, action_id, location="query", prefix="Token")
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "type": "invalid_request_error",
        "code": "invalid_auth",
        "message": "A prefix only applies to an API key sent in a header.",
        "param": "auth.prefix",
    }
    assert Action.objects.get(pk=action_id).auth_config == {"location": "query", "name": "key", "prefix": ""}


def test_the_default_key_name_follows_the_location_and_a_custom_one_is_kept(api, action_id) -> None:
    assert _patch_auth(api, action_id, type="api_key", api_key=SECRET).json()["auth"]["name"] == "X-API-Key"
    assert _patch_auth(api, action_id, location="query").json()["auth"]["name"] == "api_key"
    assert _patch_auth(api, action_id, location="header").json()["auth"]["name"] == "X-API-Key"
    _patch_auth(api, action_id, name="X-Custom")
    assert _patch_auth(api, action_id, location="query").json()["auth"]["name"] == "X-Custom"


def test_an_empty_secret_of_another_type_is_accepted_when_switching(api, action_id) -> None:
    assert _patch_auth(api, action_id, type="api_key", api_key=SECRET).status_code == 200
    switched = _patch_auth(api, action_id, type="bearer", token="tok-0123456789", api_key="")
    assert switched.status_code == 200, switched.json()
    assert switched.json()["auth"]["type"] == "bearer"
    assert Action.objects.get(pk=action_id).credential_values() == {"token": "tok-0123456789"}
    again = _patch_auth(api, action_id, type="basic", username="alice", token=None, prefix="", name="")
    assert again.status_code == 200, again.json()
    assert Action.objects.get(pk=action_id).credential_values() == {"username": "alice"}


def test_a_value_for_a_field_of_another_type_is_refused_and_nothing_is_written(api, action_id) -> None:
    assert _patch_auth(api, action_id, type="basic", username="alice", password=SECRET).status_code == 200
    response = api.patch(
        f"/api/v1/actions/{action_id}",
        {"name": "Renamed", "auth": {"type": "bearer", "api_key": "sk-meant-as-the-token"}},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_auth_field", "auth.api_key")
    assert error["message"] == "auth.api_key does not apply to auth type 'bearer'; it takes token."
    action = Action.objects.get(pk=action_id)
    assert (action.name, action.auth_type) == ("Test API", "basic")
    assert action.credential_values() == {"username": "alice", "password": SECRET}


def test_an_action_on_a_metadata_address_says_it_can_never_be_called(api, action_id) -> None:
    patched = api.patch(f"/api/v1/actions/{action_id}", {"server_url": "http://169.254.169.254/latest"}, format="json")
    assert patched.status_code == 200
    warning = next(w for w in patched.json()["warnings"] if w["code"] == "server_url_never_reachable")
    assert "can never be made" in warning["message"] and "metadata" in warning["message"]
    # Even when the allowlist covers the address, and in lists (which look nothing up).
    assert api.post("/api/v1/egress-allowlist/", {"value": "169.254.0.0/16"}, format="json").status_code == 201
    for action in (api.get(f"/api/v1/actions/{action_id}").json(), api.get("/api/v1/actions/").json()["data"][0]):
        codes = [w["code"] for w in action["warnings"]]
        assert "server_url_never_reachable" in codes, action["warnings"]
    api.patch(f"/api/v1/actions/{action_id}", {"server_url": "http://0xa9fea9fe/"}, format="json")
    assert "server_url_never_reachable" in [
        w["code"] for w in api.get(f"/api/v1/actions/{action_id}").json()["warnings"]
    ]


def test_an_action_on_an_ordinary_private_address_is_not_called_unreachable(api, action_id) -> None:
    patched = api.patch(f"/api/v1/actions/{action_id}", {"server_url": "http://10.0.0.7"}, format="json").json()
    assert [w["code"] for w in patched["warnings"]] == ["server_url_blocked"]
    assert "can allow it under Network allowlist" in patched["warnings"][0]["message"]
    assert api.get(f"/api/v1/actions/{action_id}").json()["warnings"] == []


def test_secrets_never_appear_in_any_output(api, action_id) -> None:
    api.patch(
        f"/api/v1/actions/{action_id}",
        {
            "auth": {
                "type": "oauth2_client_credentials",
                "token_url": "https://auth.example.com/token",
                "client_id": "client-123456789",
                "client_secret": SECRET,
                "scopes": ["a", "b"],
            }
        },
        format="json",
    )
    for path in (
        "/api/v1/actions/",
        f"/api/v1/actions/{action_id}",
        f"/api/v1/actions/{action_id}/operations",
        f"/api/v1/actions/{action_id}/report",
    ):
        assert_secret_free(api.get(path))
    stored = Action.objects.filter(pk=action_id).values_list("credentials", flat=True)[0]
    assert SECRET not in str(stored)  # encrypted at rest


def test_patch_server_url_on_a_private_address_warns(api, action_id) -> None:
    response = api.patch(f"/api/v1/actions/{action_id}", {"server_url": "http://192.168.1.20/api"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["server_url"] == "http://192.168.1.20/api"
    warning = body["warnings"][0]
    assert warning["code"] == "server_url_blocked" and "192.168.1.20" in warning["message"]
    bad = api.patch(f"/api/v1/actions/{action_id}", {"server_url": "not a url"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_server_url"


def test_delete_action(api, action_id) -> None:
    assert api.delete(f"/api/v1/actions/{action_id}").status_code == 204
    assert not Operation.objects.exists()
    assert api.get(f"/api/v1/actions/{action_id}").status_code == 404


def test_reimport_through_the_api(api, action_id) -> None:
    v2 = spec({"/pets": {"get": operation(operationId="listPets")}, "/toys": {"get": operation(operationId="toys")}})
    preview = api.post(f"/api/v1/actions/{action_id}/reimport?dry_run=true", {"spec": json.dumps(v2)}, format="json")
    assert preview.status_code == 200 and preview.json()["report"]["changes"]["removed"] == 2
    assert Operation.objects.filter(action_id=action_id).count() == 3
    done = api.post(f"/api/v1/actions/{action_id}/reimport", {"spec": json.dumps(v2)}, format="json")
    assert done.status_code == 200 and done.json()["action"]["operation_count"] == 2
    missing = api.post(f"/api/v1/actions/{action_id}/reimport", {}, format="json")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "source_required"


# -- operations ---------------------------------------------------------------------------------------


def test_operations_list_filters_and_pagination(api, action_id) -> None:
    page = api.get(f"/api/v1/actions/{action_id}/operations?limit=2").json()
    assert [o["name"] for o in page["data"]] == ["listPets", "createPet"] and page["next_cursor"]
    rest = api.get(f"/api/v1/actions/{action_id}/operations?limit=2&cursor={page['next_cursor']}").json()
    assert [o["name"] for o in rest["data"]] == ["getPet"]
    assert [
        o["name"] for o in api.get(f"/api/v1/actions/{action_id}/operations?consequential=true").json()["data"]
    ] == ["createPet"]
    assert [o["name"] for o in api.get(f"/api/v1/actions/{action_id}/operations?q=getpet").json()["data"]] == ["getPet"]
    bad = api.get(f"/api/v1/actions/{action_id}/operations?enabled=maybe")
    assert bad.status_code == 400
    assert bad.json()["error"] | {"type": None} == {
        "type": None,
        "code": "invalid_filter",
        "message": "enabled must be true or false.",
        "param": "enabled",
    }
    disabled = api.get(f"/api/v1/actions/{action_id}/operations?enabled=false").json()["data"]
    assert disabled == []  # all three are enabled


def test_operation_detail_and_update(api, action_id) -> None:
    detail = api.get(f"/api/v1/actions/{action_id}/operations/getPet").json()
    assert detail["input_schema"]["required"] == ["id"] and detail["consequential"] is False
    op_id = detail["id"]
    updated = api.patch(
        f"/api/v1/actions/{action_id}/operations/{op_id}",
        {"enabled": False, "consequential_override": True},
        format="json",
    ).json()
    assert updated["enabled"] is False and updated["consequential"] is True
    reset = api.patch(
        f"/api/v1/actions/{action_id}/operations/{op_id}", {"consequential_override": None}, format="json"
    ).json()
    assert reset["consequential"] is False and reset["consequential_override"] is None and reset["enabled"] is False
    assert api.get(f"/api/v1/actions/{action_id}/operations/nope").status_code == 404


def test_bulk_enable_disable(api, action_id) -> None:
    response = api.patch(f"/api/v1/actions/{action_id}/operations", {"enabled": False}, format="json")
    assert response.json() == {"updated": 3}
    one = Operation.objects.filter(action_id=action_id).first()
    response = api.patch(
        f"/api/v1/actions/{action_id}/operations", {"enabled": True, "operation_ids": [one.pk]}, format="json"
    )
    assert response.json() == {"updated": 1}
    assert api.get(f"/api/v1/actions/{action_id}").json()["enabled_operation_count"] == 1


def test_test_console_shows_masked_request_and_response(api, target, loopback_allowed) -> None:
    document = target_spec(
        target.url,
        {
            "/pets/{id}": {
                "get": {
                    "operationId": "getPet",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    )
    action_id = import_json(
        api, document, auth={"type": "api_key", "location": "query", "name": "key", "api_key": SECRET}
    ).json()["action"]["id"]
    response = api.post(
        f"/api/v1/actions/{action_id}/operations/getPet/test", {"arguments": {"id": "42"}}, format="json"
    )
    assert response.status_code == 200
    result = response.json()
    assert result["ok"] and result["request"]["method"] == "GET"
    assert result["request"]["url"] == f"{target.url}/pets/42?key=••••••••"
    assert result["response"]["status"] == 200 and '"path": "/pets/42"' in result["response"]["body"]
    assert json.loads(result["tool_result"])["path"] == "/pets/42"
    assert target.last.query_params["key"] == [SECRET]
    assert_secret_free(response)

    invalid = api.post(
        f"/api/v1/actions/{action_id}/operations/getPet/test", {"arguments": {"id": 1}}, format="json"
    ).json()
    assert not invalid["ok"] and invalid["error"] == "invalid_arguments" and invalid["request"] is None
    assert invalid["problems"][0]["argument"] == "id"


def test_test_console_without_allowlist_shows_the_refusal(api, target) -> None:
    document = target_spec(
        target.url, {"/x": {"get": {"operationId": "x", "responses": {"200": {"description": "ok"}}}}}
    )
    action_id = import_json(api, document).json()["action"]["id"]
    result = api.post(f"/api/v1/actions/{action_id}/operations/x/test", {}, format="json").json()
    assert result["error"] == "egress_blocked" and result["response"] is None
    assert result["request"]["url"] == f"{target.url}/x"


# -- roles and tenancy --------------------------------------------------------------------------------


def test_viewers_read_editors_write(client_for_role, action_id) -> None:
    viewer = client_for_role(Role.VIEWER)
    assert viewer.get(f"/api/v1/actions/{action_id}").status_code == 200
    assert viewer.post("/api/v1/actions/import", {"spec": json.dumps(PETS)}, format="json").status_code == 403
    assert viewer.patch(f"/api/v1/actions/{action_id}", {"name": "x"}, format="json").status_code == 403
    assert viewer.post(f"/api/v1/actions/{action_id}/operations/getPet/test", {}, format="json").status_code == 403
    editor = client_for_role(Role.EDITOR)
    assert editor.patch(f"/api/v1/actions/{action_id}", {"name": "Renamed"}, format="json").status_code == 200


def test_other_workspaces_actions_are_404(action_id) -> None:
    from tests.factories import WorkspaceFactory

    other = WorkspaceFactory()
    _, key = api_key_create(workspace=other, name="other", role=Role.ADMIN)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    op_id = Operation.objects.filter(action_id=action_id).first().pk
    for method, path in [
        ("get", f"/api/v1/actions/{action_id}"),
        ("patch", f"/api/v1/actions/{action_id}"),
        ("delete", f"/api/v1/actions/{action_id}"),
        ("get", f"/api/v1/actions/{action_id}/operations"),
        ("get", f"/api/v1/actions/{action_id}/operations/{op_id}"),
        ("post", f"/api/v1/actions/{action_id}/operations/{op_id}/test"),
        ("post", f"/api/v1/actions/{action_id}/reimport"),
    ]:
        assert getattr(client, method)(path, {}, format="json").status_code == 404, path
    assert client.get("/api/v1/actions/").json()["data"] == []


def test_schema_documents_the_routes(api) -> None:
    schema = yaml.safe_load(api.get("/api/schema/").content)
    paths = schema["paths"]
    for route in (
        "/api/v1/actions/",
        "/api/v1/actions/import",
        "/api/v1/actions/{id}",
        "/api/v1/actions/{id}/reimport",
        "/api/v1/actions/{id}/operations",
        "/api/v1/actions/{id}/operations/{op}",
        "/api/v1/actions/{id}/operations/{op}/test",
    ):
        assert route in paths, route
    assert "multipart/form-data" in paths["/api/v1/actions/import"]["post"]["requestBody"]["content"]
    components = schema["components"]["schemas"]
    assert "api_key" in components["ActionAuthInputRequest"]["properties"]
    assert not set(components["ActionAuth"]["properties"]) & {"api_key", "token", "password", "client_secret"}


def test_the_original_spec_can_be_downloaded(api) -> None:
    upload = SimpleUploadedFile("pets.yaml", yaml.safe_dump(PETS).encode())
    action_id = api.post("/api/v1/actions/import", {"file": upload}, format="multipart").json()["action"]["id"]
    response = api.get(f"/api/v1/actions/{action_id}/spec")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(response.content) == PETS and 'filename="pets.yaml"' in response["Content-Disposition"]

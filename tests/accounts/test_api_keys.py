import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import ApiKey, Role
from accounts.services import api_key_create, hash_secret

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_created_key_secret_is_returned_once_and_stored_hashed(api, workspace):
    response = api.post("/api/v1/api-keys/", {"name": "website", "role": "viewer"}, format="json")
    assert response.status_code == 201, response.json()
    secret = response.json()["secret"]
    key_id = response.json()["key"]["id"]
    assert secret.startswith("sb-") and len(secret) > 40
    assert response.json()["key"]["prefix"] == secret[:10]

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_hash FROM accounts_apikey WHERE id = %s", [key_id])
        (stored,) = cursor.fetchone()
    assert stored == hash_secret(secret) and secret not in stored

    listing = api.get("/api/v1/api-keys/").content.decode()
    detail = api.get(f"/api/v1/api-keys/{key_id}").content.decode()
    assert secret not in listing and secret not in detail
    assert bearer(secret).get("/api/v1/workspace").json()["role"] == "viewer"


def test_key_authenticates_to_its_own_workspace(api, workspace):
    body = api.get("/api/v1/workspace").json()
    assert body["id"] == workspace.id and body["role"] == "admin"


def test_wrong_key_gets_401_with_json_error():
    response = bearer("sb-not-a-real-key").get("/api/v1/workspace")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "authentication_error" and error["code"] == "invalid_api_key"
    assert "API key" in error["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_missing_credentials_get_401_with_json_error():
    response = APIClient().get("/api/v1/workspace")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_non_bearer_scheme_is_explained():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    response = client.get("/api/v1/workspace")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_authorization_header"


def test_revoked_key_gets_401(api, workspace, api_key_secret):
    key, secret = api_key_create(workspace=workspace, name="temp", role=Role.EDITOR)
    assert bearer(secret).get("/api/v1/workspace").status_code == 200
    response = api.delete(f"/api/v1/api-keys/{key.id}")
    assert response.status_code == 200 and response.json()["revoked"] is True
    denied = bearer(secret).get("/api/v1/workspace")
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "invalid_api_key"


def test_last_used_time_is_recorded(workspace):
    key, secret = api_key_create(workspace=workspace, name="ci", role=Role.VIEWER)
    assert key.last_used_at is None
    bearer(secret).get("/api/v1/workspace")
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_editor_key_cannot_manage_keys(workspace):
    _, secret = api_key_create(workspace=workspace, name="editor", role=Role.EDITOR)
    response = bearer(secret).post("/api/v1/api-keys/", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"
    assert ApiKey.objects.filter(name="x").count() == 0


def test_admin_cannot_mint_owner_keys(api):
    response = api.post("/api/v1/api-keys/", {"name": "root", "role": "owner"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "role"


def test_blank_name_is_rejected_with_param(api):
    response = api.post("/api/v1/api-keys/", {"name": ""}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "name" and error["type"] == "invalid_request_error"


def test_malformed_json_is_a_400_not_a_500(api):
    response = api.post("/api/v1/api-keys/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


# -- scopes -----------------------------------------------------------------------------------------


def test_keys_have_the_full_scope_unless_asked(api, workspace):
    response = api.post("/api/v1/api-keys/", {"name": "backend", "role": "editor"}, format="json")
    assert response.status_code == 201
    assert response.json()["key"]["scope"] == "full" and response.json()["key"]["role"] == "editor"
    assert api.get("/api/v1/workspace").json()["scope"] == "full"


def test_a_chat_scope_key_is_created_without_a_role_and_listed_with_its_scope(api, workspace):
    response = api.post("/api/v1/api-keys/", {"name": "website widget", "scope": "chat"}, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()["key"]
    assert created["scope"] == "chat" and created["role"] == "viewer"  # stored as the least role
    listed = {key["id"]: key for key in api.get("/api/v1/api-keys/").json()["data"]}
    assert listed[created["id"]]["scope"] == "chat"
    workspace_seen = bearer(response.json()["secret"]).get("/api/v1/workspace").json()
    assert workspace_seen["scope"] == "chat" and workspace_seen["id"] == workspace.pk


@pytest.mark.parametrize(
    "body, param, code",
    [
        ({"name": "widget", "scope": "chat", "role": "admin"}, "role", "role_not_applicable"),
        ({"name": "widget", "scope": "everything"}, "scope", "invalid_choice"),
    ],
)
def test_bad_scope_requests_are_refused_and_create_nothing(api, body, param, code):
    response = api.post("/api/v1/api-keys/", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param and error["code"] == code
    assert ApiKey.objects.filter(name="widget").count() == 0


def test_the_keys_page_creates_a_chat_key_and_lists_its_scope(signed_in, workspace):
    # The role select always posts a value; for a chat key it does not apply.
    response = signed_in.post("/settings/api-keys/", {"name": "widget", "scope": "chat", "role": "editor"})
    assert response.status_code == 200
    key = ApiKey.objects.get(name="widget")
    assert key.scope == "chat" and key.role == "viewer"
    html = response.content.decode()
    assert 'data-testid="new-secret"' in html and "chat only" in html
    assert '<option value="chat">' in html


@pytest.mark.django_db(transaction=True)
def test_keys_that_existed_before_scopes_become_full_scope_keys(workspace):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0001_initial")])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_apikey (id, workspace_id, name, prefix, secret_hash, role, created_at, "
            "updated_at) VALUES ('key_old', %s, 'old', 'sb-old', 'hash-old', 'editor', now(), now())",
            [workspace.pk],
        )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    # Every app forward again: going back to accounts 0001 also took back other apps' migrations
    # that depend on later accounts migrations, and the rest of the suite needs them.
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert ApiKey.objects.get(pk="key_old").scope == "full"

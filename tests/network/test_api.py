"""REST API of the network allowlist: entries, refusals with specific errors, broad entries needing
confirmation, roles and tenancy."""

from __future__ import annotations

import pytest
import yaml
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import api_key_create
from network.models import AllowlistEntry

pytestmark = pytest.mark.django_db

URL = "/api/v1/egress-allowlist/"


@pytest.fixture
def client_for_role(workspace):
    def make(role: str, for_workspace=None) -> APIClient:
        _, key = api_key_create(workspace=for_workspace or workspace, name=f"{role} key", role=role)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make


def test_allowlist_crud(api) -> None:
    created = api.post(URL, {"value": "10.20.0.0/16", "note": "intranet"}, format="json")
    assert created.status_code == 201
    assert created.json()["value"] == "10.20.0.0/16" and created.json()["warnings"] == []
    assert api.post(URL, {"value": "10.20.0.0/16"}, format="json").status_code == 409
    bad = api.post(URL, {"value": "10.0.0.0/33"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_allowlist_entry"
    host = api.post(URL, {"value": "Wiki.Corp.Example:8443"}, format="json").json()
    assert host["value"] == "wiki.corp.example:8443"
    listing = api.get(URL).json()["data"]
    assert {e["value"] for e in listing} == {"10.20.0.0/16", "wiki.corp.example:8443"}
    assert api.get(f"{URL}{host['id']}").json()["note"] == ""
    assert api.delete(f"{URL}{host['id']}").status_code == 204
    assert list(AllowlistEntry.objects.values_list("value", flat=True)) == ["10.20.0.0/16"]


@pytest.mark.parametrize(
    "value", ["169.254.169.254", "169.254.169.254/32", "fd00:ec2::254", "::ffff:169.254.169.254", "100.100.100.200"]
)
def test_a_metadata_address_is_refused_with_the_reason(api, value) -> None:
    response = api.post(URL, {"value": value, "note": "cloud"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "never_reachable_entry"
    assert error["param"] == "value"
    assert "metadata" in error["message"] and "never connects to it" in error["message"]
    assert "credentials" in error["message"]
    assert not AllowlistEntry.objects.exists()


@pytest.mark.parametrize("value", ["0.0.0.0/0", "::/0", "::ffff:0:0/96"])
def test_a_broad_entry_needs_confirmation_and_keeps_a_warning(api, value) -> None:
    refused = api.post(URL, {"value": value}, format="json")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "confirmation_required" and error["param"] == "confirm_broad"
    assert error["message"].startswith(f"{value} opens ") and "Confirm that this is intended" in error["message"]
    assert not AllowlistEntry.objects.exists()
    assert api.post(URL, {"value": value, "confirm_broad": False}, format="json").status_code == 400

    created = api.post(URL, {"value": value, "confirm_broad": True}, format="json")
    assert created.status_code == 201
    assert [w["code"] for w in created.json()["warnings"]] == ["broad_entry"]
    listed = api.get(URL).json()["data"]
    assert [w["code"] for w in listed[0]["warnings"]] == ["broad_entry"]


def test_confirming_an_ordinary_entry_changes_nothing(api) -> None:
    created = api.post(URL, {"value": "10.0.0.0/8", "confirm_broad": True}, format="json")
    assert created.status_code == 201 and created.json()["warnings"] == []


def test_only_admins_change_the_allowlist(client_for_role) -> None:
    editor = client_for_role(Role.EDITOR)
    response = editor.post(URL, {"value": "10.0.0.0/8"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["type"] == "permission_error"
    assert editor.get(URL).status_code == 200
    assert not AllowlistEntry.objects.exists()


def test_another_workspaces_entry_is_a_404(api, client_for_role) -> None:
    from tests.factories import WorkspaceFactory

    entry = api.post(URL, {"value": "10.0.0.0/8"}, format="json").json()
    stranger = client_for_role(Role.ADMIN, for_workspace=WorkspaceFactory())
    assert stranger.get(f"{URL}{entry['id']}").status_code == 404
    assert stranger.delete(f"{URL}{entry['id']}").status_code == 404
    assert stranger.get(URL).json()["data"] == []
    assert AllowlistEntry.objects.filter(pk=entry["id"]).exists()


def test_schema_documents_the_routes_and_the_confirmation(api) -> None:
    schema = yaml.safe_load(api.get("/api/schema/").content)
    assert {"/api/v1/egress-allowlist/", "/api/v1/egress-allowlist/{id}"} <= set(schema["paths"])
    components = schema["components"]["schemas"]
    assert "confirm_broad" in components["EgressAllowlistEntryInputRequest"]["properties"]
    assert "warnings" in components["EgressAllowlistEntry"]["properties"]

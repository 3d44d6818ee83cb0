"""Another workspace's object is a 404 — never a 403, never the object."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import api_key_create
from providers.services import provider_create
from tests.factories import MembershipFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_workspace_objects():
    other = WorkspaceFactory(name="Other")
    key, _ = api_key_create(workspace=other, name="theirs", role=Role.ADMIN)
    provider = provider_create(workspace=other, name="Their OpenAI", kind="openai", api_key="sk-theirs-secret")
    return {"key": key, "provider": provider}


def detail_urls(objects):
    return [f"/api/v1/api-keys/{objects['key'].id}", f"/api/v1/providers/{objects['provider'].id}"]


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_api_key_of_workspace_a_gets_404_on_workspace_b_objects(api, other_workspace_objects, method):
    for url in detail_urls(other_workspace_objects):
        response = getattr(api, method)(url, {}, format="json")
        assert response.status_code in (404, 405), (url, response.status_code)
        if response.status_code == 404:
            body = response.content.decode()
            assert "theirs" not in body and "Their OpenAI" not in body
            # The route exists; the object is simply not found for this caller.
            assert response.json()["error"]["code"] == "not_found"
    other_workspace_objects["key"].refresh_from_db()
    assert other_workspace_objects["key"].revoked_at is None  # the DELETE did nothing


def test_signed_in_member_of_a_gets_404_on_b_objects(client, other_workspace_objects):
    membership = MembershipFactory(role=Role.OWNER)
    client.force_login(membership.user)
    for url in detail_urls(other_workspace_objects):
        response = client.get(url)
        assert response.status_code == 404, url


def test_lists_show_only_the_callers_workspace(api, workspace, other_workspace_objects):
    names = [key["name"] for key in api.get("/api/v1/api-keys/").json()["data"]]
    assert "theirs" not in names and "tests" in names


def test_session_user_switches_only_to_own_workspaces(client, other_workspace_objects):
    membership = MembershipFactory(role=Role.EDITOR)
    client.force_login(membership.user)
    other_id = other_workspace_objects["key"].workspace_id
    assert client.post("/workspace/switch/", {"workspace": other_id}).status_code == 404
    assert client.post("/workspace/switch/", {"workspace": membership.workspace_id}).status_code == 302


def test_session_api_requests_need_csrf(other_workspace_objects):
    membership = MembershipFactory(role=Role.ADMIN)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(membership.user)
    response = client.post("/api/v1/api-keys/", {"name": "via session"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]
